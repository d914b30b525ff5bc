"""Error pages: a clear message with the right status, never a traceback."""

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from . import renderer
from .database import EngineError, QueryFailed, QueryTimedOut
from .sparql_guard import QueryRefused


def wants_html() -> bool:
    return renderer.best_match(request.accept_mimetypes, ["text/html", "text/plain"]) == "text/html"


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


def register(app: Flask) -> None:
    @app.errorhandler(QueryRefused)
    def refused(exc: QueryRefused):
        title = "Query refused" if exc.status == 403 else "Malformed query"
        return error_response(exc.status, title, exc.message)

    @app.errorhandler(EngineError)
    def engine(exc: EngineError):
        title = {503: "Query stopped or service busy", 400: "Query failed"}.get(
            exc.status, "Query error"
        )
        resp = error_response(exc.status, title, exc.message)
        if exc.status == 503:
            resp.headers["Retry-After"] = "5"
        return resp

    @app.errorhandler(HTTPException)
    def http(exc: HTTPException):
        return error_response(exc.code or 500, exc.name, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unexpected error")
        return error_response(
            500, "Internal error", "the server could not answer this request; it has been logged"
        )
