"""/graph/link-candidates and /graph/links say what made them, as a partner graph's page does:
the `clusterpolisee link` runs, the rejections, the review decisions and the withdrawals,
latest first, dated, read from the PROV-O records of a real store the CLI wrote (RELIABILITY.md:
both pages showed no provenance). A run's line was told from its candidates alone, with no
agent or settings; a rejection had no line (it recorded no agent or time)."""

import getpass
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
from flask import Flask

from clusterpolisee.linking import CANDIDATES_GRAPH, LINKS_GRAPH, Candidate, load, save_proposals
from clusterpolisee.linking.candidates import RUNS, agent_node
from clusterpolisee.store.oxigraph import OxigraphStore
from webapp import close_app

from ..conftest import run_cli
from ..linking.conftest import EVAL, EVAL_OPTIONS
from .conftest import make_app, waitress_serving
from .test_pages import utc_shown

HTML = {"Accept": "text/html"}
PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
CPO = "https://w3id.org/clusterpolisee/ontology#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
# The cluster list under a name that is no http(s) IRI and holds markup: shown as text.
CLUSTER_LIST = "javascript:alert(1)<i>x.csv"
REVIEWER = "Anna <b>B</b>"
RUNNER = "Rita <u>R</u>"  # who runs the first `link`; the second is the login name's
WITHDRAWER = 'Curator "X"'
REASON = "wrong <script>alert(1)</script> & more"


def cli(*args: str) -> str:
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    time.sleep(1.1)  # each step in its own second: the lines' order is their times'
    return proc.stderr


def now_counts(statuses: Counter) -> str:
    """A run's candidates by status now, as a line says them ("6 proposed, 54 accepted")."""
    order = ("proposed", "accepted", "rejected", "withdrawn")
    return ", ".join(f"{statuses[s]} {s}" for s in order if statuses[s])


def summary(stderr: str) -> tuple[int, int, int]:
    """(candidates, accepted automatically, external records) as a `link` run reported them."""
    found = re.search(
        r"(\d+) external records, (\d+) candidates \((\d+) accepted automatically\)", stderr
    )
    assert found, stderr
    return int(found[2]), int(found[3]), int(found[1])


@pytest.fixture(scope="module")
def history(store_path: Path, tmp_path_factory) -> dict:
    """Two `link` runs (the first accepting above 0.95, run by RUNNER), a review that accepts
    two and rejects one, a withdrawal of two automatic links: all by the CLI, into a copy of
    the web store."""
    tmp = tmp_path_factory.mktemp("link-history")
    path = tmp / "store"
    shutil.copytree(store_path, path)
    clusters = tmp / CLUSTER_LIST
    shutil.copy(EVAL / "clusters.csv", clusters)
    store = ["--store", str(path)]
    run1 = summary(cli("link", *store, "--source", str(clusters), "--type", "cluster",
                       "--accept-above", "0.95", "--reviewer", RUNNER, *EVAL_OPTIONS))  # fmt: skip
    run2 = summary(cli("link", *store, "--source", str(EVAL / "organisations.csv"),
                       "--type", "organisation", *EVAL_OPTIONS))  # fmt: skip
    with OxigraphStore(path) as s:
        cands = load(s)
    orgs = sorted(c.id for c in cands.values() if c.source == "organisations.csv")
    auto = sorted(c.id for c in cands.values() if c.status == "accepted")
    assert run1[1] >= 2 and len(orgs) >= 3
    cli("links", "review", *store, "--accept", orgs[0], "--accept", orgs[1],
        "--reject", orgs[2], "--reviewer", REVIEWER)  # fmt: skip
    cli("links", "withdraw", *store, auto[0], auto[1], "--reason", REASON,
        "--reviewer", WITHDRAWER)  # fmt: skip
    return {"path": path, "run1": run1, "run2": run2}


@pytest.fixture(scope="module")
def history_app(history: dict, tmp_path_factory) -> Iterator[Flask]:
    app = make_app(history["path"], tmp_path_factory.mktemp("app"), WORKERS=1)
    yield app
    close_app(app)


