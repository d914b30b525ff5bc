"""Submissions of several files (e.g. one CSV template per class) through the CLI, on a real
store built for this module: read, validated, archived and committed as one submission."""

import hashlib
import json
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee import paths
from clusterpolisee.store import open_store
from clusterpolisee.templates import csv_to_triples

from .conftest import built_with_archive, cli_on, dataset

GRAPH = "https://w3id.org/clusterpolisee/graph/"
PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
PARTNER = "marche-region"
SHEETS = Path(__file__).parent / "submissions" / "valid" / "spreadsheets"
BARRIERS = SHEETS / "barriers.csv"
INSTRUMENTS = SHEETS / "policy-instruments.csv"  # addresses the barrier bank-finance
BANK = "https://w3id.org/clusterpolisee/id/partner/marche-region/barrier/bank-finance"
NOT_OURS = "A barrier addressed must be a barrier described in your submission."


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    return built_with_archive(tmp_path_factory, "multi")


cli = cli_on


def partner_graph(store: Path) -> set[ox.Triple]:
    with open_store(str(store), read_only=True) as s:
        return set(s.graph_triples(f"{GRAPH}partner/{PARTNER}"))


def data_version(store: Path) -> str | None:
    with open_store(str(store), read_only=True) as s:
        return s.data_version()


