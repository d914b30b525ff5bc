"""/sparql: the SPARQL 1.1 Protocol endpoint, its service description and editor page."""

import re
from typing import NoReturn
from urllib.parse import unquote_to_bytes, urljoin

import pyoxigraph as ox
from flask import Blueprint, Response, abort, g, render_template, request, url_for

from clusterpolisee import xlsx
from clusterpolisee.namespaces import graph_iri
from clusterpolisee.sparqltext import QuerySyntaxError, inspect

from .. import renderer, url_builder
from ..access import db, download
from ..database import Dataset, EngineError, Result
from ..errors import error_response, remote_failed, remote_failure, remote_fault
from ..pagecache import cached_page
from ..sparql_guard import MAX_QUERY_CHARS, TOO_LONG, QueryRefused, too_long
from . import examples

bp = Blueprint("sparql", __name__)
# The endpoint's own URL, written into the service description's Turtle: a host, path
# segments of unreserved characters (a proxy's prefix, `serve --proxies`), /sparql.
SAFE_URL = re.compile(r"^https?://[A-Za-z0-9.:\[\]-]+(?:/[A-Za-z0-9._~-]+)*/sparql$")

# Any origin may read public answers: no cookie or token is involved. Also sent by the other
# public read-only resources (webapp._cors). A fixed "*" does not vary with Origin, so no
# "Vary: Origin" is needed (it would keep pages out of the page cache).
# A script sees only the "safe" response headers unless they are exposed: ours, the ETag
# it revalidates with and the Content-Disposition naming a download (every answer of a GET
# may carry them). The dumps expose their range and date headers too (webapp._cors).
EXPOSED = "Link, X-Result-Truncated, X-Row-Limit, ETag, Content-Disposition, Content-Location"
READ_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": EXPOSED,
}
#: The request headers a preflight allows for the public read-only resources: Accept (a
#: quoted JSON-LD profile is not "simple"), and those of conditional and range requests.
READ_REQUEST_HEADERS = "Accept, If-None-Match, If-Modified-Since, Range, If-Range"
CORS = {
    **READ_CORS,
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    # If-None-Match: a GET answer has an ETag (webapp._conditional) to revalidate with.
    "Access-Control-Allow-Headers": "Accept, Content-Type, If-None-Match",
    "Access-Control-Max-Age": "3600",
}
# Values of the non-standard 'format' / 'output' parameters that clients such as
# SPARQLWrapper send, mapped to our suffixes.
FORMAT_PARAM = {
    "json": "json",
    "xml": "xml",
    "csv": "csv",
    "tsv": "tsv",
    "xlsx": "xlsx",
    "turtle": "ttl",
    "ttl": "ttl",
    "n3": "ttl",
    "nt": "nt",
    "ntriples": "nt",
    "json-ld": "jsonld",
    "jsonld": "jsonld",
    "rdf+xml": "rdf",
    "rdf": "rdf",
    "html": "html",
}
# What "json" and "xml" mean for a graph (CONSTRUCT, DESCRIBE): SPARQLWrapper asks for its
# JSON or XML return format with format=json / format=xml whatever the query's form.
GRAPH_FORMAT_PARAM = {"json": "jsonld", "xml": "rdf"}


@bp.after_request
def cors(resp: Response) -> Response:
    resp.headers.update(CORS)
    return resp


@bp.route("/sparql", methods=["GET", "POST", "OPTIONS"])
@cached_page  # kept for GET only: the key is the URL
def endpoint():
    if request.method == "OPTIONS":
        return Response(status=204)
    text = _query_text()
    if text is None:
        return _no_query()
    _wanted_format()  # an ambiguous format is refused before the query runs
    try:
        if len(text) > MAX_QUERY_CHARS:  # refused here, not sent to a worker to refuse
            raise QueryRefused(413, too_long(text))
        result = db().query(text, dataset=_protocol_dataset())
    except (QueryRefused, EngineError) as exc:
        status, message = exc.status, exc.message
        services = _services(text) if remote_fault(exc) else []
        if services:  # an allowed endpoint failed: 502/504 naming it, as stored queries do
            status, _title, message = remote_failure(services, exc)
        wanted = _format("select")
        if wanted is not None and wanted.is_html:
            shown = f"{TOO_LONG}: {message}" if status == 413 else message
            return _editor(text, None, shown), status
        if services:
            return remote_failed(services, exc)
        if status == 413:  # the app's handler titles any status but 403 "Malformed query"
            return error_response(413, TOO_LONG, message)
        raise
    kind = result.kind
    fmt = _format(kind)
    if fmt is None:
        return error_response(
            406,
            "Not Acceptable",
            "no offered format matches the Accept "
            f"header; offered: {', '.join(renderer.suffixes(kind))}",
        )
    if fmt.is_html:
        return _editor(text, result)
    about = _about(text) if fmt.attachment else None
    return download(fmt, result, about=about, name="sparql-results")


