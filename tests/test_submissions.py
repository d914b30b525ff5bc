"""The submission pipeline end to end through the CLI, on a real store built for this module."""

import hashlib
import json
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee import paths
from clusterpolisee.store import open_store

from .conftest import built_with_archive, cli_on, dataset, run_cli

GRAPH = "https://w3id.org/clusterpolisee/graph/"
ID = "https://w3id.org/clusterpolisee/id/"
VALID = Path(__file__).parent / "submissions" / "valid" / "complete.ttl"
INVALID = Path(__file__).parent / "submissions" / "invalid"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    return built_with_archive(tmp_path_factory, "subm")


cli = cli_on


def partner_graph(store: Path, pid: str) -> set[ox.Triple]:
    with open_store(str(store), read_only=True) as s:
        return set(s.graph_triples(f"{GRAPH}partner/{pid}"))


def test_build_archived_every_demo_submission(built):
    store, archive = built
    proc = cli(built, "submissions", "--format", "json")
    attempts = json.loads(proc.stdout)
    assert len(attempts) == 24 and {a["outcome"] for a in attempts} == {"accepted"}
    nerda = next(a for a in attempts if a["partner"] == "nerda")
    data = (paths.PARTNERS_DIR / "nerda.ttl").read_bytes()
    assert nerda["sha256"] == hashlib.sha256(data).hexdigest()
    entry = archive / "nerda" / nerda["id"]
    assert (entry / "original.ttl").read_bytes() == data
    assert json.loads((entry / "report.json").read_text())["conforms"] is True


def test_rejected_submission_changes_nothing_and_is_archived(built):
    store, archive = built
    before = dataset(store)
    bad = INVALID / "barrier-severity-range.ttl"
    proc = cli(built, "submit", str(bad), "--partner", "marche-region")
    assert proc.returncode == 1
    assert "REJECTED" in proc.stderr and "severity" in proc.stdout.lower()
    assert dataset(store) == before
    rejected = [
        a
        for a in json.loads(
            cli(built, "submissions", "--partner", "marche-region", "--format", "json").stdout
        )
        if a["outcome"] == "rejected"
    ]
    assert rejected[-1]["filename"] == bad.name
    assert (archive / "marche-region" / rejected[-1]["id"] / "report.ttl").exists()


def test_unreadable_input_and_unknown_partner_exit_2(built, tmp_path):
    store, _ = built
    before = dataset(store)
    broken = tmp_path / "broken.ttl"
    broken.write_text("<http://a> <http://b> .")
    proc = cli(built, "submit", str(broken), "--partner", "nerda")
    assert proc.returncode == 2 and "could not be read" in proc.stderr
    proc = cli(built, "submit", str(VALID), "--partner", "no-such-partner")
    assert proc.returncode == 2 and "unknown partner 'no-such-partner'" in proc.stderr
    trig = tmp_path / "g.trig"
    trig.write_text(
        f"<{GRAPH}partner/aws> {{ <{ID}partner/nerda/cluster/x> "
        '<http://www.w3.org/2000/01/rdf-schema#label> "x"@en }\n'
    )
    proc = cli(built, "submit", str(trig), "--partner", "nerda")
    assert proc.returncode == 2 and "named graph" in proc.stderr.lower()
    assert dataset(store) == before


def test_accepted_submission_replaces_the_graph_and_records_provenance(built):
    store, archive = built
    old = partner_graph(store, "marche-region")
    proc = cli(built, "submit", str(VALID), "--partner", "marche-region")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ACCEPTED" in proc.stderr
    new = partner_graph(store, "marche-region")
    expected = {q.triple for q in ox.parse(VALID.read_bytes(), format=ox.RdfFormat.TURTLE)}
    assert len(new) == len(expected) and new != old
    with open_store(str(store), read_only=True) as s:
        rows = s.select(
            "SELECT ?s ?id WHERE { GRAPH ?g { ?s <http://www.w3.org/ns/prov#used>/"
            "<http://purl.org/dc/terms/identifier> ?id } }",
            {"g": ox.NamedNode(GRAPH + "submissions")},
        )
        ids = {r["id"].value for r in rows}
        assert "sha256:" + hashlib.sha256(VALID.read_bytes()).hexdigest() in ids
        # the reasoning step ran: the new instrument's inverse link is inferred
        inverse = s.select(
            "SELECT ?i ?b WHERE { GRAPH ?g { ?b <https://w3id.org/clusterpolisee/ontology"
            "#addressedBy> ?i } }",
            {"g": ox.NamedNode(GRAPH + "inferred")},
        )
        assert any("/partner/marche-region/" in r["i"].value for r in inverse)


