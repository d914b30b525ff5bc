"""SHACL validation: the invalid corpus, report formats, exit codes, both engines agree."""

import json
import re
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Namespace

from clusterpolisee import paths
from clusterpolisee.cli_validation import read_files
from clusterpolisee.rdfio import InputError, read_rdf, refuse_named_graphs
from clusterpolisee.validation import shapes_files, shapes_graph, shapes_version, validate

from .conftest import run_cli

HERE = Path(__file__).parent / "submissions"
VALID = HERE / "valid" / "complete.ttl"
INVALID = HERE / "invalid"
MANIFEST = json.loads((INVALID / "manifest.json").read_text())
SH = Namespace("http://www.w3.org/ns/shacl#")
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
ORG = "https://w3id.org/clusterpolisee/id/partner/marche-region/organisation/"


def triples_of(path: Path) -> list:
    return refuse_named_graphs(read_rdf(path.read_bytes(), path.name))


def outcome(case: dict) -> tuple[int, str, object]:
    """(exit code, text, report) as the CLI would decide them."""
    try:
        triples = read_files((INVALID / case["file"],), None, case["partner"])
    except InputError as exc:
        return 2, str(exc), None
    report = validate(triples, case["partner"])
    return (0 if report.conforms else 1), report.to_text(), report


@pytest.fixture(scope="module")
def outcomes() -> dict[str, tuple]:
    return {case["file"]: outcome(case) for case in MANIFEST}


def test_valid_example_conforms_with_no_finding():
    report = validate(triples_of(VALID), "marche-region")
    assert report.conforms
    assert report.results == []
    assert report.to_text().endswith("The submission conforms: no violation, no warning.\n")


def test_corpus_is_complete():
    files = {p.name for p in INVALID.iterdir()} - {"manifest.json"}
    assert files == {case["file"] for case in MANIFEST}
    assert len(MANIFEST) == 107


@pytest.mark.parametrize("case", MANIFEST, ids=[c["file"] for c in MANIFEST])
def test_invalid_submission(case, outcomes):
    code, text, _report = outcomes[case["file"]]
    assert code == case["exit"], text
    assert case["expect"] in text


def test_every_constraint_of_the_shapes_is_exercised(outcomes):
    """Each property shape and each SPARQL constraint fires in at least one corpus file."""
    g = shapes_graph()
    wanted = {str(ps) for ps in g.objects(None, SH.property)}
    wanted |= {str(g.value(c, SH.message)) for c in g.objects(None, SH.sparql)}
    wanted |= {str(g.value(s, SH.message)) for s in g.subjects(SH.closed, None)}
    wanted |= {str(g.value(s, SH.message)) for s in g.subjects(SH.description, None)}
    seen: set[str] = set()
    for _code, _text, report in outcomes.values():
        for r in report.results if report else []:
            seen |= {r.shape, r.message}
    # Messages of the Python-run rules carry the partner id in place of {partner}.
    seen |= {re.sub(r"partner/marche-region/", "partner/{partner}/", m) for m in seen if m}
    # SPARQL messages have their {?var} filled in by each result.
    filled = [w for w in wanted if any(re.fullmatch(_placeholders(w), m or "") for m in seen)]
    assert sorted(wanted - seen - set(filled)) == []


def _placeholders(message: str) -> str:
    """A pattern matching ``message`` with any text in place of its {?var} and {$var}."""
    return ".+".join(map(re.escape, re.split(r"\{[?$]\w+\}", message)))


def test_ownership_names_the_partner():
    report = validate(triples_of(INVALID / "own-describes-region.ttl"), "marche-region")
    found = [r for r in report.results if r.focus.endswith("/region/ITI3")]
    assert len(found) == 1
    assert "id/partner/marche-region/..." in found[0].message
    assert found[0].shape == "https://w3id.org/clusterpolisee/shapes#OwnershipShape"


def test_whole_file_of_another_partner_is_refused():
    report = validate(triples_of(VALID), "veneto-region")
    assert not report.conforms
    assert report.count("Violation") == 8  # one per resource, not one per statement


