"""Error pages: a clear message with the right status, never a traceback."""

from flask import Flask, Response, current_app, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from . import renderer
from .database import EngineError, QueryFailed, QueryTimedOut
from .sparql_guard import QueryRefused

#: The media types of an error page; anything else gets the error as a line of text.
HTML_TYPES = ("text/html", "application/xhtml+xml")


def named_format() -> str | None:
    """The format the request names itself, lower case, or None: the URL's suffix
    (``/queries/clusters.json``, ``/id/x.ttl``) or a ``format``/``output`` parameter."""
    suffix = (request.view_args or {}).get("suffix")
    if suffix:
        return str(suffix).lower()
    for name in ("format", "output"):
        value = request.args.get(name)
        if value is None and "form" in request.__dict__:  # a form the view has read already
            value = request.form.get(name)
        if value:
            return value.strip().lower()
    stem, dot, ext = request.path.rpartition("/")[2].rpartition(".")
    if dot and stem and ext.lower() in renderer.BY_SUFFIX:
        return ext.lower()
    return None


def _quality(ranges: list[tuple[str, float]], offer: str, exact: bool = False) -> float:
    """The quality the client gives ``offer``: that of the most specific range matching it
    (``exact``: only a range naming it)."""
    kind = offer.split("/", 1)[0]
    found: tuple[int, float] | None = None
    for media, q in ranges:
        specificity = {offer: 2, f"{kind}/*": 1, "*/*": 0}.get(media)
        if specificity is None or (exact and specificity < 2):
            continue
        if found is None or (specificity, q) > found:
            found = (specificity, q)
    return found[1] if found else 0.0


def wants_html() -> bool:
    """Whether an error goes out as an HTML page rather than a line of text: only when the
    request names no other format (suffix, ``format``/``output``) and the client ranks HTML,
    named as such, strictly above text and every other format we serve, as a browser does
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"). A client accepting
    ``*/*`` (curl, requests, R, YASGUI's "application/sparql-results+json,*/*;q=0.9") gets
    the text it can show or log."""
    named = named_format()
    if named is not None:
        return named in ("html", *HTML_TYPES)
    ranges = [(item.split(";", 1)[0].strip().lower(), q) for item, q in request.accept_mimetypes]
    html = max(_quality(ranges, t, exact=True) for t in HTML_TYPES)
    if html <= 0:
        return False
    others = {"text/plain"}
    others.update(m for f in renderer.FORMATS if not f.is_html for m in (f.mimetype, *f.aliases))
    return html > max(_quality(ranges, m) for m in others)


def error_response(status: int, title: str, message: str) -> Response:
    if wants_html():
        body = render_template("error.html", status=status, title=title, message=message)
        resp = Response(body, status, mimetype="text/html")
    else:
        resp = Response(f"{title}: {message}\n", status, mimetype="text/plain")
    resp.vary.add("Accept")  # HTML or text by Accept: a cache must not mix them up
    return resp


def remote_fault(exc: Exception) -> bool:
    """Whether a query calling SERVICE failed in a way the remote may cause (an error or the
    time limit); a busy pool or a lost worker is ours, and keeps its 503."""
    return isinstance(exc, QueryFailed | QueryTimedOut)


def remote_failure(services: list[str], exc: EngineError) -> tuple[int, str, str]:
    """Status, title and message for a query calling SERVICE that failed or ran out of time:
    the endpoint named, 502 or 504, for the remote is at fault rather than the query."""
    names = ", ".join(f"<{s}>" for s in services)
    if isinstance(exc, QueryTimedOut):
        status, title = 504, "Federated query timed out"
    else:
        status, title = 502, "Federated query failed"
    message = f"{exc.message} (the query calls SERVICE {names}; that endpoint may be down or slow)"
    return status, title, message


def remote_failed(services: list[str], exc: EngineError) -> Response:
    resp = error_response(*remote_failure(services, exc))
    resp.headers["Retry-After"] = "30"
    return resp


def _route_cors(resp: Response) -> None:
    """The CORS headers the path's route sends, on a 405 (no view ran, so neither the
    route's nor webapp._cors's hooks knew it): a script may read why its request failed."""
    from . import CORS_ENDPOINTS
    from .views.sparql import CORS, READ_CORS

    try:
        endpoint, _args = current_app.url_map.bind_to_environ(request.environ).match(method="GET")
    except Exception:  # no GET route here either (or a redirect): nothing to add
        return
    if endpoint == "sparql.endpoint":
        resp.headers.update(CORS)
    elif endpoint in CORS_ENDPOINTS:
        resp.headers.update(READ_CORS)


def register(app: Flask) -> None:
    @app.errorhandler(QueryRefused)
    def refused(exc: QueryRefused):
        title = "Query refused" if exc.status == 403 else "Malformed query"
        return error_response(exc.status, title, exc.message)

    @app.errorhandler(EngineError)
    def engine(exc: EngineError):
        title = {
            503: "Query stopped or service busy",
            400: "Query failed",
            500: "Query engine failure",
        }.get(exc.status, "Query error")
        resp = error_response(exc.status, title, exc.message)
        # Only a 503 may pass (busy, a worker replaced); an engine failure (500,
        # database.EngineCrashed) repeats, so a client is not told to come back.
        if exc.status == 503:
            resp.headers["Retry-After"] = "5"
        return resp

    @app.errorhandler(HTTPException)
    def http(exc: HTTPException):
        resp = error_response(exc.code or 500, exc.name, exc.description or exc.name)
        # The exception's own headers: Allow of a 405 (RFC 9110 15.5.6), WWW-Authenticate...
        for name, value in exc.get_headers(request.environ):
            if name.lower() != "content-type":
                resp.headers.add(name, value)
        if isinstance(exc, MethodNotAllowed):
            _route_cors(resp)
        return resp

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unexpected error")
        return error_response(
            500, "Internal error", "the server could not answer this request; it has been logged"
        )
