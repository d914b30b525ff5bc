"""/links/review: curators and partners accept or reject proposed link candidates.

The page lists the candidates ``clusterpolisee link`` proposed (``graph/link-candidates``)
with score and evidence. Deciding needs a token (``clusterpolisee token create``) and the
form's CSRF token, as ``/submit`` does: a partner's token decides the candidates of that
partner's own resources (its IRI ``id/partner/{pid}`` and everything under it); a token
created for ``curator`` decides any. Decisions go through ``clusterpolisee.linking.review``:
an accepted link is written to ``graph/links`` with its PROV-O record, a rejected candidate
is remembered so it is not proposed again.
"""

from flask import Blueprint, abort, render_template, request

from clusterpolisee.linking import CANDIDATES_GRAPH, Candidate, ReviewError, load
from clusterpolisee.linking import review as review_links

from .. import url_builder
from ..access import db, writer
from ..present import pick_label
from ..tokens import CURATOR
from .submit import _WRITE_LOCK, _csrf_token, _token_partner

bp = Blueprint("links", __name__)
MAX_DECISIONS = 500


class _EngineGraphs:
    """The one ``Store`` method ``linking.load`` needs, answered by the query engine."""

    def graph_triples(self, graph: str) -> list:
        found = db().graph(graph)
        if found["truncated"]:
            abort(503, "there are more link candidates than this page can read at once")
        return found["triples"]


def _proposed() -> list[Candidate]:
    found = [c for c in load(_EngineGraphs()).values() if c.status == "proposed"]
    return sorted(found, key=lambda c: (-c.score, c.id))


def may_decide(partner: str, iri: str) -> bool:
    if partner == CURATOR:
        return True
    own = url_builder.id_prefix() + "partner/" + partner
    return iri == own or iri.startswith(own + "/")


def _page(outcome: str | None = None, error: str | None = None, status: int = 200):
    proposed = _proposed()
    labels = db().labels({c.local for c in proposed}) if proposed else {}
    rows = [(c, pick_label(labels.get(c.local)) or c.local) for c in proposed]
    return render_template(
        "links.html",
        rows=rows,
        csrf=_csrf_token(),
        outcome=outcome,
        error=error,
        graph=CANDIDATES_GRAPH,
    ), status


@bp.route("/links/review", methods=["GET"])
def review():
    return _page()


@bp.route("/links/review", methods=["POST"])
def decide():
    partner = _token_partner("the token is not valid")
    accept, reject = [], []
    for key, value in request.form.items():
        if not key.startswith("decision-") or value not in ("accept", "reject"):
            continue
        (accept if value == "accept" else reject).append(key[len("decision-") :])
    if not accept and not reject:
        return _page(error="choose accept or reject for at least one candidate", status=400)
    if len(accept) + len(reject) > MAX_DECISIONS:
        abort(400, f"at most {MAX_DECISIONS} decisions at once")
    store = writer()
    if store is None:
        abort(503, "this server is read-only; link review is disabled")
    with _WRITE_LOCK:
        existing = load(store)
        for cid in accept + reject:
            c = existing.get(cid)
            if c is not None and not may_decide(partner, c.local):
                abort(
                    403,
                    f"the token of '{partner}' may only decide links of that partner's own "
                    f"resources, not of {c.local[:120]}",
                )
        try:
            done = review_links(store, accept, reject, f"{partner} (web review)")
        except ReviewError as exc:
            return _page(error=str(exc), status=409)
    return _page(outcome=f"accepted {len(done[0])}, rejected {len(done[1])}")
