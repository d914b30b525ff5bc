"""/submit: a partner uploads its files with its token and reads the validation report."""

import hmac
import secrets
import threading
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    session,
)
from werkzeug.exceptions import RequestEntityTooLarge

from clusterpolisee import rdfio
from clusterpolisee.store import StoreError
from clusterpolisee.submissions import (
    PID_RE,
    ArchiveUnwritable,
    SubmissionError,
    SubmittedFile,
    clean_name,
    default_archive,
    printable,
    submit_files,
    unchanged,
)

from .. import tokens
from ..access import writer
from ..config import FORM_ALLOWANCE
from ..errors import error_response, wants_html

bp = Blueprint("submit", __name__)
_WRITE_LOCK = threading.Lock()


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
        abort(400, "the form's CSRF token is missing or wrong; reload the page and retry")


def _template_names() -> list[str]:
    try:
        from clusterpolisee.templates import classes
    except ImportError:
        return []
    return sorted({str(c).rsplit("#", 1)[-1] for c in classes().values()})


@bp.route("/submit", methods=["GET"])
def form():
    return _form()


def _form(status: int = 200, problem: str = "", **context) -> tuple[str, int]:
    """The upload page; after a refused upload, with what was wrong and the fields kept."""
    page = render_template(
        "submit.html",
        csrf=_csrf_token(),
        templates=_template_names(),
        problem=problem,
        outcome=context.pop("outcome", None),
        **context,
    )
    return page, status


def _refused(
    status: int, problem: str, keep_partner: bool = True, field: str = "file"
) -> tuple[str, int]:
    """The form again after a refusal before any file was read (wrong token, another
    partner, no file): a bare error page lost the form. The partner field is kept; the token
    is not written back (a secret), and the files cannot be: a browser never lets a page fill
    a file input, so the page names the files to choose again. ``field``: the input the
    refusal concerns ("token" or "file"), which the page marks."""
    # Echoed as the pipeline names them (last part of a path, no control characters), and
    # the partner only when it is one a form could hold.
    chosen = [clean_name(u.filename)[:100] for u in request.files.getlist("file") if u.filename]
    sent = request.form.get("partner", "") if keep_partner else ""
    kept = sent if len(sent) <= 100 and PID_RE.match(sent) else ""
    return _form(status, problem, kept_partner=kept, chosen=chosen, problem_field=field)


@bp.route("/submit/templates/<name>.csv")
def template(name: str):
    """A CSV template (header and hint row) for one class, derived from the shapes."""
    if name not in _template_names():
        abort(404, f"no template for {name[:60]!r}")
    from clusterpolisee.templates import template_csv

    body = template_csv(name)
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@bp.route("/submit/templates/<name>.xlsx")
def template_xlsx(name: str):
    """The same template as an Excel workbook: the header row with each hint as a note,
    drop-downs for the closed lists (clusterpolisee/xlsx_template.py)."""
    if name not in _template_names():
        abort(404, f"no template for {name[:60]!r}")
    from clusterpolisee.xlsx_template import MEDIA_TYPE
    from clusterpolisee.xlsx_template import template_xlsx as workbook

    return Response(
        workbook(name),
        mimetype=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@bp.route("/submit", methods=["POST"])
def upload():
    _check_csrf()
    partner = _partner_of_token()
    if partner is None:
        return _refused(403, "the partner token is not valid: nothing was uploaded", field="token")
    if partner == tokens.CURATOR:  # it passed on to the pipeline: "unknown partner", no form
        return _refused(
            403,
            "a curator token decides links on /links/review; an upload needs the token "
            "of the partner whose data it is",
            field="token",
        )
    wanted = request.form.get("partner", partner)
    if wanted != partner:
        # The form does not keep that partner (a hidden field would refuse every retry).
        return _refused(
            403,
            f"this token belongs to partner '{partner}'; it cannot replace the graph "
            f"of '{printable(wanted)[:60]}'",
            keep_partner=False,
            field="token",
        )
    # Every file under the field: a submission may be several files (one CSV per class...).
    # An empty file input still sends one part, without a name.
    uploads = [u for u in request.files.getlist("file") if u.filename]
    if not uploads:
        return _refused(400, "choose a file to upload")
    store = writer()
    if store is None:
        abort(503, "this server is read-only; uploads are disabled")
    sent = [(u.filename, u.read()) for u in uploads]
    if _unchanged(store, sent, partner):
        notice = (
            f"Nothing to do: the graph of partner '{partner}' already holds exactly these "
            "files (an upload sent again, e.g. by reloading the page, is not archived or "
            "committed twice)."
        )
        return _form(200, notice=notice)
    result = _run(store, sent, partner)
    return _form(200 if result.accepted else 422, outcome=result, partner=partner)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_exc: RequestEntityTooLarge) -> Response | tuple[str, int]:
    """werkzeug's 413 says only "exceeds the capacity limit": name the limit and what to do,
    to a browser on the upload page again (an error page had no form to choose a smaller
    file in). Nothing of the request body is read: the partner field is not kept."""
    message = _too_large_message(_upload_limit())
    if not wants_html():
        return error_response(413, "Upload too large", message)
    return _form(413, "Upload too large: " + message, problem_field="file")


