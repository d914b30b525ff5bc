"""CLI commands for partner submissions: submit, history, restore."""

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from .cli_exits import exit_codes
from .cli_output import write_data
from .cli_store import require_store
from .cli_types import INPUT_FORMATS_TEXT, input_format
from .store import StoreError, open_store
from .submissions import (
    Attempt,
    SubmissionError,
    SubmissionResult,
    SubmittedFile,
    default_archive,
    history,
    reconcile,
    restore,
    submit_files,
)

ARCHIVE_OPTION = click.option(
    "--archive",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="CLUSTERPOLISEE_ARCHIVE",
    help="Folder of the submission archive (default: 'archive' beside the store).",
)


def _after_commit(store) -> None:
    from .reasoning.materialise import materialise

    materialise(store)


def _report(result: SubmissionResult, fmt: str) -> None:
    a = result.attempt
    if result.report is None:
        if len(result.errors) == 1:
            click.echo(f"Submission {a.id} could not be read: {result.errors[0]}", err=True)
        else:  # several files could not be read: one line each
            lines = "\n".join(f"  {e}" for e in result.errors)
            click.echo(f"Submission {a.id} could not be read:\n{lines}", err=True)
        return
    if fmt == "json":
        doc = result.report.to_dict()
        if len(a.originals()) > 1:  # which file each resource with a problem came from
            doc["files"] = result.files()
        write_data(json.dumps(doc, indent=2, ensure_ascii=False), nl=True)
    elif fmt == "turtle":
        write_data(result.report.to_turtle(), nl=True)
    else:
        click.echo(result.to_text())
    verdict = (
        f"ACCEPTED: graph of partner '{a.partner}' replaced with {a.triples} triples"
        if result.accepted
        else "REJECTED: the store is unchanged; fix the above and submit again"
    )
    click.echo(f"Submission {a.id}: {verdict}", err=True)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SubmissionError(f"{path}: cannot read the file: {exc.strerror}") from None


def _exit_code(result: SubmissionResult) -> int:
    """0 accepted, 1 rejected (validated, with violations), 2 when the files could not be
    read (no report): the work could not be done. submit and restore alike; restore said 1,
    "rejected", for archived files it could not read."""
    if result.accepted:
        return 0
    return 1 if result.report is not None else 2


def _listed(attempt: Attempt) -> dict:
    """meta.json's fields, with ``files`` filled in for entries archived before it existed."""
    return {**asdict(attempt), "files": [asdict(f) for f in attempt.originals()]}


def _check_listed_partner(partner: str) -> None:
    """Exit 2 when ``partner``, which has no attempts, is no project partner either: a
    mistyped id listed "(0 attempts)" as if that partner had sent nothing. The partners are
    those of the reference data, as for ``web token``; one with attempts is always listed."""
    from .cli_web import reference_partners, unknown_partner

    known = reference_partners()
    if partner not in known:
        click.echo(f"error: {unknown_partner(partner, known)}", err=True)
        sys.exit(2)


def register(main: click.Group, store_option) -> None:
    @main.command("submit")
    @click.argument(
        "files",
        nargs=-1,
        required=True,
        metavar="FILE...",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
    )
    @click.option("--partner", required=True, help="The submitting partner's id.")
    @click.option(
        "--input-format",
        callback=input_format,
        help=f"{INPUT_FORMATS_TEXT} (default: from each "
        "file's extension). It applies to every FILE, so with several files they must share "
        "one extension; for files of different kinds (e.g. CSV and Turtle) leave it out.",
    )
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json", "turtle"]),
        default="text",
        show_default=True,
        help="Format of the validation report.",
    )
    @store_option
    @ARCHIVE_OPTION
    @exit_codes(
        {
            0: "accepted",
            1: "rejected (store unchanged)",
            2: "unreadable input, unknown partner, or no store at --store or one that "
            "cannot be opened",
        }
    )
    def submit_cmd(
        files: tuple[Path, ...],
        partner: str,
        input_format: str | None,
        fmt: str,
        store_path: Path,
        archive: Path | None,
    ) -> None:
        """Submit FILE... as the partner's data: validate the files together as one
        submission, archive them, and if they conform replace the partner's graph with
        their data in one transaction.

        A submission is all of the partner's data: give every file at once (e.g. one CSV
        template per class, plus Turtle); what is in none of them is removed.
        """
        archive = archive or default_archive(store_path)
        require_store(store_path)
        try:
            sent = [SubmittedFile(path.name, _read_bytes(path)) for path in files]
            with open_store(str(store_path)) as store:
                reconcile(store, archive)
                result = submit_files(
                    store, sent, partner, archive, input_format, after_commit=_after_commit
                )
        except (SubmissionError, StoreError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        _report(result, fmt)
        sys.exit(_exit_code(result))

    @main.command("submissions")
    @click.option("--partner", help="Only this partner's attempts.")
    @click.option(
        "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
    )
    @store_option
    @ARCHIVE_OPTION
    @exit_codes(
        {
            0: "listed",
            2: "no store at --store (without --archive), or a --partner that is not a "
            "valid id or neither a project partner nor in the archive",
        }
    )
    def submissions_cmd(
        partner: str | None, fmt: str, store_path: Path, archive: Path | None
    ) -> None:
        """List every submission attempt, oldest first, with its files and outcome."""
        if archive is None:  # the store's own archive: a mistyped --store listed another's
            require_store(store_path)
        unreadable: list[str] = []
        try:
            attempts = history(archive or default_archive(store_path), partner, unreadable)
        except SubmissionError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        if partner is not None and not attempts:
            _check_listed_partner(partner)
        for problem in unreadable:  # listed anyway: the others are still worth seeing
            click.echo(f"warning: {problem}", err=True)
        if fmt == "json":
            write_data(json.dumps([_listed(a) for a in attempts], indent=2), nl=True)
            return
        for a in attempts:
            extra = f"  (restores {a.restored_from})" if a.restored_from else ""
            click.echo(
                f"{a.id}  {a.partner:<24} {a.outcome:<11} {a.triples:>7} triples  "
                f"{a.files_label()}{extra}"
            )
        click.echo(f"({len(attempts)} attempts)", err=True)

    @main.command("restore")
    @click.argument("submission_id")
    @store_option
    @ARCHIVE_OPTION
    @exit_codes(
        {
            0: "accepted",
            1: "rejected by today's shapes (store unchanged)",
            2: "an unknown SUBMISSION_ID or one not accepted, archived files that cannot be "
            "read (store unchanged), or no store at --store or one that cannot be opened",
        }
    )
    def restore_cmd(submission_id: str, store_path: Path, archive: Path | None) -> None:
        """Make an earlier accepted submission the partner's current data again.

        The archived files are submitted anew, together, so they are validated against
        today's shapes.
        """
        archive = archive or default_archive(store_path)
        require_store(store_path)
        try:
            with open_store(str(store_path)) as store:
                reconcile(store, archive)
                result = restore(store, archive, submission_id, after_commit=_after_commit)
        except (SubmissionError, StoreError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except OSError as exc:  # an archived file gone or unreadable: it was a traceback, exit 1
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"error: {where}cannot read the file: {exc.strerror or exc}", err=True)
            sys.exit(2)
        _report(result, "text")
        sys.exit(_exit_code(result))
