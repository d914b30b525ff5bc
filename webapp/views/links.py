"""/links/review: curators and partners accept or reject proposed link candidates.

The page lists the candidates ``clusterpolisee link`` proposed (``graph/link-candidates``)
with score and evidence. Deciding needs a token (``clusterpolisee token create``) and the
form's CSRF token, as ``/submit`` does: a partner's token decides the candidates of that
partner's own resources (its IRI ``id/partner/{pid}`` and everything under it); a token
created for ``curator`` decides any. Decisions go through ``clusterpolisee.linking.review``:
an accepted link is written to ``graph/links`` with its PROV-O record, a rejected candidate
is remembered so it is not proposed again.
"""

from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from clusterpolisee.linking import CANDIDATES_GRAPH, Candidate, ReviewError, load
from clusterpolisee.linking import review as review_links
from clusterpolisee.linking.candidates import count_proposed, proposed

from .. import url_builder
from ..access import EngineStore, db, writer
from ..present import pick_label
from ..tokens import CURATOR
from .submit import _WRITE_LOCK, _check_csrf, _csrf_token, _partner_of_token

bp = Blueprint("links", __name__)
MAX_DECISIONS = 500
#: The session key (a signed cookie) that carries a decision's counts across its redirect: a
#: flash, not a query parameter, so no link can make the page claim decisions nobody made.
DONE_KEY = "links-done"


@dataclass
class Listing:
    """One page of the candidates that wait for review."""

    rows: list[tuple[Candidate, str]]  # candidate, our resource's label
    total: int  # proposed candidates in all
    page: int
    pages: int
    first: int  # position (from 1) of the first row shown

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1

    @property
    def more(self) -> int:
        """Candidates after this page."""
        return max(0, self.total - self.last)


def _listing(page: int) -> Listing:
    """A page of the proposed candidates, best first, read through the query engine: two
    queries whose answers are a count and the page's rows, never the whole candidate graph
    (it only grows, and reading it all hit the engine's row limit at about 800 candidates)."""
    size = max(1, min(current_app.config["PAGE_SIZE"], db().row_limit))
    engine = EngineStore()
    total = count_proposed(engine)
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)  # past the end (after decisions): the last page
    shown = proposed(engine, size, (page - 1) * size) if total else []
    labels = db().labels({c.local for c in shown}) if shown else {}
    rows = [(c, pick_label(labels.get(c.local)) or c.local) for c in shown]
    return Listing(rows, total, page, pages, (page - 1) * size + 1)


def may_decide(partner: str, iri: str) -> bool:
    if partner == CURATOR:
        return True
    own = url_builder.id_prefix() + "partner/" + partner
    return iri == own or iri.startswith(own + "/")


def _page(
    outcome: str | None = None,
    error: str | None = None,
    status: int = 200,
    kept: dict[str, str] | None = None,
):
    listing = _listing(request.args.get("page", 1, type=int))
    return _render(listing, outcome=outcome, error=error, kept=kept or {}), status


def _render(listing: Listing | None, **context) -> str:
    return render_template(
        "links.html", listing=listing, csrf=_csrf_token(), graph=CANDIDATES_GRAPH, **context
    )


def _after_commit(outcome: str):
    """The page after decisions were committed. They are made whatever happens next, so a
    failure to read the list (a busy engine, a time limit) is said on the page with the
    outcome, never answered as an error that would make the reviewer think nothing happened
    and decide again."""
    try:
        return _page(outcome=outcome)
    except Exception as exc:  # the commit is done: any failure here must not hide it
        current_app.logger.exception("link review: the list could not be read after a commit")
        reason = getattr(exc, "message", None) or getattr(exc, "description", None)
        return _render(None, outcome=outcome, unread=reason or "an internal error"), 200


@bp.route("/links/review", methods=["GET"])
def review():
    done = _take_done()
    if done is None:
        return _page()
    return _after_commit(done)


def _take_done() -> str | None:
    """The outcome line of the decisions just committed (once: a reload no longer shows it),
    written here from the two counts the POST left, never from text a request sent."""
    counts = session.pop(DONE_KEY, None)
    if not isinstance(counts, list) or len(counts) != 2:
        return None
    return f"accepted {int(counts[0])}, rejected {int(counts[1])}"


def _decided(accepted: int, rejected: int):
    """POST-redirect-GET: 303 to the page the form was sent from, so a reload reads the list
    again instead of sending the decisions a second time (which got 409 "already decided")."""
    session[DONE_KEY] = [accepted, rejected]
    page = request.args.get("page", 1, type=int)
    target = url_for("links.review", page=page) if page > 1 else url_for("links.review")
    return redirect(target, 303)


def _refused(status: int, error: str):
    """The page again with the reviewer's choices kept and what was wrong: a bare error page
    lost up to a page of choices."""
    kept = {k: v for k, v in request.form.items() if k.startswith("decision-")}
    return _page(error=error, status=status, kept=kept)


@bp.route("/links/review", methods=["POST"])
def decide():
    _check_csrf()
    partner = _partner_of_token()
    if partner is None:
        return _refused(403, "the token is not valid: nothing was decided; your choices are kept")
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
        foreign = [
            cid
            for cid in accept + reject
            if cid in existing and not may_decide(partner, existing[cid].local)
        ]
        if foreign:
            return _refused(
                403,
                f"the token of '{partner}' decides links of that partner's own resources only; "
                f"candidate {', '.join(foreign[:10])} is another's: set it to 'later' (nothing "
                "was decided; your choices are kept)",
            )
        try:
            done = review_links(store, accept, reject, f"{partner} (web review)")
        except ReviewError as exc:
            return _page(error=str(exc), status=409)
    # Decided and committed; the page is read by the GET the redirect leads to.
    return _decided(len(done[0]), len(done[1]))