def provenance_lines(html: str) -> list[str]:
    assert 'id="provenance">' in html, "the page has no provenance"
    return re.findall(r"<li>(.*?)</li>", html.split('id="provenance">', 1)[1].split("</ul>")[0])


def graph_triples(app: Flask, graph: str) -> list[ox.Triple]:
    return app.extensions["cpo.writer"].graph_triples(graph)


def agent_page(who: str) -> str:
    """The local page of the agent a name is recorded as."""
    return "/id/" + agent_node(who).value.split("/id/", 1)[1]


def one_time(triples: list[ox.Triple], subjects: set, predicate: str) -> str:
    """The one time ``subjects`` share for ``predicate``, as stored."""
    times = {
        t.object.value for t in triples if t.subject in subjects and t.predicate.value == predicate
    }
    assert len(times) == 1, times
    return times.pop()


def run_records(app: Flask) -> dict[str, dict[str, list]]:
    """The recorded runs by their list: predicate -> objects, and "iri" -> [the run]."""
    found: dict[str, dict[str, list]] = {}
    for t in graph_triples(app, CANDIDATES_GRAPH):
        if t.subject.value.startswith(RUNS):
            props = found.setdefault(t.subject.value, {"iri": [t.subject]})
            props.setdefault(t.predicate.value, []).append(t.object)
    return {props[DCT + "source"][0].value: props for props in found.values()}


def run_line(props: dict, options: str, by: str, shown_list: str, numbers: str) -> str:
    """A recorded run's line: ``numbers`` as "(78 external records): 59 candidates (now ...)"."""
    page = "/id/" + props["iri"][0].value.split("/id/", 1)[1]
    started, ended = (props[PROV + p][0].value for p in ("startedAtTime", "endedAtTime"))
    return (
        f'<a href="{page}">A run</a> of <code>clusterpolisee link {options}</code> by {by} '
        f"against <code>{shown_list}</code> {numbers}"
        f' <small class="note">(started {utc_shown(started)}, ended {utc_shown(ended)})</small>'
    )


def test_link_candidates_lists_the_runs_and_rejections_latest_first(history, history_app):
    cands = load(history_app.extensions["cpo.writer"]).values()
    by_list = {
        src: Counter(c.status for c in cands if c.source == src)
        for src in (CLUSTER_LIST, "organisations.csv")
    }
    runs = run_records(history_app)
    # each candidate names the run that stored it, and each run what it stored
    assert {c.source: c.run for c in cands} == {
        src: props["iri"][0].value for src, props in runs.items()
    }
    assert sum(by_list[CLUSTER_LIST].values()) == history["run1"][0]
    assert sum(by_list["organisations.csv"].values()) == history["run2"][0]
    clusters, orgs = by_list[CLUSTER_LIST], by_list["organisations.csv"]
    assert clusters["withdrawn"] == 2 and clusters["accepted"] == history["run1"][1] - 2
    assert (orgs["accepted"], orgs["rejected"]) == (2, 1)
    (rejected,) = (c for c in cands if c.status == "rejected")
    reviews = {
        t.object.value
        for t in graph_triples(history_app, LINKS_GRAPH)
        if t.predicate.value == PROV + "endedAtTime"
    }
    assert rejected.rejected in reviews  # one decision, one time: Anna's acceptances' too

    r = history_app.test_client().get("/graph/link-candidates", headers=HTML)
    assert r.status_code == 200
    login = getpass.getuser()
    orgs_run = "/id/" + runs["organisations.csv"]["iri"][0].value.split("/id/", 1)[1]
    assert provenance_lines(r.text) == [
        f'<a href="{agent_page(REVIEWER)}">Anna &lt;b&gt;B&lt;/b&gt;</a> rejected 1 candidate '
        "link to records of <code>organisations.csv</code>, proposed by "
        f'<a href="{orgs_run}">a run</a>'
        f' <small class="note">(ended {utc_shown(rejected.rejected)})</small>',
        run_line(
            runs["organisations.csv"],
            "--type organisation --threshold 0.75",
            f'<a href="{agent_page(login)}">{login}</a>',
            "organisations.csv",
            f"({history['run2'][2]} external records): {history['run2'][0]} candidates "
            f"(now {now_counts(orgs)})",
        ),
        run_line(
            runs[CLUSTER_LIST],
            "--type cluster --threshold 0.75 --accept-above 0.95",
            f'<a href="{agent_page(RUNNER)}">Rita &lt;u&gt;R&lt;/u&gt;</a>',
            "javascript:alert(1)&lt;i&gt;x.csv",
            f"({history['run1'][2]} external records): {history['run1'][0]} candidates "
            f"(now {now_counts(clusters)})",
        ),
    ]
    assert history["run1"][2] == 78 and history["run2"][2] == 22
    assert 'id="provenance-note">Each run that stored candidates is recorded' in r.text
    assert 'href="javascript' not in r.text and "<i>x.csv" not in r.text and "<u>R" not in r.text


