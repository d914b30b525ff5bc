"""The OpenAPI 3.0.3 description of the web API (grlc's Swagger document), derived from the
stored-question catalog and the renderer's formats, so it cannot drift from what is served.

Each stored question is its own path (``/queries/<name>``) with its own parameters; a
parameter whose values are members of a class (or listed by an ``options`` query) gets the
values of the current data as an ``enum``, with their labels as ``x-enum-descriptions``
(openapi-generator's convention). The document therefore depends on the data version: the
view (``webapp.views.api_doc``) keeps it per version and base URL.
"""

import re
from collections.abc import Callable
from functools import lru_cache

from rdflib.plugins.sparql import prepareQuery

from clusterpolisee import __version__
from clusterpolisee.catalog import (
    IRI_RE,
    LANG_RE,
    MAX_STRING,
    Catalog,
    Option,
    Param,
    StoredQuery,
)

from . import renderer
from .access import RESULT_KIND
from .present import curie
from .sparql_guard import MAX_QUERY_CHARS
from .views.sparql import FORMAT_PARAM

OPENAPI_VERSION = "3.0.3"
#: RFC 8631's service-desc target type for this document.
MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"
#: Past this many values a parameter gets no enum (the document would be mostly values).
MAX_ENUM = 1000
ERROR_TYPES = ("text/plain", "text/html")  # webapp.errors.error_response, by Accept
#: Lists a parameter's allowed values in the current data (None: free input).
Options = Callable[[Param], list[Option] | None]
REF = "#/components/"
#: What a server URL taken from the request (its Host header) may look like.
SAFE_ROOT = re.compile(r"^https?://[A-Za-z0-9.:\[\]-]+(/[A-Za-z0-9._~/-]*)?$")


def build(
    catalog: Catalog,
    base_url: str,
    options: Options,
    allowlist: tuple[str, ...],
    data_version: str,
) -> dict:
    """The whole document for a server at ``base_url`` (ending in '/')."""
    root = base_url.rstrip("/")
    if not SAFE_ROOT.match(root):  # a Host header that is no host name: a relative server
        root = ""
    paths: dict[str, dict] = {}
    schemas = _base_schemas()
    ids: set[str] = set()
    for q in catalog.queries.values():
        op_id = _operation_id(q.name, ids)
        paths[f"/queries/{q.name}"] = {"get": _question(q, op_id, options, allowlist, schemas)}
    paths["/sparql"] = _sparql(_sparql_formats(), bool(allowlist))
    paths["/health"] = _health()
    return {
        "openapi": OPENAPI_VERSION,
        "info": _info(root, data_version),
        "servers": [{"url": root or "/"}],
        "tags": [{"name": t} for t in (*catalog.tags, "sparql", "service")],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": _error_responses(),
            "headers": _headers(),
        },
    }


def _info(root: str, data_version: str) -> dict:
    return {
        "title": "ClusterPoliSEE knowledge graph",
        "version": __version__,
        "description": (
            "The stored questions of the ClusterPoliSEE knowledge graph as a web API, one "
            "operation per question (the grlc style), and its SPARQL 1.1 endpoint. "
            f"Browse the questions at [{root}/queries]({root}/queries); ask anything at "
            f"[{root}/sparql]({root}/sparql). Value lists (enums) of class parameters are "
            f"those of the data version this document was made for: {data_version}."
        ),
        "x-data-version": data_version,
    }


def _operation_id(name: str, taken: set[str]) -> str:
    """A code generator's identifier: ``region-profile`` -> ``region_profile`` (unique)."""
    base = "".join(c if c.isalnum() else "_" for c in name)
    base = base if base[:1].isalpha() else "q_" + base
    op_id, n = base, 2
    while op_id in taken:
        op_id, n = f"{base}_{n}", n + 1
    taken.add(op_id)
    return op_id


# -- stored questions ----------------------------------------------------------------------