def test_text_report_groups_by_resource():
    report = validate(triples_of(INVALID / "barrier-severity-range.ttl"), "marche-region")
    text = report.to_text()
    focus = "https://w3id.org/clusterpolisee/id/partner/marche-region/barrier/test-barrier"
    assert text.splitlines()[:6] == [
        f'{focus}  "Test barrier"',
        "  Violation: The severity must be a whole number from 1 (minor) to 5 (critical).",
        "    property: severity (cpo:severity)",
        '    value:    "7"^^<http://www.w3.org/2001/XMLSchema#integer>',
        "    shape:    cps:Barrier-severity-2",
        "",
    ]
    assert text.endswith("does NOT conform: 1 violation(s), 0 warning(s) in 1 resource(s).\n")


BARRIER = "https://w3id.org/clusterpolisee/id/partner/marche-region/barrier/test-barrier"
CLUSTER = "https://w3id.org/clusterpolisee/id/partner/marche-region/cluster/test-cluster"
SEVERITY = "The severity must be a whole number from 1 (minor) to 5 (critical)."
MEMBERS = (
    "The number of members must be a whole number of at least 1 (typed xsd:nonNegativeInteger)."
)
FOUNDED = (
    "The founding year must be a year written as a whole number between 1900 and 2100, e.g. 2012."
)


def valid_with(*replacements: tuple[str, str]) -> list:
    """The triples of the valid example with some of its text replaced."""
    text = VALID.read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return refuse_named_graphs(read_rdf(text.encode(), "changed.ttl"))


def test_one_wrong_value_is_one_entry_and_counted_once():
    """ "high" fails sh:datatype, sh:minInclusive and sh:maxInclusive of one property shape,
    which share a message; an untyped "12" fails two. The text shows each once and counts
    entries; JSON and Turtle keep every SHACL result, each with its own component."""
    report = validate(
        valid_with(
            ("cpo:severity 4 ;", 'cpo:severity "high" ;'),
            ('"40"^^xsd:nonNegativeInteger', '"12"'),
        ),
        "marche-region",
    )
    text = report.to_text()
    assert text.splitlines()[:5] == [
        f'{BARRIER}  "Test barrier"',
        f"  Violation: {SEVERITY}",
        "    property: severity (cpo:severity)",
        '    value:    "high"',
        "    shape:    cps:Barrier-severity-2",
    ]
    assert text.count(SEVERITY) == 1 and text.count(MEMBERS) == 1
    assert text.endswith("does NOT conform: 2 violation(s), 0 warning(s) in 2 resource(s).\n")
    assert report.count("Violation") == len(report.entries) == 2
    data = json.loads(report.to_json())
    assert data["violations"] == data["results_total"] == data["results_listed"] == 5
    components = sorted(r["component"].rsplit("#")[-1] for r in data["results"])
    assert components == [
        "DatatypeConstraintComponent",  # "12": not xsd:nonNegativeInteger ...
        "DatatypeConstraintComponent",  # "high": not xsd:integer
        "MaxInclusiveConstraintComponent",
        "MinInclusiveConstraintComponent",
        "MinInclusiveConstraintComponent",
    ]
    turtle = Graph().parse(data=report.to_turtle(), format="turtle")
    assert len(list(turtle.objects(None, SH.result))) == 5


def test_a_long_report_counts_entries_in_its_note_and_totals():
    report = validate(
        valid_with(
            ("cpo:severity 4 ;", 'cpo:severity "high" ;'),
            ('"40"^^xsd:nonNegativeInteger', '"12"'),
        ),
        "marche-region",
    )
    report.limit = 1
    text = report.to_text()
    assert text.count("  Violation: ") == 1
    assert report.listed_note() == "the first 1 of 2 results are listed, 1 are left out"
    assert f"          1  Violation  cps:Barrier-severity-2: {SEVERITY}\n" in text
    assert f"          1  Violation  cps:Cluster-numberOfMembers-2: {MEMBERS}\n" in text
    assert text.endswith(
        "2 violation(s), 0 warning(s) in 2 resource(s); "
        "the first 1 of 2 results are listed, 1 are left out.\n"
    )
    data = json.loads(report.to_json())
    assert data["results_total"] == 5 and data["results_listed"] == 1
    assert sum(t["count"] for t in data["totals"]) == 5