def attempts(built) -> list[dict]:
    proc = cli(built, "submissions", "--partner", PARTNER, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def sheets_triples() -> set[ox.Triple]:
    return {t for f in (BARRIERS, INSTRUMENTS) for t in csv_to_triples(f.read_bytes(), PARTNER)}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def set_checksum(*files: Path) -> str:
    """What `sha256sum FILE... | sha256sum` gives in the files' folder."""
    return sha("".join(f"{sha(f.read_bytes())}  {f.name}\n" for f in files).encode())


def test_the_instrument_sheet_alone_is_rejected(built):
    """The defect: one sheet cannot refer to a barrier of another sheet."""
    store, _ = built
    before = dataset(store)
    proc = cli(built, "submit", str(INSTRUMENTS), "--partner", PARTNER)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert NOT_OURS in proc.stdout and "REJECTED" in proc.stderr
    assert "files, validated together" not in proc.stdout  # a one-file report, as before
    assert dataset(store) == before


def test_the_json_report_says_which_file_each_problem_came_from(built, tmp_path):
    store, _ = built
    before = dataset(store)
    barriers = tmp_path / "barriers.csv"
    barriers.write_text(BARRIERS.read_text().replace(",financing,4,", ",financing,9,"))
    proc = cli(
        built, "submit", str(barriers), str(INSTRUMENTS), "--partner", PARTNER, "--format", "json"
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert [(f["name"], f["problems_in"]) for f in doc["files"]] == [
        ("barriers.csv", [BANK]),
        ("policy-instruments.csv", []),
    ]
    assert doc["results"][0]["focus"] == BANK and dataset(store) == before


REPORT_ORIGINS = """
PREFIX sh: <http://www.w3.org/ns/shacl#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?focus ?file ?title ?id WHERE {
  [] a sh:ValidationReport ; sh:conforms false ; sh:result ?r .
  ?r a sh:ValidationResult ; sh:focusNode ?focus ; sh:resultSeverity sh:Violation ;
     sh:sourceConstraintComponent [] ;
  OPTIONAL { ?r prov:wasDerivedFrom ?file .
             ?file a prov:Entity ; dcterms:title ?title ; dcterms:identifier ?id } }"""


def test_the_archived_reports_say_which_file_each_problem_came_from(built, tmp_path):
    """report.json holds what `submit --format json` says (its ``files``), and each result of
    report.ttl is prov:wasDerivedFrom the file describing its resource: the archived reports
    said neither, only the CLI's output did."""
    _store, archive = built
    barriers = tmp_path / "barriers.csv"
    barriers.write_text(BARRIERS.read_text().replace(",financing,4,", ",financing,9,"))
    proc = cli(
        built, "submit", str(barriers), str(INSTRUMENTS), "--partner", PARTNER, "--format", "json"
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    latest = attempts(built)[-1]
    entry = archive / PARTNER / latest["id"]
    archived = json.loads((entry / "report.json").read_text())
    assert archived == json.loads(proc.stdout)
    assert archived["files"] == [
        {"name": "barriers.csv", "triples": 15, "problems_in": [BANK]},
        {"name": "policy-instruments.csv", "triples": 14, "problems_in": []},
    ]
    report = ox.Store()
    report.load(path=entry / "report.ttl", format=ox.RdfFormat.TURTLE)
    rows = {
        tuple(None if r[v] is None else r[v].value for v in ("focus", "file", "title", "id"))
        for r in report.query(REPORT_ORIGINS)
    }
    sub = f"https://w3id.org/clusterpolisee/id/submission/{latest['id']}"
    assert rows == {(BANK, f"{sub}#file-1", "barriers.csv", "sha256:" + sha(barriers.read_bytes()))}


def test_two_sheets_are_one_submission(built):
    store, archive = built
    proc = cli(built, "submit", str(BARRIERS), str(INSTRUMENTS), "--partner", PARTNER)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    expected = sheets_triples()
    assert len(expected) == 2 * 8 - 1 + 14
    assert f"graph of partner '{PARTNER}' replaced with {len(expected)} triples" in proc.stderr
    assert proc.stdout.startswith(
        "2 files, validated together as one submission:\n"
        "  barriers.csv: 15 triples, no problems\n"
        "  policy-instruments.csv: 14 triples, no problems\n"
    )
    # Both sheets, and nothing else: a submission still replaces the whole graph.
    assert partner_graph(store) == expected
    latest = attempts(built)[-1]
    assert latest["outcome"] == "accepted" and latest["triples"] == len(expected)
    assert latest["filename"] == "barriers.csv, policy-instruments.csv"
    assert latest["sha256"] == set_checksum(BARRIERS, INSTRUMENTS)
    assert latest["size"] == BARRIERS.stat().st_size + INSTRUMENTS.stat().st_size
    assert latest["files"] == [
        {
            "name": f.name,
            "stored": f"original-{i}.csv",
            "sha256": sha(f.read_bytes()),
            "size": f.stat().st_size,
            "triples": n,
        }
        for i, (f, n) in enumerate(((BARRIERS, 15), (INSTRUMENTS, 14)), start=1)
    ]
    entry = archive / PARTNER / latest["id"]
    assert (entry / "original-1.csv").read_bytes() == BARRIERS.read_bytes()
    assert (entry / "original-2.csv").read_bytes() == INSTRUMENTS.read_bytes()
    assert not (entry / "original.csv").exists()
    assert json.loads((entry / "report.json").read_text())["conforms"] is True
    assert (entry / "report.txt").read_text() == proc.stdout.removesuffix("\n")


def test_provenance_names_the_set_and_each_file(built):
    store, _ = built
    latest = attempts(built)[-1]
    sub = f"https://w3id.org/clusterpolisee/id/submission/{latest['id']}"
    with open_store(str(store), read_only=True) as s:
        used = s.select(
            f"SELECT ?e ?id ?title WHERE {{ GRAPH ?g {{ <{sub}> <{PROV}used> ?e . "
            f"?e <{DCT}identifier> ?id ; <{DCT}title> ?title }} }}",
            {"g": ox.NamedNode(GRAPH + "submissions")},
        )
        members = s.select(
            f"SELECT ?id ?title WHERE {{ GRAPH ?g {{ <{sub}#files> <{PROV}hadMember> ?m . "
            f"?m a <{PROV}Entity> ; <{DCT}identifier> ?id ; <{DCT}title> ?title }} }}",
            {"g": ox.NamedNode(GRAPH + "submissions")},
        )
    # one entity with a checksum is used (current_checksum reads it): the set of files
    assert [(r["e"].value, r["id"].value, r["title"].value) for r in used] == [
        (f"{sub}#files", "sha256:" + latest["sha256"], "barriers.csv, policy-instruments.csv")
    ]
    assert {(r["title"].value, r["id"].value) for r in members} == {
        (f.name, "sha256:" + sha(f.read_bytes())) for f in (BARRIERS, INSTRUMENTS)
    }


def test_history_shows_the_files(built):
    proc = cli(built, "submissions", "--partner", PARTNER)
    assert proc.returncode == 0, proc.stderr
    lines = [" ".join(line.split()[1:]) for line in proc.stdout.splitlines()]
    assert lines[0] == f"{PARTNER} accepted 256 triples {PARTNER}.ttl"  # written by `build`
    assert lines[-1] == (
        f"{PARTNER} accepted 29 triples 2 files: barriers.csv, policy-instruments.csv"
    )
    assert attempts(built)[0]["files"][0]["stored"] == "original.ttl"


def test_one_unreadable_file_makes_the_whole_submission_unreadable(built, tmp_path):
    store, archive = built
    broken = tmp_path / "clusters.ttl"
    broken.write_text("<http://a> <http://b> .")
    before, version, count = dataset(store), data_version(store), len(attempts(built))
    proc = cli(built, "submit", str(BARRIERS), str(broken), "--partner", PARTNER)
    assert proc.returncode == 2
    assert "could not be read: clusters.ttl: syntax error in Turtle" in proc.stderr
    assert dataset(store) == before and data_version(store) == version
    unreadable = attempts(built)
    assert len(unreadable) == count + 1
    latest = unreadable[-1]
    assert latest["outcome"] == "unreadable" and latest["message"].startswith("clusters.ttl: ")
    entry = archive / PARTNER / latest["id"]
    assert (entry / "original-1.csv").read_bytes() == BARRIERS.read_bytes()
    assert (entry / "original-2.ttl").read_bytes() == broken.read_bytes()
    # A bad CSV is named too (the CSV reader's messages do not name their file).
    bad_sheet = tmp_path / "clusters.csv"
    bad_sheet.write_text("name,region\nx,ITI3\n")
    proc = cli(built, "submit", str(bad_sheet), str(BARRIERS), "--partner", PARTNER)
    assert proc.returncode == 2
    assert "could not be read: clusters.csv: row 1: the first column must be" in proc.stderr
    assert dataset(store) == before


def test_combinations_that_cannot_be_one_submission_are_refused(built, tmp_path):
    store, _ = built
    before, count = dataset(store), len(attempts(built))
    proc = cli(
        built, "submit", str(BARRIERS), str(paths.PARTNERS_DIR / "marche-region.ttl"),
        "--partner", PARTNER, "--input-format", "turtle",
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr == (
        "error: the input format 'turtle' would apply to every file, but the files have "
        "different extensions (.csv, .ttl); leave the input format out so that each file's "
        "extension gives its format\n"
    )
    copy = tmp_path / "barriers.csv"
    shutil.copy(BARRIERS, copy)
    proc = cli(built, "submit", str(BARRIERS), str(copy), "--partner", PARTNER)
    assert proc.returncode == 2 and "two files are named barriers.csv" in proc.stderr
    assert dataset(store) == before and len(attempts(built)) == count  # not even archived


def test_restore_of_a_multi_file_attempt(built):
    store, _ = built
    sheets = next(a for a in attempts(built) if len(a["files"]) == 2 and a["outcome"] == "accepted")
    proc = cli(built, "submit", str(paths.PARTNERS_DIR / "marche-region.ttl"), "--partner", PARTNER)
    assert proc.returncode == 0, proc.stderr
    assert partner_graph(store) != sheets_triples()
    proc = cli(built, "restore", sheets["id"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert partner_graph(store) == sheets_triples()
    latest = attempts(built)[-1]
    assert latest["restored_from"] == sheets["id"] and latest["sha256"] == sheets["sha256"]
    assert [f["name"] for f in latest["files"]] == ["barriers.csv", "policy-instruments.csv"]


def test_an_archive_entry_of_the_old_layout_still_restores(built):
    """Entries written before submissions had several files: one original.<suffix>, and
    meta.json without "files"."""
    store, archive = built
    data = (paths.PARTNERS_DIR / "marche-region.ttl").read_bytes()
    entry = archive / PARTNER / "20250101T000000Z-0123abcd"
    entry.mkdir()
    (entry / "original.ttl").write_bytes(data)
    meta = {
        "id": entry.name, "partner": PARTNER, "received": "2025-01-01T00:00:00.000Z",
        "filename": "marche-2025.ttl", "format": None, "sha256": sha(data),
        "size": len(data), "outcome": "accepted", "triples": 256, "shapes_version": "old",
        "message": "", "restored_from": None,
    }  # fmt: skip
    (entry / "meta.json").write_text(json.dumps(meta, indent=2))
    listed = next(a for a in attempts(built) if a["id"] == entry.name)
    assert listed["files"] == [
        {"name": "marche-2025.ttl", "stored": "original.ttl", "sha256": sha(data),
         "size": len(data), "triples": 0}
    ]  # fmt: skip
    assert partner_graph(store) == sheets_triples()
    proc = cli(built, "restore", entry.name)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # (compared by size and resources: the store writes some literals in canonical form)
    expected = {q.triple for q in ox.parse(data, format=ox.RdfFormat.TURTLE)}
    restored = partner_graph(store)
    assert len(restored) == len(expected) == 256
    assert {t.subject for t in restored} == {t.subject for t in expected}
    latest = attempts(built)[-1]
    assert latest["restored_from"] == entry.name and latest["filename"] == "marche-2025.ttl"
    assert latest["sha256"] == sha(data)
    assert (archive / PARTNER / latest["id"] / "original.ttl").read_bytes() == data
    assert json.loads((entry / "meta.json").read_text()) == meta  # the old entry is untouched


def test_a_damaged_archive_entry_stops_nothing_else(built, tmp_path):
    """A meta.json that cannot be read is named and left out; listing, submitting and
    restoring the other entries go on (one damaged entry stopped all three)."""
    store, archive = built
    damaged = archive / PARTNER / "20261206T000000Z-00000000"
    damaged.mkdir(parents=True)
    (damaged / "meta.json").write_text("{")
    try:
        listed = cli(built, "submissions")
        assert listed.returncode == 0, listed.stderr
        assert f"warning: archive entry {damaged} cannot be read" in listed.stderr
        assert "20261206T000000Z-00000000" not in listed.stdout
        proc = cli(built, "submit", str(BARRIERS), str(INSTRUMENTS), "--partner", PARTNER)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        refused = cli(built, "restore", "20261206T000000Z-00000000")
        assert refused.returncode == 2 and "cannot be read" in refused.stderr
    finally:
        shutil.rmtree(damaged)


@pytest.mark.parametrize("given", ["*", "2026*", f"../{PARTNER}/x", "[0-9]*"])
def test_restore_takes_only_a_submission_id(built, given):
    store, _ = built
    before = dataset(store)
    proc = cli(built, "restore", given)
    assert proc.returncode == 2 and "is not a submission id" in proc.stderr, proc.stderr
    assert dataset(store) == before
