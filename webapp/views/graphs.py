"""/graph/...: every named graph IRI of ours dereferences: size, provenance, the triples."""

from flask import Blueprint, abort, render_template, request

from .. import renderer, url_builder
from ..access import db, download
from ..database import Result
from ..errors import error_response
from ..pagecache import cached_page
from ..present import pick_label
from .resource import require_iri, split_suffix

bp = Blueprint("graphs", __name__)


@bp.route("/graph/<path:path>")
@cached_page
def page(path: str):
    path, suffix = split_suffix(path)
    iri = url_builder.base() + "graph/" + path
    require_iri(iri)
    data = db().graph(iri)
    if data["count"] == 0:
        abort(404, f"there is no named graph {iri}")
    if suffix:
        fmt = renderer.by_suffix(suffix, "graph")
        if fmt is None:
            abort(404, f"no .{suffix} view of a graph; use .ttl, .nt, .jsonld or .rdf")
    else:
        fmt = renderer.negotiate(request.accept_mimetypes, "graph", "html")
    if fmt is None:
        return error_response(
            406,
            "Not Acceptable",
            "graphs are available as HTML, Turtle, N-Triples, JSON-LD and RDF/XML",
        )
    if not fmt.is_html:
        result = Result(
            kind="graph",
            triples=data["triples"],
            truncated=data["truncated"],
            limit=len(data["triples"]),
        )
        return download(fmt, result)
    about = db().describe(iri)
    return render_template(
        "graph.html",
        iri=iri,
        path=path,
        count=data["count"],
        truncated=data["truncated"],
        shown=len(data["triples"]),
        incoming=about["in"],
        labels=about["labels"],
        label=pick_label(about["labels"].get(iri)) or iri,
        suffixes=renderer.suffixes("graph"),
    )
