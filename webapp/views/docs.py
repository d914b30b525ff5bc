"""/ontology and /shapes: documentation pages, and the files by Accept or suffix."""

from flask import Blueprint, abort, render_template, request

from .. import docs_model, renderer
from ..access import download
from ..database import Result
from ..errors import error_response

bp = Blueprint("docs", __name__)


def _negotiated(suffix: str | None):
    if suffix:
        fmt = renderer.by_suffix(suffix, "graph") or (
            renderer.BY_SUFFIX["html"] if suffix == "html" else None
        )
        if fmt is None:
            abort(404, f"no .{suffix} format; use .ttl, .nt, .jsonld or .rdf")
        return fmt
    return renderer.negotiate(request.accept_mimetypes, "graph", "html")


def _serve(triples: tuple, suffix: str | None, page):
    fmt = _negotiated(suffix)
    if fmt is None:
        return error_response(
            406, "Not Acceptable", "available as HTML, Turtle, N-Triples, JSON-LD and RDF/XML"
        )
    if fmt.is_html:
        return page()
    return download(fmt, Result(kind="graph", triples=list(triples)))


@bp.route("/ontology")
@bp.route("/ontology.<suffix>")
def ontology(suffix: str | None = None):
    return _serve(
        docs_model.ontology_triples(),
        suffix,
        lambda: render_template(
            "ontology.html", doc=docs_model.ontology_doc(), suffixes=renderer.suffixes("graph")
        ),
    )


@bp.route("/shapes")
@bp.route("/shapes.<suffix>")
def shapes(suffix: str | None = None):
    return _serve(
        docs_model.shapes_triples(),
        suffix,
        lambda: render_template(
            "shapes.html",
            shapes=docs_model.shapes_doc(),
            files=docs_model.shape_files(),
            suffixes=renderer.suffixes("graph"),
        ),
    )
