"""CLI commands for link discovery (`link`) and review (`links review`)."""

import getpass
import sys
from pathlib import Path

import click

from .cli_exits import exit_codes, group_exit_codes
from .cli_output import check_writable, write_output
from .cli_store import require_store
from .cli_types import DELIMITER, IRI_BASE, SECONDS
from .linking import (
    Candidate,
    Discovery,
    ReviewError,
    Run,
    SourceError,
    discovery,
    load,
    review,
    save_proposals,
    withdraw,
)
from .linking.candidates import FORMULA_START, now, one_line, to_csv, to_turtle
from .linking.records import OWN_BASES, read_csv, read_endpoint, read_rdf_file
from .store import Store, StoreError, open_store

#: Why a command of this module that opens the store exits 2, besides its own reasons.
STORE_FAILS = "a store that cannot be opened or written"

RDF_SUFFIXES = {".ttl", ".nt", ".nq", ".trig", ".jsonld", ".json", ".rdf", ".owl", ".xml"}


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _columns(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        field, sep, header = pair.partition("=")
        if not sep or not header.strip():
            raise SourceError(f"--column {pair!r} must be written FIELD=HEADER")
        out[field.strip().lower()] = header.strip()
    return out


def _misplaced(is_csv: bool, opts: dict) -> str | None:
    """Why options for the other kind of source cannot apply, or None: they were ignored
    without a word (a --column for an endpoint, a --query for a CSV file)."""
    if is_csv and opts["query"]:
        return "--query maps RDF or endpoint data; a CSV file is mapped with --column"
    if is_csv:
        return None
    given = [
        name
        for name, used in (
            ("--column", opts["column"]),
            ("--id-base", opts["id_base"]),
            ("--delimiter", opts["delimiter"] != ","),
        )
        if used
    ]
    if not given:
        return None
    verb = "apply" if len(given) > 1 else "applies"
    return (
        f"{', '.join(given)} only {verb} to a CSV file; RDF and endpoint data are mapped by "
        "--query (a SELECT giving ?id ?name ...), and their ids must be IRIs"
    )


def _records(source: Path | None, endpoint: str | None, name: str, opts: dict) -> list:
    """The list's records; ``name`` names a file in messages (``_list_name``)."""
    query = opts["query"].read_text(encoding="utf-8") if opts["query"] else None
    if endpoint:
        return read_endpoint(endpoint, query, timeout=opts["timeout"])
    assert source is not None
    if source.suffix.lower() in RDF_SUFFIXES:
        return read_rdf_file(source, query, name)
    data = source.read_bytes()
    return read_csv(data, name, _columns(opts["column"]), opts["id_base"], opts["delimiter"])


def _list_name(source: Path | None, endpoint: str | None) -> str:
    """The list's name as its candidates, its run, its links and messages give it, cleaned
    here once. A file name may hold any byte but '/' and NUL: a line break or U+0001 (no
    XML 1.0), a byte that is no UTF-8 (no RDF literal). An endpoint URL passed the IRI
    check before anything is stored, so only a Unicode space an IRI may hold (U+2028) is
    folded."""
    return one_line(endpoint or (source.name if source else ""))


def _labels(store: Store, candidates: list[Candidate]) -> dict[str, str]:
    from .linking.local import load_entities

    wanted = {c.local for c in candidates}
    found = {}
    for kind in ("cluster", "organisation"):
        for ent in load_entities(store, kind):
            if ent.iri in wanted:
                found[ent.iri] = ent.label
    return found


def _show(candidates: list[Candidate], labels: dict[str, str]) -> None:
    for c in candidates:
        click.echo(
            f"{c.id}  {c.status:<9} {c.score:.3f}  {labels.get(c.local, c.local)}  =  "
            f"{c.external_name}  <{c.external}>\n            evidence: {'; '.join(c.evidence)}"
        )
        if c.status == "withdrawn":
            by = f" by {c.withdrawn_by}" if c.withdrawn_by else ""
            click.echo(f"            withdrawn {c.withdrawn}{by}: {c.reason}")
        if c.status == "rejected" and c.rejected:  # older rejections recorded neither
            by = f" by {c.rejected_by}" if c.rejected_by else ""
            click.echo(f"            rejected {c.rejected}{by}")


def _login() -> str:
    """The login name, '' when the system cannot tell (a uid with no user)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def _decider(reviewer: str | None) -> str:
    """Who decides (or runs ``link``): --reviewer, else the login name; exit 2 when neither
    names anyone (a uid with no user ended in a traceback; ``link`` recorded an empty name)."""
    who = (reviewer or "").strip() or _login()
    if not who:
        _fail("cannot tell who decides (this system gives no login name): give --reviewer NAME")
    return who


def _left_out(found: Discovery, kind: str, source: str) -> list[str]:
    """What the run left out and why, for the summary."""
    notes = []
    if found.ours:
        notes.append(
            f"skipped {found.ours} external records whose id is one of our own IRIs "
            f"(under {' or '.join(OWN_BASES)}): they are our data, not another database's"
        )
    if found.linked_records or found.linked_entities:
        notes.append(
            f"left out {found.linked_records} external records already linked to one of ours "
            f"and {found.linked_entities} of our {kind}s already linked to {source} "
            "(links are one-to-one)"
        )
    return notes


def register(main: click.Group, store_option) -> None:
    @main.command("link")
    @click.option(
        "--source",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="External list: CSV, or RDF (.ttl .nt .nq .trig .jsonld .rdf).",
    )
    @click.option(
        "--source-endpoint",
        "source_endpoint",
        help="SPARQL endpoint URL of the external database (--endpoint names our own store).",
    )
    @click.option(
        "--type",
        "kind",
        type=click.Choice(["cluster", "organisation"]),
        required=True,
        help="What to match: our clusters or our organisations.",
    )
    @click.option(
        "--column",
        multiple=True,
        metavar="FIELD=HEADER",
        help="CSV column for a field (id, name, alt_name, country, region, sector, "
        "url); default: a column named like the field. Repeatable.",
    )
    @click.option(
        "--id-base",
        type=IRI_BASE,
        help="http(s) IRI prefix for ids that are not IRIs themselves (they are appended "
        "percent-encoded).",
    )
    @click.option(
        "--delimiter",
        type=DELIMITER,
        default=",",
        show_default=True,
        help="CSV delimiter: one character ('\\t' for a tab).",
    )
    @click.option(
        "--query",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="SELECT query mapping RDF/endpoint data to ?id ?name ?country ?region "
        "?sector ?url (SERVICE is refused).",
    )
    @click.option(
        "--timeout", type=SECONDS, default=30.0, show_default=True, help="Endpoint time limit (s)."
    )
    @click.option(
        "--threshold",
        default=0.75,
        show_default=True,
        help="Propose candidates scoring at least this (0..1).",
    )
    @click.option(
        "--accept-above", type=float, help="Accept candidates scoring at least this without review."
    )
    @click.option(
        "--output-csv",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Candidates as CSV. A cell that begins with "
        + " ".join(c for c in FORMULA_START if c.isprintable())
        + " (a formula to a spreadsheet) is written with a leading ' so it stays text.",
    )
    @click.option(
        "--output-rdf",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Candidates as Turtle (Alignment format cells), with the run that stored them.",
    )
    @click.option("--dry-run", is_flag=True, help="Only write the outputs; store nothing.")
    @click.option(
        "--reviewer",
        default=None,
        help="Who runs it, recorded with the run (default: the login name).",
    )
    @store_option
    @exit_codes(
        {
            0: "done",
            2: "a bad or unreadable source or --query, options that do not fit together, no "
            "reviewer name (unless --dry-run), an --output-csv or --output-rdf that cannot be "
            f"written, no store at --store, or {STORE_FAILS}",
        }
    )
    def link_cmd(
        source,
        source_endpoint,
        kind,
        threshold,
        accept_above,
        output_csv,
        output_rdf,
        dry_run,
        reviewer,
        store_path,
        **opts,
    ) -> None:
        """Find candidate links from our clusters or organisations to an external list.

        Candidates scoring at least --threshold are stored as 'proposed' in
        graph/link-candidates (review them with 'links review'); pairs already accepted or
        rejected are not proposed again. A run that stores candidates is recorded there
        too: when, who, the list, the settings and how many records it read.
        """
        started, endpoint = now(), source_endpoint
        if bool(source) == bool(endpoint):
            _fail("give exactly one of --source FILE or --source-endpoint URL")
        if not 0 <= threshold <= 1 or (accept_above is not None and not 0 <= accept_above <= 1):
            _fail("scores are between 0 and 1")
        is_csv = source is not None and source.suffix.lower() not in RDF_SUFFIXES
        if problem := _misplaced(is_csv, opts):
            _fail(problem)
        # Before any work: the run records who ran it, and the files are written after the
        # store has changed (a dry run records no one).
        who = (reviewer or _login()) if dry_run else _decider(reviewer)
        for path in (output_csv, output_rdf):
            if path is not None:
                check_writable(path)
        require_store(store_path)
        name = _list_name(source, endpoint)
        try:
            records = _records(source, endpoint, name, opts)
            with open_store(str(store_path), read_only=dry_run) as store:
                discovered = discovery(store, records, kind, name, threshold)
                found = discovered.candidates
                run = Run(name, kind, threshold, len(records), accept_above, who, started)
                if not dry_run:  # a dry run records no run: its cells name none
                    found = save_proposals(store, found, accept_above, run=run)
                labels = _labels(store, found)
        except (SourceError, StoreError, OSError, UnicodeDecodeError) as exc:
            _fail(str(exc))
        if output_csv:  # checked above; a full disk still fails here, with a message
            write_output(to_csv(found, labels).encode("utf-8"), output_csv)
        if output_rdf:
            write_output(to_turtle(found, run), output_rdf)  # with the run the cells name
        _show(found, labels)
        accepted = sum(1 for c in found if c.status == "accepted")
        click.echo(
            f"{len(records)} external records, {len(found)} candidates "
            f"({accepted} accepted automatically)",
            err=True,
        )
        for note in _left_out(discovered, kind, name):
            click.echo(note, err=True)

    @main.group("links")
    @group_exit_codes
    def links_group() -> None:
        """Review link candidates."""

    @links_group.command("review")
    @click.option("--accept", multiple=True, metavar="ID", help="Accept a candidate.")
    @click.option("--reject", multiple=True, metavar="ID", help="Reject a candidate.")
    @click.option("--all", "show_all", is_flag=True, help="List decided candidates too.")
    @click.option(
        "--interactive/--no-interactive",
        default=None,
        help="Ask about each proposed candidate (default: on a terminal with no "
        "--accept/--reject).",
    )
    @click.option("--reviewer", default=None, help="Who decides (default: the login name).")
    @store_option
    @exit_codes(
        {
            0: "listed or decided",
            2: "an unknown or already decided ID, no reviewer name, no store at --store, or "
            f"{STORE_FAILS}",
        }
    )
    def review_cmd(accept, reject, show_all, interactive, reviewer, store_path) -> None:
        """List proposed candidates, or accept/reject them by id.

        Accepted links go to graph/links as skos:exactMatch with a PROV-O record; rejected
        candidates stay in graph/link-candidates, with who rejected them and when, so they
        are not proposed again.
        """
        if interactive is None:
            interactive = sys.stdin.isatty() and not accept and not reject
        # Listing only reads: opened read-only, it works while a server holds the store.
        decides = bool(interactive or accept or reject)
        who = _decider(reviewer) if decides else ""  # before any question is asked
        require_store(store_path)
        try:
            with open_store(str(store_path), read_only=not decides) as store:
                if interactive:
                    accept, reject = _ask(store)
                if accept or reject:
                    done = review(store, list(accept), list(reject), who)
                    click.echo(f"accepted {len(done[0])}, rejected {len(done[1])}")
                    return
                shown = [c for c in load(store).values() if show_all or c.status == "proposed"]
                shown.sort(key=lambda c: (-c.score, c.id))
                _show(shown, _labels(store, shown))
        except (ReviewError, StoreError) as exc:
            _fail(str(exc))

    @links_group.command("withdraw")
    @click.argument("ids", nargs=-1, required=True, metavar="ID...")
    @click.option("--reason", required=True, help="Why the link is wrong; kept with the candidate.")
    @click.option("--reviewer", default=None, help="Who withdraws (default: the login name).")
    @store_option
    @exit_codes(
        {
            0: "withdrawn",
            2: "an ID that is no accepted link, an empty --reason, no reviewer name, no store "
            f"at --store, or {STORE_FAILS}",
        }
    )
    def withdraw_cmd(ids, reason, reviewer, store_path) -> None:
        """Take accepted links back (ids as 'links review --all' lists them).

        Each link's skos:exactMatch leaves graph/links in one commit, whose record of it
        stays, marked as invalidated by the withdrawal; the candidate stays in
        graph/link-candidates as withdrawn, with the time, the reason and who withdrew it, so
        the pair is not proposed again, and both ends may be linked anew.
        """
        reason = one_line(reason)
        if not reason:
            _fail("--reason must say why the link is withdrawn")
        who = _decider(reviewer)
        require_store(store_path)
        try:
            with open_store(str(store_path)) as store:
                done = withdraw(store, list(ids), reason, who)
        except (ReviewError, StoreError) as exc:
            _fail(str(exc))
        click.echo(f"withdrawn {len(done)}")


def _ask(store: Store) -> tuple[list[str], list[str]]:
    proposed = sorted(
        (c for c in load(store).values() if c.status == "proposed"), key=lambda c: -c.score
    )
    labels = _labels(store, proposed)
    accept, reject = [], []
    for c in proposed:
        _show([c], labels)
        answer = click.prompt(
            "accept, reject, skip or quit", default="s", type=click.Choice(["a", "r", "s", "q"])
        )
        if answer == "q":
            break
        {"a": accept, "r": reject}.get(answer, []).append(c.id)
    return accept, reject
