"""Command-line interface: a thin layer over the library."""

import io
import sys
from pathlib import Path
from typing import NoReturn

import click

from . import paths
from .cli_exits import INTERRUPTED_CODE, exit_codes, group_exit_codes
from .cli_output import reader_gone
from .paths import ConfigError

try:  # the modules below read CLUSTERPOLISEE_BASE when imported (namespaces)
    from . import (
        __version__,
        cli_links,
        cli_queries,
        cli_store,
        cli_submissions,
        cli_validation,
        cli_web,
    )
    from .cli_types import SECONDS
    from .store import StoreError, open_store
except ConfigError as _exc:  # before click runs: every command and --help, not a traceback
    click.echo(f"error: {_exc}", err=True)
    sys.exit(2)

STORE_PATH_OPTION = click.option(
    "--store",
    "store_path",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="CLUSTERPOLISEE_STORE",
    default=paths.DEFAULT_STORE,
    show_default=True,
    help="Directory of the embedded store (env CLUSTERPOLISEE_STORE).",
)
STORE_OPTION = cli_store.store_options(STORE_PATH_OPTION)


class _Main(click.Group):
    """The top-level group; notes whether a command's --help was asked for (the callback,
    which checks the checkout, no longer sees the arguments)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["clusterpolisee.help"] = bool(set(ctx.help_option_names) & set(args))
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        """Run the command; the ends that are the same for every command are here.

        Ctrl+C: exit INTERRUPTED_CODE (130, 128 + SIGINT) with one line, where click said
        "Aborted!" and exit 1, the code of "rejected". What was being written is not kept:
        store commits are transactions, files are written beside and renamed into place.
        A BrokenPipeError: the reader of standard output stopped (``| head``), a normal end
        (exit 0, no message), as export always had it.
        """
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _interrupted()
        except click.Abort as exc:  # a prompt turns Ctrl+C into Abort (EOF too: left as is)
            if isinstance(exc.__context__, KeyboardInterrupt):
                _interrupted()
            raise
        except BrokenPipeError:
            reader_gone()


def _interrupted() -> NoReturn:
    # a line of its own after the terminal's "^C"
    lead = "\n" if sys.stderr.isatty() else ""
    click.echo(f"{lead}error: interrupted", err=True)
    sys.exit(INTERRUPTED_CODE)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="clusterpolisee")
@click.pass_context
@group_exit_codes
def main(ctx: click.Context) -> None:
    """ClusterPoliSEE knowledge graph: build the store, check the ontology, inspect graphs."""
    # Every command reads the checkout (ontology, shapes, questions, reference data): a wrong
    # CLUSTERPOLISEE_HOME is one message here, before any command runs. A command's --help
    # still shows (it reads nothing); the group's --help and --version never get here.
    if not ctx.meta.get("clusterpolisee.help"):
        try:
            paths.check_home()
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
    # Text for reading (tables, messages) shows a character the terminal's encoding lacks as
    # "?" rather than stopping with a traceback; data formats are written as UTF-8 bytes.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


@main.command("check-ontology")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--timeout",
    type=SECONDS,
    default=300.0,
    show_default=True,
    help="Seconds before HermiT is stopped.",
)
@click.option("--no-reference", is_flag=True, help="Check the ontology and schemes only.")
@exit_codes(
    {
        0: "when consistent with no unsatisfiable class",
        1: "otherwise",
        2: "when the check could not run (no Java, unsafe input)",
    }
)
def check_ontology(files: tuple[Path, ...], timeout: float, no_reference: bool) -> None:
    """Check that the ontology is consistent, with HermiT (needs Java).

    By default checks the ontology, its SKOS schemes and the reference data together; FILES
    (Turtle or N-Triples) replace that selection. owl:imports are never followed.
    """
    from .reasoning.hermit import ReasonerUnavailable, check
    from .reasoning.owlclean import UnsafeInput

    selected = list(files) or paths.ontology_files() + (
        [] if no_reference else paths.reference_files()
    )
    click.echo(f"Checking {len(selected)} file(s) with HermiT ...", err=True)
    try:
        result = check(selected, timeout=timeout)
    except (ReasonerUnavailable, UnsafeInput) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if result.dropped_triples:
        click.echo(
            f"Ignored {result.dropped_triples} owl:imports / owlready2 triple(s); "
            "nothing was fetched."
        )
    click.echo(f"Classes: {result.classes}")
    click.echo(f"Consistent: {'yes' if result.consistent else 'NO'}")
    click.echo(f"Unsatisfiable classes: {len(result.unsatisfiable)}")
    for iri in result.unsatisfiable:
        click.echo(f"  {iri}")
    click.echo(f"Inferred class hierarchy changes: {len(result.new_superclasses)}")
    for iri, supers in sorted(result.new_superclasses.items()):
        click.echo(f"  {iri} is a subclass of {', '.join(supers)}")
    if result.reclassified_individuals:
        click.echo(f"Individuals with inferred types: {len(result.reclassified_individuals)}")
    sys.exit(0 if result.ok else 1)


@main.command()
@STORE_OPTION
@click.option("--no-partners", is_flag=True, help="Skip the demo partner submissions.")
@exit_codes(
    {
        0: "built",
        1: "built, but a demo partner submission was rejected",
        2: "when the store cannot be opened or written",
    }
)
def build(store_path: Path, no_partners: bool) -> None:
    """Load the ontology, SKOS schemes, reference data and demo partner submissions.

    Each source goes into its named graph (graph/ontology, graph/reference), replacing what was
    there; each data/partners/{pid}.ttl goes through the submission pipeline into
    graph/partner/{pid} (an unchanged file is skipped); then graph/inferred is recomputed.
    Running it twice gives the same store.
    """
    from .build import build_all, partner_files, plan
    from .submissions import default_archive

    archive = None if no_partners else default_archive(store_path)  # as submit's, remote too
    files = [f for step in plan() for f in step.files] + ([] if no_partners else partner_files())
    try:
        with (
            open_store(str(store_path)) as store,
            click.progressbar(length=len(files), label="Loading", file=sys.stderr) as bar,
        ):
            result = build_all(store, progress=lambda _p: bar.update(1), archive=archive)
            where, sizes = store.describe(), store.graph_sizes()
    except StoreError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    for step in result.steps:
        click.echo(f"{step.graph}: {step.triples} triples from {len(step.files)} file(s)")
    rejected = [r.attempt.partner for r in result.submissions if not r.accepted]
    if archive is not None:
        accepted = len(result.submissions) - len(rejected)
        click.echo(
            f"Partner submissions: {accepted} accepted, {len(rejected)} rejected, "
            f"{len(partner_files()) - len(result.submissions)} unchanged"
        )
    click.echo(
        f"Built {where}: {sum(sizes.values())} triples in {len(sizes)} graphs, "
        f"{result.seconds:.2f} s"
    )
    if rejected:
        click.echo(f"error: rejected demo submissions: {', '.join(rejected)}", err=True)
        sys.exit(1)


@main.command()
@STORE_OPTION
@exit_codes({0: "listed", 2: "no store at --store, or it cannot be read"})
def graphs(store_path: Path) -> None:
    """List the named graphs in the store with their number of triples."""
    cli_store.require_store(store_path)
    try:
        with open_store(str(store_path), read_only=True) as store:
            sizes, scratch = store.graph_sizes(), store.scratch_graphs()
    except StoreError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    for graph, size in sizes.items():
        click.echo(f"{size:>10}  {graph}")
    if scratch:  # not listed, but every query sees their triples (a remote store keeps them)
        click.echo(
            f"warning: {len(scratch)} scratch graphs of running or interrupted commits are in "
            "the store and every query sees their triples; 'clusterpolisee drop-staging' "
            "removes those of commits no longer running",
            err=True,
        )


cli_queries.register(main, STORE_OPTION)
cli_web.register(main, STORE_PATH_OPTION)  # serve: embedded store only
cli_submissions.register(main, STORE_OPTION)
cli_store.register(main, STORE_OPTION)
cli_validation.register(main)
cli_links.register(main, STORE_OPTION)
