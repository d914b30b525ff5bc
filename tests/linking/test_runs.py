"""Each `clusterpolisee link` run that stores candidates is a PROV-O activity, and each
rejection records who and when: a run recorded no activity (who ran it, with which settings,
against how many records was nowhere), and a rejection only changed the cell's status."""

import getpass
from pathlib import Path

import pyoxigraph as ox

from clusterpolisee.linking import (
    CANDIDATES_GRAPH,
    LINKS_GRAPH,
    Candidate,
    Run,
    load,
    save_proposals,
)
from clusterpolisee.linking.candidates import RUNS, agent_node
from clusterpolisee.reasoning.materialise import INFERRED
from clusterpolisee.store import open_store

from ..conftest import run_cli
from .test_cli import ID, O001, PBN, link

PROV = "http://www.w3.org/ns/prov#"
CPO = "https://w3id.org/clusterpolisee/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
O006 = "https://example.org/cluster-db/profile/O006"


def triples(store_path: Path, graph: str = CANDIDATES_GRAPH) -> set[tuple[str, str, str]]:
    with open_store(str(store_path), read_only=True) as store:
        return {
            (t.subject.value, t.predicate.value, t.object.value) for t in store.graph_triples(graph)
        }


def about(found: set[tuple[str, str, str]], subject: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for s, p, o in found:
        if s == subject:
            out.setdefault(p, set()).add(o)
    return out


def test_a_run_is_recorded_with_who_ran_it_and_its_candidates(writable_store: Path):
    proc = link(writable_store, "--accept-above", "0.99", "--reviewer", "Ana Curator")
    assert proc.returncode == 0, proc.stderr
    found = triples(writable_store)
    (run,) = {s for s, _, _ in found if s.startswith(RUNS)}
    record = about(found, run)
    assert record[PROV + "wasAssociatedWith"] == {
        agent_node("clusterpolisee link").value,
        agent_node("Ana Curator").value,
    }
    assert {p: record[CPO + p] for p in ("matchedType", "proposalThreshold",
            "acceptanceThreshold", "externalRecordCount", "candidateCount")} == {
        "matchedType": {"organisation"},
        "proposalThreshold": {"0.75"},
        "acceptanceThreshold": {"0.99"},
        "externalRecordCount": {"22"},
        "candidateCount": {"15"},
    }  # fmt: skip
    with open_store(str(writable_store), read_only=True) as store:
        cands = load(store)
    assert len(cands) == 15 and {c.run for c in cands.values()} == {run}
    assert {(c.node.value, PROV + "wasGeneratedBy", run) for c in cands.values()} <= found
    # a dry run stores nothing, so it is no run of record; without --reviewer, the login name
    assert link(writable_store, "--dry-run").returncode == 0
    assert link(writable_store, "--threshold", "0.9").returncode == 0
    runs = {s for s, _, _ in triples(writable_store) if s.startswith(RUNS)} - {run}
    (later,) = runs
    assert (
        agent_node(getpass.getuser()).value
        in about(triples(writable_store), later)[PROV + "wasAssociatedWith"]
    )


def test_a_run_and_what_it_stored_are_one_commit(writable_store: Path):
    """The run, its cells, the links it accepted and the search keys of its labels."""
    ours = "https://w3id.org/clusterpolisee/id/partner/nerda/cluster/textile"
    run = Run("list.csv", "cluster", 0.5, 3, accept_above=0.9, person="Ops")
    with open_store(str(writable_store)) as store:
        commits = []
        real = store.commit
        store.commit = lambda **kw: commits.append(kw) or real(**kw)  # type: ignore[method-assign]
        save_proposals(store, [
            Candidate(ours, "https://ex.org/a", 0.95, ["name"], source="list.csv"),
            Candidate(ours, "https://ex.org/b", 0.6, ["name"], source="list.csv"),
        ], 0.9, run=run)  # fmt: skip
        store.commit = real  # type: ignore[method-assign]
    (commit,) = commits
    written = {t for t in commit["replace"][CANDIDATES_GRAPH] if t.subject == run.node}
    assert ox.Triple(run.node, ox.NamedNode(CPO + "candidateCount"),
                     ox.Literal("2", datatype=ox.NamedNode(
                         "http://www.w3.org/2001/XMLSchema#integer"))) in written  # fmt: skip
    assert len(commit["add"][LINKS_GRAPH]) > 0
    keyed = {t.subject for t in commit["add"][INFERRED]}
    assert {run.node, agent_node("Ops"), agent_node("clusterpolisee link")} <= keyed


def test_a_rejection_is_recorded_and_listed(writable_store: Path):
    assert link(writable_store).returncode == 0
    with open_store(str(writable_store)) as store:
        cands = {c.external: c for c in load(store).values()}
        # a cell rejected by the former code: no record of who or when
        save_proposals(store, [Candidate(PBN, "https://ex.org/old", 0.8, ["name"],
                                         status="rejected", source="old.csv")])  # fmt: skip
    wrong, right = cands[O006].id, cands[O001].id
    proc = run_cli("links", "review", "--store", str(writable_store), "--no-interactive",
                   "--reject", wrong, "--accept", right, "--reviewer", "Ana C\x07")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with open_store(str(writable_store), read_only=True) as store:
        cells = load(store)
    cell = cells[wrong]
    act = f"{cell.node.value}/rejection"
    assert (cell.status, cell.rejected_by, cell.rejected_agent) == (
        "rejected",
        "Ana C",
        agent_node("Ana C").value,
    )
    assert about(triples(writable_store), act) == {
        RDF_TYPE: {PROV + "Activity"},
        RDFS_LABEL: {f"Rejection of link candidate {wrong}"},
        PROV + "used": {cell.node.value},
        PROV + "wasAssociatedWith": {agent_node("Ana C").value},
        PROV + "endedAtTime": {cell.rejected},
        PROV + "wasInformedBy": {cell.run},  # the run that proposed it
    }
    # the same decision's acceptance ended then too
    assert (f"https://w3id.org/clusterpolisee/id/link/{right}/review", PROV + "endedAtTime",
            cell.rejected) in triples(writable_store, LINKS_GRAPH)  # fmt: skip
    listing = run_cli("links", "review", "--store", str(writable_store), "--all").stdout
    assert f"{wrong}  rejected" in listing
    assert f"            rejected {cell.rejected} by Ana C\n" in listing
    old = next(c for c in cells.values() if c.source == "old.csv")
    assert (old.status, old.rejected, old.rejected_by) == ("rejected", "", "")
    assert listing.count("            rejected ") == 1  # the old one says nothing it lacks
    # a later decision keeps the record as it was
    proposed = next(c.id for c in cells.values() if c.status == "proposed")
    assert run_cli("links", "review", "--store", str(writable_store), "--no-interactive",
                   "--reject", proposed, "--reviewer", "Bo").returncode == 0  # fmt: skip
    with open_store(str(writable_store), read_only=True) as store:
        after = load(store)
    assert (after[wrong].rejected, after[wrong].rejected_by) == (cell.rejected, "Ana C")
    assert after[proposed].rejected_by == "Bo" and after[old.id].rejected == ""


def test_an_automatic_acceptance_was_informed_by_its_run(writable_store: Path):
    """A link accepted by `link --accept-above` had a review activity with the software
    agent and no word of the run that accepted it. The review used the cell the run
    generated: that is PROV's communication (prov:wasInformedBy), now stated; a person's
    review of the run's candidate says it too (tests/linking/test_decisions.py)."""
    proc = link(writable_store, "--accept-above", "0.99", "--reviewer", "Ops")
    assert proc.returncode == 0, proc.stderr
    with open_store(str(writable_store), read_only=True) as store:
        cands = load(store).values()
    auto = sorted(c.id for c in cands if c.status == "accepted")
    manual = next(c.id for c in cands if c.status == "proposed")
    proc = run_cli("links", "review", "--store", str(writable_store), "--no-interactive",
                   "--accept", manual, "--reviewer", "Ana")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (run,) = {c.run for c in cands}
    informed = {
        (s, o) for s, p, o in triples(writable_store, LINKS_GRAPH) if p == PROV + "wasInformedBy"
    }
    assert len(auto) >= 2
    assert informed == {(f"{ID}link/{cid}/review", run) for cid in [*auto, manual]}
    # the run it names is the one recorded
    assert about(triples(writable_store), run)[RDF_TYPE] == {PROV + "Activity"}


def parsed(path: Path) -> set[tuple[str, str, str]]:
    return {
        (t.subject.value, t.predicate.value, t.object.value)
        for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)
    }


