"""Link decisions on the remote backend (a real Virtuoso 7.2.5), through the CLI: a person's
acceptance and rejection of a recorded run's candidates name the run (prov:wasInformedBy) as
on the embedded store (tests/linking/test_decisions.py); a candidate of no run names none,
and a withdrawal changes nothing of it."""

import pyoxigraph as ox

from clusterpolisee.linking import CANDIDATES_GRAPH, LINKS_GRAPH, Candidate, Run, save_proposals
from clusterpolisee.linking.candidates import agent_node

from ..conftest import run_cli

PROV = "http://www.w3.org/ns/prov#"
INFORMED = PROV + "wasInformedBy"
ID = "https://w3id.org/clusterpolisee/id/"
OURS = ID + "partner/aws/cluster/vienna-ict-cluster"
OTHER = ID + "partner/aws/cluster/vienna-life-sciences-cluster"
OLD = ID + "partner/pbn"


def cli(env: dict[str, str], *args: str) -> str:
    proc = run_cli("links", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def informed(remote) -> set[tuple[str, str]]:
    return {
        (t.subject.value, t.object.value)
        for graph in (CANDIDATES_GRAPH, LINKS_GRAPH)
        for t in remote.graph_triples(graph)
        if t.predicate.value == INFORMED
    }


def test_decisions_name_the_run_on_virtuoso(remote, cli_env):
    accept = Candidate(OURS, "https://ex.org/a", 0.9, ["name 0.90"], source="list.csv")
    reject = Candidate(OTHER, "https://ex.org/b", 0.8, ["name 0.80"], source="list.csv")
    old = Candidate(OLD, "https://ex.org/c", 0.8, ["name 0.80"], source="old.csv")
    run = Run("list.csv", "cluster", 0.75, 2, person="Rita")
    save_proposals(remote, [old])  # as stored before runs were recorded
    save_proposals(remote, [accept, reject], run=run)
    review = ("review", "--no-interactive", "--reviewer", "Ana")
    assert cli(cli_env, *review, "--accept", accept.id, "--reject", reject.id,
               "--reject", old.id) == "accepted 1, rejected 2\n"  # fmt: skip
    named = run.node.value
    assert informed(remote) == {
        (f"{ID}link/{accept.id}/review", named),
        (f"{reject.node.value}/rejection", named),
    }
    rejection = {
        (t.predicate.value, t.object.value)
        for t in remote.graph_triples(CANDIDATES_GRAPH)
        if t.subject == ox.NamedNode(f"{reject.node.value}/rejection")
    }
    assert {(INFORMED, named), (PROV + "wasAssociatedWith", agent_node("Ana").value),
            (PROV + "used", reject.node.value)} <= rejection  # fmt: skip
    listing = cli(cli_env, "review", "--all")
    assert listing.count(" by Ana\n") == 2 and f"{accept.id}  accepted" in listing

    before = informed(remote)
    assert cli(cli_env, "withdraw", accept.id, "--reason", "wrong", "--reviewer", "Cy") == (
        "withdrawn 1\n"
    )
    assert informed(remote) == before
