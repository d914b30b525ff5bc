"""NACE IRIs in the EU's form (.../nace2/29, .../nace2/291), and the former form we wrote until
2026-12-07 (.../nace2/C29, .../nace2/C29.1): read on intake as the EU's, with a note in the
report; a section letter that is not the division's own (.../nace2/J29) is refused by the
shape. Real pipeline, real store."""

import json
import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee import nace, rdfio
from clusterpolisee.rdfio import read_rdf, refuse_named_graphs
from clusterpolisee.store import open_store
from clusterpolisee.submissions import SubmittedFile, unchanged
from clusterpolisee.templates import csv_to_triples, find_class, template
from clusterpolisee.validation import validate

from .conftest import built_with_archive, cli_on, run_cli

VALID = Path(__file__).parent / "submissions" / "valid" / "complete.ttl"
GRAPH = "https://w3id.org/clusterpolisee/graph/partner/marche-region"
CLUSTER = "https://w3id.org/clusterpolisee/id/partner/marche-region/cluster/test-cluster"
SECTOR = "https://w3id.org/clusterpolisee/ontology#sector"
NACE = "http://data.europa.eu/ux2/nace2/"
CURRENT = "cpo:sector nace:29 , nace:291 ;"
FORMER = "cpo:sector nace:C29 , nace:C29.1 ;"


def note(name: str, uses: int, iris: str) -> str:
    return (
        f"{name}: {uses} use(s) of NACE Rev.2 addresses in the former form, with the section "
        f"letter before the division ({iris}), were read in the form of the EU's vocabulary, "
        "http://data.europa.eu/ux2/nace2/{code} (C29 as 29, C29.1 as 291, C29.10 as 2910), "
        "the form the shapes, the stored data and the queries use. Nothing to fix; write that "
        "form to have no such note"
    )


def complete(sectors: str = CURRENT) -> str:
    text = VALID.read_text(encoding="utf-8")
    assert CURRENT in text
    return text.replace(CURRENT, sectors)


def sectors_stored(store: Path) -> set[str]:
    with open_store(str(store), read_only=True) as s:
        return {
            t.object.value
            for t in s.graph_triples(GRAPH)
            if t.subject.value == CLUSTER and t.predicate.value == SECTOR
        }


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    return built_with_archive(tmp_path_factory, "nace-former")


def test_the_eus_form_passes_the_shapes_without_a_note():
    sectors = "cpo:sector nace:C , nace:29 , nace:291 , nace:2910 , nace:6201 , nace:01 ;"
    notes: list[str] = []
    quads = read_rdf(complete(sectors).encode(), "x.ttl", notes=notes)
    report = validate(refuse_named_graphs(quads), "marche-region")
    assert report.conforms, report.text()
    assert notes == []