def test_a_run_is_recorded_as_an_activity_with_its_settings(history, history_app):
    """What a run's line is read from, as stored; the line's link leads to the run's page."""
    run = run_records(history_app)[CLUSTER_LIST]
    iri = run.pop("iri")[0]
    values = {p: sorted(o.value for o in objs) for p, objs in run.items()}
    (started,), (ended,) = values.pop(PROV + "startedAtTime"), values.pop(PROV + "endedAtTime")
    assert values == {
        RDF_TYPE: [PROV + "Activity"],
        RDFS_LABEL: [f"Link run {iri.value.rsplit('/', 1)[1]} against {CLUSTER_LIST}"],
        DCT + "source": [CLUSTER_LIST],
        CPO + "matchedType": ["cluster"],
        CPO + "proposalThreshold": ["0.75"],
        CPO + "acceptanceThreshold": ["0.95"],
        CPO + "externalRecordCount": ["78"],
        CPO + "candidateCount": [str(history["run1"][0])],
        PROV + "wasAssociatedWith": sorted(
            agent_node(who).value for who in ("clusterpolisee link", RUNNER)
        ),
    }
    assert run[CPO + "proposalThreshold"][0].datatype.value == XSD + "decimal"
    assert run[CPO + "candidateCount"][0].datatype.value == XSD + "integer"
    # started before it ended, which is when its automatic acceptances were committed
    automatic = {
        t.object.value
        for t in graph_triples(history_app, LINKS_GRAPH)
        if t.predicate.value == PROV + "endedAtTime"
    }
    assert started <= ended and ended in automatic
    agents = {
        (t.subject.value, t.predicate.value, t.object.value)
        for t in graph_triples(history_app, CANDIDATES_GRAPH)
        if t.subject.value.startswith(agent_node("").value.rsplit("/", 1)[0])
    }
    software, person = agent_node("clusterpolisee link").value, agent_node(RUNNER).value
    assert {
        (software, RDF_TYPE, PROV + "SoftwareAgent"),
        (software, RDFS_LABEL, "clusterpolisee link"),
        (person, RDF_TYPE, PROV + "Agent"),
        (person, RDFS_LABEL, RUNNER),
    } <= agents
    page = "/id/" + iri.value.split("/id/", 1)[1]
    r = history_app.test_client().get(page, headers=HTML)
    assert r.status_code == 200 and "javascript:alert(1)&lt;i&gt;x.csv" in r.text


