"""Reviewers' agent IRIs: one per name, the same for the same name; older ones still read.

Two names of one slug ("Anna B", "anna-b") shared the agent ``id/agent/anna-b``, which then
had both labels, so a page could show the other's name for a decision.
"""

from pathlib import Path

import pyoxigraph as ox

from clusterpolisee.linking import CANDIDATES_GRAPH, LINKS_GRAPH, load
from clusterpolisee.linking.candidates import accepted, agent_node
from clusterpolisee.store import open_store

from ..conftest import run_cli
from .test_cli import link

ID = "https://w3id.org/clusterpolisee/id/"
PROFILE = "https://example.org/cluster-db/profile/"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
PROV = "http://www.w3.org/ns/prov#"
OLD_AGENT = ID + "agent/anna-b"  # what both names were given before


def decide(store: Path, *args: str) -> None:
    proc = run_cli("links", *args[:1], "--store", str(store), *args[1:])
    assert proc.returncode == 0, proc.stderr


def ids(store_path: Path) -> dict[str, str]:
    """Profile number (O004) -> candidate id."""
    with open_store(str(store_path), read_only=True) as store:
        return {c.external.removeprefix(PROFILE): c.id for c in load(store).values()}


def test_an_agent_iri_is_the_same_for_a_name_and_another_for_another_name():
    assert agent_node("Anna B").value == ID + "agent/anna-b_a6b0e86732af1a3d"
    assert agent_node("anna-b").value == ID + "agent/anna-b_9ee5423937eacc1d"
    assert agent_node("Anna B") == agent_node("Anna B")
    assert agent_node("").value == ID + "agent/unknown_e3b0c44298fc1c14"
    assert agent_node("x" * 200).value.startswith(ID + "agent/" + "x" * 60 + "_")
    # One name typed in two Unicode forms (a precomposed ë, or e and a combining diaeresis)
    # was two agents: "zoë-quist_135d..." and "zoe--quist_bfd4...".
    assert agent_node("Zoe\u0308 Quist") == agent_node("Zo\u00eb Quist")
    assert agent_node("Zo\u00eb Quist").value.startswith(ID + "agent/zo\u00eb-quist_")


def test_two_names_of_one_slug_are_two_agents_on_every_listing(writable_store: Path):
    assert link(writable_store, "--accept-above", "0.99").returncode == 0
    cid = ids(writable_store)
    mag, bucharest = cid["O004"], cid["O011"]  # the two left proposed
    review = ("review", "--no-interactive", "--accept")
    decide(writable_store, *review, mag, "--reviewer", "Anna B")
    decide(writable_store, *review, bucharest, "--reviewer", "anna-b")
    with open_store(str(writable_store), read_only=True) as store:
        who = {a.candidate.id: a.who for a in accepted(store, 100)}
    assert (who[mag], who[bucharest]) == ("Anna B", "anna-b")
    decide(writable_store, "withdraw", mag, "--reason", "r1", "--reviewer", "Anna B")
    decide(writable_store, "withdraw", bucharest, "--reason", "r2", "--reviewer", "anna-b")
    with open_store(str(writable_store), read_only=True) as store:
        cells = load(store)
    assert (cells[mag].withdrawn_by, cells[bucharest].withdrawn_by) == ("Anna B", "anna-b")
    listing = run_cli("links", "review", "--store", str(writable_store), "--all").stdout
    assert f"withdrawn {cells[mag].withdrawn} by Anna B: r1" in listing
    assert f"withdrawn {cells[bucharest].withdrawn} by anna-b: r2" in listing


def as_before(store_path: Path) -> None:
    """Rewrite the link graphs as the former code wrote them: both names' agent IRI is
    ``agent/anna-b``, which then carries both labels."""
    new = {agent_node("Anna B"), agent_node("anna-b")}
    old = ox.NamedNode(OLD_AGENT)

    def older(term):
        return old if term in new else term

    with open_store(str(store_path)) as store:
        graphs = {
            g: [ox.Triple(older(t.subject), t.predicate, older(t.object)) for t in ts]
            for g in (LINKS_GRAPH, CANDIDATES_GRAPH)
            for ts in [store.graph_triples(g)]
        }
        store.commit(replace=graphs)


def test_records_made_before_keep_their_agent_and_still_show_a_name(writable_store: Path):
    assert link(writable_store, "--accept-above", "0.99").returncode == 0
    cid = ids(writable_store)
    withdraw = ("withdraw", "--reason", "wrong")
    decide(writable_store, *withdraw, cid["O001"], "--reviewer", "Anna B")
    decide(writable_store, *withdraw, cid["O002"], "--reviewer", "anna-b")
    decide(writable_store, "review", "--no-interactive", "--accept", cid["O004"],
           "--reviewer", "Anna B")  # fmt: skip
    as_before(writable_store)
    # a decision now rewrites graph/link-candidates from what it reads
    decide(writable_store, *withdraw, cid["O005"], "--reviewer", "Ana Curator")
    with open_store(str(writable_store), read_only=True) as store:
        cands = store.graph_triples(CANDIDATES_GRAPH)
        cells = load(store)
        who = {a.candidate.id: a.who for a in accepted(store, 100)}
    names = {t.object.value for t in cands if (t.subject.value, t.predicate.value) == (
        OLD_AGENT, RDFS_LABEL)}  # fmt: skip
    assert names == {"Anna B", "anna-b"}  # rewriting the graph dropped one of them
    agents = {  # of the withdrawals (the run's are its own)
        t.subject.value.split("/")[-2]: t.object.value
        for t in cands
        if t.predicate.value == PROV + "wasAssociatedWith"
        and t.subject.value.endswith("/withdrawal")
    }
    assert agents == {
        cid["O001"]: OLD_AGENT,
        cid["O002"]: OLD_AGENT,
        cid["O005"]: ID + "agent/ana-curator_55caab9f0c8fc675",
    }
    # which of the two withdrew was never recorded: the first name, on every reading
    assert [cells[cid[o]].withdrawn_by for o in ("O001", "O002", "O005")] == [
        "Anna B",
        "Anna B",
        "Ana Curator",
    ]
    assert who[cid["O004"]] == "Anna B"