def test_a_former_form_submission_is_stored_in_the_eus_form_and_noted(built, tmp_path):
    store, _archive = built
    upload = tmp_path / "former.ttl"
    upload.write_text(complete(FORMER), encoding="utf-8")
    proc = cli_on(built, "submit", str(upload), "--partner", "marche-region", "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["conforms"] is True
    infos = [r for r in report["results"] if r["severity"] == "Info"]
    iris = f"<{NACE}C29>, <{NACE}C29.1>"
    assert [r["message"] for r in infos] == [note("former.ttl", 2, iris)]
    assert infos[0]["focus"] == ""  # about the submission as a whole
    assert sectors_stored(store) == {NACE + "29", NACE + "291"}


def test_a_letter_not_the_divisions_own_is_refused_with_the_shapes_message(tmp_path):
    upload = tmp_path / "wrong.ttl"
    upload.write_text(complete("cpo:sector nace:J29 , nace:C29.10 ;"), encoding="utf-8")
    proc = run_cli("validate", str(upload), "--partner", "marche-region", "--format", "json")
    report = json.loads(proc.stdout)
    assert report["conforms"] is False
    problems = [r for r in report["results"] if r["severity"] != "Info"]
    assert [(r["value"], r["message"][:60]) for r in problems] == [
        (f"<{NACE}J29>", "The sector must be a NACE Rev.2 address as the EU's vocabula")
    ]
    # the one in the former form that fits was read, and said so
    infos = [r["message"] for r in report["results"] if r["severity"] == "Info"]
    assert infos == [note(str(upload), 1, f"<{NACE}C29.10>")]


@pytest.mark.parametrize(
    "text",
    [
        # in full, in N-Triples, where no prefix is declared
        f"<{CLUSTER}> <{SECTOR}> <{NACE}C29.1> .\n",
        # a base, and the local name relative to it
        f"@base <{NACE}> .\n<{CLUSTER}> <{SECTOR}> <C29.1> .\n",
        # JSON-LD with a prefix, and with the slashes escaped as PHP writes them
        json.dumps({"@context": {"n": NACE}, "@id": CLUSTER, SECTOR: {"@id": "n:C29.1"}}),
        json.dumps({"@id": CLUSTER, SECTOR: {"@id": NACE + "C29.1"}}).replace("/", "\\/"),
    ],
)
def test_every_syntax_of_the_former_form_is_read(text: str):
    name = "x.jsonld" if text.startswith("{") else "x.ttl"
    notes: list[str] = []
    quads = read_rdf(text.encode(), name, notes=notes)
    assert [q.object.value for q in quads] == [NACE + "291"]
    assert len(notes) == 1


def test_files_without_the_former_form_are_not_looked_through():
    """The byte search that spares large submissions a look at every term."""
    data = VALID.read_bytes()
    assert b"nace:29" in data
    assert not rdfio._may_name_nace_former(data)
    generated = f"<{CLUSTER}> <{SECTOR}> <{NACE}29> .\n".encode() * 1000
    assert not rdfio._may_name_nace_former(generated)
    assert rdfio._may_name_nace_former(complete(FORMER).encode())


def test_a_spreadsheet_maps_codes_and_reads_a_former_address_with_a_note(tmp_path):
    header = b"cluster id,name,region,thematic priority,sector,life-cycle stage,number of members\n"
    row = b"agri,Agrifood,AL02,innovation,%s,growth,12\n"
    codes = b"29|C29|29.1|C|C29.10|62.01"
    triples = csv_to_triples(header + row % codes, "Cluster", "aida")
    sectors = {t.object.value for t in triples if t.predicate.value == SECTOR}
    assert sectors == {NACE + c for c in ("29", "291", "C", "2910", "6201")}
    # a full address in the former form is read in the EU's form, and the report says so
    sheet = tmp_path / "clusters.csv"
    sheet.write_bytes(header + row % f"{NACE}C29".encode())
    proc = run_cli("validate", str(sheet), "--partner", "aida", "--format", "json")
    report = json.loads(proc.stdout)
    assert report["conforms"] is True, proc.stdout
    infos = [r["message"] for r in report["results"] if r["severity"] == "Info"]
    assert infos == [note(str(sheet), 1, f"<{NACE}C29>")]


def test_the_shapes_and_the_code_table_allow_the_same_divisions():
    """One table in clusterpolisee.nace, one sh:pattern in the shapes: they must agree."""
    (col,) = [c for c in template(find_class("Cluster")).columns if c.name == "sector"]
    allowed = {f"{d:02d}" for d in range(100) if re.match(col.pattern, f"{NACE}{d:02d}")}
    assert allowed == set(nace.SECTION_OF)
    assert not re.match(col.pattern, f"{NACE}C29")


def test_a_graph_stored_in_the_former_form_is_read_again(tmp_path_factory, tmp_path):
    """A store filled before 2026-12-07 holds a partner's former IRIs as written: the same
    file sent again (a reload, or `build` of an unchanged demo file) is not skipped as
    unchanged, so its sectors get the EU's form."""
    built = built_with_archive(tmp_path_factory, "nace-stale")
    upload = tmp_path / "former.ttl"
    upload.write_text(complete(FORMER), encoding="utf-8")
    proc = cli_on(built, "submit", str(upload), "--partner", "marche-region")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = [SubmittedFile(upload.name, upload.read_bytes())]
    with open_store(str(built[0])) as s:
        assert unchanged(s, files, "marche-region")  # stored in the EU's form
        # The graph as a store of before 2026-12-07 holds it: the IRIs as written.
        former = {NACE + "29": NACE + "C29", NACE + "291": NACE + "C29.1"}
        triples = [
            ox.Triple(t.subject, t.predicate, ox.NamedNode(former[t.object.value]))
            if t.predicate.value == SECTOR
            else t
            for t in s.graph_triples(GRAPH)
        ]
        s.commit(replace={GRAPH: triples})
        assert not unchanged(s, files, "marche-region")
    assert sectors_stored(built[0]) == {NACE + "C29", NACE + "C29.1"}
    proc = cli_on(built, "submit", str(upload), "--partner", "marche-region")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sectors_stored(built[0]) == {NACE + "29", NACE + "291"}
