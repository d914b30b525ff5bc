"""CLI commands: validate files against the shapes; write templates (CSV, xlsx)."""

import sys
from pathlib import Path

import click
import pyoxigraph as ox

from . import paths, rdfio
from .cli_exits import exit_codes
from .cli_output import write_data, write_output
from .cli_types import INPUT_FORMATS_TEXT, input_format

EXIT_CONFORMS, EXIT_VIOLATIONS, EXIT_UNREADABLE = 0, 1, 2


def read_files(
    files: tuple[Path, ...],
    input_format: str | None,
    partner: str | None,
    notes: list[str] | None = None,
) -> list:
    """Triples of all files together (a submission may be split over several files); what
    reading changed (rdfio's notes) goes to ``notes``."""
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
        if _is_workbook(path, input_format):
            from .xlsx_template import xlsx_to_triples

            if not partner:
                raise rdfio.InputError(
                    f"{path}: a workbook needs --partner (its resources get IRIs in the "
                    "partner's space)"
                )
            try:
                sheet = xlsx_to_triples(data, partner, path.name)
                triples.extend(rdfio.read_as_stored(sheet, str(path), notes))
            except rdfio.InputError as exc:
                raise rdfio.InputError(f"{path}: {exc}") from None
            continue
        if _is_csv(path, input_format):
            if not partner:
                raise rdfio.InputError(
                    f"{path}: a CSV file needs --partner (its resources get IRIs in the "
                    "partner's space)"
                )
            try:
                triples.extend(
                    rdfio.read_as_stored(csv_to_triples(data, partner=partner), str(path), notes)
                )
            except rdfio.InputError as exc:
                raise rdfio.InputError(f"{path}: {exc}") from None
            continue
        quads = rdfio.read_rdf(data, str(path), input_format, notes=notes)
        try:
            triples.extend(rdfio.refuse_named_graphs(quads))
        except rdfio.InputError as exc:
            raise rdfio.InputError(f"{path}: {exc}") from None
    return triples


def _is_csv(path: Path, input_format: str | None) -> bool:
    """Whether ``path`` is a CSV template (read by clusterpolisee.templates), not RDF."""
    named = (input_format or "").lower() == rdfio.CSV_FORMAT
    return named or path.suffix.lower() == rdfio.CSV_EXTENSION


def _is_workbook(path: Path, input_format: str | None) -> bool:
    """Whether ``path`` is a workbook template (.xlsx; one with macros, to be refused)."""
    from .xlsx_template import is_workbook_name

    return (input_format or "").lower() == "xlsx" or is_workbook_name(path.name)


class ReferenceData:
    """The reference data files as the one thing ``submissions.check_partner`` asks of a
    store (``select``), so that ``validate``, which opens no store, knows the partners by
    the same check and message as ``submit``: an unknown partner was taken, and every
    resource then reported as outside its space."""

    def __init__(self) -> None:
        self._store = ox.Store()  # in memory: the reference files are about 1,400 triples, 7 ms
        for path in paths.reference_files():
            self._store.load(path=str(path), format=ox.RdfFormat.TURTLE)

    def select(self, query: str) -> list[dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]]:
        solutions = self._store.query(query)
        assert isinstance(solutions, ox.QuerySolutions)
        names = [v.value for v in solutions.variables]
        return [{n: s[n] for n in names if s[n] is not None} for s in solutions]


def check_partner(partner: str) -> None:
    """Exit 2 with ``submit``'s message unless ``partner`` is a project partner."""
    from .submissions import SubmissionError
    from .submissions import check_partner as check

    try:
        check(ReferenceData(), partner)  # a stand-in for a Store: it only calls select()
    except SubmissionError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_UNREADABLE)


def check_files(files: tuple[Path, ...], input_format: str | None) -> None:
    """Exit 2 with ``submit``'s message unless the files can be one submission (their number,
    names, one --input-format for one extension): validate said "conforms" to sets that
    submit refuses."""
    from .submissions import SubmissionError, check_file_set

    try:
        check_file_set([path.name for path in files], input_format)
    except SubmissionError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_UNREADABLE)


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
        callback=input_format,
        help=f"Format of the files: {INPUT_FORMATS_TEXT} (default: from the extension).",
    )
    @click.option("--partner", help="Submitting partner id: check that it owns every resource.")
    @click.option(
        "--max-results",
        type=click.IntRange(min=0),
        help="List at most this many results in full (default 1,000; 0: all); the totals "
        "count every result.",
    )
    @exit_codes(
        {
            EXIT_CONFORMS: "when the data conforms (warnings allowed)",
            EXIT_VIOLATIONS: "on violations",
            EXIT_UNREADABLE: "when the input cannot be read (syntax error, unknown format, too "
            "large, unsafe), the files cannot be one submission, or the partner is unknown",
        }
    )
    def validate(
        files: tuple[Path, ...],
        fmt: str,
        input_format: str | None,
        partner: str | None,
        max_results: int | None,
    ) -> None:
        """Validate FILES (together, as one submission) against the SHACL shapes."""
        from .submissions import add_notes
        from .validation import validate as run_validation

        if partner is not None:
            check_partner(partner)
        check_files(files, input_format)
        notes: list[str] = []
        try:
            triples = read_files(files, input_format, partner, notes)
        except rdfio.InputError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_UNREADABLE)
        report = run_validation(triples, partner=partner)
        add_notes(report, notes)  # as submit's report has them
        if max_results is not None:
            report.limit = max_results or None
        if fmt == "text":  # for reading
            click.echo(report.to_text(), nl=False)
        else:
            write_data(report.to_turtle() if fmt == "turtle" else report.to_json())
        sys.exit(EXIT_CONFORMS if report.conforms else EXIT_VIOLATIONS)

    @main.command()
    @click.argument("cls", metavar="CLASS")
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["csv", "xlsx"]),
        default="csv",
        show_default=True,
        help="csv: header and hint rows; xlsx: an Excel workbook (hints as notes on the "
        "header, drop-downs for closed lists), never to a terminal.",
    )
    @click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write the template to this file instead of standard output.",
    )
    @exit_codes(
        {
            0: "written",
            1: "for an xlsx workbook to a terminal",
            2: "for an unknown CLASS, or an --output that cannot be written",
        }
    )
    def template(cls: str, fmt: str, output: Path | None) -> None:
        """Write the template for CLASS (e.g. Cluster, Barrier, PolicyInstrument).

        CSV: header row from the shapes' sh:name in sh:order, then a hint row (starting
        with #). xlsx: the same header row, each hint as a note on its header cell.
        """
        from .cli_queries import _check_destination
        from .templates import template_csv

        _check_destination(fmt, output)
        try:
            if fmt == "xlsx":
                from .xlsx_template import template_xlsx

                data = template_xlsx(cls)
            else:
                text = template_csv(cls)
        except rdfio.InputError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        if fmt == "xlsx":
            write_output(data, output)
        elif output is None:
            write_data(text)
        else:  # as query and sparql write --output: in place, exit 2 when it cannot be
            write_output(text.encode("utf-8"), output)
        if output is not None:
            click.echo(f"Wrote {output}", err=True)
