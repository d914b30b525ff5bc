"""/graph/...: every named graph IRI of ours dereferences: size, provenance, the triples."""

from collections import defaultdict

import pyoxigraph as ox
from flask import Blueprint, abort, make_response, render_template, request

from .. import renderer, url_builder
from ..access import db, download
from ..database import EngineError, Result
from ..errors import error_response
from ..pagecache import cached_page
from ..present import pick_label
from .link_provenance import LinkProvenance, link_provenance
from .resource import require_iri, split_suffix

bp = Blueprint("graphs", __name__)

PROV = "http://www.w3.org/ns/prov#"
#: The PROV-O times an activity or entity may carry, in the order a line shows them, with the
#: word it is shown with (submissions record prov:endedAtTime, the link review also
#: prov:generatedAtTime).
TIME_WORDS = {
    PROV + "startedAtTime": "started",
    PROV + "endedAtTime": "ended",
    PROV + "generatedAtTime": "generated",
    PROV + "atTime": "at",
}
# When each subject of a statement about the graph happened, latest first.
PROVENANCE_TIMES = """
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT DISTINCT ?about ?property ?time WHERE {
  ?about ?p ?graph .
  VALUES ?property { prov:startedAtTime prov:endedAtTime prov:generatedAtTime prov:atTime }
  ?about ?property ?time .
} ORDER BY DESC(?time)"""
Dated = tuple[ox.Triple, list[tuple[str, ox.Literal]]]


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
        fmt = renderer.by_suffix(suffix, "named")
        if fmt is None:
            offered = ", ".join("." + s for s in renderer.suffixes("named"))
            abort(404, f"no .{suffix} view of a graph; use {offered}")
    else:
        fmt = renderer.negotiate(request.accept_mimetypes, "named", "html")
    if fmt is None:
        return error_response(
            406,
            "Not Acceptable",
            "graphs are available as HTML, Turtle, N-Triples, JSON-LD, RDF/XML, TriG and N-Quads",
        )
    if not fmt.is_html:
        result = Result(
            kind="graph",
            triples=data["triples"],
            truncated=data["truncated"],
            limit=len(data["triples"]),
            graph=iri,
        )
        return download(fmt, result)
    about = db().describe(iri)
    provenance, links, unread = _histories(iri, path, about["in"])
    resp = make_response(
        render_template(
            "graph.html",
            iri=iri,
            path=path,
            count=data["count"],
            truncated=data["truncated"],
            shown=len(data["triples"]),
            provenance=provenance,
            links=links,
            unread=unread,
            labels=about["labels"],
            label=pick_label(about["labels"].get(iri)) or iri,
            suffixes=renderer.suffixes("named"),
        )
    )
    if unread:  # a page short of its history for a busy moment is not kept for the version
        resp.headers["Cache-Control"] = "no-store"
    return resp


def _histories(
    iri: str, path: str, incoming: list[ox.Triple]
) -> tuple[list[Dated], LinkProvenance | None, str]:
    """The graph's provenance lines, its link lines, and why they could not be read ('' when
    they were): a query past the time limit leaves the page its size and downloads."""
    try:
        provenance = _provenance(iri, incoming)
    except EngineError as e:
        return [], None, e.message
    links = link_provenance(path)
    return provenance, links, links.error if links else ""


def _provenance(iri: str, incoming: list[ox.Triple]) -> list[Dated]:
    """The statements about the graph (``Submission by ancs prov:generated``), each with when
    its subject happened: a partner graph lists every submission that replaced it, so the
    lines are ordered latest first, undated ones last."""
    found = db().query(PROVENANCE_TIMES, {"graph": ox.NamedNode(iri)}, trusted=True)
    times: dict[object, list[tuple[str, ox.Literal]]] = defaultdict(list)
    for rec in found.records():
        times[rec["about"]].append((rec["property"].value, rec["time"]))
    order = {about: n for n, about in enumerate(times)}  # latest first, as queried
    lines = sorted(incoming, key=lambda t: order.get(t.subject, len(order)))
    return [(t, _in_order(times.get(t.subject, []))) for t in lines]


def _in_order(times: list[tuple[str, ox.Literal]]) -> list[tuple[str, ox.Literal]]:
    """(word, time) in the order of ``TIME_WORDS``: started before ended."""
    words = list(TIME_WORDS)
    return [(TIME_WORDS[p], when) for p, when in sorted(times, key=lambda x: words.index(x[0]))]