def _question(
    q: StoredQuery, op_id: str, options: Options, allowlist: tuple[str, ...], schemas: dict
) -> dict:
    kind = RESULT_KIND[q.kind]
    if kind == "select":  # a named schema per question: generators make a class of it
        schemas[f"{op_id}_results"] = _select_schema(projected(q.text))
    responses = {
        "200": _ok(op_id, kind),
        "304": {"description": "Not modified (If-None-Match named the current ETag)."},
        "400": {"$ref": REF + "responses/BadParameter"},
        "404": {"$ref": REF + "responses/NotFound"},
        "406": {"$ref": REF + "responses/NotAcceptable"},
        "500": {"$ref": REF + "responses/EngineFailed"},
        "503": {"$ref": REF + "responses/Unavailable"},
    }
    if q.services:
        responses["403"] = {"$ref": REF + "responses/FederatedNotAllowed"}
        responses["502"] = {"$ref": REF + "responses/RemoteFailed"}
        responses["504"] = {"$ref": REF + "responses/RemoteTimedOut"}
    return {
        "operationId": op_id,
        "summary": q.summary,
        "description": _question_text(q, kind, allowlist),
        "tags": list(q.tags),
        "parameters": [_parameter(q, p, options) for p in q.params],
        "responses": dict(sorted(responses.items())),
    }


def _question_text(q: StoredQuery, kind: str, allowlist: tuple[str, ...]) -> str:
    suffixes = ", ".join(f"`.{s}`" for s in renderer.suffixes(kind))
    parts = [
        q.description,
        f"The same answer by suffix instead of Accept: `/queries/{q.name}.{{suffix}}` with "
        f"{suffixes}. A parameter left out or empty takes its default; an unknown one is a 400.",
    ]
    if q.services:
        refused = [s for s in q.services if s not in allowlist]
        calls = ", ".join(f"<{s}>" for s in q.services)
        parts.append(
            f"Federated: calls SERVICE {calls}. "
            + (
                "This server is not allowed to call it: answers 403."
                if refused
                else "This server is allowed to call it."
            )
        )
    return "\n\n".join(p for p in parts if p)


def _parameter(q: StoredQuery, p: Param, options: Options) -> dict:
    schema = _param_schema(p)
    notes = [p.label + "." if p.label != p.name else "", p.description]
    if p.allowed is None and (p.cls or p.options_query):
        notes.append(_enum_from_data(q, p, options(p), schema))
    if p.default is not None:
        schema["default"] = _typed(p, p.default)
    return {
        "name": p.name,
        "in": "query",
        # The catalog's "required" means "needs a value": a default supplies it, so the
        # server never refuses a request that leaves such a parameter out.
        "required": p.required and p.default is None,
        # Empty is "left out" (it takes the default), as the question's form sends it.
        "allowEmptyValue": True,
        "description": " ".join(n for n in notes if n),
        "schema": schema,
    }


def _param_schema(p: Param) -> dict:
    """The JSON Schema of a value, as ``Param.to_term`` checks it."""
    schema: dict
    if p.type == "iri":
        schema = {"type": "string", "format": "uri", "pattern": IRI_RE.pattern}
    elif p.type == "string":
        schema = {"type": "string", "maxLength": MAX_STRING}
    elif p.type in ("integer", "decimal"):
        schema = {"type": "integer" if p.type == "integer" else "number"}
        if p.min is not None:
            schema["minimum"] = p.min
        if p.max is not None:
            schema["maximum"] = p.max
    elif p.type == "date":
        schema = {"type": "string", "format": "date"}
    else:  # language
        schema = {"type": "string", "pattern": LANG_RE.pattern}
    if p.allowed is not None:
        schema["enum"] = [_typed(p, v) for v in p.allowed]
    return schema


