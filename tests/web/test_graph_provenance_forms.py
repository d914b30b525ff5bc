"""The run lines of /graph/link-candidates on stores of each form the linking code has left:
runs only (each candidate names its run), candidates from before runs were recorded only (no
run: told by their list and time), and both. The page reads a run's statuses by a join
rather than a lookup per cell, reads the older form only where the store holds it (the scan
for it took 0.65 s of the page at 150,000 candidates that all had a run), and reads it in
one of two forms by how many such cells there are; each of these gives the lines the former
queries gave, counted here from the candidates themselves. Stores written with the
library's own writers, as the CLI writes them."""

import re
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee.linking.candidates import (
    ID,
    PROV,
    SOFTWARE,
    Candidate,
    Run,
    graph_of,
    link_record,
    run_record,
)
from webapp import close_app
from webapp.views.link_provenance import INFERRED_RUNS, INFERRED_RUNS_WIDE, UNRECORDED

from .conftest import make_app
from .test_graph_provenance import HTML, agent_page, now_counts, provenance_lines
from .test_graph_provenance_latest import at, store_of
from .test_pages import utc_shown

OURS = "https://w3id.org/clusterpolisee/id/x/"
XSD_DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
#: What marks the scan for candidates from before runs, in either form of its query.
SCAN = "?cell prov:generatedAtTime ?time MINUS { ?cell prov:wasGeneratedBy ?run }"


def cell(name: str, source: str, created: int, run: Run | None = None, **kw) -> Candidate:
    return Candidate(f"{OURS}{name}", f"https://ext.example/{name}", 0.8, ["name 0.80"],
                     source=source, created=at(created), run=run.node.value if run else "",
                     **kw)  # fmt: skip


def ended(run: Run, when: int, stored: int) -> list[ox.Triple]:
    run.ended, run.stored = at(when), stored
    return run_record(run)


class History:
    """The cells, run records and links of a store, and what its page should say."""

    def __init__(self) -> None:
        self.cells: list[Candidate] = []
        self.records: list[ox.Triple] = []
        self.links: list[ox.Triple] = []

    def triples(self) -> tuple[list[ox.Triple], list[ox.Triple]]:
        return list(dict.fromkeys(graph_of(self.cells) + self.records)), self.links

    def accept(self, c: Candidate, who: str, when: int, software: bool = False) -> None:
        c.status = "accepted"
        self.links += link_record(c, who, at(when), software)

    def withdraw(self, c: Candidate, who: str, when: int, reason: str) -> None:
        c.status, c.withdrawn, c.reason, c.withdrawn_by = "withdrawn", at(when), reason, who
        stmt = ox.NamedNode(f"{ID}link/{c.id}")
        self.links += [
            ox.Triple(stmt, ox.NamedNode(PROV + "invalidatedAtTime"),
                      ox.Literal(at(when), datatype=XSD_DATETIME)),
            ox.Triple(stmt, ox.NamedNode(PROV + "wasInvalidatedBy"),
                      ox.NamedNode(f"{c.node.value}/withdrawal")),
        ]  # fmt: skip

    def statuses(self, run: Run | None, source: str = "", created: int = 0) -> str:
        """How a line says the statuses now of a run's cells (of a list and time, for the
        cells from before runs), counted from the cells."""
        if run is not None:
            mine = [c for c in self.cells if c.run == run.node.value]
        else:
            mine = [
                c
                for c in self.cells
                if not c.run and (c.source, c.created) == (source, at(created))
            ]
        return now_counts(Counter(c.status for c in mine))  # fmt: skip


def recorded_runs(h: History) -> dict[str, Run]:
    """Four recorded runs: A (6 cells in every status; one proposed again by B), B (accepting
    automatically above 0.95, no person), C (both cells proposed again by D), D."""
    runs = {
        "A": Run("a.csv", "cluster", 0.75, 40, None, "Rita", at(0)),
        "B": Run("a.csv", "cluster", 0.9, 40, 0.95, "", at(10)),
        "C": Run("b.csv", "organisation", 0.75, 12, None, "Rita", at(30)),
        "D": Run("b.csv", "organisation", 0.75, 12, None, "Rita", at(40)),
    }
    a = [cell(f"a{i}", "a.csv", 1, runs["A"]) for i in range(5)]
    moved = cell("a5", "a.csv", 11, runs["B"])  # A stored it; B proposed it again
    auto = cell("b1", "a.csv", 11, runs["B"])
    c = [cell(f"c{i}", "b.csv", 41, runs["D"]) for i in range(2)]  # C stored them; so did D
    h.cells += [*a, moved, auto, *c]
    h.records += ended(runs["A"], 2, 6) + ended(runs["B"], 12, 2)
    h.records += ended(runs["C"], 32, 2) + ended(runs["D"], 42, 2)
    h.accept(auto, SOFTWARE, 12, software=True)
    h.accept(a[2], "Anna", 20)
    h.accept(a[4], "Anna", 20)
    a[3].status, a[3].rejected, a[3].rejected_by = "rejected", at(21), "Rex"
    h.withdraw(a[4], "Wanda", 22, "wrong")
    return runs


