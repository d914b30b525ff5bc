"""Publishing so others can link back: the VoID + DCAT-AP description (``/.well-known/void``,
``/catalog``) and the compressed dumps (``/dumps/clusterpolisee.nq.gz``, ``.trig.gz``).

Both come from ``clusterpolisee.publish``. They read the whole store (graph sizes, link
counts, every quad for the dumps), which the row-limited query workers cannot return, so
this view reads the store directly: through the serving process's own handle when it is the
writer, otherwise through a read-only handle opened for the purpose. The description is kept
per data version and base URL; the dumps are rewritten only when the data version changed.
"""

import threading
from pathlib import Path

import pyoxigraph as ox
from flask import Blueprint, Response, abort, current_app, request, send_file

from clusterpolisee.publish import DUMPS, void_dcat, write_dumps
from clusterpolisee.store import Store
from clusterpolisee.store.oxigraph import OxigraphStore

from .. import renderer
from ..access import db, writer
from ..errors import error_response

bp = Blueprint("publish", __name__)
_LOCK = threading.Lock()

PREFIXES = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dcterms": "http://purl.org/dc/terms/",
    "void": "http://rdfs.org/ns/void#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
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
    # Canonical media types only: a browser's "application/xml;q=0.9" must not win RDF/XML
    # over the Turtle that "*/*" gives it.
    offers = {f.mimetype: f for f in _formats()}
    if not request.accept_mimetypes:
        return renderer.BY_SUFFIX["ttl"]
    best = request.accept_mimetypes.best_match(list(offers), default=None)
    return offers.get(best) if best else None


def description() -> list[ox.Triple]:
    """The VoID + DCAT-AP triples for this server's URL, kept per data version."""
    base_url = request.url_root
    key = (db().version(), base_url)
    cache = current_app.extensions.setdefault("cpo.void", {})
    if key not in cache:
        with _LOCK, _Reading() as store:
            triples = void_dcat(store, base_url)
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


def dumps_folder() -> Path:
    """Where the dumps are written: config DUMPS_DIR, or 'dumps' next to the store."""
    configured = current_app.config.get("DUMPS_DIR")
    return (
        Path(configured) if configured else Path(current_app.config["STORE_PATH"]).parent / "dumps"
    )


@bp.route("/dumps/<name>")
def dump(name: str):
    if name not in DUMPS:
        abort(404, "the dumps are " + " and ".join(DUMPS))
    folder = dumps_folder()
    try:
        with _LOCK, _Reading() as store:
            write_dumps(store, folder)
    except OSError as exc:
        current_app.logger.error("cannot write the dumps to %s: %s", folder, exc)
        abort(503, "the dump cannot be written on this server; see its log")
    resp = send_file(
        folder / name,
        mimetype="application/gzip",
        as_attachment=True,
        download_name=name,
        max_age=0,
    )
    resp.headers["Cache-Control"] = "no-cache"
    return resp
