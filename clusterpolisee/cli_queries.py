"""CLI commands for the stored-query catalog and ad-hoc SPARQL."""

import json
import sys
from dataclasses import replace
from pathlib import Path

import click

from . import xlsx
from .catalog import (
    SERVICE_ALLOW_ENV,
    Catalog,
    CatalogError,
    ParameterError,
    ServiceNotAllowed,
    StoredQuery,
    load_catalog,
)
from .cli_exits import exit_codes
from .cli_output import check_writable, write_data, write_output
from .cli_store import require_store
from .cli_types import SECONDS
from .execution import execute
from .reasoning.keycheck import STALE, stale_search_keys
from .results import MEDIA_TYPES, Unrepresentable, default_format, formats_for, is_graph, render
from .sparqltext import QuerySyntaxError, inspect
from .store import StoreError, open_store
from .store.base import QueryResult, Store

FORMATS = sorted(MEDIA_TYPES)

#: Exit code reasons shared by 'query' and 'sparql' (checked before the query runs).
BAD_FORMAT = "a --format the answer cannot take, or an xlsx workbook to a terminal"
UNWRITABLE = "an --output that cannot be written"


def _catalog() -> Catalog:
    try:
        return load_catalog()
    except CatalogError as exc:
        click.echo(f"error: the query catalog is broken:\n{exc}", err=True)
        sys.exit(2)


def _describe(q: StoredQuery) -> dict:
    return {
        "name": q.name,
        "summary": q.summary,
        "description": q.description,
        "tags": q.tags,
        "kind": q.kind,
        "services": q.services,
        "parameters": [
            {
                "name": p.name,
                "type": p.type,
                "required": p.required,
                "default": p.default,
                "label": p.label,
                "class": p.cls,
                "allowed": p.allowed,
                "allowedFromQuery": bool(p.options_query),
            }
            for p in q.params
        ],
    }


def list_queries(fmt: str) -> None:
    cat = _catalog()
    described = [_describe(q) for q in cat.queries.values()]
    if fmt == "json":
        write_data(json.dumps(described, indent=2), nl=True)
        return
    for d in described:
        click.echo(f"{d['name']}  [{', '.join(d['tags'])}]\n    {d['summary']}")
        for p in d["parameters"]:
            need = "required" if p["required"] else "optional"
            extra = f", default {p['default']}" if p["default"] else ""
            allowed = f", one of {', '.join(p['allowed'])}" if p["allowed"] else ""
            of = f" of class {p['class']}" if p["class"] else ""
            click.echo(f"    -p {p['name']}=...  {p['type']}{of}, {need}{extra}{allowed}")


def _parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ParameterError(f"parameter {pair!r} must be written name=value")
        name, value = pair.split("=", 1)
        name = name.strip()
        # Every parameter takes one value (a VALUES row binds one term each): a second -p
        # replaced the first without a word.
        if name in out:
            raise ParameterError(
                f"parameter '{name}' is given more than once; a parameter takes one value"
            )
        out[name] = value
    return out


def _chosen_format(kind: str, fmt: str | None) -> str:
    """``fmt``, or the default for a query of ``kind``; exit 1 naming the formats that fit
    when it does not. Checked before the query runs: the answer would be thrown away."""
    chosen = fmt or default_format(kind)
    if chosen not in formats_for(kind):
        allowed = ", ".join(sorted(formats_for(kind)))
        click.echo(
            f"error: a {kind.upper()} result cannot be shown as {chosen}; use one of: {allowed}",
            err=True,
        )
        sys.exit(1)
    return chosen


def _check_destination(fmt: str, output: Path | None) -> None:
    """Exit 1 for a workbook to a terminal: bytes for Excel, not for reading there; exit 2
    for an --output that plainly cannot be written (before the query runs)."""
    if output is not None:
        check_writable(output)
    if fmt == "xlsx" and output is None and sys.stdout.isatty():
        click.echo(
            "error: an xlsx workbook is a binary file for Excel; write it with --output FILE "
            "or redirect standard output (> FILE)",
            err=True,
        )
        sys.exit(1)


