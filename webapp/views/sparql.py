"""/sparql: the SPARQL 1.1 Protocol endpoint, its service description and editor page."""

import re
from urllib.parse import urljoin

import pyoxigraph as ox
from flask import Blueprint, Response, abort, render_template, request, url_for

from clusterpolisee import xlsx
from clusterpolisee.sparqltext import QuerySyntaxError, inspect

from .. import renderer, url_builder
from ..access import db, download
from ..database import Dataset, EngineError, Result
from ..errors import error_response, remote_failed, remote_failure, remote_fault
from ..pagecache import cached_page
from ..sparql_guard import QueryRefused
from . import examples

bp = Blueprint("sparql", __name__)
SAFE_URL = re.compile(r"^https?://[A-Za-z0-9.:\[\]-]+/sparql$")

# Any origin may read public answers: no cookie or token is involved. Also sent by the other
# public read-only resources (webapp._cors). A fixed "*" does not vary with Origin, so no
# "Vary: Origin" is needed (it would keep pages out of the page cache).
READ_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Link, X-Result-Truncated, X-Row-Limit",
}
CORS = {
    **READ_CORS,
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Content-Type",
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
    try:
        result = db().query(text, dataset=_protocol_dataset())
    except (QueryRefused, EngineError) as exc:
        status, message = exc.status, exc.message
        services = _services(text) if remote_fault(exc) else []
        if services:  # an allowed endpoint failed: 502/504 naming it, as stored queries do
            status, _title, message = remote_failure(services, exc)
        wanted = _format("select")
        if wanted is not None and wanted.is_html:
            return _editor(text, None, message), status
        if services:
            return remote_failed(services, exc)
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
        for iri in request.values.getlist(name)
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


def _query_text() -> str | None:
    """The query of a protocol request, None when there is none (GET: service description)."""
    if "update" in request.values or request.mimetype == "application/sparql-update":
        raise QueryRefused(403, "SPARQL Update is not allowed: this endpoint is read-only")
    if request.method == "POST" and request.mimetype == "application/sparql-query":
        return request.get_data(as_text=True)
    text = request.values.get("query")
    if text is None and request.method == "POST":
        raise QueryRefused(
            400,
            "no query: send it as the 'query' form field or as an application/sparql-query body",
        )
    return text


def _protocol_dataset() -> Dataset | None:
    """The dataset of the protocol's default-graph-uri and named-graph-uri parameters (each
    repeatable), which replace the query's FROM and FROM NAMED; None without them. They only
    name graphs of the store: nothing is fetched."""
    default = request.values.getlist("default-graph-uri")
    named = request.values.getlist("named-graph-uri")
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


def _format(kind: str) -> renderer.Format | None:
    wanted = request.values.get("format") or request.values.get("output")
    if wanted:
        suffix = FORMAT_PARAM.get(wanted.lower())
        if kind == "graph":
            suffix = GRAPH_FORMAT_PARAM.get(wanted.lower(), suffix)
        fmt = renderer.by_suffix(suffix, kind) if suffix else None
        if fmt is None:
            for f in renderer.FORMATS:
                if kind in f.kinds and wanted.lower() in (f.mimetype, *f.aliases):
                    return f
            abort(
                400,
                f"unknown format {wanted[:40]!r}; use one of {', '.join(renderer.suffixes(kind))}",
            )
        return fmt
    default = "ttl" if kind == "graph" else "json"
    return renderer.negotiate(request.accept_mimetypes, kind, default)


def _no_query():
    best = renderer.best_match(request.accept_mimetypes, ["text/turtle", "text/html"])
    if best == "text/html":
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
    return Response(body, mimetype="text/turtle")


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
