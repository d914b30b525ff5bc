"""/openapi.json: the OpenAPI description of the stored questions and the endpoint
(``webapp.openapi``), for client generators and API tools, as grlc offers."""

import json
import threading

from flask import Blueprint, Response, current_app, request

from .. import openapi, renderer
from ..access import EngineStore, db
from ..pagecache import cached_page
from .queries import catalog
from .sparql import READ_CORS

bp = Blueprint("api_doc", __name__)
_LOCK = threading.Lock()  # one build at a time: a build asks the engine for every option list
JSON = "application/json"
OAS = openapi.MEDIA_TYPE.split(";", 1)[0]


@bp.after_request
def cors(resp: Response) -> Response:
    """Any origin may read it (API tools in a browser fetch it), as /sparql's answers."""
    resp.headers.update(READ_CORS)
    if request.method == "OPTIONS":
        resp.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        resp.headers["Access-Control-Allow-Headers"] = "Accept"
    return resp


@bp.route("/openapi.json")
@cached_page
def document():
    # application/json unless the OpenAPI type is named (a browser's */* gets plain JSON).
    chosen = renderer.best_match(request.accept_mimetypes, [JSON, OAS], exact_only=[OAS])
    content_type = openapi.MEDIA_TYPE if chosen == OAS else JSON
    resp = Response(_body(), content_type=content_type)
    resp.headers["Vary"] = "Accept"
    return resp


def _body() -> bytes:
    """The document's bytes for this data version (its enums are the data's values) and
    base URL (its server): only the latest is kept; the page cache keeps whole answers per
    Accept on top of this. Read once: another thread may replace the kept one meanwhile."""
    key = (db().version(), request.url_root)
    kept = current_app.extensions.setdefault("cpo.openapi", {})
    body = kept.get(key)
    if body is None:
        with _LOCK:
            body = kept.get(key)
            if body is None:
                body = _build(key[0])
                kept.clear()
                kept[key] = body
    return body


def _build(version: str) -> bytes:
    store = EngineStore()  # the drop-downs' lists, as the question pages get them
    doc = openapi.build(
        catalog(),
        request.url_root,
        options=lambda p: p.options(store),
        allowlist=db().service_allowlist,
        data_version=version,
    )
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