def test_links_lists_decisions_and_withdrawals_latest_first(history, history_app):
    links = graph_triples(history_app, LINKS_GRAPH)
    reviews = {
        t.subject: t.object for t in links if t.predicate.value == PROV + "wasAssociatedWith"
    }
    by = {
        who: {r for r, a in reviews.items() if a == agent_node(who)}
        for who in (REVIEWER, "clusterpolisee link")
    }
    gone = {t.subject for t in links if t.predicate.value == PROV + "invalidatedAtTime"}
    assert len(by[REVIEWER]) == 2 and len(gone) == 2
    anna, auto = (one_time(links, by[w], PROV + "endedAtTime") for w in by)
    withdrawn = one_time(links, gone, PROV + "invalidatedAtTime")
    # the automatic acceptances name the run that made them: the line links to its page;
    # Anna's reviews name the run that proposed what she accepted (the second)
    runs = run_records(history_app)
    run = runs[CLUSTER_LIST]["iri"][0]
    informed = {t.subject: t.object for t in links if t.predicate.value == PROV + "wasInformedBy"}
    assert {informed.get(r) for r in by["clusterpolisee link"]} == {run}
    assert {informed.get(r) for r in by[REVIEWER]} == {runs["organisations.csv"]["iri"][0]}
    run_page = "/id/" + run.value.split("/id/", 1)[1]
    orgs_run = "/id/" + runs["organisations.csv"]["iri"][0].value.split("/id/", 1)[1]

    r = history_app.test_client().get("/graph/links", headers=HTML)
    assert r.status_code == 200
    assert provenance_lines(r.text) == [
        f'<a href="{agent_page(WITHDRAWER)}">Curator &#34;X&#34;</a> withdrew 2 links: '
        "&ldquo;wrong &lt;script&gt;alert(1)&lt;/script&gt; &amp; more&rdquo;"
        f' <small class="note">(invalidated {utc_shown(withdrawn)})</small>',
        f'<a href="{agent_page(REVIEWER)}">Anna &lt;b&gt;B&lt;/b&gt;</a> accepted 2 links '
        "to records of <code>organisations.csv</code>, proposed by "
        f'<a href="{orgs_run}">a run</a>'
        f' <small class="note">(ended {utc_shown(anna)})</small>',
        f'<a href="{agent_page("clusterpolisee link")}">clusterpolisee link</a> accepted '
        f"{history['run1'][1]} links to records of <code>javascript:alert(1)&lt;i&gt;x.csv</code>"
        f' automatically (<a href="{run_page}">a run</a> of <code>link --accept-above</code>),'
        " 2 withdrawn since"
        f' <small class="note">(ended {utc_shown(auto)})</small>',
    ]
    assert "<script>" not in r.text and "<b>B" not in r.text


def test_partner_graph_pages_are_as_they_were(history_app):
    """The link lines are the link graphs' own: a partner's page lists its submissions only."""
    html = history_app.test_client().get("/graph/partner/aws", headers=HTML).text
    lines = provenance_lines(html)
    assert len(lines) == 1 and ">Submission by aws</a>" in lines[0]
    assert lines[0].split("</a>", 2)[1].startswith(' <a href="http://www.w3.org/ns/prov#generated"')
    assert "clusterpolisee link" not in html and 'id="provenance-note"' not in html


@pytest.mark.parametrize(
    ("media", "fmt"),
    [
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
    ],
)
def test_machine_forms_carry_the_records_the_lines_come_from(history_app, media, fmt):
    """Through a real server: each format of either link graph is the graph as stored (the
    same as for a partner graph: its contents, which VoID counts), so the PROV-O records the
    lines are read from are in it. A guard: this held before the lines were shown."""
    got = {}
    with waitress_serving(history_app, threads=2) as url:
        for graph in (LINKS_GRAPH, CANDIDATES_GRAPH):
            page = url + "/graph/" + graph.rsplit("/graph/", 1)[1]
            r = requests.get(page, headers={"Accept": media}, timeout=30)
            assert r.status_code == 200 and r.headers["Content-Type"].startswith(media)
            got[graph] = {q.triple for q in ox.parse(r.content, format=fmt)}
            assert got[graph] == set(graph_triples(history_app, graph))

    def agents(graph: str) -> set[str]:
        return {
            t.object.value for t in got[graph] if t.predicate.value == PROV + "wasAssociatedWith"
        }

    # the reviewers in graph/links; in graph/link-candidates who withdrew and who rejected,
    # with the withdrawal and the rejection, and the runs' agents, with the runs
    assert agents(LINKS_GRAPH) == {agent_node(w).value for w in (REVIEWER, "clusterpolisee link")}
    assert agents(CANDIDATES_GRAPH) == {
        agent_node(w).value
        for w in (WITHDRAWER, REVIEWER, "clusterpolisee link", RUNNER, getpass.getuser())
    }


