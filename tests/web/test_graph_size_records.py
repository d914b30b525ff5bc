"""Every write records the sizes of the graphs it changes (``void:triples`` in graph/meta), in
the update that sets the data version, equal to a fresh count: a link run, a review, a
withdrawal, a submission, the reasoning step, on both write paths (one SPARQL update, and the
journal with the bulk loader, which the link graphs take at scale). A graph page then shows
the recorded size; before, graphs a journaled commit wrote had no record, and every cold
view of /graph/link-candidates and /graph/links at 150,000 candidates counted them (0.8-1 s).
"""

import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee.linking.candidates import (
    CANDIDATES_GRAPH,
    LINKS_GRAPH,
    Candidate,
    Run,
    load,
    review,
    save_proposals,
    withdraw,
)
from clusterpolisee.reasoning.materialise import materialise
from clusterpolisee.store.base import graph_iri
from clusterpolisee.store.oxigraph import META_GRAPH, VOID_TRIPLES, OxigraphStore, count_graph
from clusterpolisee.submissions import partner_graph, submit
from webapp import close_app

from .conftest import make_app
from .test_graph_provenance import HTML

OURS = "https://w3id.org/clusterpolisee/id/x/"
PARTNERS = Path(__file__).resolve().parents[2] / "data" / "partners"
INFERRED = graph_iri("inferred")


def recorded(store: OxigraphStore) -> dict[str, int]:
    quads = store._store.quads_for_pattern(None, VOID_TRIPLES, None, ox.NamedNode(META_GRAPH))
    return {q.subject.value: int(q.object.value) for q in quads}


def counted(store: OxigraphStore) -> dict[str, int]:
    """Each non-empty named graph's distinct triples, counted afresh."""
    graphs = [g for g in store._store.named_graphs() if g.value != META_GRAPH]
    sizes = {g.value: count_graph(store._store, g) for g in graphs}
    return {g: n for g, n in sizes.items() if n}


def assert_true_sizes(store: OxigraphStore, *written: str) -> dict[str, int]:
    fresh = counted(store)
    for graph in written:  # the graphs this write changed: each has a record, and it is true
        assert recorded(store).get(graph) == fresh[graph], graph
    assert recorded(store) == fresh  # and no other record is missing or stale
    assert store.graph_sizes() == fresh
    return fresh


def shown_size(client, graph: str) -> int:
    r = client.get(f"/graph/{graph}", headers=HTML)
    assert r.status_code == 200
    (text,) = re.findall(r'<p id="graph-size">([\d,]+) triples?\.</p>', r.text)
    return int(text.replace(",", ""))


@pytest.fixture()
def path(store_path: Path, tmp_path: Path) -> Path:
    out = tmp_path / "store"
    shutil.copytree(store_path, out)
    return out


@pytest.mark.parametrize("bulk_min", [10**9, 1], ids=["update", "journal"])
def test_each_link_write_submission_and_reasoning_records_the_true_size(
    path, tmp_path, bulk_min, monkeypatch
):
    """Fails on the former code with ``journal``: a journaled commit dropped its graphs'
    records (the link graphs had none after a link run)."""
    monkeypatch.setattr(OxigraphStore, "BULK_MIN", bulk_min)
    with OxigraphStore(path) as store:
        assert_true_sizes(store)
        run = Run("list.csv", "cluster", 0.75, 300, 0.9, "Rita")
        cells = [
            Candidate(f"{OURS}{i}", f"https://ext.example/{i}", 0.95 if i < 100 else 0.8,
                      ["name 0.80"], source=run.source)
            for i in range(300)
        ]  # fmt: skip
        stored = save_proposals(store, cells, accept_above=0.9, run=run)  # a link run
        assert len(stored) == 300
        sizes = assert_true_sizes(store, CANDIDATES_GRAPH, LINKS_GRAPH, INFERRED)
        assert sizes[LINKS_GRAPH] > 0 and sizes[CANDIDATES_GRAPH] > 300
        proposed = [c.id for c in stored if c.status == "proposed"]
        review(store, proposed[:20], proposed[20:50], "Anna")  # a review decision
        after = assert_true_sizes(store, CANDIDATES_GRAPH, LINKS_GRAPH)
        assert after[LINKS_GRAPH] > sizes[LINKS_GRAPH]
        accepted = [c.id for c in load(store).values() if c.status == "accepted"]
        withdraw(store, accepted[:5], "wrong", "Wanda")  # a withdrawal
        assert_true_sizes(store, CANDIDATES_GRAPH, LINKS_GRAPH)
        data = (PARTNERS / "aida.ttl").read_bytes()
        result = submit(store, data, "aida.ttl", "aida", tmp_path / "archive")  # a submission
        assert result.accepted
        assert_true_sizes(store, partner_graph("aida"), graph_iri("submissions"))
        materialise(store)  # the reasoning step
        fresh = assert_true_sizes(store, INFERRED)
    app = make_app(path, tmp_path, WORKERS=1, WRITABLE=False)
    try:
        client = app.test_client()
        for name in ("link-candidates", "links", "inferred", "partner/aida"):
            assert shown_size(client, name) == fresh[graph_iri(name)]
    finally:
        close_app(app)


def test_a_replayed_journal_records_what_it_can_and_counts_the_rest(path):
    """A journal found on open may lie over a half-changed store: replaced graphs get their
    size from the journal, graphs it only added to are counted in the version's update."""
    from clusterpolisee.store import journal

    p = ox.NamedNode("https://example.org/p")
    new = [
        ox.Triple(ox.NamedNode(f"https://example.org/{i}"), p, ox.Literal("n")) for i in range(7)
    ]
    more = [
        ox.Triple(ox.NamedNode(f"https://example.org/m{i}"), p, ox.Literal("m")) for i in range(3)
    ]
    one, two = graph_iri("partner/replayed"), graph_iri("partner/added")
    with OxigraphStore(path) as store:
        store.commit(replace={two: new[:2]})
        change = journal.Commit("v-replayed", {one: new + new[:3]}, {two: more}, {})
        journal.write(store._journal, change)
        store._store.add(ox.Quad(more[0].subject, p, more[0].object, ox.NamedNode(two)))
    with OxigraphStore(path) as store:  # the open finishes the commit
        assert store.data_version() == "v-replayed"
        fresh = assert_true_sizes(store, one, two)
        assert fresh[one] == 7 and fresh[two] == 5
