"""Publishing so others can link back: the VoID + DCAT-AP description (``/.well-known/void``,
``/catalog``), the compressed dumps (``/dumps/clusterpolisee.nq.gz``, ``.trig.gz``), a page
for each IRI the description mints (``{base}dataset...``, under ``/dataset...``), and
``/robots.txt``, which allows crawling and names the description.

Both come from ``clusterpolisee.publish``. They read the whole store (graph sizes, link
counts, every quad for the dumps), which the row-limited query workers cannot return, so
this view reads the store directly: through the serving process's own handle when it is the
writer, otherwise through a read-only handle opened for the purpose. The description is kept
per data version and base URL; the dumps are rewritten only when the data version changed.
"""

import threading
from pathlib import Path

import pyoxigraph as ox
from flask import Blueprint, Response, abort, current_app, request, send_file, url_for

from clusterpolisee.publish import (
    DATASET,
    DCT,
    DUMPS,
    VERSION_FILE,
    dump_sizes,
    void_dcat,
    write_dumps,
)
from clusterpolisee.store import Store
from clusterpolisee.store.oxigraph import OxigraphStore

from .. import renderer
from ..access import db, writer
from ..errors import error_response
from ..pagecache import cached_page
from . import resource

bp = Blueprint("publish", __name__)
_LOCK = threading.Lock()

PREFIXES = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dcterms": "http://purl.org/dc/terms/",
    "void": "http://rdfs.org/ns/void#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "sd": "http://www.w3.org/ns/sparql-service-description#",
}
# Turtle first: it is what a client without a preference (or a browser, via */*) gets.
OFFERED = ("ttl", "jsonld", "nt", "rdf")


class _Reading:
    """The store to read for publishing: the writer, or a read-only handle closed after use."""

    def __enter__(self) -> Store:
        self.own = None
        store = writer()
        if store is None:
            self.own = store = OxigraphStore(current_app.config["STORE_PATH"], read_only=True)
        return store

    def __exit__(self, *exc) -> None:
        if self.own is not None:
            self.own.close()


def _formats() -> list[renderer.Format]:
    return [renderer.BY_SUFFIX[s] for s in OFFERED]


def _negotiate(suffix: str | None) -> renderer.Format | None:
    if suffix is not None:
        if suffix not in OFFERED:
            abort(404, f"no .{suffix[:20]} form of the catalogue; use " + ", ".join(OFFERED))
        return renderer.BY_SUFFIX[suffix]
    if not request.accept_mimetypes:
        return renderer.BY_SUFFIX["ttl"]
    # Canonical media types only: a browser's "application/xml;q=0.9" must not win RDF/XML
    # over the Turtle that "*/*" gives it.
    return renderer.choose(request.accept_mimetypes, _formats(), aliases=False)


def description() -> list[ox.Triple]:
    """The VoID + DCAT-AP triples for this server's URL, kept per data version."""
    base_url = request.url_root
    key = (db().version(), base_url)
    cache = current_app.extensions.setdefault("cpo.void", {})
    if key not in cache:
        with _LOCK, _Reading() as store:
            triples = void_dcat(store, base_url, dumps=dumps_folder())
        cache.clear()
        cache[key] = triples
    return cache[key]


@bp.route("/.well-known/void")
@bp.route("/catalog")
@bp.route("/catalog.<suffix>")
def catalog(suffix: str | None = None):
    fmt = _negotiate(suffix)
    if fmt is None:
        return error_response(
            406,
            "Not Acceptable",
            "the catalogue is available as Turtle, JSON-LD, N-Triples and RDF/XML",
        )
    triples = description()
    prefixes = PREFIXES if fmt.suffix in ("ttl", "rdf") else None
    body = ox.serialize(triples, format=_RDF[fmt.suffix], prefixes=prefixes) or b""
    charset = "" if fmt.suffix == "rdf" else "; charset=utf-8"
    resp = Response(body, mimetype=None, content_type=fmt.mimetype + charset)
    resp.headers["Vary"] = "Accept"
    return resp


_RDF = {
    "ttl": ox.RdfFormat.TURTLE,
    "jsonld": ox.RdfFormat.JSON_LD,
    "nt": ox.RdfFormat.N_TRIPLES,
    "rdf": ox.RdfFormat.RDF_XML,
}


@bp.route("/dataset")
@bp.route("/dataset.<suffix>")
@bp.route("/dataset/<path:path>")
@cached_page
def entry(suffix: str | None = None, path: str | None = None):
    """An IRI the description mints (the dataset, its graphs, link-sets, dumps, endpoint...)
    dereferences as the other resources do, described by the description's own triples."""
    triples = description()
    described = {t.subject.value for t in triples}
    iri, suffix = _entry_iri(path, suffix, described)
    # Looked up as text first: a path no IRI can have ("a b", "%zz") made NamedNode fail (500)
    if iri not in described:
        abort(404, f"the catalogue describes no {iri[:200]}")
    data = _about(iri, triples)
    rest = iri[len(DATASET) + 1 :]

    def url_of(s: str) -> str:
        if not rest:
            return url_for("publish.entry", suffix=s)
        return url_for("publish.entry", path=f"{rest}.{s}")

    return resource.answer(iri, data, suffix, url_of)