def older_cells(h: History) -> None:
    """Cells from before runs were recorded: three of old.csv (one rejected with no record,
    one accepted), two of older.csv, one of no list, and one of a.csv made in the second of
    run A's cells (its line counts that one only)."""
    old = [cell(f"o{i}", "old.csv", 5) for i in range(3)]
    old[1].status = "rejected"  # as the former code rejected: no agent, no time
    h.accept(old[2], "Anna", 25)
    h.cells += [*old, cell("p0", "older.csv", 3), cell("p1", "older.csv", 3, status="rejected")]
    h.cells += [cell("q0", "", 4), cell("s0", "a.csv", 1)]


def run_line(h: History, run: Run, options: str, count: int, by: str = "Rita") -> str:
    page = "/id/" + run.node.value.split("/id/", 1)[1]
    who = f' by <a href="{agent_page(by)}">{by}</a>' if by else ""
    later = count - sum(1 for c in h.cells if c.run == run.node.value)
    moved = f"{later} proposed again by a later run" if later else ""
    now = ", ".join(x for x in (h.statuses(run), moved) if x)
    return (
        f'<a href="{page}">A run</a> of <code>clusterpolisee link {options}</code>{who} '
        f"against <code>{run.source}</code> ({run.records} external records): "
        f'{count} candidate{"s" * (count != 1)} (now {now}) <small class="note">'
        f"(started {utc_shown(run.started)}, ended {utc_shown(run.ended)})</small>"
    )


def old_line(h: History, source: str, created: int, count: int) -> str:
    shown = f"<code>{source}</code>" if source else "a list not named"
    return (
        f"A <code>clusterpolisee link</code> run against {shown}: {count} candidate"
        f"{'s' * (count != 1)} (now {h.statuses(None, source, created)})"
        f' <small class="note">(generated {utc_shown(at(created))})</small>'
    )


def rejection_line() -> str:
    return (
        f'<a href="{agent_page("Rex")}">Rex</a> rejected 1 candidate link to records of '
        f'<code>a.csv</code> <small class="note">(ended {utc_shown(at(21))})</small>'
    )


def recorded_lines(h: History, runs: dict[str, Run]) -> list[str]:
    """Latest first: D, C, the rejection, B, A."""
    cluster = "--type cluster --threshold"
    organisation = "--type organisation --threshold 0.75"
    return [
        run_line(h, runs["D"], organisation, 2),
        run_line(h, runs["C"], organisation, 2),
        rejection_line(),
        run_line(h, runs["B"], f"{cluster} 0.9 --accept-above 0.95", 2, by=""),
        run_line(h, runs["A"], f"{cluster} 0.75", 6),
    ]


def ran(texts: list[str], query: str) -> bool:
    """Whether ``query`` is among ``texts``, its graphs and limit filled in."""
    pieces = (re.escape(part) for part in re.split("#GRAPHS#|#MORE#", query))
    pattern = re.compile(".*?".join(pieces), re.DOTALL)
    return any(pattern.fullmatch(text) for text in texts)


def page_and_queries(
    store_path: Path, tmp_path: Path, h: History, page: str = "/graph/link-candidates", **config
) -> tuple[list[str], list[str]]:
    """The page's provenance lines, and the texts of the queries it ran (as the engine's
    result cache holds them, each time afresh: the app is new)."""
    path = store_of(store_path, tmp_path, *h.triples())
    app = make_app(path, tmp_path, WORKERS=1, WRITABLE=False, **config)
    try:
        r = app.test_client().get(page, headers=HTML)
        assert r.status_code == 200 and 'id="provenance-unread"' not in r.text, r.text
        texts = [key[2] for key in app.extensions["cpo.db"].cache.data if key[1] == "q"]
    finally:
        close_app(app)
    return provenance_lines(r.text), texts