def test_restore_brings_back_an_earlier_version(built):
    store, _ = built
    attempts = json.loads(
        cli(built, "submissions", "--partner", "marche-region", "--format", "json").stdout
    )
    original = next(a for a in attempts if a["filename"] == "marche-region.ttl")
    proc = cli(built, "restore", original["id"])
    assert proc.returncode == 0, proc.stderr
    expected = {
        q.triple
        for q in ox.parse(
            (paths.PARTNERS_DIR / "marche-region.ttl").read_bytes(), format=ox.RdfFormat.TURTLE
        )
    }
    assert len(partner_graph(store, "marche-region")) == len(expected)
    latest = json.loads(
        cli(built, "submissions", "--partner", "marche-region", "--format", "json").stdout
    )[-1]
    assert latest["restored_from"] == original["id"] and latest["outcome"] == "accepted"
    rejected = next(a for a in attempts if a["outcome"] == "rejected")
    proc = cli(built, "restore", rejected["id"])
    assert proc.returncode == 2 and "only accepted versions" in proc.stderr


def test_csv_template_round_trip_through_submit(built, tmp_path):
    store, _ = built
    proc = run_cli("template", "Barrier")
    header = proc.stdout.splitlines()[0]
    assert header.startswith("barrier id,")
    columns = header.split(",")
    row = {
        "barrier id": "csv-test",
        "name": "Test barrier from a spreadsheet",
        "barrier category": "brain-drain",
        "region": f"{ID}region/RS12",
        "thematic priority": "skills",
        "severity": "4",
    }
    line = ",".join(row.get(c, "") for c in columns)
    filled = tmp_path / "barriers.csv"
    filled.write_text(header + "\n" + line + "\n")
    proc = cli(built, "submit", str(filled), "--partner", "uns")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    graph = partner_graph(store, "uns")
    labels = {
        t.object.value
        for t in graph
        if t.predicate.value.endswith("#label") and "csv-test" in t.subject.value
    }
    assert labels == {"Test barrier from a spreadsheet"}


def test_an_entry_a_crash_stopped_before_its_rename_is_not_an_attempt(tmp_path):
    """kill -9 between writing `.ID.tmp/meta.json` and renaming the folder: the store was
    never written, so reconcile settles the other pending entries and leaves this one be
    (it once tried to write meta.json into a folder ID that did not exist)."""
    from clusterpolisee.store import OxigraphStore
    from clusterpolisee.submissions import Attempt, _write_meta, archive_attempt, history, reconcile

    archive = tmp_path / "archive"
    fields = dict(partner="marche-region", filename="x.ttl", format=None, sha256="0", size=1)
    done = Attempt(id="20260101T000000Z-done", received="1", outcome="pending", **fields)
    archive_attempt(archive, done, b"x", {})
    cut = Attempt(id="20260101T000001Z-cut", received="2", outcome="pending", **fields)
    (archive / "marche-region" / f".{cut.id}.tmp").mkdir()
    _write_meta(archive / "marche-region" / f".{cut.id}.tmp", cut)
    assert [a.id for a in history(archive)] == [done.id]
    with OxigraphStore(tmp_path / "store") as store:
        assert reconcile(store, archive) == 1
    assert [(a.id, a.outcome) for a in history(archive)] == [(done.id, "interrupted")]