def limited_page(history: dict, tmp_path: Path, path: str, limit: int) -> str:
    """``path`` from an app whose queries stop at ``limit`` rows (read-only: the module's
    app holds the store)."""
    app = make_app(history["path"], tmp_path, WORKERS=1, WRITABLE=False, ROW_LIMIT=limit)
    try:
        return app.test_client().get(path, headers=HTML).text
    finally:
        close_app(app)


CUT = '<p class="warn" id="provenance-cut">Older lines are left out (the row limit).</p>'


def test_a_run_cut_by_the_row_limit_is_left_out(history, tmp_path):
    """One row per run and status: four rows hold the organisations run's three and one of
    the clusters run's. That run is left out, not counted from part of its rows; the
    rejection, later and not cut, is shown."""
    html = limited_page(history, tmp_path, "/graph/link-candidates", 4)
    lines = provenance_lines(html)
    assert len(lines) == 2 and CUT in html
    assert " rejected 1 candidate link to records of <code>organisations.csv</code>" in lines[0]
    assert (
        "against <code>organisations.csv</code> "
        f"({history['run2'][2]} external records): {history['run2'][0]} candidates "
        f"(now {history['run2'][0] - 3} proposed, 2 accepted, 1 rejected)"
    ) in lines[1]


def test_no_line_is_shown_past_what_the_row_limit_cut(history, tmp_path):
    """At one row the reviews stop at the latest (Anna's): the withdrawal, later, is shown;
    the automatic acceptance, older, is left out with the reviews the limit cut."""
    html = limited_page(history, tmp_path, "/graph/links", 1)
    lines = provenance_lines(html)
    assert [line.split("</a> ", 1)[1][:16] for line in lines] == [
        "withdrew 2 links",
        "accepted 2 links",
    ]
    assert ">Anna &lt;b&gt;B&lt;/b&gt;</a>" in lines[1] and CUT in html


def test_a_source_is_a_link_only_when_it_is_http(store_path, tmp_path):
    """An endpoint's URL links to it; any other list name is text."""
    path = tmp_path / "store"
    shutil.copytree(store_path, path)
    ours = "https://w3id.org/clusterpolisee/id/partner/nerda/cluster/textile"
    with OxigraphStore(path) as store:
        save_proposals(store, [
            Candidate(ours, "https://ex.org/a", 0.8, ["name"], source="https://query.example.org/sparql?x=<1>"),
            Candidate(ours, "https://ex.org/b", 0.8, ["name"], source="data:text/html,<b>x</b>"),
        ])  # fmt: skip
    app = make_app(path, tmp_path, WORKERS=1)
    try:
        html = app.test_client().get("/graph/link-candidates", headers=HTML).text
    finally:
        close_app(app)
    shown = {re.search(r"run against (.*?): ", line)[1] for line in provenance_lines(html)}
    assert shown == {
        '<code><a href="https://query.example.org/sparql?x=&lt;1&gt;" rel="noopener nofollow"'
        ' class="ext">https://query.example.org/sparql?x=&lt;1&gt;</a></code>',
        "<code>data:text/html,&lt;b&gt;x&lt;/b&gt;</code>",
    }


def link_page(path: Path, tmp_path: Path) -> str:
    app = make_app(path, tmp_path, WORKERS=1, WRITABLE=False)
    try:
        return app.test_client().get("/graph/link-candidates", headers=HTML).text
    finally:
        close_app(app)


