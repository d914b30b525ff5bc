"""The link graphs' provenance lines on large stores: each kind shows its latest LATEST lines
and says older ones are left out (a page read every decision: at 140,000 links it ran past the
time limit, 503); a query that fails leaves the page its size and downloads (200) with why;
lines of one second are in the order they happened. Stores written with the library's own
writers, as the CLI writes them."""

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyoxigraph as ox

from clusterpolisee.linking.candidates import (
    CANDIDATES_GRAPH,
    ID,
    LINKS_GRAPH,
    PROV,
    Candidate,
    Run,
    graph_of,
    link_record,
    run_record,
)
from clusterpolisee.store.oxigraph import OxigraphStore
from webapp import close_app
from webapp.views.link_provenance import LATEST

from .conftest import make_app
from .test_graph_provenance import HTML, provenance_lines
from .test_pages import utc_shown

BASE = datetime(2026, 1, 1, tzinfo=UTC)
OURS = "https://w3id.org/clusterpolisee/id/x/"


def at(seconds: int) -> str:
    return (BASE + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def history(runs: int, per: int, decided: int) -> tuple[list[ox.Triple], list[ox.Triple]]:
    """(graph/link-candidates, graph/links): ``runs`` recorded runs of ``per`` candidates,
    then ``decided`` rejections and ``decided`` acceptances, each in a second of its own."""
    cells, records, links = [], [], []
    for r in range(runs):
        run = Run(f"list{r % 3}.csv", "cluster", 0.75, per, None, "Rita", at(r * 10))
        cells += [
            Candidate(f"{OURS}{r}-{i}", f"https://ext.example/{r}-{i}", 0.8, ["name 0.80"],
                      source=run.source, created=at(r * 10 + 1), run=run.node.value)
            for i in range(per)
        ]  # fmt: skip
        run.ended, run.stored = at(r * 10 + 2), per
        records += run_record(run)
    start = runs * 10
    for j, c in enumerate(cells[:decided]):
        c.status, c.rejected, c.rejected_by = "rejected", at(start + j), "Rex"
    for j, c in enumerate(cells[decided : 2 * decided]):
        c.status = "accepted"
        links += link_record(c, "Anna", at(start + decided + j), False)
    return list(dict.fromkeys(graph_of(cells) + records)), links


def store_of(store_path: Path, tmp_path: Path, candidates: list, links: list) -> Path:
    path = tmp_path / "store"
    shutil.copytree(store_path, path)
    with OxigraphStore(path) as s:
        s.commit(replace={CANDIDATES_GRAPH: candidates, LINKS_GRAPH: links})
    return path


def pages(path: Path, tmp_path: Path, **config) -> dict[str, tuple[int, str]]:
    app = make_app(path, tmp_path, WORKERS=1, WRITABLE=False, **config)
    try:
        client = app.test_client()
        got = {}
        for page in ("/graph/links", "/graph/link-candidates"):
            r = client.get(page, headers=HTML)
            got[page] = (r.status_code, r.text)
        return got
    finally:
        close_app(app)


def test_each_kind_shows_its_latest_lines_and_says_older_are_left_out(store_path, tmp_path):
    more = LATEST + 5
    path = store_of(store_path, tmp_path, *history(more, 2, more))
    got = pages(path, tmp_path)
    status, html = got["/graph/links"]
    lines = provenance_lines(html)
    assert status == 200 and len(lines) == LATEST
    start = more * 10 + more  # the first acceptance; the last is at start + more - 1
    assert [re.search(r"\(ended (.*?)\)</small>$", x)[1] for x in lines] == [
        utc_shown(at(start + more - 1 - k)) for k in range(LATEST)
    ]
    assert all(">Anna</a> accepted 1 link to records of" in x for x in lines)
    assert (
        '<p class="warn" id="provenance-older">Older review decisions are left out: '
        f"the latest {LATEST} of each are shown.</p>"
    ) in html
    assert 'id="provenance-cut"' not in html  # no row limit met

    status, html = got["/graph/link-candidates"]
    lines = provenance_lines(html)
    rejections = [x for x in lines if " rejected 1 candidate link" in x]
    runs = [x for x in lines if ">A run</a> of <code>clusterpolisee link" in x]
    assert status == 200 and (len(rejections), len(runs), len(lines)) == (
        LATEST,
        LATEST,
        2 * LATEST,
    )
    assert lines[:LATEST] == rejections and lines[LATEST:] == runs  # decisions after runs
    assert utc_shown(at(more * 10 + more - 1)) in rejections[0]
    assert utc_shown(at(more * 10 + 5)) in rejections[-1]
    assert f"ended {utc_shown(at((more - 1) * 10 + 2))}" in runs[0]
    assert f"ended {utc_shown(at(5 * 10 + 2))}" in runs[-1]
    assert (
        '<p class="warn" id="provenance-older">Older runs, rejections are left out: '
        f"the latest {LATEST} of each are shown.</p>"
    ) in html


def test_a_page_whose_provenance_query_fails_still_answers(store_path, tmp_path):
    """The graph's size and first rows read (the download: a row limit of 10), the engine's
    time limit is set below what the scan for the latest runs of 20,000 candidates takes (a
    worker's first job opens the store, 0.25 s, so the limit cannot start that low): the
    page answers 200 with the size, the downloads and why the lines are missing (503 before)."""
    path = store_of(store_path, tmp_path, *history(200, 100, 0))
    with OxigraphStore(path) as s:
        size = s.graph_sizes()[CANDIDATES_GRAPH]
    app = make_app(path, tmp_path, WORKERS=1, WRITABLE=False, ROW_LIMIT=10)
    try:
        client = app.test_client()
        assert client.get("/graph/link-candidates.ttl").status_code == 200
        app.extensions["cpo.db"].timeout = 0.02  # a real limit: the worker is stopped
        r = client.get("/graph/link-candidates", headers=HTML)
    finally:
        close_app(app)
    assert r.status_code == 200, r.text
    assert f'<p id="graph-size">{size} triples.</p>' in r.text
    assert '<a href="/graph/link-candidates.ttl">ttl</a>' in r.text
    assert "Downloads hold the first 10 triples" in r.text
    assert (
        '<p class="warn" id="provenance-unread">The provenance could not be read: the query ran'
        " longer than the time limit of 0.02 s and was stopped</p>"
    ) in r.text
    assert provenance_lines(r.text) == []
    assert r.headers["Cache-Control"] == "no-store"  # not kept for the data version


def test_lines_of_one_second_are_in_the_order_they_happened(store_path, tmp_path):
    """A run and the rejection of one of its candidates in its last second; an acceptance and
    its withdrawal in one second. Newest first, the rejection is above the run and the
    withdrawal above the acceptance (they were listed in the order the queries ran)."""
    run = Run("list.csv", "cluster", 0.75, 2, None, "Rita", at(0))
    run.ended, run.stored = at(1), 2
    rejected, taken = (
        Candidate(f"{OURS}{i}", f"https://ext.example/{i}", 0.8, ["name 0.80"],
                  source="list.csv", created=at(1), run=run.node.value)
        for i in range(2)
    )  # fmt: skip
    rejected.status, rejected.rejected, rejected.rejected_by = "rejected", at(1), "Rex"
    taken.status, taken.withdrawn, taken.reason, taken.withdrawn_by = (
        "withdrawn", at(5), "wrong", "Wanda")  # fmt: skip
    stmt = ox.NamedNode(f"{ID}link/{taken.id}")
    links = link_record(taken, "Anna", at(5), False) + [
        ox.Triple(stmt, ox.NamedNode(PROV + "invalidatedAtTime"), ox.Literal(
            at(5), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime"))),
        ox.Triple(stmt, ox.NamedNode(PROV + "wasInvalidatedBy"),
                  ox.NamedNode(f"{taken.node.value}/withdrawal")),
    ]  # fmt: skip
    cells = graph_of([rejected, taken]) + run_record(run)
    got = pages(store_of(store_path, tmp_path, cells, links), tmp_path)
    said = [x.split("</a> ", 1)[1][:12] for x in provenance_lines(got["/graph/links"][1])]
    assert said == ["withdrew 1 l", "accepted 1 l"]
    lines = provenance_lines(got["/graph/link-candidates"][1])
    assert len(lines) == 2 and " rejected 1 candidate link" in lines[0]
    assert lines[1].startswith('<a href="/id/link-run/')
