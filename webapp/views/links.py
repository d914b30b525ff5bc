"""/links/review: curators and partners accept or reject proposed link candidates.

The page lists the candidates ``clusterpolisee link`` proposed (``graph/link-candidates``)
with score and evidence. Deciding needs a token (``clusterpolisee token create``) and the
form's CSRF token, as ``/submit`` does: a partner's token decides the candidates of that
partner's own resources (its IRI ``id/partner/{pid}`` and everything under it); a token
created for ``curator`` decides any. Decisions go through ``clusterpolisee.linking.review``:
an accepted link is written to ``graph/links`` with its PROV-O record, a rejected candidate
is remembered so it is not proposed again.

/links/accepted lists the accepted links (latest first) and withdraws the checked ones with
a reason, as ``clusterpolisee links withdraw`` does, under the same token rule. It is a page
of its own rather than a section of the review: another list with its own pages, and a
form that takes links out of the published graph should not sit next to the accept buttons.
"""

from collections.abc import Callable, Sequence
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
from clusterpolisee.linking import withdraw as withdraw_links
from clusterpolisee.linking.candidates import (
    AcceptedLink,
    accepted,
    count_accepted,
    count_proposed,
    one_line,
    proposed,
)

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
WITHDRAWN_KEY = "links-withdrawn"  # the same for a withdrawal: how many links
MAX_REASON = 1000  # characters of a withdrawal's reason


Row = Candidate | AcceptedLink  # a row of the review's list, or of the accepted links'


@dataclass
class Listing:
    """One page of a list: the candidates that wait for review, or the accepted links."""

    rows: Sequence[tuple[Row, str]]  # the candidate or link, our resource's label
    total: int  # candidates of the list in all
    page: int
    pages: int
    first: int  # position (from 1) of the first row shown

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1

    @property
    def more(self) -> int:
        """Rows after this page."""
        return max(0, self.total - self.last)


def _listing(page: int) -> Listing:
    """A page of the proposed candidates, best first, read through the query engine: two
    queries whose answers are a count and the page's rows, never the whole candidate graph
    (it only grows, and reading it all hit the engine's row limit at about 800 candidates)."""
    return _paged(page, count_proposed, proposed)


def _accepted_listing(page: int) -> Listing:
    """A page of the accepted links, latest first, read as the proposed ones are."""
    return _paged(page, count_accepted, accepted)


def _paged(
    page: int,
    count: Callable[[EngineStore], int],
    read: Callable[[EngineStore, int, int], Sequence[Row]],
) -> Listing:
    size = max(1, min(current_app.config["PAGE_SIZE"], db().row_limit))
    engine = EngineStore()
    total = count(engine)
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)  # past the end (after decisions): the last page
    shown = read(engine, size, (page - 1) * size) if total else []
    labels = db().labels({_ours(r) for r in shown}) if shown else {}
    rows = [(r, pick_label(labels.get(_ours(r))) or _ours(r)) for r in shown]
    return Listing(rows, total, page, pages, (page - 1) * size + 1)


def _ours(row: Row) -> str:
    return row.candidate.local if isinstance(row, AcceptedLink) else row.local


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


def _after_commit(
    outcome: str,
    page: Callable[..., tuple[str, int]] | None = None,
    render: Callable[..., str] | None = None,
):
    """The page after decisions were committed. They are made whatever happens next, so a
    failure to read the list (a busy engine, a time limit) is said on the page with the
    outcome, never answered as an error that would make the reviewer think nothing happened
    and decide again. ``page`` and ``render`` are the accepted links' own, for a withdrawal."""
    try:
        return (page or _page)(outcome=outcome)
    except Exception as exc:  # the commit is done: any failure here must not hide it
        current_app.logger.exception("links: the list could not be read after a commit")
        reason = getattr(exc, "message", None) or getattr(exc, "description", None)
        return (render or _render)(None, outcome=outcome, unread=reason or "an internal error"), 200


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


# -- withdrawing accepted links ----------------------------------------------------------------


def _accepted_page(
    outcome: str | None = None,
    error: str | None = None,
    status: int = 200,
    kept: set[str] | None = None,
    reason: str = "",
):
    listing = _accepted_listing(request.args.get("page", 1, type=int))
    return _render_accepted(
        listing, outcome=outcome, error=error, kept=kept or set(), reason=reason
    ), status


def _render_accepted(listing: Listing | None, **context) -> str:
    return render_template("links_accepted.html", listing=listing, csrf=_csrf_token(), **context)


@bp.route("/links/accepted", methods=["GET"])
def accepted_links():
    count = session.pop(WITHDRAWN_KEY, None)
    if not isinstance(count, int) or isinstance(count, bool):
        return _accepted_page()
    return _after_commit(f"withdrawn {count}", _accepted_page, _render_accepted)


def _refuse_withdrawal(status: int, error: str):
    """The page again with the checked links and the reason kept."""
    kept = set(request.form.getlist("withdraw"))
    return _accepted_page(
        error=error, status=status, kept=kept, reason=request.form.get("reason", "")[:MAX_REASON]
    )


@bp.route("/links/accepted", methods=["POST"])
def withdraw():
    _check_csrf()
    partner = _partner_of_token()
    if partner is None:
        return _refuse_withdrawal(
            403, "the token is not valid: nothing was withdrawn; your choices are kept"
        )
    cids = list(dict.fromkeys(request.form.getlist("withdraw")))
    if not cids:
        return _refuse_withdrawal(400, "check at least one link to withdraw")
    if len(cids) > MAX_DECISIONS:
        abort(400, f"at most {MAX_DECISIONS} links at once")
    reason = one_line(request.form.get("reason", ""))
    if not reason or len(reason) > MAX_REASON:
        return _refuse_withdrawal(
            400,
            f"say why the links are withdrawn (1 to {MAX_REASON} characters): nothing was "
            "withdrawn; your choices are kept",
        )
    store = writer()
    if store is None:
        abort(503, "this server is read-only; withdrawing links is disabled")
    with _WRITE_LOCK:
        existing = load(store)
        foreign = [c for c in cids if c in existing and not may_decide(partner, existing[c].local)]
        if foreign:
            return _refuse_withdrawal(
                403,
                f"the token of '{partner}' withdraws links of that partner's own resources only; "
                f"link {', '.join(foreign[:10])} is another's: uncheck it (nothing was withdrawn; "
                "your choices are kept)",
            )
        try:
            done = withdraw_links(store, cids, reason, f"{partner} (web review)")
        except ReviewError as exc:  # a stale form: the link was withdrawn meanwhile
            return _refuse_withdrawal(
                409, f"{exc} (nothing was withdrawn; the list is as it is now)"
            )
    session[WITHDRAWN_KEY] = len(done)
    page = request.args.get("page", 1, type=int)
    target = (
        url_for("links.accepted_links", page=page) if page > 1 else url_for("links.accepted_links")
    )
    return redirect(target, 303)
