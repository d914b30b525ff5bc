"""CLI commands of the store layer: export, import, materialise, generate; and the
``--endpoint`` option every store command shares. Thin: the logic is in clusterpolisee.store,
clusterpolisee.reasoning.materialise and clusterpolisee.generate."""

import gzip
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import click
import pyoxigraph as ox

from .cli_exits import exit_codes
from .cli_output import reader_gone, replacing
from .cli_types import SECONDS
from .store import StoreError, configured_endpoint, open_store
from .store.base import SWEEP_MIN_MINUTES, StagedCommit, StagingSweep
from .store.dump import format_of, open_dump, read_dataset, restore
from .store.journal import folder_of


def _use_endpoint(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    # open_store() reads CLUSTERPOLISEE_ENDPOINT, so every command that opens the store
    # (including other modules' commands) honours --endpoint without a new parameter.
    if not value:
        return
    if not value.startswith(("http://", "https://")):
        raise click.BadParameter("must be an http(s) URL of a SPARQL endpoint")
    os.environ["CLUSTERPOLISEE_ENDPOINT"] = value


ENDPOINT_OPTION = click.option(
    "--endpoint",
    envvar="CLUSTERPOLISEE_ENDPOINT",
    expose_value=False,
    callback=_use_endpoint,
    help="SPARQL 1.1 query endpoint of a remote store; wins over --store. Without it: env "
    "CLUSTERPOLISEE_ENDPOINT, else 'endpoint' under [remote] in the file "
    "CLUSTERPOLISEE_STORE_CONFIG names (see README 'Store' for update/Graph Store/credentials).",
)


def store_options(path_option: Callable) -> Callable:
    """``--store PATH`` and ``--endpoint URL`` together, as one decorator."""

    def decorate(f: Callable) -> Callable:
        return path_option(ENDPOINT_OPTION(f))

    return decorate


def remote_selected() -> bool:
    """Whether the store is remote (``--endpoint``, ``CLUSTERPOLISEE_ENDPOINT``, or the
    ``[remote]`` endpoint of ``CLUSTERPOLISEE_STORE_CONFIG``). An unreadable configuration
    file counts as remote: opening the store then says what is wrong with it."""
    try:
        return configured_endpoint() is not None
    except StoreError:
        return True


def fail(exc: Exception) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


def require_store(store_path: Path) -> None:
    """Exit 2 unless ``store_path`` holds an embedded store (or a remote one is selected):
    opening a store to write creates one, so a mistyped --store made an empty store there
    and went on ("unknown partner", "0 triples"), and an empty folder gave RocksDB's error."""
    if not remote_selected() and not (store_path / "CURRENT").is_file():
        fail(StoreError(f"no store at {store_path}; run 'clusterpolisee build' first"))


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` (itself included) that does not exist yet: what
    opening a store there creates (``mkdir(parents=True)``)."""
    missing = None
    for p in (path, *path.parents):
        if p.exists():
            break
        missing = p
    return missing


@contextmanager
def undone_on_failure(store_path: Path) -> Iterator[None]:
    """Remove the store the block created at ``store_path`` if it fails, so a failed
    ``import`` leaves no new store (an empty one made the next command report "0 triples").
    Only a store that did not exist before is removed: a new folder tree, or what was written
    into a folder that was empty, with its journal. An existing store is never touched: a
    large commit that failed half way is finished from its journal at the next open, so the
    journal is what keeps it whole."""
    missing = _first_missing(store_path)
    was_empty = store_path.is_dir() and not any(store_path.iterdir())
    if remote_selected() or not (missing or was_empty):
        yield
        return
    journal = folder_of(store_path)
    journal_new = _first_missing(journal)
    try:
        yield
    except BaseException:
        for path in (missing, journal_new):
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)
        if was_empty:
            for child in store_path.iterdir():
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        raise


def _read_dump(file: Path, fmt: str, end_check: bool = True) -> dict[str, list[ox.Triple]]:
    """The parsed dump, read (and decompressed) before any store is opened: a bad file, one
    refused as a decompression bomb, or (``end_check``) one without export's end line, as a
    dump cut off at a line break is, creates and changes nothing."""
    with open_dump(file) as fh:
        return read_dataset(fh, fmt, end_check=end_check, name=file.name)


@contextmanager
def _written_in_place(output: Path) -> Iterator[IO[bytes]]:
    """``output`` to write, gzip-compressed when its name ends in .gz (as /dumps serves dumps
    and import reads them). Written beside it and renamed into place at the end: a failed
    export (a remote store gone mid-way) left an empty dump over the file that was there."""
    with replacing(output) as fh:
        if output.suffix.lower() != ".gz":
            yield fh
            return
        with gzip.GzipFile(filename=output.name, mode="wb", fileobj=fh) as packed:
            yield packed


def _span(seconds: float) -> str:
    """A duration in the unit a person reads it in: 45 s, 60 min, 3 h, 2 d."""
    for unit, size, below in (("s", 1, 120), ("min", 60, 120 * 60), ("h", 3600, 48 * 3600)):
        if seconds < below:
            return f"{max(0, int(seconds // size))} {unit}"
    return f"{int(seconds // 86400)} d"


def _graphs_of(commits: list[StagedCommit]) -> str:
    n, k = sum(len(c.graphs) for c in commits), len(commits)
    return f"{n} scratch graph{'s' * (n != 1)} of {k} commit{'s' * (k != 1)}"


def _sweep_threshold(_ctx: click.Context, _param: click.Parameter, minutes: int) -> int:
    """0, or at least SWEEP_MIN_MINUTES: a running commit says it is alive once a minute,
    between requests, so a shorter threshold would drop its graphs and fail it."""
    if 0 < minutes < SWEEP_MIN_MINUTES:
        raise click.BadParameter(
            f"must be 0 (drop all, only while nothing writes) or at least {SWEEP_MIN_MINUTES}: "
            "a running commit records that it is alive only once a minute, between requests"
        )
    return minutes


def sweep_message(sweep: StagingSweep, minutes: int) -> str:
    """What drop-staging dropped, what it left and why, in one line."""
    wait = _span(minutes * 60)
    parts = []
    if sweep.dropped:
        why = (
            "all, as --older-than 0 asks"
            if not minutes
            else "no other process can write to this store meanwhile"
            if sweep.exclusive
            else f"not seen for {wait} or more"
        )
        parts.append(f"dropped {_graphs_of(sweep.dropped)} ({why})")
    if sweep.running:
        latest = _span(min(c.silent or 0.0 for c in sweep.running))
        parts.append(
            f"left {_graphs_of(sweep.running)} seen {latest} ago, which may still be running: "
            f"they go once not seen for {wait}"
        )
    if sweep.untimed:
        parts.append(
            f"left {_graphs_of(sweep.untimed)} with no time recorded (written by an older "
            f"clusterpolisee), timed from now: a run in {wait} drops them"
        )
    if sweep.running or sweep.untimed:
        parts.append(
            "if no commit is running, 'clusterpolisee drop-staging --older-than 0' drops them now"
        )
    return "; ".join(parts) or "no scratch graphs in the store"


def register(main: click.Group, store_option: Callable) -> None:
    @main.command("export")
    @store_option
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["nquads", "trig"]),
        help="Output format (default: from the --output suffix, .nq or .trig, also .nq.gz or "
        ".trig.gz, which are gzip-compressed; any other suffix is refused; standard output: "
        "nquads).",
    )
    @click.option("--graph", help="IRI of one named graph to export (default: all).")
    @click.option(
        "--output",
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        help="File to write (default: standard output).",
    )
    @exit_codes(
        {
            0: "exported (also when the reader stops early, as '| head' does)",
            2: "no store at --store, an --output name of no known format, or the store or "
            "--output cannot be read or written",
        }
    )
    def export_cmd(
        store_path: Path, fmt: str | None, graph: str | None, output: Path | None
    ) -> None:
        """Dump the named graphs (all, or one) as N-Quads or TriG.

        The dump ends with a comment line, '# end of clusterpolisee dump: N quads in G
        graphs', by which import tells a whole dump from one cut short.
        """
        if fmt is None and output is not None:
            fmt = format_of(output.name)
            if fmt is None:  # as import refuses it: x.json would hold N-Quads
                fail(
                    StoreError(
                        f"cannot tell the format of {output.name}; give --format, or name "
                        "the file .nq, .trig, .nq.gz or .trig.gz"
                    )
                )
        fmt = fmt or "nquads"
        require_store(store_path)
        try:
            with open_store(str(store_path), read_only=True) as store:
                if output is None:
                    count = store.export(sys.stdout.buffer, fmt, graph)
                    sys.stdout.buffer.flush()
                else:
                    with _written_in_place(output) as fh:
                        count = store.export(fh, fmt, graph)
        except BrokenPipeError:  # `export | head` stopped reading: nothing went wrong
            reader_gone()
        except (StoreError, OSError) as exc:
            fail(exc)
        click.echo(f"Exported {count} quads", err=True)

    @main.command("drop-staging")
    @store_option
    @click.option(
        "--older-than",
        "minutes",
        type=click.IntRange(min=0),
        callback=_sweep_threshold,
        default=60,
        show_default=True,
        metavar="MINUTES",
        help=f"Drop the scratch graphs of commits not seen for this long (at least "
        f"{SWEEP_MIN_MINUTES}). 0 drops all, a running commit's too: only when nothing writes.",
    )
    @exit_codes({0: "swept", 2: "no store at --store, or it cannot be opened or written"})
    def drop_staging_cmd(store_path: Path, minutes: int) -> None:
        """Remove the scratch graphs of commits that are no longer running (crashed or
        refused); safe while other commits run.

        A remote commit uploads new graphs into scratch graphs and swaps them in at its end.
        Those of a commit that was interrupted stay, and every query sees their triples until
        they go ('graphs' warns of them). A commit records when it was last seen (at its
        start, then at most once a minute between its upload requests; UTC, on its host's
        clock), so only scratch graphs of commits not seen for --older-than minutes go; a
        running commit's stay. A commit whose graphs went this way (it was silent that long:
        suspended, or one request stuck) fails when it goes on and changes nothing.
        Scratch graphs with no time recorded (written by an older version) get the time now
        and go at a later run. The embedded store drops them all, as no other process can
        write while this one has it open (a writer opening it drops them too).
        """
        require_store(store_path)
        try:
            with open_store(str(store_path)) as store:
                sweep = store.sweep_staging(minutes * 60)
        except StoreError as exc:
            fail(exc)
        click.echo(sweep_message(sweep, minutes))

    @main.command("import")
    @store_option
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["nquads", "trig"]),
        help="Format of FILE (default: from its suffix, .nq or .trig, also .nq.gz, .trig.gz).",
    )
    @click.option(
        "--no-end-check",
        "no_end_check",
        is_flag=True,
        help="Import FILE even if it does not end with the end line export writes (a dump "
        "written by another tool, or by clusterpolisee before 2026-12-07). Without the line, "
        "a dump cut off at a line break cannot be told from a whole one.",
    )
    @exit_codes(
        {
            0: "imported",
            2: "a FILE that is unreadable, bad or possibly cut short (nothing is changed), or "
            "the store cannot be written",
        }
    )
    def import_cmd(store_path: Path, file: Path, fmt: str | None, no_end_check: bool) -> None:
        """Restore a dump: replace each named graph in FILE, all in one commit.

        FILE may be gzip-compressed (told by its content), as the web app's /dumps are.
        Graphs not in FILE are kept; a bad file changes nothing, and a store this command
        created for it is removed again. Run materialise afterwards if the dump has no
        graph/inferred.

        FILE must end with the line export writes last ('# end of clusterpolisee dump: N
        quads in G graphs'), for as many quads and graphs as it holds, else it is refused
        as possibly cut short; --no-end-check imports it anyway.
        """
        fmt = fmt or format_of(file.name)
        if fmt is None:
            fail(StoreError(f"cannot tell the format of {file.name}; give --format"))
        try:
            graphs = _read_dump(file, fmt, end_check=not no_end_check)
            with undone_on_failure(store_path), open_store(str(store_path)) as store:
                sizes = restore(store, graphs)
        except (StoreError, OSError) as exc:
            fail(exc)
        for graph, size in sorted(sizes.items()):
            click.echo(f"{size:>10}  {graph}")
        click.echo(f"Imported {sum(sizes.values())} triples into {len(sizes)} graphs")

    @main.command("materialise")
    @store_option
    @click.option(
        "--check", is_flag=True, help="Also check data + ontology for consistency with HermiT."
    )
    @click.option(
        "--timeout", type=SECONDS, default=300.0, show_default=True, help="Seconds for HermiT."
    )
    @exit_codes(
        {
            0: "recomputed (and, with --check, consistent)",
            1: "when, with --check, the data contradicts the ontology (HermiT, needs Java)",
            2: "no store at --store, the store cannot be written, or HermiT cannot run",
        }
    )
    def materialise_cmd(store_path: Path, check: bool, timeout: float) -> None:
        """Recompute graph/inferred (containment, inverses, defined classes, superclasses,
        search keys, tallies, name lists), compacting the store before and after."""
        from .reasoning.hermit import ReasonerUnavailable
        from .reasoning.materialise import INFERRED, check_consistency, materialise

        require_store(store_path)
        try:
            with open_store(str(store_path)) as store:
                # This command follows bulk loads and imports, which leave the store in many
                # table files: compacted first, the facts read faster. At 10M triples, right
                # after the bulk load: 7.8 s to compact, then the reasoning step took 75 s
                # instead of 90 s; with both compactions 94 s instead of 103 s.
                store.compact()
                count = materialise(store)
                store.compact()
                result = check_consistency(store, timeout) if check else None
        except (StoreError, ReasonerUnavailable) as exc:
            fail(exc)
        click.echo(f"{INFERRED}: {count} triples")
        if result is not None:
            click.echo(f"Consistent: {'yes' if result.consistent else 'NO'}")
            sys.exit(0 if result.consistent else 1)

    @main.command("generate")
    @click.option("--triples", type=click.IntRange(min=1), required=True, help="About how many.")
    @click.option("--seed", type=int, default=1, show_default=True)
    @click.option(
        "--output",
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        help="N-Triples file to write (default: standard output).",
    )
    @exit_codes(
        {
            0: "written (also when the reader stops early, as '| head' does)",
            2: "when the output cannot be written",
        }
    )
    def generate_cmd(triples: int, seed: int, output: Path | None) -> None:
        """Write deterministic synthetic partner data (N-Triples) for benchmarks.

        --output is written beside the file and renamed into place at the end: a failed or
        interrupted run leaves the file that was there.
        """
        from .generate import generate

        try:
            if output is None:
                count = generate(sys.stdout.buffer, triples, seed)
                sys.stdout.buffer.flush()
            else:
                with replacing(output) as fh:
                    count = generate(fh, triples, seed)
        except BrokenPipeError:  # `generate | head` stopped reading, as for export
            reader_gone()
        except OSError as exc:
            fail(exc)
        click.echo(f"Generated {count} triples (seed {seed})", err=True)