def _entry_iri(path: str | None, suffix: str | None, described: set[str]) -> tuple[str, str | None]:
    """The IRI and format suffix a /dataset... URL names. A whole path that names an entry is
    taken as it is (a graph's name may end in ".nt"); otherwise a suffix is split off."""
    if path is None:
        return DATASET, suffix
    if DATASET + "/" + path in described:
        return DATASET + "/" + path, None
    stem, suffix = resource.split_suffix(path)
    return DATASET + "/" + stem, suffix


def _about(iri: str, triples: list[ox.Triple]) -> dict:
    """The description's statements about ``iri`` and referring to it, in the form
    ``Database.describe`` gives, labelled by the description's titles, else the store's."""
    node = ox.NamedNode(iri)
    out = [t for t in triples if t.subject == node]
    incoming = [t for t in triples if t.object == node]
    terms = {
        x.value
        for t in out + incoming
        for x in (t.subject, t.predicate, t.object)
        if isinstance(x, ox.NamedNode)
    }
    titles: dict[str, dict[str, str]] = {}
    for t in triples:
        if t.predicate.value == DCT + "title" and t.subject.value in terms:
            titles.setdefault(t.subject.value, {})[t.object.language or ""] = t.object.value
    labels = {**db().labels(terms), **titles}  # a copy: the engine's answer is cached
    return {"out": out, "in": incoming, "hash": [], "labels": labels, "truncated": False}


def dumps_folder() -> Path:
    """Where the dumps are written: config DUMPS_DIR, or 'dumps' next to the store."""
    configured = current_app.config.get("DUMPS_DIR")
    return (
        Path(configured) if configured else Path(current_app.config["STORE_PATH"]).parent / "dumps"
    )


#: How long a download waits for another request writing the dumps before it is told to
#: come back: writing both takes about a minute at 1M triples, too long to hold a connection.
WRITE_WAIT = 2.0
RETRY_AFTER = "60"


@bp.route("/dumps/<name>")
def dump(name: str):
    if name not in DUMPS:
        abort(404, "the dumps are " + " and ".join(DUMPS))
    folder = dumps_folder()
    if not _LOCK.acquire(timeout=WRITE_WAIT):
        resp = error_response(503, "Busy", "the dumps are being written; try again in a minute")
        resp.headers["Retry-After"] = RETRY_AFTER
        return resp
    try:
        with _Reading() as store:
            if request.method == "HEAD" and not dump_sizes(store, folder):
                return _unwritten_head(name)  # a HEAD does not write them
            marker = folder / VERSION_FILE
            before = marker.read_bytes() if marker.exists() else None
            write_dumps(store, folder)
            if marker.read_bytes() != before:  # the description gives their sizes
                current_app.extensions.get("cpo.void", {}).clear()
    except OSError as exc:
        current_app.logger.error("cannot write the dumps to %s: %s", folder, exc)
        abort(503, "the dump cannot be written on this server; see its log")
    finally:
        _LOCK.release()
    resp = send_file(
        folder / name,
        mimetype="application/gzip",
        as_attachment=True,
        download_name=name,
        max_age=0,
    )
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def _unwritten_head(name: str) -> Response:
    """A GET's headers but its length, which is known only once the dump is written (RFC 9110
    9.3.2 lets a HEAD leave out such fields)."""
    resp = Response(status=200, mimetype="application/gzip")
    resp.automatically_set_content_length = False  # not "0": the dump is not empty
    resp.headers.pop("Content-Length", None)
    resp.headers["Content-Disposition"] = f"attachment; filename={name}"
    resp.headers["Cache-Control"] = "no-cache"
    # No ETag: the app's would hash this empty body, which is not the dump's (webapp._conditional
    # skips a body passed through).
    resp.direct_passthrough = True
    return resp


@bp.route("/robots.txt")
def robots():
    """Crawling allowed; the VoID description named in a comment. No ``Sitemap:`` line: it
    must name a sitemap, and this server serves none (a semantic sitemap is optional)."""
    void_url = request.url_root + ".well-known/void"
    body = f"User-agent: *\nAllow: /\n\n# VoID description of this dataset: {void_url}\n"
    resp = Response(body, content_type="text/plain; charset=utf-8")
    resp.headers["Cache-Control"] = "max-age=86400"
    return resp
