"""CLI commands: validate files against the shapes; write CSV templates."""

import sys
from pathlib import Path

import click

from . import rdfio

EXIT_CONFORMS, EXIT_VIOLATIONS, EXIT_UNREADABLE = 0, 1, 2


def read_files(files: tuple[Path, ...], input_format: str | None, partner: str | None) -> list:
    """Triples of all files together (a submission may be split over several files)."""
    from .templates import csv_to_triples

    triples: list = []
    for path in files:
        try:
            if path.stat().st_size > rdfio.DEFAULT_MAX_BYTES:  # refuse before reading it all
                raise rdfio.InputError(
                    f"{path}: the file has {path.stat().st_size:,} bytes; the limit is "
                    f"{rdfio.DEFAULT_MAX_BYTES:,} bytes"
                )
            data = path.read_bytes()
        except OSError as exc:
            raise rdfio.InputError(f"{path}: cannot read the file: {exc.strerror}") from None
        if (input_format or "").lower() == "csv" or path.suffix.lower() == ".csv":
            if not partner:
                raise rdfio.InputError(
                    f"{path}: a CSV file needs --partner (its resources get IRIs in the "
                    "partner's space)"
                )
            try:
                triples.extend(csv_to_triples(data, partner=partner))
            except rdfio.InputError as exc:
                raise rdfio.InputError(f"{path}: {exc}") from None
            continue
        quads = rdfio.read_rdf(data, str(path), input_format)
        try:
            triples.extend(rdfio.refuse_named_graphs(quads))
        except rdfio.InputError as exc:
            raise rdfio.InputError(f"{path}: {exc}") from None
    return triples


def register(main: click.Group) -> None:
    @main.command()
    @click.argument(
        "files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
    )
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "turtle", "json"]),
        default="text",
        show_default=True,
        help="Report format: text for people, turtle (sh:ValidationReport), json.",
    )
    @click.option(
        "--input-format",
        help="Format of the files: turtle, trig, ntriples, nquads, jsonld, rdfxml or csv "
        "(default: from the extension).",
    )
    @click.option("--partner", help="Submitting partner id: check that it owns every resource.")
    @click.option(
        "--max-results",
        type=click.IntRange(min=0),
        help="List at most this many results in full (default 1,000; 0: all); the totals "
        "count every result.",
    )
    def validate(
        files: tuple[Path, ...],
        fmt: str,
        input_format: str | None,
        partner: str | None,
        max_results: int | None,
    ) -> None:
        """Validate FILES (together, as one submission) against the SHACL shapes.

        Exit 0 when the data conforms (warnings allowed), 1 on violations, 2 when the input
        cannot be read (syntax error, unknown format, too large, unsafe).
        """
        from .validation import validate as run_validation

        try:
            triples = read_files(files, input_format, partner)
        except rdfio.InputError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_UNREADABLE)
        report = run_validation(triples, partner=partner)
        if max_results is not None:
            report.limit = max_results or None
        output = {"text": report.to_text, "turtle": report.to_turtle, "json": report.to_json}
        click.echo(output[fmt](), nl=False)
        sys.exit(EXIT_CONFORMS if report.conforms else EXIT_VIOLATIONS)

    @main.command()
    @click.argument("cls", metavar="CLASS")
    @click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write the template to this file instead of standard output.",
    )
    def template(cls: str, output: Path | None) -> None:
        """Write the CSV template for CLASS (e.g. Cluster, Barrier, PolicyInstrument).

        Header row from the shapes' sh:name in sh:order, then a hint row (starting with #).
        """
        from .templates import template_csv

        try:
            text = template_csv(cls)
        except rdfio.InputError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        if output is None:
            click.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
            click.echo(f"Wrote {output}", err=True)
