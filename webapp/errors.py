"""Error pages: a clear message with the right status, never a traceback."""

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from .database import EngineError
from .sparql_guard import QueryRefused


def wants_html() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "text/plain"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > 0.0


def error_response(status: int, title: str, message: str) -> Response:
    if wants_html():
        body = render_template("error.html", status=status, title=title, message=message)
        return Response(body, status, mimetype="text/html")
    return Response(f"{title}: {message}\n", status, mimetype="text/plain")


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
