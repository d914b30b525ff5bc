"""Rendered pages kept per data version, answered before Flask runs.

A view decorated with ``cached_page`` marks its answer as one to keep; the WSGI middleware
``PageCache`` keeps the finished response (status, the headers every ``after_request`` hook
added, body) and answers the same request again from it, without a request context, routing
or hooks: at 32 clients those cost the server about 0.4 ms of its GIL per page.

The key is the data version, the URL's parts (scheme, host, script name, path, query string)
and the request headers a page depends on (Accept; Accept-Language as the language ranges
``present.language_ranges`` reads from it, the only use pages make of it). Only 200 answers to GET
are kept, and none that sets a cookie, is private or varies with another header. A hit
answers If-None-Match with 304 itself; requests with other preconditions (If-Match,
If-Unmodified-Since, Range) go to Flask.

A page that ``compress`` would gzip keeps its gzip bytes beside the plain ones, made on its
first hit from a client that accepts gzip and counted in the cache's byte budget: a kept gzip
answer costs no compression per request. Its headers say ``Vary: Accept-Encoding`` either way.
"""

import logging
import threading
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from flask import Flask, make_response, request
from werkzeug.http import is_resource_modified, remove_entity_headers

from . import compress
from .present import language_ranges

MAX_PAGE_BYTES = 2_000_000  # larger pages are rendered each time
#: The environ key a cached view sets to have its answer kept.
KEEP = "cpo.keep_page"
#: Request headers that make the answer depend on more than the key: left to Flask.
PRECONDITIONS = ("HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_RANGE", "HTTP_IF_RANGE")
#: Per-response headers the server adds again to each answer (never replayed).
NOT_KEPT = {"date", "server"}
#: The request headers the key holds (a Vary naming any other keeps the page out).
KEYED = {"accept", "accept-language", "accept-encoding"}  # the last: handled here
log = logging.getLogger(__name__)
_lock = threading.Lock()
Headers = list[tuple[str, str]]
#: Body, status, headers, and the gzip body and headers: None until made, False when the
#: page is not compressed (not textual, or too small).
Page = tuple[bytes, str, Headers, tuple[bytes, Headers] | None | bool]


def cached_page(view: Callable) -> Callable:
    """Mark the view's answers as ones ``PageCache`` may keep."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        resp = make_response(view(*args, **kwargs))
        resp.vary.update(("Accept", "Accept-Language"))
        if not resp.direct_passthrough and len(resp.get_data()) <= MAX_PAGE_BYTES:
            request.environ[KEEP] = True
        return resp

    return wrapper


class PageCache:
    """WSGI middleware around a Flask app's ``wsgi_app``: answers kept pages itself."""

    def __init__(self, app: Flask, inner: Callable) -> None:
        self.app = app
        self.inner = inner

    def _key(self, environ: dict) -> tuple | None:
        method = environ["REQUEST_METHOD"]
        if method not in ("GET", "HEAD") or any(h in environ for h in PRECONDITIONS):
            return None
        if self.app.config["PAGE_CACHE_SIZE"] <= 0:
            return None
        try:
            version = self.app.extensions["cpo.db"].version()
        except Exception:  # Flask's error pages report it; the cache stays out of the way
            return None
        # Parts kept apart: PATH_INFO is decoded, so "/x%3Fa" and "/x?a" must not meet.
        return (
            version,
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            environ.get("SCRIPT_NAME", ""),
            environ.get("HTTP_ACCEPT", ""),
            # The ranges a page picks its labels by, not the header's spelling: "sr-Latn" and
            # "sr-latn, de;q=0" share a page, "sr-Latn" and "sr" do not.
            language_ranges(environ.get("HTTP_ACCEPT_LANGUAGE")),
            environ.get("HTTP_HOST", ""),
            environ["wsgi.url_scheme"],
        )

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        key = self._key(environ)
        if key is None:
            return self.inner(environ, start_response)
        pages = self.app.extensions["cpo.pages"]
        with _lock:
            hit = pages.get(key)
            if hit is not None:
                pages.move_to_end(key)
        if hit is not None:
            body, status, headers, gz = hit
            if gz is not False and compress.wants_gzip(environ):
                body, headers = gz if gz else self._gzip(key, hit)
            environ[compress.DONE] = True  # the headers are final: compress leaves them be
            return _answer(body, status, headers, environ, start_response)
        return self._render(key, environ, start_response)

    def _render(self, key: tuple, environ: dict, start_response: Callable) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list, exc_info: Any = None) -> Callable:
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info)

        body = self.inner(environ, capture)
        keep = (
            environ.get(KEEP)
            and environ["REQUEST_METHOD"] == "GET"
            and seen.get("status", "").startswith("200 ")
            and _shared(seen.get("headers", []))
        )
        if not keep:
            return body
        try:
            data = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        kept = [(k, v) for k, v in seen["headers"] if k.lower() not in NOT_KEPT]
        gz: None | bool = False
        if compress.compressible(kept):
            kept = compress.with_vary(kept)  # as compress adds it to the answer sent now
            gz = None if len(data) >= compress.MIN_BYTES else False
        try:
            # BoundedCache drops a stale version itself; asking here first keeps a new
            # version's flush and checkpoint (the writer's first version() call) out of _lock.
            if self.app.extensions["cpo.db"].version() == key[0]:
                with _lock:
                    self.app.extensions["cpo.pages"][key] = (data, seen["status"], kept, gz)
        except Exception:  # the page is rendered and its headers sent: answer it regardless
            log.exception("could not keep a rendered page")
        return [data]

    def _gzip(self, key: tuple, page: Page) -> tuple[bytes, Headers]:
        """The page's gzip body and headers, made now and kept with it (re-stored, so the
        cache counts its bytes); two threads may both make it: the bytes are the same."""
        packed = compress.encode(page[0], page[2])
        try:
            if self.app.extensions["cpo.db"].version() == key[0]:  # as in _render
                pages = self.app.extensions["cpo.pages"]
                with _lock:
                    if pages.get(key) is page:
                        pages[key] = (*page[:3], packed)
        except Exception:
            log.exception("could not keep a page's gzip bytes")
        return packed


def page_bytes(page: Page) -> int:
    """What a kept page counts against PAGE_CACHE_MB: bodies, headers and some overhead."""
    body, _, headers, gz = page
    size = len(body) + sum(len(k) + len(v) for k, v in headers) + 512
    if gz:
        size += len(gz[0]) + sum(len(k) + len(v) for k, v in gz[1])
    return size


def _shared(headers: list[tuple[str, str]]) -> bool:
    """True unless the answer sets a cookie, says it is private, or varies with a request
    header the key leaves out (Flask adds "Vary: Cookie" when a view reads the session)."""
    for name, value in headers:
        name, value = name.lower(), value.lower()
        if name == "set-cookie":
            return False
        if name == "cache-control" and ("private" in value or "no-store" in value):
            return False
        if name == "vary" and {v.strip() for v in value.split(",")} - KEYED:
            return False
    return True


def _answer(
    body: bytes, status: str, headers: Headers, environ: dict, start_response: Callable
) -> Iterable[bytes]:
    """The kept page, or 304 when the client's If-None-Match names its ETag (for a gzip
    request compress took it out and checks it against the gzip ETag itself)."""
    etag = next((v for k, v in headers if k.lower() == "etag"), None)
    if etag and "HTTP_IF_NONE_MATCH" in environ and not is_resource_modified(environ, etag):
        short = list(headers)
        remove_entity_headers(short)  # as werkzeug does for its own 304s
        start_response("304 NOT MODIFIED", short)
        return []
    start_response(status, list(headers))
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]
