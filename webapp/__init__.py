"""Flask web front end: application factory, blueprints, security headers, error pages."""

import atexit
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

from clusterpolisee.store import StoreError
from clusterpolisee.store.oxigraph import OxigraphStore

from . import errors, url_builder
from .config import DEFAULTS
from .database import Database
from .present import show, term_html, visible_controls

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
    app.after_request(_conditional)
    errors.register(app)
    app.jinja_env.globals.update(show=show, term_html=term_html, href=url_builder.href)
    app.jinja_env.finalize = visible_controls
    return app


def _open_store(app: Flask) -> None:
    path = Path(app.config["STORE_PATH"])
    if not path.exists():
        raise StoreError(f"no store at {path}; run 'clusterpolisee build --store {path}' first")
    writer = OxigraphStore(path) if app.config["WRITABLE"] else None
    fixed = None if writer else OxigraphStore(path, read_only=True).data_version()
    db = Database(
        path,
        (lambda: writer.data_version()) if writer else (lambda: fixed),
        workers=app.config["WORKERS"],
        timeout=app.config["QUERY_TIMEOUT"],
        row_limit=app.config["ROW_LIMIT"],
        cache_size=app.config["CACHE_SIZE"],
        service_allowlist=tuple(app.config["SERVICE_ALLOWLIST"]),
        memory_mb=app.config["WORKER_MEMORY_MB"],
    )
    app.extensions["cpo.db"] = db
    app.extensions["cpo.writer"] = writer
    atexit.register(db.close)


def _register(app: Flask) -> None:
    from .views import docs, graphs, home, links, publish, queries, resource, sparql, submit

    for module in (home, sparql, resource, graphs, docs, queries, submit, publish, links):
        app.register_blueprint(module.bp)


def _security_headers(resp):
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    return resp


NO_ETAG = {"submit.form", "submit.upload", "links.review", "links.decide", "home.health", "static"}


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
    """Stop the query workers and release the store (tests, shutdown)."""
    app.extensions["cpo.db"].close()
    writer = app.extensions.get("cpo.writer")
    if writer is not None:
        writer.close()
        app.extensions["cpo.writer"] = None
