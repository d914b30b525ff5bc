"""Rendered pages kept per data version, so a repeated page costs a dictionary lookup.

The key is the data version, the full URL, and the request headers a page depends on
(Accept, Accept-Language); only 200 answers without cookies are kept.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps

from flask import Response, current_app, make_response, request

from .access import db

MAX_PAGE_BYTES = 2_000_000  # larger pages are rendered each time
_lock = threading.Lock()


def _pages() -> OrderedDict[tuple, tuple[bytes, int, list]]:
    """This app's page cache."""
    return current_app.extensions.setdefault("cpo.pages", OrderedDict())


def cached_page(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        size = current_app.config["PAGE_CACHE_SIZE"]
        key = (
            db().version(),
            request.full_path,
            request.headers.get("Accept", ""),
            request.headers.get("Accept-Language", ""),
        )
        pages = _pages()
        with _lock:
            hit = pages.get(key) if size > 0 else None
            if hit is not None:
                pages.move_to_end(key)
        if hit is not None:
            body, status, headers = hit
            return Response(body, status, headers)
        resp = make_response(view(*args, **kwargs))
        resp.vary.update(("Accept", "Accept-Language"))
        keep = resp.status_code == 200 and "Set-Cookie" not in resp.headers
        if size > 0 and keep and not resp.direct_passthrough:
            body = resp.get_data()
            if len(body) > MAX_PAGE_BYTES:
                return resp
            with _lock:
                pages[key] = (body, 200, list(resp.headers.items()))
                while len(pages) > size:
                    pages.popitem(last=False)
        return resp

    return wrapper
