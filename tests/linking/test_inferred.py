"""Link decisions leave graph/inferred as a full run of the reasoning step would.

Only submissions ran the reasoning step, so a new review or withdrawal record had no search
key (``search`` did not find it) until the next submission. Each test compares the whole of
graph/inferred with a fresh computation, so a rule that comes to read link records (a
superclass of prov:Agent in the ontology, say) fails here rather than going stale unseen.
"""

import csv
from pathlib import Path

import pytest

from clusterpolisee.linking import load
from clusterpolisee.reasoning.materialise import INFERRED, inferences, materialise
from clusterpolisee.store import open_store

from ..conftest import run_cli
from .test_cli import O001, link

ID = "https://w3id.org/clusterpolisee/id/"


@pytest.fixture
def fresh_store(writable_store: Path) -> Path:
    """The partner store with graph/inferred made by a full run (the fixture replaced the
    partner graphs after `build` had run it)."""
    with open_store(str(writable_store)) as store:
        materialise(store)
    return writable_store


def assert_as_a_full_run(store_path: Path) -> None:
    with open_store(str(store_path), read_only=True) as store:
        assert store.graph_text(INFERRED) == inferences(store)


def search(store_path: Path, text: str) -> dict[str, str]:
    """The stored question `search`: resource -> label."""
    proc = run_cli(
        "query", "search", "--store", str(store_path), "-p", f"text={text}", "--format", "csv"
    )
    assert proc.returncode == 0, proc.stderr
    return {r["resource"]: r["label"] for r in csv.DictReader(proc.stdout.splitlines())}


def candidate_ids(store_path: Path) -> dict[str, str]:
    """External IRI -> candidate id."""
    with open_store(str(store_path), read_only=True) as store:
        return {c.external: c.id for c in load(store).values()}


def test_a_review_makes_its_records_searchable_at_once(fresh_store: Path):
    assert link(fresh_store).returncode == 0
    assert_as_a_full_run(fresh_store)  # proposals hold no label
    ids = candidate_ids(fresh_store)
    accept, reject = ids[O001], ids["https://example.org/cluster-db/profile/O006"]
    proc = run_cli(
        "links", "review", "--store", str(fresh_store), "--accept", accept, "--reject", reject,
        "--reviewer", "Zoë Quist", "--no-interactive",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert_as_a_full_run(fresh_store)
    (agent,) = search(fresh_store, "zoe quist")  # folded: case and accents
    assert agent.startswith(ID + "agent/zoë-quist_")
    assert search(fresh_store, f"review of link candidate {accept}") == {
        f"{ID}link/{accept}/review": f"Review of link candidate {accept}"
    }


def test_links_accepted_automatically_are_searchable_at_once(fresh_store: Path):
    assert link(fresh_store, "--accept-above", "0.99").returncode == 0
    assert_as_a_full_run(fresh_store)
    found = search(fresh_store, "clusterpolisee link")
    assert list(found.values()) == ["clusterpolisee link"]
    with open_store(str(fresh_store), read_only=True) as store:
        accepted = sorted(c.id for c in load(store).values() if c.status == "accepted")
    reviews = search(fresh_store, "review of link candidate")
    assert sorted(r.split("/")[-2] for r in reviews) == accepted and len(accepted) == 12


def test_a_withdrawal_makes_its_record_searchable_at_once(fresh_store: Path):
    assert link(fresh_store, "--accept-above", "0.99").returncode == 0
    wrong = candidate_ids(fresh_store)[O001]
    proc = run_cli(
        "links", "withdraw", "--store", str(fresh_store), wrong, "--reason", "another body",
        "--reviewer", "Ana Curator",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert_as_a_full_run(fresh_store)
    assert search(fresh_store, "withdrawal of link") == {
        f"{ID}link-candidate/{wrong}/withdrawal": f"Withdrawal of link {wrong}"
    }
    assert list(search(fresh_store, "ana curator").values()) == ["Ana Curator"]


def test_a_run_and_a_rejection_are_searchable_at_once(fresh_store: Path):
    """A run's record and a rejection's carry labels (and their agents'): searchable at once."""
    assert link(fresh_store, "--reviewer", "Zoë Runner").returncode == 0
    assert_as_a_full_run(fresh_store)
    (run,) = search(fresh_store, "link run")
    assert run.startswith(ID + "link-run/")
    assert search(fresh_store, "link run") == {
        run: f"Link run {run.rsplit('/', 1)[1]} against organisations.csv"
    }
    assert list(search(fresh_store, "zoe runner").values()) == ["Zoë Runner"]
    wrong = candidate_ids(fresh_store)["https://example.org/cluster-db/profile/O006"]
    proc = run_cli("links", "review", "--store", str(fresh_store), "--reject", wrong,
                   "--reviewer", "Ana Curator", "--no-interactive")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert_as_a_full_run(fresh_store)
    assert search(fresh_store, "rejection of link candidate") == {
        f"{ID}link-candidate/{wrong}/rejection": f"Rejection of link candidate {wrong}"
    }
