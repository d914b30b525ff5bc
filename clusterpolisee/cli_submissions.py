"""CLI commands for partner submissions: submit, history, restore."""

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from .store import StoreError, open_store
from .submissions import (
    SubmissionError,
    SubmissionResult,
    default_archive,
    history,
    reconcile,
    restore,
    submit,
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
        click.echo(f"Submission {a.id} could not be read: {result.errors[0]}", err=True)
        return
    if fmt == "json":
        click.echo(result.report.to_json())
    elif fmt == "turtle":
        click.echo(result.report.to_turtle())
    else:
        click.echo(result.report.to_text())
    verdict = (
        f"ACCEPTED: graph of partner '{a.partner}' replaced with {a.triples} triples"
        if result.accepted
        else "REJECTED: the store is unchanged; fix the above and submit again"
    )
    click.echo(f"Submission {a.id}: {verdict}", err=True)


def register(main: click.Group, store_option) -> None:
    @main.command("submit")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--partner", required=True, help="The submitting partner's id.")
    @click.option(
        "--input-format",
        help="turtle, trig, ntriples, nquads, jsonld, rdfxml or csv "
        "(default: from the file extension).",
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
    def submit_cmd(
        file: Path,
        partner: str,
        input_format: str | None,
        fmt: str,
        store_path: Path,
        archive: Path | None,
    ) -> None:
        """Submit FILE as partner data: validate it, archive it, and if it conforms replace
        the partner's graph in one transaction.

        Exit 0 accepted, 1 rejected (store unchanged), 2 unreadable input or unknown partner.
        """
        archive = archive or default_archive(store_path)
        try:
            with open_store(str(store_path)) as store:
                reconcile(store, archive)
                result = submit(
                    store,
                    file.read_bytes(),
                    file.name,
                    partner,
                    archive,
                    input_format,
                    after_commit=_after_commit,
                )
        except (SubmissionError, StoreError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        _report(result, fmt)
        sys.exit(0 if result.accepted else (1 if result.report is not None else 2))

    @main.command("submissions")
    @click.option("--partner", help="Only this partner's attempts.")
    @click.option(
        "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
    )
    @store_option
    @ARCHIVE_OPTION
    def submissions_cmd(
        partner: str | None, fmt: str, store_path: Path, archive: Path | None
    ) -> None:
        """List every submission attempt, oldest first, with its outcome."""
        attempts = history(archive or default_archive(store_path), partner)
        if fmt == "json":
            click.echo(json.dumps([asdict(a) for a in attempts], indent=2))
            return
        for a in attempts:
            extra = f"  (restores {a.restored_from})" if a.restored_from else ""
            click.echo(
                f"{a.id}  {a.partner:<24} {a.outcome:<11} {a.triples:>7} triples  "
                f"{a.filename}{extra}"
            )
        click.echo(f"({len(attempts)} attempts)", err=True)

    @main.command("restore")
    @click.argument("submission_id")
    @store_option
    @ARCHIVE_OPTION
    def restore_cmd(submission_id: str, store_path: Path, archive: Path | None) -> None:
        """Make an earlier accepted submission the partner's current data again.

        The archived file is submitted anew, so it is validated against today's shapes.
        """
        archive = archive or default_archive(store_path)
        try:
            with open_store(str(store_path)) as store:
                reconcile(store, archive)
                result = restore(store, archive, submission_id, after_commit=_after_commit)
        except (SubmissionError, StoreError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        _report(result, "text")
        sys.exit(0 if result.accepted else 1)