def test_output_rdf_describes_the_run_its_cells_name(writable_store: Path, tmp_path: Path):
    """--output-rdf wrote cells prov:wasGeneratedBy a run the file did not describe: the
    file now holds the run's record as stored, with its agents; a dry run, recording no run,
    writes cells that name none."""
    out, dry = tmp_path / "c.ttl", tmp_path / "dry.ttl"
    proc = link(writable_store, "--accept-above", "0.99", "--reviewer", "Ana Curator",
                "--output-rdf", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    written, stored = parsed(out), triples(writable_store)
    (run,) = {o for _, p, o in written if p == PROV + "wasGeneratedBy"}
    agents = about(stored, run)[PROV + "wasAssociatedWith"]
    assert agents == {agent_node(w).value for w in ("clusterpolisee link", "Ana Curator")}
    for node in (run, *agents):  # described in the file as in the store
        assert about(written, node) == about(stored, node) != {}
    assert about(written, run)[CPO + "candidateCount"] == {"15"}
    assert link(writable_store, "--dry-run", "--output-rdf", str(dry)).returncode == 0
    cells = parsed(dry)
    assert {s for s, p, _ in cells if p.endswith("#entity1")} and not {
        s for s, p, _ in cells if p == PROV + "wasGeneratedBy" or s.startswith(RUNS)
    }


def test_a_name_with_a_byte_that_is_no_utf8_is_recorded(writable_store: Path):
    """--reviewer with the byte 0xFF (Python's argv holds it as a lone surrogate) ended a
    decision in a traceback: no RDF literal holds a surrogate. It is U+FFFD now."""
    assert link(writable_store).returncode == 0
    with open_store(str(writable_store), read_only=True) as store:
        cid = next(iter(load(store)))
    proc = run_cli("links", "review", "--store", str(writable_store), "--no-interactive",
                   "--reject", cid, "--reviewer", "Bo\udcff")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with open_store(str(writable_store), read_only=True) as store:
        cell = load(store)[cid]
    assert (cell.rejected_by, cell.rejected_agent) == ("Bo\ufffd", agent_node("Bo\ufffd").value)