def test_a_store_of_runs_only_reads_no_scan_for_older_candidates(store_path, tmp_path):
    """Every candidate has its run: the page says what it said, and asks whether any cell
    lacks a run instead of scanning them all for those (the former page always scanned)."""
    h = History()
    runs = recorded_runs(h)
    lines, texts = page_and_queries(store_path, tmp_path, h)
    assert lines == recorded_lines(h, runs)
    assert (
        "6 candidates (now 2 proposed, 1 accepted, 1 rejected, 1 withdrawn, "
        "1 proposed again by a later run)"
    ) in lines[4]
    assert "2 candidates (now 2 proposed again by a later run)" in lines[1]
    assert "2 candidates (now 1 proposed, 1 accepted)" in lines[3]
    assert not any(SCAN in text for text in texts)
    assert ran(texts, UNRECORDED)
    assert not ran(texts, INFERRED_RUNS) and not ran(texts, INFERRED_RUNS_WIDE)


def test_a_store_from_before_runs_tells_its_runs_by_list_and_time(store_path, tmp_path):
    """No candidate has a run: every line is told from the cells' list and time, and the
    rejection made before rejections were recorded has none."""
    h = History()
    older_cells(h)
    lines, texts = page_and_queries(store_path, tmp_path, h)
    assert lines == [
        old_line(h, "old.csv", 5, 3),
        old_line(h, "", 4, 1),
        old_line(h, "older.csv", 3, 2),
        old_line(h, "a.csv", 1, 1),
    ]
    assert "3 candidates (now 1 proposed, 1 accepted, 1 rejected)" in lines[0]
    assert "2 candidates (now 1 proposed, 1 rejected)" in lines[2]
    assert ran(texts, INFERRED_RUNS_WIDE) and not ran(texts, INFERRED_RUNS)


@pytest.mark.parametrize("padding", [0, 200], ids=["many-before-runs", "few-before-runs"])
def test_a_store_of_both_forms_tells_each_as_before(store_path, tmp_path, padding):
    """Runs and cells from before them, one of those made in the second and of the list of
    run A's cells: its line counts it alone, and A's line its own. With many cells from
    before runs (7 of 17) the page joins, with few (7 of 217, a run of 200 added) it looks
    them up; the lines are the same either way."""
    h = History()
    runs = recorded_runs(h)
    older_cells(h)
    lines = recorded_lines(h, runs)
    if padding:
        runs["P"] = Run("p.csv", "cluster", 0.75, padding, None, "Rita", at(50))
        h.cells += [cell(f"pad{i}", "p.csv", 51, runs["P"]) for i in range(padding)]
        h.records += ended(runs["P"], 52, padding)
        lines = [run_line(h, runs["P"], "--type cluster --threshold 0.75", padding), *lines]
    got, texts = page_and_queries(store_path, tmp_path, h)
    rejection = lines.index(rejection_line())
    b, a = lines[rejection + 1 :]
    assert got == [
        *lines[: rejection + 1],
        b,
        old_line(h, "old.csv", 5, 3),
        old_line(h, "", 4, 1),
        old_line(h, "older.csv", 3, 2),
        a,
        old_line(h, "a.csv", 1, 1),
    ]
    assert "6 candidates (now 2 proposed, 1 accepted, 1 rejected, 1 withdrawn, 1 proposed" in a
    form, other = (INFERRED_RUNS, INFERRED_RUNS_WIDE)[:: 1 if padding else -1]
    assert ran(texts, form) and not ran(texts, other)


def test_a_run_with_no_cell_left_and_the_row_limit(store_path, tmp_path):
    """One row per run and status, as before: at a limit of 6 rows the rows of D (1), C (1,
    no status: its cells moved to D) and B (2) are read and A's first two; A, cut, is left
    out, not counted from part of its rows, and the page says older lines are cut."""
    h = History()
    runs = recorded_runs(h)
    path = store_of(store_path, tmp_path, *h.triples())
    app = make_app(path, tmp_path, WORKERS=1, WRITABLE=False, ROW_LIMIT=6)
    try:
        html = app.test_client().get("/graph/link-candidates", headers=HTML).text
    finally:
        close_app(app)
    assert provenance_lines(html) == recorded_lines(h, runs)[:4]
    assert 'id="provenance-cut">Older lines are left out (the row limit).</p>' in html