def _about(text: str) -> xlsx.About:
    """What a workbook's "About" sheet says of an ad-hoc query: its text, the protocol's
    dataset parameters, and the editor's page holding it."""
    dataset = [
        (name, iri)
        for name in ("default-graph-uri", "named-graph-uri")
        for iri in _values(name)
        if iri
    ]
    return xlsx.About(
        query=text,
        parameters=dataset,
        page=urljoin(request.host_url, url_builder.sparql_url(text, "html")),
        data_version=db().version(),
    )


def _services(text: str) -> list[str]:
    """The SERVICE endpoints ``text`` calls (it passed the guard, so it parses)."""
    try:
        return inspect(text).services
    except QuerySyntaxError:
        return []


def _params() -> list[tuple[str, bytes]]:
    """The request's parameters, from the URL and a form body, as (name, raw value bytes).

    Werkzeug decodes percent-escapes that are not UTF-8 leniently (``%FC`` stays the text
    "%FC", invalid bytes of a form body become U+FFFD), which would run a query other than
    the one sent: the values are kept as bytes here and ``_values`` decodes them strictly."""
    if "cpo_sparql_params" not in g:
        pairs = _split(request.query_string)
        if request.method == "POST":
            if request.mimetype == "application/x-www-form-urlencoded":
                pairs += _split(request.get_data())
            elif request.mimetype == "multipart/form-data":
                pairs += [(k, v.encode()) for k, v in request.form.items(multi=True)]
        g.cpo_sparql_params = pairs
    return g.cpo_sparql_params


def _split(raw: bytes) -> list[tuple[str, bytes]]:
    """``application/x-www-form-urlencoded`` pairs; names decoded, values left as bytes."""
    pairs = []
    for part in raw.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        name_text = unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8", "replace")
        pairs.append((name_text, unquote_to_bytes(value.replace(b"+", b" "))))
    return pairs


def _names() -> set[str]:
    return {name for name, _ in _params()}


def _values(name: str) -> list[str]:
    """The values of parameter ``name``, decoded as UTF-8; 400 naming the bad byte if not."""
    return [
        _utf8(raw, "the query" if name == "query" else f"the parameter {name!r}", url=True)
        for key, raw in _params()
        if key == name
    ]