def _enum_from_data(q: StoredQuery, p: Param, found: list[Option] | None, schema: dict) -> str:
    """Add the current data's values to ``schema`` when there are few enough, and say
    where the values come from (and where to find them when they are not listed)."""
    members = f"members of {curie(p.cls)} ({p.cls})" if p.cls else ""
    if members and not p.options_query:
        where = f"Values: {members} in the data"
    else:
        those = f"those {members}" if members else "those"
        where = f"Values: {those} the question's options query lists in the data"
    if not found:
        return f"{where}; the data holds none yet."
    values = [o.value for o in found]
    if len(values) > MAX_ENUM:
        return (
            f"{where}: {len(values):,} of them, too many to list here; the drop-down of "
            f"/queries/{q.name} lists them, or ask /sparql."
        )
    if p.default is not None and p.default not in values:
        return f"{where}; the default is not among them in this data version."
    schema["enum"] = values
    schema["x-enum-descriptions"] = [o.label for o in found]
    return f"{where} (enum, labels in x-enum-descriptions)."


def _typed(p: Param, raw: str) -> str | int | float:
    if p.type == "integer":
        return int(raw)
    if p.type == "decimal":
        return float(raw)
    return raw


@lru_cache(maxsize=256)
def projected(text: str) -> tuple[str, ...]:
    """The variables a SELECT projects, from rdflib's parse (60 ms a question: once each)."""
    return tuple(str(v) for v in prepareQuery(text).algebra.get("PV") or ())


def _select_schema(variables: tuple[str, ...]) -> dict:
    """SPARQL 1.1 JSON results of a SELECT: one optional binding per projected variable."""
    term = {"$ref": REF + "schemas/RDFTerm"}
    row = {
        "type": "object",
        "properties": {v: term for v in variables},
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "required": ["head", "results"],
        "properties": {
            "head": {
                "type": "object",
                "required": ["vars"],
                "properties": {
                    "vars": {"type": "array", "items": {"type": "string", "enum": list(variables)}}
                },
            },
            "results": {
                "type": "object",
                "required": ["bindings"],
                "properties": {"bindings": {"type": "array", "items": row}},
            },
            **_truncation_fields(),
        },
    }


def _truncation_fields() -> dict:
    return {
        "truncated": {"type": "boolean", "description": "Present (true) when cut at the limit."},
        "rowLimit": {"type": "integer", "description": "The server's row limit, when cut."},
    }


def _ok(op_id: str, kind: str) -> dict:
    """200: one content entry per format the renderer offers for ``kind``."""
    json_schema = {"$ref": REF + f"schemas/{op_id}_results"} if kind == "select" else None
    return {
        "description": "The answer, in the format of the suffix or the Accept header.",
        "headers": _ok_headers([f for f in renderer.FORMATS if kind in f.kinds]),
        "content": _contents(kind, json_schema),
    }


def _contents(kind: str, json_schema: dict | None = None) -> dict:
    """Data formats first (a client generator types the answer by the first), the page last."""
    formats = sorted(_formats(kind), key=lambda f: f.is_html)
    return {f.mimetype: {"schema": _format_schema(f, kind, json_schema)} for f in formats}


def _formats(kind: str) -> list[renderer.Format]:
    kinds = renderer.ALL if kind == "any" else {kind}
    return [f for f in renderer.FORMATS if f.kinds & kinds]


def _format_schema(f: renderer.Format, kind: str, json_schema: dict | None) -> dict:
    if f.render is renderer.sparql_json:
        if kind == "ask":
            return {"$ref": REF + "schemas/SparqlAsk"}
        if kind == "select" and json_schema:
            return json_schema
        return {"$ref": REF + "schemas/SparqlResults"}
    if f.binary:
        return {"type": "string", "format": "binary"}
    if f.mimetype.endswith("+json"):
        return {}  # JSON-LD: any JSON
    return {"type": "string"}


def _ok_headers(formats: list[renderer.Format]) -> dict:
    headers = {"ETag": {"$ref": REF + "headers/ETag"}}
    if any(not f.is_html for f in formats):  # webapp.access.download
        headers["X-Result-Truncated"] = {"$ref": REF + "headers/X-Result-Truncated"}
        headers["X-Row-Limit"] = {"$ref": REF + "headers/X-Row-Limit"}
    if any(f.attachment for f in formats):
        headers["Content-Disposition"] = {"$ref": REF + "headers/Content-Disposition"}
    return headers


