"""A submission with tens of thousands of violations goes through the real pipeline quickly,
with a report that lists the first DETAIL_LIMIT results and counts every one (issue 9: 200,000
violations took about 290 s, spent serialising an 86 MB report with rdflib)."""

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import RDFS, Graph, Literal, Namespace

from clusterpolisee.rdfio import read_rdf, refuse_named_graphs
from clusterpolisee.validation import DETAIL_LIMIT, shapes_graph, validate

from .conftest import run_cli

SH = Namespace("http://www.w3.org/ns/shacl#")
CPS = Namespace("https://w3id.org/clusterpolisee/shapes#")
UNTYPED = 50_000
PARTNER = "marche-region"
HEAD = """@prefix p: <https://w3id.org/clusterpolisee/id/partner/marche-region/cluster/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix cpo: <https://w3id.org/clusterpolisee/ontology#> .
"""
# A cluster that sorts after every untyped resource and breaks other rules: the listing must
# still show an example of each rule, although it is past the first DETAIL_LIMIT results.
LAST = 'p:zz a cpo:Cluster ; rdfs:label "zz"@en, "zz"@en-GB, "again"@en .\n'


def generated(untyped: int) -> bytes:
    body = "".join(f'p:m{i:06d} rdfs:label "m{i}"@en .\n' for i in range(untyped))
    return (HEAD + body + LAST).encode()


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("large") / "many-violations.ttl"
    path.write_bytes(generated(UNTYPED))
    return path


def rules(results: list[dict]) -> set[tuple]:
    return {(r["severity"], r["shape"], r["component"], r["message"]) for r in results}


def test_submit_of_50k_violations_is_refused_with_a_capped_report(big_file, tmp_path):
    store, archive = tmp_path / "store", tmp_path / "archive"
    built = run_cli("build", "--store", str(store), "--no-partners")
    assert built.returncode == 0, built.stderr
    proc = run_cli(
        "submit", str(big_file), "--partner", PARTNER, "--format", "json",
        "--store", str(store), "--archive", str(archive),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "REJECTED" in proc.stderr
    report = json.loads(proc.stdout)
    assert report["conforms"] is False
    untyped = next(t for t in report["totals"] if t["shape"] == str(CPS.UntypedResourceShape))
    assert untyped["count"] == UNTYPED  # exact, not capped
    total = report["results_total"]
    assert total == sum(t["count"] for t in report["totals"]) == report["violations"]
    assert total > UNTYPED and report["results_listed"] == len(report["results"])
    assert len(report["results"]) == DETAIL_LIMIT
    assert rules(report["results"]) == rules(report["totals"])  # an example of each rule
    assert any(r["focus"].endswith("/cluster/zz") for r in report["results"])
    # The archive keeps the original file and the same capped reports.
    (entry,) = (archive / PARTNER).iterdir()
    assert (entry / "original.ttl").read_bytes() == big_file.read_bytes()
    meta = json.loads((entry / "meta.json").read_text())
    assert meta["outcome"] == "rejected" and meta["message"] == f"{total:,} violation(s)"
    assert json.loads((entry / "report.json").read_text())["results_total"] == total
    assert (entry / "report.txt").stat().st_size < 1_000_000
    turtle = Graph().parse(entry / "report.ttl", format="turtle")
    (node,) = turtle.subjects(None, SH.ValidationReport)
    assert turtle.value(node, SH.conforms) == Literal(False)
    assert len(list(turtle.objects(node, SH.result))) == DETAIL_LIMIT
    assert turtle.value(node, CPS.resultCount).toPython() == total
    assert turtle.value(node, CPS.listedResultCount).toPython() == DETAIL_LIMIT
    # Every term of ours in the report is declared in the shapes file.
    terms = set(turtle.all_nodes()) | set(turtle.predicates())  # all_nodes(): not predicates
    ours = {t for t in terms if str(t).startswith(str(CPS))}
    assert {CPS.resultCount, CPS.listedResultCount} <= ours
    shapes = shapes_graph()
    for term in ours:  # the shapes named by results, and the two count properties
        assert (term, None, None) in shapes, term
    for term in (CPS.resultCount, CPS.listedResultCount):
        assert shapes.value(term, RDFS.label) is not None, term


def test_validate_text_states_the_totals(big_file):
    proc = run_cli("validate", str(big_file), "--partner", PARTNER)
    assert proc.returncode == 1, proc.stderr
    last = proc.stdout.splitlines()[-1]
    assert last.startswith("The submission does NOT conform: ")
    assert f"; the first {DETAIL_LIMIT:,} of " in last and " results are listed, " in last
    assert f"{UNTYPED:>9,}  Violation  cps:UntypedResourceShape: " in proc.stdout
    assert "fixing the listed ones (and what their rule says) usually fixes the rest" in (
        proc.stdout
    )
    assert proc.stdout.count("\n  Violation: ") == DETAIL_LIMIT


def test_limit_none_lists_everything_and_small_reports_are_whole():
    triples = refuse_named_graphs(read_rdf(generated(1_500), "x.ttl"))
    report = validate(triples, PARTNER)
    assert len(report.results) > 1_500 and len(report.listed) == DETAIL_LIMIT
    assert report.left_out == len(report.results) - DETAIL_LIMIT
    report = validate(triples, PARTNER)
    report.limit = None
    assert report.listed == report.results and report.left_out == 0
    assert "left out" not in report.to_text()
    turtle = ox.parse(report.to_turtle().encode(), format=ox.RdfFormat.TURTLE)
    results = [q for q in turtle if q.predicate.value == f"{SH}result"]
    assert len(results) == len(report.results)
    small = validate(triples[:10], PARTNER)
    assert small.listed == small.results and "left out" not in small.to_text()