def test_a_wrong_value_in_rdf_xml_is_one_entry():
    """The partner's case: a date as founding year, in RDF/XML (parsed from RDF/XML)."""
    quads = read_rdf(VALID.read_bytes(), "complete.ttl")
    founded = "https://w3id.org/clusterpolisee/ontology#foundingYear"
    date = ox.Literal("2011-03-01", datatype=ox.NamedNode(f"{XSD}date"))
    triples = [
        ox.Triple(q.subject, q.predicate, date if q.predicate.value == founded else q.object)
        for q in quads
    ]
    rdfxml = ox.serialize(triples, format=ox.RdfFormat.RDF_XML)
    report = validate(refuse_named_graphs(read_rdf(rdfxml, "cluster.rdf")), "marche-region")
    assert len(report.results) == 3 and len(report.entries) == 1
    text = report.to_text()
    assert text.splitlines()[:5] == [
        f'{CLUSTER}  "Test cluster"',
        f"  Violation: {FOUNDED}",
        "    property: founding year (cpo:foundingYear)",
        f'    value:    "2011-03-01"^^<{XSD}date>',
        "    shape:    cps:Cluster-foundingYear-2",
    ]
    assert text.endswith("does NOT conform: 1 violation(s), 0 warning(s) in 1 resource(s).\n")


def barrier_in(category: str, themes: str) -> list:
    """The valid example with its barrier in another category and themes."""
    old = "cpo:barrierCategory bcat:difficult-bank-finance ;\n    cpo:theme theme:financing ;"
    return valid_with((old, f"cpo:barrierCategory bcat:{category} ;\n    cpo:theme {themes} ;"))


def mismatch(given: str, category: str, expected: str) -> str:
    return (
        "The thematic priority of a barrier must include the theme of its barrier category: "
        f"you gave {given}; the category {category} belongs to {expected}."
    )


def test_theme_mismatch_names_the_theme_given_and_the_one_expected():
    """The SPARQL constraint returns the theme the partner gave as ?value, cpo:theme as
    ?path, and fills {?given}, {?category} and {?expected} of its message."""
    report = validate(barrier_in("brain-drain", "theme:innovation"), "marche-region")
    assert report.to_text().splitlines()[:5] == [
        f'{BARRIER}  "Test barrier"',
        f"  Violation: {mismatch('innovation', 'brain-drain', 'skills')}",
        "    property: thematic priority (cpo:theme)",
        "    value:    <https://w3id.org/clusterpolisee/id/theme/innovation>",
        "    shape:    cps:BarrierShape",
    ]
    (result,) = [r for r in report.results if r.focus == BARRIER]
    assert result.path == "https://w3id.org/clusterpolisee/ontology#theme"
    assert result.name == "thematic priority"
    # Each theme given is a result; one right theme among them is enough.
    two = validate(barrier_in("brain-drain", "theme:innovation , theme:financing"), "marche-region")
    assert sorted(r.message for r in two.results if r.focus == BARRIER) == [
        mismatch("financing", "brain-drain", "skills"),
        mismatch("innovation", "brain-drain", "skills"),
    ]
    right = barrier_in("brain-drain", "theme:innovation , theme:skills")
    assert validate(right, "marche-region").conforms


def test_an_unknown_property_is_named_as_not_a_property_of_its_kind():
    report = validate(triples_of(INVALID / "unknown-property.ttl"), "marche-region")
    text = report.to_text()
    assert "    property: cpo:sevrity (not a property of a barrier)\n" in text
    assert "    property: cpo:sevrity (not a property of a cluster)\n" in text
    org = validate(
        valid_with(("schema:url <https://example.org/association>", 'cpo:colour "red"')),
        "marche-region",
    ).to_text()
    assert "    property: cpo:colour (not a property of an organisation)\n" in org
    untyped = f'<{CLUSTER}> <http://www.w3.org/2000/01/rdf-schema#label> "x"@en .'
    report = validate(refuse_named_graphs(read_rdf(untyped.encode(), "u.ttl")), "marche-region")
    assert "    property: rdf:type\n    shape:    cps:UntypedResourceShape\n" in report.to_text()