def _utf8(raw: bytes, what: str, url: bool) -> str:
    """``raw`` decoded as UTF-8 (SPARQL Protocol, 2.1), without a leading byte order mark."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[max(0, exc.start - 24) : exc.start].decode("utf-8", "replace")
        how = "as UTF-8 (percent-encode each UTF-8 byte)" if url else "encoded as UTF-8"
        raise QueryRefused(
            400,
            f"{what} is not valid UTF-8 (byte 0x{raw[exc.start]:02X} at position {exc.start}, "
            f"after {before!r}); send it {how}",
        ) from None
    return text.removeprefix("\ufeff")


def _query_text() -> str | None:
    """The query of a protocol request, None when there is none (GET: service description)."""
    if "update" in _names() or request.mimetype == "application/sparql-update":
        raise QueryRefused(403, "SPARQL Update is not allowed: this endpoint is read-only")
    queries = _values("query")
    if request.method == "POST" and request.mimetype == "application/sparql-query":
        if queries:
            abort(
                400,
                "the query is given twice, as the application/sparql-query body and as a "
                "'query' URL parameter; send it once (SPARQL 1.1 Protocol, 2.1.3)",
            )
        return _utf8(request.get_data(), "the query", url=False)
    if len(queries) > 1:
        abort(
            400,
            f"the 'query' parameter is given {len(queries)} times; give it once "
            "(SPARQL 1.1 Protocol, 2.1)",
        )
    text = queries[0] if queries else None
    if text is None and request.method == "POST":
        raise QueryRefused(
            400,
            "no query: send it as the 'query' form field or as an application/sparql-query body",
        )
    return text


def _protocol_dataset() -> Dataset | None:
    """The dataset of the protocol's default-graph-uri and named-graph-uri parameters (each
    repeatable), which replace the query's FROM and FROM NAMED; None without them. They only
    name graphs of the store: nothing is fetched. An empty value is no graph: Virtuoso's form,
    and the DBpedia-style URLs copied from it, send ``default-graph-uri=``."""
    default = [iri for iri in _values("default-graph-uri") if iri]
    named = [iri for iri in _values("named-graph-uri") if iri]
    if not default and not named:
        return None
    for iri in (*default, *named):
        try:
            ox.NamedNode(iri)
        except ValueError:
            abort(
                400,
                f"{iri[:200]!r} is not an IRI (default-graph-uri and named-graph-uri name graphs)",
            )
    return Dataset(tuple(default), tuple(named))


def _wanted_format() -> list[str]:
    """The 'format' / 'output' values (SPARQLWrapper's); 400 if they name different formats.

    SPARQLWrapper sends each parameter twice for TSV, RDF/XML and JSON-LD, once by its short
    name and once as a media type ('tsv', 'text/tab-separated-values'): values naming one
    format, for a SELECT or for a graph, are one choice. The query's form is not known
    yet, so ``_format`` checks again for the form it has."""
    given = [v for name in ("format", "output") for v in _values(name) if v]
    if len({v.strip().lower() for v in given}) > 1 and not any(
        _one_format(given, kind) for kind in ("select", "graph")
    ):
        _two_formats(given)
    return given


def _two_formats(given: list[str]) -> NoReturn:
    shown = ", ".join(sorted({repr(v[:40]) for v in given}))
    abort(400, f"the result format is given as {shown} ('format' / 'output'); give one")


def _one_format(given: list[str], kind: str) -> bool:
    """Whether every value of ``given`` names one and the same format for ``kind``."""
    named = {_named_format(v, kind) for v in given}
    return len(named) == 1 and None not in named


def _named_format(value: str, kind: str) -> renderer.Format | None:
    """The format of ``kind`` a 'format' / 'output' value names, None if none: a short name
    (FORMAT_PARAM), or a media type or alias of a format. A comma-separated list of media
    types counts by its first one we know: SPARQLWrapper sends its Accept list for JSON-LD
    ('application/ld+json,application/x-json+ld') as a value."""
    name = value.strip().lower()
    suffix = FORMAT_PARAM.get(name)
    if kind == "graph":
        suffix = GRAPH_FORMAT_PARAM.get(name, suffix)
    if suffix:
        return renderer.by_suffix(suffix, kind)
    for item in name.split(","):
        media = item.split(";", 1)[0].strip()
        for f in renderer.FORMATS:
            if kind in f.kinds and media in (f.mimetype, *f.aliases):
                return f
    return None


def _format(kind: str) -> renderer.Format | None:
    given = _wanted_format()
    if given:
        named = {v: _named_format(v, kind) for v in given}
        unknown = [v for v, f in named.items() if f is None]
        if unknown:
            abort(
                400,
                f"unknown format {unknown[0][:40]!r}; use one of "
                f"{', '.join(renderer.suffixes(kind))}",
            )
        if len(set(named.values())) > 1:
            _two_formats(given)
        return named[given[0]]
    default = "ttl" if kind == "graph" else "json"
    return renderer.negotiate(request.accept_mimetypes, kind, default)


#: The service description's formats, Turtle first (the answer to */* and to none offered).
SERVICE_FORMATS = ("ttl", "html", "nt", "jsonld", "rdf")


def _no_query():
    """The service description in the RDF format the client asks for (Turtle when it names
    none of them); the editor page for a browser."""
    offered = [renderer.BY_SUFFIX[s] for s in SERVICE_FORMATS]
    accept = request.accept_mimetypes
    if _wanted_format():  # a format the description cannot take is a 400, as with a query
        fmt = _format("graph")
    else:
        fmt = (renderer.choose(accept, offered) if accept else None) or offered[0]
    if fmt.is_html:
        return _editor(examples.DEFAULT_QUERY, None)
    endpoint = url_for(".endpoint", _external=True)
    if not SAFE_URL.match(endpoint):
        endpoint = "/sparql"
    body = render_template(
        "service.ttl",
        endpoint=endpoint,
        formats=renderer.FORMATS,
        federated=bool(db().service_allowlist),
    )
    # The template's fixed text, then the dataset from the store, all serialised by
    # pyoxigraph: graph names are data, never spliced into Turtle.
    base = urljoin(_iri_or(request.base_url, "http://localhost/sparql"), endpoint)
    triples = [quad.triple for quad in ox.parse(body, format=ox.RdfFormat.TURTLE, base_iri=base)]
    triples += _dataset(ox.NamedNode(base), ox.NamedNode(urljoin(base, ".well-known/void")))
    if fmt.suffix == "ttl":  # with the description's own prefixes
        data = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=SD_PREFIXES) or b""
        return Response(data, mimetype="text/turtle")
    data, content_type = renderer.render(fmt, Result("graph", triples=triples))
    return Response(data, content_type=content_type)


def _iri_or(text: str, fallback: str) -> str:
    try:
        return ox.NamedNode(text).value
    except ValueError:
        return fallback


SD = "http://www.w3.org/ns/sparql-service-description#"
SD_PREFIXES = {
    "sd": SD,
    "formats": "http://www.w3.org/ns/formats/",
    "dcterms": "http://purl.org/dc/terms/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "void": "http://rdfs.org/ns/void#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
VOID_TRIPLES = ox.NamedNode("http://rdfs.org/ns/void#triples")
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
# Every named graph with the size its last write recorded in graph/meta (README, "Store"),
# if any: listing the graphs and reading those records is cheap at any size, counting the
# triples of each is not (a 10M-triple graph takes 7-9 s).
GRAPHS = """SELECT ?g ?n WHERE {
  GRAPH ?g { }
  FILTER(?g != ?meta)
  OPTIONAL { GRAPH ?meta { ?g <http://rdfs.org/ns/void#triples> ?n } }
}"""


def _graph_sizes() -> dict[str, int | None]:
    """Each named graph's IRI and recorded size (None: no record), by IRI; the engine keeps
    the answer per data version."""
    meta = ox.NamedNode(graph_iri("meta"))
    result = db().query(GRAPHS, {"meta": meta}, trusted=True)
    sizes: dict[str, int | None] = {}
    for graph, n in sorted(result.rows, key=lambda row: row[0].value):
        sizes[graph.value] = int(n.value) if isinstance(n, ox.Literal) else None
    return sizes


def _dataset(service: ox.NamedNode, void: ox.NamedNode) -> list[ox.Triple]:
    """The service's default dataset (SPARQL 1.1 Service Description, 3.2): the union of the
    named graphs as its default graph, each named graph by name, with its recorded size, and
    a link to the VoID description of the data. The union gets no void:triples: the sum of
    the graphs' sizes counts a triple held by two graphs twice, and counting it is not cheap.
    Blank nodes are labelled by position, so the same data gives the same bytes (ETag)."""
    t, sd = ox.Triple, (lambda name: ox.NamedNode(SD + name))
    dataset, default = ox.BlankNode("dataset"), ox.BlankNode("union")
    out = [
        t(service, sd("defaultDataset"), dataset),
        t(dataset, RDF_TYPE, sd("Dataset")),
        t(dataset, ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#seeAlso"), void),
        t(dataset, sd("defaultGraph"), default),
        t(default, RDF_TYPE, sd("Graph")),
        t(default, ox.NamedNode("http://purl.org/dc/terms/description"), UNION),
    ]
    for n, (iri, size) in enumerate(_graph_sizes().items(), 1):
        named, graph = ox.BlankNode(f"named{n}"), ox.BlankNode(f"graph{n}")
        out += [
            t(dataset, sd("namedGraph"), named),
            t(named, RDF_TYPE, sd("NamedGraph")),
            t(named, sd("name"), ox.NamedNode(iri)),
            t(named, sd("graph"), graph),
            t(graph, RDF_TYPE, sd("Graph")),
        ]
        if size is not None:  # a graph without a record is not counted here
            out.append(t(graph, VOID_TRIPLES, _count(size)))
    return out


UNION = ox.Literal("The union of all named graphs (sd:UnionDefaultGraph).", language="en")


def _count(n: int) -> ox.Literal:
    return ox.Literal(str(n), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))


def _editor(text: str, result: Result | None, error: str | None = None):
    return render_template(
        "sparql.html",
        query=text,
        result=result,
        prefixes=examples.prefixes(),
        examples=examples.examples(),
        suffixes=renderer.suffixes(result.kind) if result else [],
        error=error,
    )