# -- the endpoint and the health check ----------------------------------------------------


def _sparql(formats: list[str], federated: bool) -> dict:
    dataset = [_graph_param("default-graph-uri"), _graph_param("named-graph-uri")]
    fmt = [_format_param(name, formats) for name in ("format", "output")]
    query = {
        "name": "query",
        "in": "query",
        "required": False,
        "description": "A SPARQL 1.1 query (read-only). Without it: the service description "
        "(Turtle), or the editor page for a browser.",
        "schema": {"type": "string", "minLength": 1},
    }
    form = {
        "type": "object",
        "required": ["query"],
        "properties": {
            "query": {"type": "string", "minLength": 1},
            "default-graph-uri": _graph_list(),
            "named-graph-uri": _graph_list(),
            "format": {"type": "string", "enum": formats},
        },
    }
    explode = {"style": "form", "explode": True}
    responses = _sparql_responses(federated)
    return {
        "get": {
            "operationId": "sparql_get",
            "summary": "SPARQL 1.1 Protocol query by GET",
            "tags": ["sparql"],
            "parameters": [query, *dataset, *fmt],
            "responses": responses,
        },
        "post": {
            "operationId": "sparql_post",
            "summary": "SPARQL 1.1 Protocol query by POST (form or application/sparql-query)",
            "tags": ["sparql"],
            "parameters": [*dataset, *fmt],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": form,
                        "encoding": {"default-graph-uri": explode, "named-graph-uri": explode},
                    },
                    "application/sparql-query": {"schema": {"type": "string", "minLength": 1}},
                },
            },
            "responses": responses,
        },
    }


def _sparql_formats() -> list[str]:
    """What the endpoint's ``format`` / ``output`` take: its names and any format's media
    type (webapp.views.sparql._format)."""
    types = (t for f in renderer.FORMATS for t in (f.mimetype, *f.aliases))
    return list(dict.fromkeys([*FORMAT_PARAM, *types]))


def _graph_list() -> dict:
    return {"type": "array", "items": {"type": "string", "format": "uri"}}


def _graph_param(name: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "style": "form",
        "explode": True,
        "description": "Graphs of the store making up the dataset, in place of the query's "
        "FROM / FROM NAMED (repeatable; nothing is fetched).",
        "schema": _graph_list(),
    }


def _format_param(name: str, formats: list[str]) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": "The answer's format (overrides Accept; case does not matter); "
        "'json' and 'xml' give JSON-LD and RDF/XML for a graph.",
        "schema": {"type": "string", "enum": formats},
    }


def _sparql_responses(federated: bool) -> dict:
    responses = {
        "200": {
            "description": "Results (SELECT, ASK), a graph (CONSTRUCT, DESCRIBE), or without "
            "a query the service description (Turtle, N-Triples, JSON-LD or RDF/XML by "
            "Accept).",
            "headers": _ok_headers(renderer.FORMATS),
            "content": _contents("any"),
        },
        "304": {"description": "Not modified (If-None-Match named the current ETag)."},
        "400": {"$ref": REF + "responses/BadQuery"},
        "403": {"$ref": REF + "responses/Refused"},
        "406": {"$ref": REF + "responses/NotAcceptable"},
        "413": {"$ref": REF + "responses/TooLong"},
        "500": {"$ref": REF + "responses/EngineFailed"},
        "503": {"$ref": REF + "responses/Unavailable"},
    }
    if federated:
        responses["502"] = {"$ref": REF + "responses/RemoteFailed"}
        responses["504"] = {"$ref": REF + "responses/RemoteTimedOut"}
    return responses