def test_json_report_schema():
    report = validate(triples_of(INVALID / "instrument-type-broad.ttl"), "marche-region")
    data = json.loads(report.to_json())
    assert list(data) == [
        "conforms",
        "partner",
        "shapes_version",
        "violations",
        "warnings",
        "results_total",
        "results_listed",
        "totals",
        "results",
    ]
    assert data["conforms"] is True and data["warnings"] == 1 and data["violations"] == 0
    assert data["results_total"] == data["results_listed"] == 1
    (total,) = data["totals"]
    assert list(total) == ["count", "severity", "shape", "component", "message"]
    assert total["count"] == 1 and total["severity"] == "Warning"
    assert data["shapes_version"] == shapes_version() and len(shapes_version()) == 16
    (result,) = data["results"]
    assert list(result) == [
        "focus", "severity", "message", "path", "property", "value", "shape", "component",
        "detail",
    ]  # fmt: skip
    assert result["severity"] == "Warning"
    assert (
        result["value"]
        == "<https://w3id.org/clusterpolisee/id/instrument-type/direct-financial-support>"
    )
    assert result["component"] == "http://www.w3.org/ns/shacl#SPARQLConstraintComponent"


def test_turtle_report_is_a_standard_shacl_report():
    report = validate(triples_of(INVALID / "years-reversed.ttl"), "marche-region")
    g = Graph().parse(data=report.to_turtle(), format="turtle")
    (node,) = list(g.subjects(None, SH.ValidationReport))
    assert str(g.value(node, SH.conforms)) == "false"
    results = list(g.objects(node, SH.result))
    assert len(results) == 2
    assert {str(g.value(r, SH.sourceConstraintComponent)) for r in results} == {
        str(SH.LessThanOrEqualsConstraintComponent)
    }


def test_shapes_version_covers_only_submission_shapes():
    assert [p.name for p in shapes_files()] == ["clusterpolisee.shapes.ttl"]
    assert shapes_files()[0].parent == paths.SHAPES_DIR


AGREE = [
    "name-not-english.ttl", "partner-other-space.ttl", "bad-address.ttl", "unknown-property.ttl",
    "name-two-english.ttl", "name-two-untagged.ttl", "cluster-employees-fewer.ttl",
    "org-region-elsewhere.ttl", "barrier-theme-mismatch.ttl", "years-reversed.ttl",
    "transfer-date-bad.ttl",
    "practice-instrument-foreign.ttl", "mechanism-theme-wrong.ttl", "cluster-members-untyped.ttl",
    "transfer-same-region.ttl", "instrument-type-broad.ttl", "url-literal.ttl",
    "cluster-managed-region.ttl", "instrument-admin-wrong.ttl", "barrier-category-wrong.ttl",
    "cluster-region-unknown.ttl", "addresses-not-barrier.ttl",
]  # fmt: skip


def test_fast_engine_agrees_with_pyshacl():
    """pyshacl is the reference implementation; compare on a merged sample of the corpus (each
    file's resources renamed so they stay apart)."""
    triples = []
    for i, name in enumerate(AGREE):
        text = (INVALID / name).read_text()
        text = re.sub(r"([:/])(test|Test)([-_])", lambda m, i=i: f"{m[1]}t{i}{m[3]}", text)
        triples += refuse_named_graphs(read_rdf(text.encode(), name))
    fast = validate(triples, "marche-region", engine="fast")
    reference = validate(triples, "marche-region", engine="pyshacl")

    def key(r):
        return (r.focus, r.shape, r.path, r.message, r.severity)

    assert len(fast.results) == len(reference.results) > 30
    assert sorted(map(key, fast.results)) == sorted(map(key, reference.results))
    iri_values = [(key(r), r.value) for r in fast.results if r.value and r.value.startswith("<")]
    assert set(iri_values) <= {(key(r), r.value) for r in reference.results}


