"""Flask web front end: application factory, blueprints, security headers, error pages."""

import atexit
import logging
import shutil
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from clusterpolisee.catalog import CatalogError
from clusterpolisee.store import StoreError
from clusterpolisee.store.oxigraph import OxigraphStore

from . import errors, url_builder
from .compress import Gzip
from .config import DEFAULTS
from .database import BoundedCache, Database
from .heap import trim_heap
from .pagecache import PageCache, page_bytes
from .pausing import Pauser
from .present import (
    download_label,
    foreign,
    heading,
    scale_legend,
    show,
    shown_columns,
    term_html,
    time_html,
    visible_controls,
)
from .warmup import Warmer

log = logging.getLogger(__name__)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app for one store. ``config`` overrides ``webapp.config.DEFAULTS``."""
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    _open_store(app)
    _register(app)
    app.after_request(_security_headers)
    app.after_request(_cors)
    app.after_request(_conditional)
    errors.register(app)
    app.jinja_env.globals.update(
        show=show,
        term_html=term_html,
        time_html=time_html,
        heading=heading,
        foreign=foreign,
        href=url_builder.href,
        shown_columns=shown_columns,
        scale_legend=scale_legend,
        download_label=download_label,
    )
    app.jinja_env.filters["heading"] = heading  # for a list of names: names|map('heading')
    app.jinja_env.finalize = visible_controls
    # gzip outside the page cache: it sees kept pages too (which keep their own gzip bytes).
    app.wsgi_app = Gzip(PageCache(app, app.wsgi_app))  # type: ignore[method-assign]
    if (pauser := app.extensions["cpo.pauser"]) is not None:  # every request counts
        app.wsgi_app = pauser.wrap(app.wsgi_app)  # type: ignore[method-assign]
    if proxies := app.config["TRUSTED_PROXIES"]:  # outermost: every layer sees the public URL
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_prefix=proxies
        )
    _load_catalog()
    if app.config["WARM_QUERIES"] and app.config["CACHE_SIZE"] > 0:
        app.extensions["cpo.warmer"] = Warmer(app)
        app.extensions["cpo.warmer"].start()
    return app


def _open_store(app: Flask) -> None:
    path = Path(app.config["STORE_PATH"])
    if not path.exists():
        raise StoreError(f"no store at {path}; run 'clusterpolisee build --store {path}' first")
    writer = OxigraphStore(path) if app.config["WRITABLE"] else None
    fixed = None if writer else OxigraphStore(path, read_only=True).data_version()
    cfg = app.config
    versions = FlushedVersion(writer) if writer else None
    after = cfg["PAUSE_LONG_QUERIES"]
    pauser = app.extensions["cpo.pauser"] = Pauser(after) if after > 0 else None
    db = Database(
        path,
        versions or (lambda: fixed),
        workers=cfg["WORKERS"],
        timeout=cfg["QUERY_TIMEOUT"],
        row_limit=cfg["ROW_LIMIT"],
        cache_size=cfg["CACHE_SIZE"],
        cache_bytes=cfg["CACHE_MB"] * 1024 * 1024,
        service_allowlist=tuple(cfg["SERVICE_ALLOWLIST"]),
        memory_mb=cfg["WORKER_MEMORY_MB"],
        recycle_mb=cfg["WORKER_RECYCLE_MB"],
        nice=cfg["WORKER_NICE"],
        snapshot=versions.path if versions else (lambda version: None),
        pauser=pauser,
    )
    # webapp.pagecache.PageCache keeps its pages in this mapping: only the current data version's
    # pages, at most PAGE_CACHE_SIZE of them and PAGE_CACHE_MB in all (pages may be 2 MB).
    page_mb = cfg["PAGE_CACHE_MB"]
    app.extensions["cpo.pages"] = BoundedCache(
        db.version, cfg["PAGE_CACHE_SIZE"], page_mb * 1024 * 1024, page_bytes
    )
    app.extensions["cpo.db"] = db
    app.extensions["cpo.writer"] = writer
    atexit.register(db.close)


class FlushedVersion:
    """The writer's data version, with an unchanging checkpoint of it for the query workers.

    Workers used to open the live store read-only, which pyoxigraph calls undefined behaviour
    while another process writes: the writer's compaction could delete a table file under a
    worker's open snapshot (a 503 in the soak), and each open replayed the write-ahead log
    into memory (Oxigraph's memtables are 128 MB per column family, so without a flush every
    upload since start stayed in the log). At each new version the writer is now flushed and
    checkpointed (hard links: quick and small) before any worker is told about it; workers
    open the checkpoint. The last few are kept so a query already running can finish.
    """

    KEEP = 3

    def __init__(self, writer: OxigraphStore) -> None:
        self.writer = writer
        self.flushed: str | None = None
        self.lock = threading.Lock()
        # Next to the store, so hard links work (same file system); stale ones go first.
        self.folder = writer.path.with_name(f"{writer.path.name}.snapshots")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.paths: OrderedDict[str, str] = OrderedDict()
        self.count = 0
        atexit.register(shutil.rmtree, self.folder, True)

    def __call__(self) -> str:
        try:
            version = self.writer.data_version()
        except StoreError:
            if self.flushed is None:
                raise
            # The writer closed itself after a commit it could not finish: readers keep the
            # last whole version (its checkpoint) until it is reopened.
            return self.flushed
        if version != self.flushed:
            with self.lock:
                if version != self.flushed:
                    self.writer.flush()
                    self._checkpoint(version)
                    self.flushed = version
                    # An upload (parse, validate, materialise) frees much of what it
                    # allocated; hand it back rather than keep it as fragmented heap.
                    trim_heap()
        return version

    def path(self, version: str) -> str | None:
        """The checkpoint of ``version`` (None: not made, open the store itself)."""
        return self.paths.get(version)

    def _checkpoint(self, version: str) -> None:
        self.count += 1
        target = self.folder / str(self.count)
        self.writer.checkpoint(target)
        self.paths[version] = str(target)
        while len(self.paths) > self.KEEP:
            _, old = self.paths.popitem(last=False)
            shutil.rmtree(old, ignore_errors=True)


def _load_catalog() -> None:
    """Parse the stored questions now (0.65 s), not in the first visitor's request; a broken
    catalog is reported by the pages that need it, as before."""
    from .views.queries import catalog

    try:
        catalog()
    except CatalogError as exc:
        log.warning("the query catalog has errors: %s", exc)


def _register(app: Flask) -> None:
    from .views import (
        api_doc,
        docs,
        graphs,
        home,
        links,
        publish,
        queries,
        resource,
        sparql,
        submit,
    )

    views = (home, sparql, resource, graphs, docs, queries, submit, publish, links, api_doc)
    for module in views:
        app.register_blueprint(module.bp)


def _security_headers(resp):
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    return resp


#: Public read-only resources any origin may read, as /sparql (which sends its own): not
#: /submit nor /links/..., whose forms use tokens and CSRF cookies.
CORS_ENDPOINTS = frozenset(
    {
        "resource.page",
        "graphs.page",
        "publish.catalog",
        "publish.entry",
        "publish.dump",
        "docs.ontology",
        "docs.ontology_version",
        "docs.shapes",
        "queries.query",
    }
)


def _cors(resp: Response) -> Response:
    """CORS on GET and HEAD answers (errors too, so a script can tell a 404 from a network
    failure) of ``CORS_ENDPOINTS``, and on their preflights (an Accept with a quoted JSON-LD
    profile is not a "simple" header)."""
    if request.endpoint not in CORS_ENDPOINTS:
        return resp
    from .views.sparql import READ_CORS, READ_REQUEST_HEADERS

    if request.method not in ("GET", "HEAD", "OPTIONS"):
        return resp
    resp.headers.update(READ_CORS)
    if request.endpoint == "publish.dump":  # a file sent whole or in ranges (send_file)
        exposed = resp.headers["Access-Control-Expose-Headers"]
        resp.headers["Access-Control-Expose-Headers"] = (
            f"{exposed}, Last-Modified, Accept-Ranges, Content-Range"
        )
    if request.method == "OPTIONS":
        resp.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        # A browser resumes a dump with Range / If-Range and revalidates with the others.
        resp.headers["Access-Control-Allow-Headers"] = READ_REQUEST_HEADERS
        resp.headers["Access-Control-Max-Age"] = "3600"
    return resp


# Pages with a form's CSRF token (and the session cookie) are never revalidated from a copy.
NO_ETAG = {
    "submit.form",
    "submit.upload",
    "links.review",
    "links.decide",
    "links.accepted_links",
    "links.withdraw",
    "home.health",
    "static",
}


def _conditional(resp: Response) -> Response:
    """Pages and downloads get an ETag from their body, so clients can revalidate (304)."""
    if (
        request.method in ("GET", "HEAD")
        and resp.status_code == 200
        and request.endpoint not in NO_ETAG
        and not resp.direct_passthrough
        and "ETag" not in resp.headers
    ):
        resp.add_etag()
        resp.headers.setdefault("Cache-Control", "no-cache")
        resp.make_conditional(request)
    return resp


def close_app(app: Flask) -> None:
    """Stop the warm-up and the query workers and release the store (tests, shutdown)."""
    if (warmer := app.extensions.pop("cpo.warmer", None)) is not None:
        warmer.stop()
        # Its query, if one runs, ends within its limit: three visitors' limits, six for a
        # put-off question; past 30 s the daemon thread is left to end with the process.
        warmer.join(timeout=30)
    app.extensions["cpo.db"].close()
    if (pauser := app.extensions.get("cpo.pauser")) is not None:
        pauser.close()
    writer = app.extensions.get("cpo.writer")
    if writer is not None:
        writer.close()
        app.extensions["cpo.writer"] = None