def _upload_limit() -> int:
    """The most an upload's files may carry together: the request's limit less the form
    around them, and never more than the pipeline reads of one file (rdfio's limit, the
    CLI's too)."""
    request_limit = current_app.config["MAX_CONTENT_LENGTH"]
    return min(request_limit - FORM_ALLOWANCE, rdfio.DEFAULT_MAX_BYTES)


def _too_large_message(limit: int) -> str:
    megabytes = f"{limit / 1_000_000:,.1f}".removesuffix(".0")
    return (
        f"the files are larger than the upload limit of {megabytes} MB ({limit:,} bytes), "
        "which counts all files of one upload together. A submission is all of a partner's "
        "data, in one upload of one or more files, so it cannot be sent in parts: save it as "
        "Turtle, usually the most compact format, or ask the administrator to submit it with "
        f"the command line, which takes up to {rdfio.DEFAULT_MAX_BYTES:,} bytes per file"
    )


def _partner_of_token() -> str | None:
    """The partner whose token the form carries, or None; 503 when the server's tokens file
    cannot be read (a 500 before): the operator's to mend, so its path goes to the log."""
    try:
        return tokens.partner_for(
            Path(current_app.config["TOKENS_FILE"]), request.form.get("token", "")
        )
    except tokens.TokensError as exc:
        current_app.logger.error("upload refused: %s", exc)
        abort(
            503,
            "the server cannot check upload tokens now: its tokens file is damaged. Nothing "
            "was uploaded; please tell the server's operator (the log names the file)",
        )


def _materialise(store) -> None:
    from clusterpolisee.reasoning.materialise import materialise

    materialise(store)


def _unchanged(store, files: list[tuple[str, bytes]], partner: str) -> bool:
    try:
        with _WRITE_LOCK:
            return unchanged(store, [SubmittedFile(n, d) for n, d in files], partner)
    except SubmissionError:  # not one submission: the pipeline says why
        return False


def _run(store, files: list[tuple[str, bytes]], partner: str):
    """The library's submission pipeline, one upload at a time (one writer); the upload's
    files are one submission."""
    cfg = current_app.config
    archive = Path(cfg.get("ARCHIVE") or default_archive(cfg["STORE_PATH"]))
    with _WRITE_LOCK:
        try:
            if getattr(store, "is_closed", False):
                store.reopen()  # an earlier commit stopped half way (full disk): finish it
            sent = [SubmittedFile(name, data) for name, data in files]
            result = submit_files(store, sent, partner, archive, after_commit=_materialise)
            if result.accepted and hasattr(store, "reopen"):
                store.reopen()  # hand back RocksDB's native memory (see OxigraphStore.reopen)
            return result
        except ArchiveUnwritable as exc:  # e.g. a full disk: the server's to mend
            current_app.logger.error("upload not archived: %s", exc)
            abort(503, str(exc))
        except SubmissionError as exc:
            abort(400, str(exc))
        except StoreError as exc:  # e.g. no space left: the message says what to do
            abort(503, str(exc))
        except ImportError:
            abort(503, "the validation step is not installed in this version")