def test_sh_class_follows_types_and_subclasses_as_pyshacl_does():
    """sh:class is checked in Python (shaclfast._Classes): a value is accepted through a type
    in the submission, a type in the reference data, a subclass the submission itself
    declares, or a typed blank node; a literal or an untyped IRI is refused. Both engines must
    give the same sh:class results."""
    text = VALID.read_text().replace(
        "cpo:managedBy org:test-cluster-association ;",
        "cpo:managedBy org:test-cluster-association , org:local-body ,"
        ' [ a cpo:ClusterOrganisation ] , org:nobody , "just text" ;',
    )
    kind = "<https://w3id.org/clusterpolisee/id/partner/marche-region/kind/local-body>"
    text += f"\n{kind} rdfs:subClassOf cpo:ClusterOrganisation .\norg:local-body a {kind} .\n"
    triples = refuse_named_graphs(read_rdf(text.encode(), "class.ttl"))

    def class_results(engine: str) -> list[tuple]:
        report = validate(triples, "marche-region", engine=engine)
        found = [r for r in report.results if r.component == str(SH.ClassConstraintComponent)]
        return sorted((r.focus, r.path, r.value) for r in found)

    fast = class_results("fast")
    assert [(path.rsplit("#")[-1], value) for _, path, value in fast] == [
        ("managedBy", '"just text"'),
        ("managedBy", f"<{ORG}nobody>"),
    ]
    assert fast == class_results("pyshacl")


def test_sh_class_reads_the_focus_nodes_values_in_the_background_too():
    """As when sh:class was a query over background and submission together: a focus node's
    values of the path from the background count, and types reach a class through a
    subclass link the submission declares."""
    from rdflib import Graph as RdfGraph

    from clusterpolisee import shaclfast

    ex = "http://example.org/"
    shapes = RdfGraph().parse(
        data=f"""@prefix sh: <http://www.w3.org/ns/shacl#> .
        <{ex}S> a sh:NodeShape ; sh:targetClass <{ex}T> ;
            sh:property [ sh:path <{ex}p> ; sh:class <{ex}C> ] .""",
        format="turtle",
    )
    checks = shaclfast.compile_shapes(shapes, RdfGraph())
    background = tuple(
        ox.parse(
            f"<{ex}f> <{ex}p> <{ex}bad> , <{ex}good> . <{ex}good> a <{ex}C> .",
            format=ox.RdfFormat.TURTLE,
        )
    )
    submitted = list(
        ox.parse(
            f"""<{ex}f> a <{ex}T> ; <{ex}p> <{ex}good2> . <{ex}good2> a <{ex}Sub> .
            <{ex}Sub> <http://www.w3.org/2000/01/rdf-schema#subClassOf> <{ex}C> .""",
            format=ox.RdfFormat.TURTLE,
        )
    )
    findings = shaclfast.run(checks, background, [q.triple for q in submitted])
    assert [(f.focus.value, f.value.value) for f in findings] == [(f"{ex}f", f"{ex}bad")]


def test_a_literal_type_does_not_type_a_resource():
    """rdf:type with a literal (even one spelling a class IRI) is no type: the resource is
    reported untyped, and nothing in the file is a resource to import."""
    cluster = "https://w3id.org/clusterpolisee/id/partner/marche-region/cluster/x"
    text = f'<{cluster}> a "https://w3id.org/clusterpolisee/ontology#Cluster" .'
    report = validate(refuse_named_graphs(read_rdf(text.encode(), "t.ttl")), "marche-region")
    assert sorted(r.shape.rsplit("#")[-1] for r in report.results) == [
        "NothingToImportShape",
        "UntypedResourceShape",
    ]


def test_demo_partner_data_conforms():
    for path in sorted(paths.PARTNERS_DIR.glob("*.ttl")):
        report = validate(triples_of(path), path.stem)
        assert report.conforms, report.to_text()


# -- command line --------------------------------------------------------------------------------


def test_cli_exit_codes_and_formats(tmp_path):
    ok = run_cli("validate", str(VALID), "--partner", "marche-region")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().endswith("The submission conforms: no violation, no warning.")
    bad = run_cli("validate", str(INVALID / "barrier-severity-range.ttl"), "--format", "json")
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["violations"] == 1
    ttl = run_cli("validate", str(INVALID / "barrier-severity-range.ttl"), "--format", "turtle")
    assert ttl.returncode == 1
    assert "sh:ValidationReport" in ttl.stdout
    unreadable = run_cli("validate", str(INVALID / "unsafe-entities.rdf"))
    assert unreadable.returncode == 2
    assert unreadable.stdout == ""
    assert "<!DOCTYPE> or <!ENTITY>" in unreadable.stderr
    assert "Traceback" not in unreadable.stderr
    missing = run_cli("validate", str(tmp_path / "none.ttl"))
    assert missing.returncode == 2
    assert "cannot read the file: No such file or directory" in missing.stderr


