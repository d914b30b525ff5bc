"""A person's decision on a candidate that a recorded `link` run proposed names that run, as
the run's own acceptances (`--accept-above`) do: the review (graph/links) or the rejection
(graph/link-candidates) `prov:wasInformedBy` the run, for it used a cell the run generated.
Before, only automatic acceptances named their run, so what a reviewer accepted or rejected
could not be traced to the run (its list, settings, who ran it) but through the cell."""

from pathlib import Path

from clusterpolisee.linking import CANDIDATES_GRAPH, LINKS_GRAPH, Candidate, load, save_proposals
from clusterpolisee.linking.candidates import RUNS, agent_node
from clusterpolisee.store import open_store

from ..conftest import run_cli
from .test_cli import ID, O001, PBN, link
from .test_runs import about, parsed, triples

PROV = "http://www.w3.org/ns/prov#"
INFORMED = PROV + "wasInformedBy"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
O006 = "https://example.org/cluster-db/profile/O006"
MEASURE = "http://knowledgeweb.semanticweb.org/heterogeneity/alignment#measure"


def review(store: Path, *args: str):
    proc = run_cli("links", "review", "--store", str(store), "--no-interactive", *args)
    assert proc.returncode == 0, proc.stderr
    return proc


def informed(store: Path) -> set[tuple[str, str]]:
    """(decision, run) of every prov:wasInformedBy in either link graph."""
    return {
        (s, o)
        for graph in (CANDIDATES_GRAPH, LINKS_GRAPH)
        for s, p, o in triples(store, graph)
        if p == INFORMED
    }


def test_a_persons_acceptance_and_rejection_name_the_run(writable_store: Path):
    assert link(writable_store, "--reviewer", "Rita").returncode == 0
    with open_store(str(writable_store), read_only=True) as store:
        cells = {c.external: c for c in load(store).values()}
    accept, reject = cells[O001], cells[O006]
    (run,) = {c.run for c in cells.values()}
    proc = review(writable_store, "--accept", accept.id, "--reject", reject.id,
                  "--reviewer", "Ana")  # fmt: skip
    assert proc.stdout == "accepted 1, rejected 1\n"
    acceptance = f"{ID}link/{accept.id}/review"
    rejection = f"{reject.node.value}/rejection"
    assert informed(writable_store) == {(acceptance, run), (rejection, run)}
    # the review is Ana's, not the software's: a person's decision that names the run
    review_record = about(triples(writable_store, LINKS_GRAPH), acceptance)
    assert review_record[PROV + "wasAssociatedWith"] == {agent_node("Ana").value}
    assert review_record[PROV + "used"] == {accept.node.value}
    # the run named is the one recorded, that generated both cells
    candidates = triples(writable_store)
    assert run.startswith(RUNS) and about(candidates, run)[RDF_TYPE] == {PROV + "Activity"}
    assert {(c.node.value, PROV + "wasGeneratedBy", run) for c in (accept, reject)} <= candidates
    with open_store(str(writable_store), read_only=True) as store:
        assert load(store)[reject.id].rejected_run == run

    # a later decision rewrites the candidate graph: the rejection's record stays as written
    before = about(triples(writable_store), rejection)
    other = next(c.id for c in cells.values() if c.id not in (accept.id, reject.id))
    review(writable_store, "--reject", other, "--reviewer", "Bo")
    assert about(triples(writable_store), rejection) == before
    # what `links review --all` says of the decisions (it lists no runs) is as it was
    listing = review(writable_store, "--all").stdout
    assert f"{reject.id}  rejected" in listing and f"{accept.id}  accepted" in listing
    assert listing.count("            rejected ") == 2 and "link-run" not in listing