def _cut(result: QueryResult, limit: int | None) -> bool:
    """Keep a graph's distinct triples, and the first ``limit`` rows or triples, saying so;
    whether rows were left out."""
    if is_graph(result.kind):
        # Oxigraph repeats a triple that several solutions make: a graph holds it once, with
        # or without --limit, and --limit 3 means three different triples.
        result.triples = list(dict.fromkeys(result.triples))
    if limit is None:
        return False
    if is_graph(result.kind):
        if len(result.triples) > limit:
            shown = f"{limit} of {len(result.triples)} triples"
            click.echo(f"note: showing {shown} (--limit)", err=True)
        result.triples = result.triples[:limit]
    elif len(result.rows) > limit:
        click.echo(f"note: showing {limit} of {len(result.rows)} rows (--limit)", err=True)
        result.rows = result.rows[:limit]
        return True
    elif result.more:  # a remote server was asked for no more rows than shown
        click.echo(f"note: showing the first {limit} rows; the answer has more (--limit)", err=True)
        return True
    return False


def _emit(
    result: QueryResult,
    fmt: str,
    limit: int | None,
    output: Path | None = None,
    about: xlsx.About | None = None,
) -> None:
    try:
        _write(result, fmt, limit, output, about)
    except Unrepresentable as exc:  # U+0001 in XML: the format cannot take this answer
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _write(
    result: QueryResult,
    fmt: str,
    limit: int | None,
    output: Path | None,
    about: xlsx.About | None,
) -> None:
    cut = _cut(result, limit)
    if fmt == "xlsx":
        note = f"yes: the first {limit:,} rows (--limit)" if cut else None
        write_output(_workbook(result, replace(about or xlsx.About(), cut=note)), output)
    elif output is not None:
        write_output(render(result, fmt).encode("utf-8"), output)
    elif fmt == "table":  # for reading: the terminal's encoding (cli.main makes it tolerant)
        click.echo(render(result, fmt), nl=False)
    else:
        write_data(render(result, fmt))


def _workbook(result: QueryResult, about: xlsx.About) -> bytes:
    if result.kind == "ask":
        return xlsx.workbook([], [], about, bool(result.boolean))
    rows = [[row.get(v) for v in result.variables] for row in result.rows]
    return xlsx.workbook(result.variables, rows, about)


def run_stored(
    name: str,
    params: tuple[str, ...],
    fmt: str | None,
    limit: int | None,
    store_path: Path,
    timeout: float,
    allowlist: tuple[str, ...] = (),
    output: Path | None = None,
) -> None:
    cat = _catalog()
    query = None
    require_store(store_path)
    try:
        query = cat.get(name)
        fmt = _chosen_format(query.kind, fmt)
        _check_destination(fmt, output)
        query.check_services(allowlist)
        with open_store(str(store_path), read_only=True) as store:
            given = _parse_params(params)
            values = query.bind(given, store)
            text = query.bound_text(values)
            result = execute(store, text, timeout, query.store_sorts, split=True, limit=limit)
            _warn_stale_keys(query, store)
    except ParameterError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except ServiceNotAllowed as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except StoreError as exc:
        click.echo(f"error: {exc}{_remote_hint(query)}", err=True)
        sys.exit(2)
    about = xlsx.About(
        what=f"Stored question {query.name}: {query.summary}",
        parameters=xlsx.parameter_lines(given, values),
    )
    _emit(result, fmt, limit, output, about)


def _warn_stale_keys(query: StoredQuery, store: Store) -> None:
    """One line on stderr when a question compares folded text with search keys that an
    older folding wrote: it would miss labels without a word (see reasoning/keycheck)."""
    if not any(p.fold for p in query.params):
        return
    try:
        check = stale_search_keys(store)
    except StoreError:  # advisory: the answer is shown whatever the check could read
        return
    if not check.ok:
        click.echo(f"warning: {STALE}", err=True)


def _remote_hint(query: StoredQuery | None) -> str:
    """For a federated query, name the endpoints it calls: they may be down or slow."""
    if query is None or not query.services:
        return ""
    names = ", ".join(f"<{s}>" for s in query.services)
    return f" (the query calls SERVICE {names}; that endpoint may be down, slow or failing)"


def run_adhoc(
    text: str,
    fmt: str | None,
    limit: int | None,
    store_path: Path,
    timeout: float,
    output: Path | None = None,
) -> None:
    try:
        info = inspect(text)
    except QuerySyntaxError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    fmt = _chosen_format(info.kind, fmt)
    _check_destination(fmt, output)
    if info.services:
        click.echo(
            f"error: SERVICE is not allowed here ({info.services[0]}): queries must not "
            "make this program contact other servers",
            err=True,
        )
        sys.exit(2)
    require_store(store_path)
    try:
        with open_store(str(store_path), read_only=True) as store:
            result = execute(store, text, timeout, limit=limit)
    except StoreError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    _emit(result, fmt, limit, output, xlsx.About(query=text))