def test_cli_input_format_and_several_files(tmp_path):
    copy = tmp_path / "data.txt"
    copy.write_bytes(VALID.read_bytes())
    proc = run_cli("validate", str(copy), "--input-format", "turtle", "--partner", "marche-region")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bad = run_cli("validate", str(copy), "--input-format", "yaml")
    assert bad.returncode == 2
    assert "unknown input format 'yaml'" in bad.stderr
    # Files are validated together: the practice's instrument may be in another file.
    text = VALID.read_text()
    head, _, body = text.partition("\norg:")
    blocks = ("org:" + body).split("\n\n")
    first, second = tmp_path / "a.ttl", tmp_path / "b.ttl"
    first.write_text(head + "\n" + "\n\n".join(blocks[:4]))
    second.write_text(head + "\n" + "\n\n".join(blocks[4:]))
    both = run_cli("validate", str(first), str(second), "--partner", "marche-region")
    assert both.returncode == 0, both.stdout
    alone = run_cli("validate", str(second), "--partner", "marche-region")
    assert alone.returncode == 1
    assert "must be based on a policy instrument described in your submission" in alone.stdout


def test_validate_survives_odd_terms_given_through_the_api():
    """read_rdf refuses triple terms, but validate() must not crash on them either."""
    cluster = ox.NamedNode("https://w3id.org/clusterpolisee/id/partner/marche-region/cluster/x")
    inner = ox.Triple(cluster, cluster, cluster)
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    triples = [
        ox.Triple(
            cluster, rdf_type, ox.NamedNode("https://w3id.org/clusterpolisee/ontology#Cluster")
        ),
        ox.Triple(cluster, label, inner),
        ox.Triple(cluster, rdf_type, inner),
    ]
    report = validate(triples, "marche-region")
    assert not report.conforms
    assert "must be text, at most 500 characters" in report.to_text()


def test_every_property_shape_is_documented():
    g = shapes_graph()
    shapes = list(g.subjects(None, SH.PropertyShape))
    assert len(shapes) == 135
    for ps in shapes:
        for prop in (SH.path, SH.name, SH.description, SH.order, SH.group, SH.message):
            assert g.value(ps, prop) is not None, (ps, prop)
        assert g.value(ps, SH.message).language == "en"


def _check_on_one_resource(query: str):
    """A SPARQL check with ``query`` for class urn:x:C, and one resource of that class."""
    from clusterpolisee import shaclfast

    check = shaclfast.Check(
        query=query,
        shape="urn:x:shape",
        message="never reported",
        severity="Violation",
        path=None,
        component=str(SH.SPARQLConstraintComponent),
        classes=("urn:x:C",),
    )
    typed = [
        ox.Triple(ox.NamedNode("urn:x:a"), ox.NamedNode(str(RDF_TYPE)), ox.NamedNode("urn:x:C"))
    ]
    return check, typed


def test_a_failing_sparql_check_is_raised_by_the_caller_thread():
    """The SPARQL checks run in a thread (shaclfast.start); an engine error there must reach
    the caller, not vanish with the thread and leave a report that says "conforms"."""
    from clusterpolisee import shaclfast

    broken, typed = _check_on_one_resource("SELECT ?this WHERE { this is not SPARQL }")
    with pytest.raises(SyntaxError):
        shaclfast.run([broken], (), typed)
    # Without a typed resource there is no focus node, so the queries do not run at all.
    assert shaclfast.run([broken], (), []) == []


def test_an_error_while_reading_an_answer_frees_it_on_its_own_thread():
    """An error part way through a check's answer (here SERVICE to a port Oxigraph refuses,
    raised while the rows are read) reaches the caller with its traceback. That traceback
    must not keep the answer: pyo3 refuses to free an Oxigraph answer on another thread than
    the one that made it, and leaks it with a warning instead."""
    import gc
    import sys

    from clusterpolisee import shaclfast

    failing, typed = _check_on_one_resource(
        "SELECT ?this WHERE { ?this a ?c SERVICE <http://127.0.0.1:1/> { ?this ?p ?o } }"
    )
    unraisable: list[str] = []
    hook, sys.unraisablehook = sys.unraisablehook, lambda u: unraisable.append(repr(u.exc_value))
    try:
        with pytest.raises(OSError) as raised:
            shaclfast.run([failing], (), typed)
        del raised  # the exception and its traceback go here, on this thread
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert unraisable == []