def _health() -> dict:
    status = {"type": "string"}
    return {
        "get": {
            "operationId": "health",
            "summary": "Store reachable, data version",
            "tags": ["service"],
            "responses": {
                "200": {
                    "description": "The store answers.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "status": status,
                                    "store": status,
                                    "data_version": status,
                                    "has_data": {"type": "boolean"},
                                    "seconds": {"type": "number"},
                                },
                            }
                        }
                    },
                },
                "503": {
                    "description": "The store does not answer.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"status": status, "message": status},
                            }
                        }
                    },
                },
            },
        }
    }


# -- components ---------------------------------------------------------------------------


def _base_schemas() -> dict:
    term = {
        "type": "object",
        "description": "An RDF term in SPARQL 1.1 JSON results.",
        "required": ["type", "value"],
        "properties": {
            "type": {"type": "string", "enum": ["uri", "literal", "bnode"]},
            "value": {"type": "string"},
            "xml:lang": {"type": "string"},
            "datatype": {"type": "string", "format": "uri"},
        },
    }
    ask = {
        "type": "object",
        "required": ["head", "boolean"],
        "properties": {"head": {"type": "object"}, "boolean": {"type": "boolean"}},
    }
    results = {
        "type": "object",
        "required": ["head"],
        "description": "SPARQL 1.1 JSON results: 'results' for a SELECT, 'boolean' for an ASK.",
        "properties": {
            "head": {"type": "object"},
            "boolean": {"type": "boolean"},
            "results": {
                "type": "object",
                "properties": {
                    "bindings": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": {"$ref": REF + "schemas/RDFTerm"},
                        },
                    }
                },
            },
            **_truncation_fields(),
        },
    }
    return {"RDFTerm": term, "SparqlAsk": ask, "SparqlResults": results}


def _error(description: str, retry: bool = False) -> dict:
    text = {"schema": {"type": "string"}}
    out: dict = {"description": description, "content": dict.fromkeys(ERROR_TYPES, text)}
    if retry:
        out["headers"] = {"Retry-After": {"$ref": REF + "headers/Retry-After"}}
    return out


def _error_responses() -> dict:
    """The errors of ``webapp.errors.error_response``: a line of text, or HTML by Accept."""
    return {
        "BadParameter": _error(
            "A parameter value was refused (type, range, not an allowed value, unknown "
            "parameter, a parameter given twice); the message names it and what is allowed. "
            "The HTML page answers 400 with its form."
        ),
        "BadQuery": _error(
            "Malformed query, no query in a POST, a bad dataset or format, text that is not "
            "UTF-8, or the query or format given twice."
        ),
        "EngineFailed": _error(
            "The query engine failed on this query (a bug in Oxigraph, named in the message); "
            "asking again fails the same way."
        ),
        "TooLong": _error(f"The query is longer than {MAX_QUERY_CHARS:,} characters."),
        "Refused": _error("An update, LOAD, or SERVICE to an endpoint not allowed here."),
        "FederatedNotAllowed": _error(
            "The question calls a SERVICE endpoint this server is not allowed to call."
        ),
        "NotFound": _error("No such stored question, or no such suffix for it."),
        "NotAcceptable": _error("No offered format matches Accept; the message lists them."),
        "Unavailable": _error("The time limit stopped the query, or the engine is busy.", True),
        "RemoteFailed": _error("The SERVICE endpoint a federated query calls failed.", True),
        "RemoteTimedOut": _error("The SERVICE endpoint a federated query calls timed out.", True),
    }


def _headers() -> dict:
    def header(description: str, schema: dict) -> dict:
        return {"description": description, "schema": schema}

    return {
        "ETag": header("Of the body; send it as If-None-Match for a 304.", {"type": "string"}),
        "X-Result-Truncated": header(
            "'true' when the answer was cut at the server's row limit (downloads only).",
            {"type": "string", "enum": ["true"]},
        ),
        "X-Row-Limit": header("The row limit, when the answer was cut.", {"type": "integer"}),
        "Content-Disposition": header(
            "A workbook comes as an attachment named after the question.", {"type": "string"}
        ),
        "Retry-After": header("Seconds to wait before asking again.", {"type": "integer"}),
    }
