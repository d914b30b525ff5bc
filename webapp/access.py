"""Access to the app's shared objects for views: the query engine and the one writer."""

import re
from collections.abc import Mapping

import pyoxigraph as ox
from flask import current_app, make_response

from clusterpolisee import xlsx

from . import renderer
from .database import Database, Result
from .renderer import Format

RESULT_KIND = {"select": "select", "ask": "ask", "construct": "graph", "describe": "graph"}


def db() -> Database:
    return current_app.extensions["cpo.db"]


def writer():
    """The read-write store of the serving process, or None when it serves read-only."""
    return current_app.extensions.get("cpo.writer")


class EngineStore:
    """A read-only ``Store``-like adapter for library code (e.g. the catalog's drop-downs):
    its queries go through the engine (the app's, or ``engine``), with its time limit and
    cache."""

    def __init__(self, engine: Database | None = None) -> None:
        self.engine = engine

    def select(
        self, query: str, bindings: Mapping[str, ox.NamedNode | ox.Literal] | None = None
    ) -> list[dict]:
        result = (self.engine or db()).query(query, bindings, trusted=True)
        return [{k: v for k, v in rec.items() if v is not None} for rec in result.records()]


def download(
    fmt: Format,
    result: Result,
    extra: dict[str, str] | None = None,
    about: xlsx.About | None = None,
    name: str = "results",
):
    """A response with ``result`` in a non-HTML format, truncation reported in headers. A
    format to save (a workbook) comes as the attachment ``{name}.{suffix}``, its "About"
    sheet saying ``about``."""
    if fmt.attachment:  # a workbook, written by a worker (Database.rendered)
        body, mimetype = db().rendered(fmt.suffix, result, about), fmt.mimetype
    else:
        body, mimetype = renderer.render(fmt, result)
    resp = make_response(body)
    resp.headers["Content-Type"] = mimetype
    if fmt.attachment:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "results"
        resp.headers["Content-Disposition"] = f'attachment; filename="{safe}.{fmt.suffix}"'
    resp.headers["Vary"] = "Accept"
    if result.truncated:
        resp.headers["X-Result-Truncated"] = "true"
        resp.headers["X-Row-Limit"] = str(result.limit)
    for k, v in (extra or {}).items():
        resp.headers[k] = v
    return resp
