"""gzip content-coding for answers whose client accepts it (waitress never compresses).

``Gzip`` wraps the app outside ``pagecache.PageCache``, so it sees every answer: Flask's and
the kept pages'. For a GET or POST (SPARQL queries) whose ``Accept-Encoding`` allows gzip
(q > 0, by name or ``*``) it compresses a whole 200 answer of a textual type over MIN_BYTES
that has no Content-Encoding yet (the .gz dumps and xlsx are not textual), and marks its ETag
``"...-gzip"``: a strong ETag names one representation (RFC 9110 8.8.3). Answers that could
be compressed say ``Vary: Accept-Encoding`` either way, so shared caches keep the two apart.

Never compressed: answers that set a cookie or vary with it, the pages with a CSRF token
(/submit, /links/...): compressing a secret beside text a request put there leaks the secret
through the answer's length (BREACH).

Revalidation: Flask would compare If-None-Match with the identity ETag only, so for a gzip
request the precondition headers are taken out before the app runs and checked here against
the answer as sent; Flask renders a page to make its ETag anyway, so no work is lost. A kept
page's gzip bytes are made once and kept beside the plain ones (``PageCache``), which marks
its answer DONE: its headers are final and nothing is compressed again.
"""

import zlib
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from werkzeug.http import parse_accept_header, parse_date, remove_entity_headers
from werkzeug.sansio.http import is_resource_modified

#: Smaller bodies gain too little (a gzip header and trailer are 18 bytes) to be worth it.
MIN_BYTES = 1024
#: zlib's default, by measurement (BENCHMARKS.md "Compression (2026-12-07)"): a 10,000-row
#: SPARQL JSON answer (2.8 MB) to 136 KB in 15 ms; level 1 is 40% larger (6 ms), 9 takes twice
#: as long for 4% less. A kept page is compressed once (0.3 ms), so its level costs nothing later.
LEVEL = 6
#: A streamed body of a known length up to this many bytes is read whole and compressed;
#: a longer or unknown one is sent as it is (Flask's own answers here are whole lists).
MAX_STREAMED = 8_000_000
#: Environ key: the answer's headers are final (a kept page chose its encoding itself).
DONE = "cpo.encoded"
_PRECONDITIONS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")
_TEXTUAL = (
    "application/json",
    "application/xml",
    "application/n-triples",
    "application/n-quads",
    "application/trig",
    "application/ld+json",
    "application/javascript",
    "application/rdf+xml",
    "application/vnd.oai.openapi+json",
    "image/svg+xml",
)
Headers = list[tuple[str, str]]


@lru_cache(maxsize=256)
def _accepts(header: str) -> bool:
    """Whether an Accept-Encoding value allows gzip: its own q, else ``*``'s, else no."""
    named = star = None
    for coding, q in parse_accept_header(header):  # an entry with an unreadable q is left out
        coding = coding.lower()
        if coding in ("gzip", "x-gzip"):
            named = q if named is None else max(named, q)
        elif coding == "*":
            star = q
    q = named if named is not None else star
    return q is not None and q > 0


def wants_gzip(environ: dict) -> bool:
    """True for a GET or POST whose Accept-Encoding allows gzip (HEAD answers are never
    encoded: their headers are the identity answer's)."""
    header = environ.get("HTTP_ACCEPT_ENCODING")
    return bool(header) and environ["REQUEST_METHOD"] in ("GET", "POST") and _accepts(header)


@lru_cache(maxsize=64)
def _textual(content_type: str) -> bool:
    kind = content_type.partition(";")[0].strip().lower()
    return (
        kind.startswith("text/")
        or kind in _TEXTUAL
        or kind.endswith(("+json", "+xml"))
        or kind.startswith("application/sparql-results+")
    )


def compressible(headers: Headers) -> bool:
    """A textual type without a Content-Encoding, and no cookie (BREACH): one gzip may shrink."""
    textual = False
    for name, value in headers:
        low = name.lower()
        if low in ("content-encoding", "set-cookie"):
            return False
        if low == "vary" and "cookie" in value.lower():
            return False
        if low == "content-type":
            textual = _textual(value)
    return textual