def test_a_candidate_of_no_recorded_run_names_none(writable_store: Path):
    """Candidates stored before runs were recorded (no run): a decision adds no
    prov:wasInformedBy; nor does a rejection recorded before decisions named runs gain one
    when a later decision rewrites the graph."""
    made = "2026-12-06T10:00:00Z"
    with open_store(str(writable_store)) as store:
        save_proposals(store, [
            Candidate(PBN, O001, 0.9, ["name"], source="old.csv", created=made),
            Candidate(PBN, O006, 0.8, ["name"], source="old.csv", created=made),
            # a run's cell, rejected by the former code: the record names no run
            Candidate(PBN, "https://ex.org/x", 0.8, ["name"], source="x.csv",
                      status="rejected", rejected=made, rejected_by="Old",
                      run=f"{RUNS}r000000000001"),
        ])  # fmt: skip
        cells = {c.external: c for c in load(store).values()}
    old = cells["https://ex.org/x"]
    assert old.rejected_by == "Old" and old.rejected_run == ""
    review(writable_store, "--accept", cells[O001].id, "--reject", cells[O006].id,
           "--reviewer", "Ana")  # fmt: skip
    with open_store(str(writable_store), read_only=True) as store:
        after = load(store)
    assert after[cells[O001].id].status == "accepted"
    assert after[cells[O006].id].rejected_by == "Ana"
    assert after[cells[O006].id].rejected_run == after[old.id].rejected_run == ""
    assert informed(writable_store) == set()


def test_a_withdrawal_is_unaffected(writable_store: Path):
    """Withdrawing a link a person accepted from a run's candidate: the withdrawal names no
    run, and the review's record (with its run) stays as it was, invalidated."""
    assert link(writable_store).returncode == 0
    with open_store(str(writable_store), read_only=True) as store:
        cell = next(c for c in load(store).values() if c.external == O001)
    review(writable_store, "--accept", cell.id, "--reviewer", "Ana")
    before = informed(writable_store)
    assert before == {(f"{ID}link/{cell.id}/review", cell.run)}
    proc = run_cli("links", "withdraw", cell.id, "--reason", "wrong", "--reviewer", "Cy",
                   "--store", str(writable_store))  # fmt: skip
    assert proc.returncode == 0 and proc.stdout == "withdrawn 1\n", proc.stderr
    assert informed(writable_store) == before
    withdrawal = about(triples(writable_store), f"{cell.node.value}/withdrawal")
    assert withdrawal[PROV + "wasAssociatedWith"] == {agent_node("Cy").value}
    assert INFORMED not in withdrawal
    stmt = about(triples(writable_store, LINKS_GRAPH), f"{ID}link/{cell.id}")
    assert stmt[PROV + "wasInvalidatedBy"] == {f"{cell.node.value}/withdrawal"}


def scored(found: set[tuple[str, str, str]], cell: str) -> dict[str, set]:
    """What ``found`` says of ``cell``, its score as a number: the store keeps an xsd:float
    in its canonical form ("1"), the Turtle file as written ("1.000")."""
    props: dict[str, set] = dict(about(found, cell))
    props[MEASURE] = {float(x) for x in props.get(MEASURE, ())}
    return props


def test_output_rdf_stays_consistent(writable_store: Path, tmp_path: Path):
    """Each --output-rdf file describes every run it names, and says of its cells what the
    store said of them when it was written; a later run's, after people decided on the first
    run's candidates, too (decided cells are not proposed again, so no decision is in it)."""
    first, second = tmp_path / "first.ttl", tmp_path / "second.ttl"
    proc = link(writable_store, "--accept-above", "0.99", "--output-rdf", str(first))
    assert proc.returncode == 0, proc.stderr
    stored_then = triples(writable_store)
    with open_store(str(writable_store), read_only=True) as store:
        proposed = sorted(c.id for c in load(store).values() if c.status == "proposed")
    review(writable_store, "--accept", proposed[0], "--reject", proposed[1], "--reviewer", "Ana")
    proc = link(writable_store, "--threshold", "0.5", "--output-rdf", str(second))
    assert proc.returncode == 0, proc.stderr
    for path, stored in ((first, stored_then), (second, triples(writable_store))):
        written = parsed(path)
        named = {o for _, p, o in written if p in (PROV + "wasGeneratedBy", INFORMED)}
        assert named and all(about(written, run) == about(stored, run) != {} for run in named)
        cells = {s for s, p, _ in written if p.endswith("#entity1")}
        assert cells and all(scored(written, cell) == scored(stored, cell) for cell in cells)
        assert not {(s, o) for s, p, o in written if p == INFORMED}
    assert {o for _, p, o in parsed(first) if p == PROV + "wasGeneratedBy"} != {
        o for _, p, o in parsed(second) if p == PROV + "wasGeneratedBy"
    }