def test_a_run_keeps_its_line_when_a_later_run_proposes_its_candidates_again(store_path, tmp_path):
    """The line of a run was told from its candidates, so one proposed again moved to the
    later run (a run whose candidates all moved had no line), and a run that stored nothing
    left no trace. Now the first run still says what it stored; one storing nothing is no
    run of record."""
    path = tmp_path / "store"
    shutil.copytree(store_path, path)
    orgs = ["--source", str(EVAL / "organisations.csv"), "--type", "organisation"]
    store = ["--store", str(path), "--reviewer", "Ops", *orgs, *EVAL_OPTIONS]
    first = summary(cli("link", *store))
    again = summary(cli("link", *store, "--threshold", "0.9"))
    nothing = tmp_path / "nothing.csv"
    nothing.write_text("id,name,country\nZ1,Qwxzv Plorf,AT\n", encoding="utf-8")
    none = run_cli("link", "--store", str(path), "--source", str(nothing), "--type", "cluster",
                   "--id-base", "https://ex.org/")  # fmt: skip
    assert none.returncode == 0 and "1 external records, 0 candidates" in none.stderr
    assert first[0] == 15 and 0 < again[0] < first[0]
    lines = provenance_lines(link_page(path, tmp_path))
    said = [re.search(r"<code>(.*?)</code> by .*?: (.*?\)) <small", x).groups() for x in lines]
    assert said == [
        (
            "clusterpolisee link --type organisation --threshold 0.9",
            f"{again[0]} candidates (now {again[0]} proposed)",
        ),
        (
            "clusterpolisee link --type organisation --threshold 0.75",
            f"{first[0]} candidates (now {first[0] - again[0]} proposed, "
            f"{again[0]} proposed again by a later run)",
        ),
    ]
    with OxigraphStore(path) as s:
        runs = {c.run for c in load(s).values()}
        recorded = {
            t.subject.value
            for t in s.graph_triples(CANDIDATES_GRAPH)
            if t.subject.value.startswith(RUNS)
        }
    assert len(runs) == 2 and runs == recorded


def test_candidates_from_before_runs_are_told_as_before(store_path, tmp_path):
    """Cells the former code stored (no run, a rejection with no record) keep their line,
    told from the list and the time, beside a run of record; that rejection has no line."""
    path = tmp_path / "store"
    shutil.copytree(store_path, path)
    ours = "https://w3id.org/clusterpolisee/id/partner/nerda/cluster/textile"
    with OxigraphStore(path) as store:  # as the former code left them
        old = save_proposals(store, [
            Candidate(ours, f"https://ex.org/{x}", 0.8, ["name"], status=status, source="old.csv",
                      created="2026-01-02T03:04:05Z")
            for x, status in (("a", "proposed"), ("b", "rejected"))
        ])  # fmt: skip
    assert {c.run for c in old} == {""}
    cli("link", "--store", str(path), "--source", str(EVAL / "organisations.csv"),
        "--type", "organisation", "--reviewer", "Ops", *EVAL_OPTIONS)  # fmt: skip
    lines = provenance_lines(link_page(path, tmp_path))
    assert len(lines) == 2
    assert lines[0].startswith('<a href="/id/link-run/') and "by <a href=" in lines[0]
    assert lines[1] == (
        "A <code>clusterpolisee link</code> run against <code>old.csv</code>: 2 candidates "
        '(now 1 proposed, 1 rejected) <small class="note">(generated '
        f"{utc_shown('2026-01-02T03:04:05Z')})</small>"
    )


def test_an_automatic_acceptance_from_before_runs_names_no_run(store_path, tmp_path):
    """A guard: links accepted automatically before runs were recorded have no run to name,
    and their line is as it was."""
    path = tmp_path / "store"
    shutil.copytree(store_path, path)
    ours = "https://w3id.org/clusterpolisee/id/partner/nerda/cluster/textile"
    with OxigraphStore(path) as store:  # as the former code left them: no run
        save_proposals(store, [Candidate(ours, "https://ex.org/a", 0.95, ["name"],
                                         source="old.csv")], accept_above=0.9)  # fmt: skip
    app = make_app(path, tmp_path, WORKERS=1, WRITABLE=False)
    try:
        html = app.test_client().get("/graph/links", headers=HTML).text
    finally:
        close_app(app)
    (line,) = provenance_lines(html)
    assert line.split("</a> ", 1)[1].split(" <small")[0] == (
        "accepted 1 link to records of <code>old.csv</code> automatically "
        "(<code>link --accept-above</code>)"
    )