def with_vary(headers: Headers) -> Headers:
    """The headers with Accept-Encoding in Vary (added to an existing Vary, or a new one)."""
    out, found = [], False
    for name, value in headers:
        if name.lower() == "vary":
            found = True
            names = {v.strip().lower() for v in value.split(",")}
            if "accept-encoding" not in names and "*" not in names:
                value = f"{value}, Accept-Encoding"
        out.append((name, value))
    if not found:
        out.append(("Vary", "Accept-Encoding"))
    return out


def gzip_bytes(data: bytes) -> bytes:
    """gzip with mtime 0 (zlib writes none): the same page gives the same bytes and ETag."""
    return zlib.compress(data, LEVEL, wbits=31)


def encode(data: bytes, headers: Headers) -> tuple[bytes, Headers]:
    """The gzip representation of a whole answer: body, and headers with Content-Encoding,
    its length, Vary and the ETag marked ``-gzip`` inside its quotes."""
    packed = gzip_bytes(data)
    out: Headers = []
    for name, value in with_vary(headers):
        low = name.lower()
        if low == "content-length":
            value = str(len(packed))
        elif low == "etag" and value.endswith('"'):
            value = value[:-1] + '-gzip"'
        out.append((name, value))
    if not any(k.lower() == "content-length" for k, _ in out):
        out.append(("Content-Length", str(len(packed))))
    out.append(("Content-Encoding", "gzip"))
    return packed, out


def _header(headers: Headers, wanted: str) -> str | None:
    return next((v for k, v in headers if k.lower() == wanted), None)


class Gzip:
    """WSGI middleware: gzip for clients that accept it, Vary for every answer that could be."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not wants_gzip(environ):
            return self.app(environ, _adding_vary(environ, start_response))
        get = environ["REQUEST_METHOD"] == "GET"
        saved = {k: environ.pop(k) for k in _PRECONDITIONS if get and k in environ}
        seen: list = []

        def capture(status: str, headers: Headers, exc_info: Any = None) -> Callable:
            seen[:] = [status, headers]
            return _no_write

        # Flask (werkzeug) calls start_response before it returns the body.
        body = self.app(environ, capture)
        status, headers = seen
        if not environ.get(DONE) and status.startswith("200 ") and compressible(headers):
            data = _whole(body, headers)
            if data is None:
                headers = with_vary(headers)
            elif len(data) < MIN_BYTES:
                body, headers = [data], with_vary(headers)
            else:
                packed, headers = encode(data, headers)
                body = [packed]
        elif not environ.get(DONE) and (status.startswith("304 ") or compressible(headers)):
            headers = with_vary(headers)
        if saved and status.startswith("200 ") and not _modified(saved, headers):
            if hasattr(body, "close"):
                body.close()
            headers = list(headers)
            remove_entity_headers(headers)  # as werkzeug does for its own 304s
            start_response("304 NOT MODIFIED", headers)
            return []
        start_response(status, headers)
        return body


def _adding_vary(environ: dict, start_response: Callable) -> Callable:
    """start_response adding Vary to an answer that could have been compressed (and 304s)."""

    def wrapped(status: str, headers: Headers, exc_info: Any = None) -> Callable:
        if not environ.get(DONE) and (status.startswith("304 ") or compressible(headers)):
            headers = with_vary(headers)
        return start_response(status, headers, exc_info)

    return wrapped


def _whole(body: Iterable[bytes], headers: Headers) -> bytes | None:
    """The body as bytes: a list at once, a stream of a known, bounded length read whole
    (static files); None for a longer or unknown stream, which is left to stream."""
    if not isinstance(body, (list, tuple)):
        length = _header(headers, "content-length")
        if length is None or not length.isdigit() or int(length) > MAX_STREAMED:
            return None
    try:
        return b"".join(body)
    finally:
        if hasattr(body, "close"):
            body.close()


def _modified(saved: dict, headers: Headers) -> bool:
    """The taken-out preconditions checked against the answer as sent (its own ETag)."""
    return is_resource_modified(
        http_if_none_match=saved.get("HTTP_IF_NONE_MATCH"),
        http_if_modified_since=saved.get("HTTP_IF_MODIFIED_SINCE"),
        etag=_header(headers, "etag"),
        last_modified=parse_date(_header(headers, "last-modified")),
    )


def _no_write(data: bytes) -> None:
    raise RuntimeError("the app wrote through start_response's write(): not supported here")