def output_options(timeout_help: str):
    """--format, --output, --limit and --timeout, shared by 'query' and 'sparql'."""

    def decorate(command):
        command = click.option(
            "--output",
            type=click.Path(dir_okay=False, path_type=Path),
            help="File to write the answer to (default: standard output, which takes an xlsx "
            "workbook only when redirected).",
        )(command)
        command = click.option(
            "--timeout",
            type=SECONDS,
            default=30.0,
            show_default=True,
            help=timeout_help,
        )(command)
        command = click.option(
            "--limit",
            type=click.IntRange(min=0),
            help="Show at most N rows (of a CONSTRUCT or DESCRIBE: N triples); a remote store "
            "is asked for no more, so a listing longer than its row limit can be run.",
        )(command)
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            help="Output format (default: table; turtle for CONSTRUCT and DESCRIBE); xlsx is "
            "an Excel workbook of a SELECT or ASK answer.",
        )(command)

    return decorate


def register(main: click.Group, store_option) -> None:
    """Add the catalog commands to the CLI group."""

    @main.command("queries")
    @click.option(
        "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
    )
    @exit_codes({0: "listed", 2: "when the query catalog is broken"})
    def queries_cmd(fmt: str) -> None:
        """List the stored questions with their parameters."""
        list_queries(fmt)

    @main.command("query")
    @click.argument("name")
    @click.option(
        "-p",
        "--param",
        "params",
        multiple=True,
        metavar="NAME=VALUE",
        help="A parameter value; repeat for several.",
    )
    @output_options("Seconds before the query is stopped (a federated query's remote calls too).")
    @click.option(
        "--allow-service",
        "allow_service",
        multiple=True,
        envvar=SERVICE_ALLOW_ENV,
        metavar="URL",
        help="A SPARQL endpoint the stored query may call with SERVICE (repeatable; exact "
        f"IRI; default: {SERVICE_ALLOW_ENV}, whitespace-separated). Without it a federated "
        "query is refused.",
    )
    @store_option
    @exit_codes(
        {
            0: "ok",
            1: "bad parameter or unknown NAME (the message names it and lists allowed values), "
            f"or {BAD_FORMAT}",
            2: "no store at --store, query error, timeout, a SERVICE endpoint not on the "
            f"allow-list, {UNWRITABLE} or a broken query catalog",
        }
    )
    def query_cmd(
        name: str,
        params: tuple[str, ...],
        fmt: str | None,
        output: Path | None,
        limit: int | None,
        timeout: float,
        allow_service: tuple[str, ...],
        store_path: Path,
    ) -> None:
        """Run the stored query NAME (see 'clusterpolisee queries')."""
        run_stored(name, params, fmt, limit, store_path, timeout, tuple(allow_service), output)

    @main.command("sparql")
    @click.argument("query", required=False)
    @click.option(
        "--file", "query_file", type=click.Path(exists=True, dir_okay=False, path_type=Path)
    )
    @output_options("Seconds before the query is stopped.")
    @store_option
    @exit_codes(
        {
            0: "ok",
            1: BAD_FORMAT,
            2: "no query or both QUERY and --file, an unreadable --file, syntax error "
            "(an update too), a SERVICE clause, no store at --store, query error, timeout or "
            f"{UNWRITABLE}",
        }
    )
    def sparql_cmd(
        query: str | None,
        query_file: Path | None,
        fmt: str | None,
        output: Path | None,
        limit: int | None,
        timeout: float,
        store_path: Path,
    ) -> None:
        """Run an ad-hoc read-only SPARQL query given as text or with --file.

        SERVICE is refused; updates are not queries and are refused too.
        """
        if bool(query) == bool(query_file):
            click.echo(
                "error: give the query as an argument or with --file (one of them)", err=True
            )
            sys.exit(2)
        text = _read_query(query_file) if query_file else query
        run_adhoc(text, fmt, limit, store_path, timeout, output)


def _read_query(path: Path) -> str:
    """The text of a query file; exit 2 with a one-line reason when it cannot be read
    (text in another encoding ended in a UnicodeDecodeError traceback)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        reason = f"byte 0x{exc.object[exc.start]:02x} at offset {exc.start} is not UTF-8"
        click.echo(f"error: {path}: {reason}; save the query as UTF-8", err=True)
    except OSError as exc:
        click.echo(f"error: {path}: cannot read the file: {exc.strerror}", err=True)
    sys.exit(2)