def test_a_failure_beside_the_sparql_thread_waits_for_it():
    """If the caller's half fails (ownership rules, labels), the SPARQL thread is joined before
    the error goes up: no thread keeps working on a submission nobody waits for."""
    import threading

    from clusterpolisee import shaclfast
    from clusterpolisee.validation import _compiled

    checks, background = _compiled()
    triples = triples_of(VALID)
    before = threading.active_count()

    def fails(_index):
        raise RuntimeError("ownership failed")

    with pytest.raises(RuntimeError, match="ownership failed"):
        shaclfast.run_beside(checks, background, triples, fails)
    assert threading.active_count() == before
    findings, extra = shaclfast.run_beside(checks, background, triples, lambda _index: "labels")
    assert findings == [] and extra == "labels"


def test_messages_use_an_before_a_vowel():
    """Messages generated per class read "a organisation" (six of them)."""
    import re

    from clusterpolisee import paths

    messages = [
        m
        for path in paths.SHAPES_DIR.glob("*.ttl")
        for m in re.findall(r'sh:message "([^"]*)"', path.read_text(encoding="utf-8"))
    ]
    assert len(messages) > 50
    assert [m for m in messages if re.search(r"\b[Aa] [aeiou]", m)] == []


@pytest.mark.parametrize(
    ("sectors", "refused"),
    [
        ("nace:29 , nace:291", []),
        ("nace:86 , nace:99 , nace:6201 , nace:A", []),
        # No such division: NACE Rev.2 has no 04, 34, 40 (Regulation (EC) No 1893/2006).
        ("nace:04 , nace:34 , nace:40 , nace:86", ["04", "34", "40"]),
        # The EU's IRIs have no dot (the code 29.1 is .../nace2/291) and no letter before a
        # division; the former C29 is read as 29 on intake, a letter of another section is not.
        (
            "nace:29.1 , nace:29.10 , nace:C29.1 , nace:J29 , nace:Q10",
            ["29.1", "29.10", "J29", "Q10"],
        ),
    ],
)
def test_a_sector_division_must_belong_to_its_section(sectors: str, refused: list[str]):
    text = VALID.read_text(encoding="utf-8").replace("nace:29 , nace:291", sectors)
    report = validate(refuse_named_graphs(read_rdf(text.encode(), "x.ttl")), "marche-region")
    wrong = sorted(
        r.value.rsplit("/", 1)[-1].rstrip(">")
        for r in report.results
        if r.message.startswith("The sector")
    )
    assert wrong == refused
    assert report.conforms == (not refused)


def test_two_texts_in_one_language_are_named_with_their_language():
    """sh:uniqueLang results carry no value (SHACL gives none): the report said only "one per
    language" beside the resource's English name, which a partner read as the faulty text.
    Each repeated language is named with its texts, and two scripts get the tags that tell
    them apart; the rule is still counted as one in the totals."""
    report = validate(
        valid_with(
            (
                '"Test cluster"@en , "Cluster di prova"@it ;',
                '"Test cluster"@en , "Тест кластер"@sr , "Test klaster"@sr , '
                '"Cluster di prova"@it , "Cluster prova"@it ;',
            )
        ),
        "marche-region",
    )
    details = sorted(r.detail for r in report.entries if r.detail)
    assert details == [
        "@it is given 2 texts: “Cluster di prova”, “Cluster prova”; keep one",
        "@sr is given 2 texts: “Test klaster”, “Тест кластер”; keep one, or tell the "
        "scripts apart with @sr-Cyrl and @sr-Latn",
    ]
    assert "    detail:   @sr is given 2 texts" in report.to_text()
    data = json.loads(report.to_json())
    assert sorted(r["detail"] for r in data["results"] if r["detail"]) == details
    assert [n for n, (_, _, message) in report.totals() if "one per language" in message] == [2]
