"""CSV templates derived from the shapes, and their conversion back to RDF."""

import csv
import io

import pyoxigraph as ox
import pytest
from rdflib import Namespace

from clusterpolisee.rdfio import InputError
from clusterpolisee.templates import classes, csv_to_triples, template_csv
from clusterpolisee.validation import shapes_graph, validate

from .conftest import built_store, listed_clusters, run_cli

SH = Namespace("http://www.w3.org/ns/shacl#")
CLASSES = [
    "Cluster", "ClusterOrganisation", "Barrier", "PolicyInstrument", "GoodPractice",
    "PolicyLearningMechanism", "PilotAction", "KnowledgeTransfer",
]  # fmt: skip


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_header_comes_from_sh_name_in_sh_order():
    header, hints = rows(template_csv("Barrier"))
    assert header == [
        "barrier id", "name", "description", "barrier category", "region",
        "thematic priority", "severity", "evidence",
    ]  # fmt: skip
    assert hints[0].startswith("#")
    assert hints[6] == (
        "How strongly the barrier holds back cluster development, from 1 (minor) to 5 "
        "(critical). Required."
    )
    assert "Allowed: brain-drain, complex-environmental-rules," in hints[3]


def test_every_property_of_every_class_has_a_column():
    g = shapes_graph()
    for name in CLASSES:
        header = rows(template_csv(name))[0]
        cls = classes()[name.lower()]
        shape = next(
            s for s in g.subjects(SH.targetClass, cls) if len(list(g.objects(s, SH.property)))
        )
        names = {str(g.value(p, SH.name)) for p in g.objects(shape, SH.property)}
        assert set(header[1:]) == names - {"responsible partner"}, name


def test_class_names_by_label_and_local_name():
    assert template_csv("policy instrument") == template_csv("PolicyInstrument")
    with pytest.raises(InputError) as info:
        template_csv("Region")
    assert str(info.value).startswith("unknown class 'Region'; choose one of Barrier, Business")


FILLED = b"""barrier id,name,barrier category,region,thematic priority,severity,evidence
# hints are ignored
bank-finance,Banks ask for collateral,difficult-bank-finance,ITI3,financing,4,Survey 2013
skills,Skills mismatch in footwear,skills-mismatch,ITI3,skills,3,
"""


def test_filled_template_round_trip_validates():
    triples = csv_to_triples(FILLED, "Barrier", "marche-region")
    assert len(triples) == 2 * 8 - 1
    subjects = sorted({t.subject.value for t in triples})
    assert subjects == [
        "https://w3id.org/clusterpolisee/id/partner/marche-region/barrier/bank-finance",
        "https://w3id.org/clusterpolisee/id/partner/marche-region/barrier/skills",
    ]
    report = validate(triples, "marche-region")
    assert report.conforms, report.to_text()
    assert report.results == []


def test_class_is_read_from_the_header_in_the_two_argument_form():
    assert csv_to_triples(FILLED, "marche-region") == csv_to_triples(
        FILLED, "Barrier", "marche-region"
    )


def test_semicolon_separated_and_several_values():
    data = (
        b"policy instrument id;name;instrument type;region;thematic priority;"
        b"barrier categories addressed;budget;budget currency;start year;funding source;"
        b"target group;administering organisation\n"
        b"vouchers;Vouchers;innovation-vouchers;ITI3;innovation | skills;low-business-rd;"
        b"1000.50;EUR;2010;erdf|regional-budget;smes;marche-region\n"
    )
    triples = csv_to_triples(data, "PolicyInstrument", "marche-region")
    themes = sorted(t.object.value for t in triples if t.predicate.value.endswith("#theme"))
    assert themes == [
        "https://w3id.org/clusterpolisee/id/theme/innovation",
        "https://w3id.org/clusterpolisee/id/theme/skills",
    ]
    assert validate(triples, "marche-region").conforms


def test_names_are_english_unless_a_cell_gives_its_language():
    data = (
        b"cluster id,name,region,thematic priority,sector,life-cycle stage,number of members\n"
        b"ict,Marche ICT cluster|Distretto ICT delle Marche@it|Klaster@sr-Latn,ITI3,innovation,"
        b"http://data.europa.eu/ux2/nace2/62,growth,40\n"
    )
    triples = csv_to_triples(data, "Cluster", "marche-region")
    names = {t.object for t in triples if t.predicate.value.endswith("#label")}
    assert names == {
        ox.Literal("Marche ICT cluster", language="en"),
        ox.Literal("Distretto ICT delle Marche", language="it"),
        ox.Literal("Klaster", language="sr-latn"),
    }
    assert validate(triples, "marche-region").conforms


@pytest.mark.parametrize("sep", [b",", b";"])
def test_quotes_inside_a_quoted_cell_are_read_as_spreadsheets_write_them(sep):
    # A quoted cell with doubled quotes inside (RFC 4180) kept them doubled: the dialect
    # guessed from the header had doublequote off.
    header = sep.join(
        [b"cluster id", b"name", b"region", b"thematic priority", b"sector"]
        + [b"life-cycle stage", b"number of members"]
    )
    row = sep.join(
        [b"wood", b'"Suceava wood cluster ""Bucovina"" ' + sep + b' <i>p\xc4\x83dure</i>"']
        + [b"ITI3", b"innovation", b"C16", b"growth", b"40"]
    )
    triples = csv_to_triples(header + b"\n" + row + b"\n", "Cluster", "marche-region")
    names = {t.object for t in triples if t.predicate.value.endswith("#label")}
    expected = 'Suceava wood cluster "Bucovina" ' + sep.decode() + " <i>p\u0103dure</i>"
    assert names == {ox.Literal(expected, language="en")}


def test_a_sector_may_be_given_by_its_code():
    """The sector's sh:pattern fixes its namespace, and a NACE code as the regulation writes it
    ("29", "29.1", "C"), or as our former contract did ("C29"), is read as the EU's address
    (.../nace2/29, .../nace2/291, .../nace2/C)."""
    header = b"cluster id,name,region,thematic priority,sector,life-cycle stage,number of members\n"
    row = b"agri,Agrifood,AL02,innovation,%s,growth,12\n"
    triples = csv_to_triples(header + row % b"29|C10|29.1|C|J62.01|2910", "Cluster", "aida")
    sectors = sorted(t.object.value for t in triples if t.predicate.value.endswith("#sector"))
    assert sectors == [
        "http://data.europa.eu/ux2/nace2/10",
        "http://data.europa.eu/ux2/nace2/29",
        "http://data.europa.eu/ux2/nace2/291",
        "http://data.europa.eu/ux2/nace2/2910",
        "http://data.europa.eu/ux2/nace2/6201",
        "http://data.europa.eu/ux2/nace2/C",
    ]
    # A code that does not fit (no section Z; a letter not the division's section; no
    # division 34) is told what a code is, from the shape's own message.
    for code in (b"Z99", b"J29", b"34"):
        with pytest.raises(InputError) as info:
            csv_to_triples(header + row % code, "Cluster", "aida")
        assert str(info.value).splitlines()[1] == (
            f"row 2, column 'sector': {code.decode()!r} is no code of "
            "http://data.europa.eu/ux2/nace2/{code} and no full address. The sector must be a "
            "NACE Rev.2 address as the EU's vocabulary writes it, "
            "http://data.europa.eu/ux2/nace2/{code}: a section letter, or a division's two "
            "digits alone (Regulation (EC) No 1893/2006, Annex I: 10 to 33 for manufacturing), "
            "and for a group or class its code without the dot (291 for 29.1, 2910 for 29.10), "
            "e.g. http://data.europa.eu/ux2/nace2/C or http://data.europa.eu/ux2/nace2/29."
        )
    hint = dict(zip(*rows(template_csv("Cluster")), strict=True))["sector"]
    assert hint.endswith(
        "A code alone, as the regulation writes it (C, 29, 29.1, 29.10, or C29 as before), "
        "stands for its address http://data.europa.eu/ux2/nace2/{code} "
        "(29.1: http://data.europa.eu/ux2/nace2/291)."
    )


def test_a_cluster_from_a_spreadsheet_is_in_the_listings(tmp_path_factory):
    """An untagged name was accepted, and then left out by every question that shows English
    names (the clusters of its region listed nothing)."""
    store = built_store(tmp_path_factory, "csv")
    sheet = store.parent / "clusters.csv"
    sheet.write_bytes(
        b"cluster id,name,region,thematic priority,sector,life-cycle stage,number of members\n"
        b"agri,Vlora agrifood cluster,AL02,innovation,http://data.europa.eu/ux2/nace2/10,"
        b"growth,12\n"
    )
    names = listed_clusters(store, sheet, "aida", "AL02")
    assert names == [ox.Literal("Vlora agrifood cluster", language="en")]


def test_errors_are_reported_by_row_and_column():
    data = (
        b"barrier id,name,barrier category,region,severity,colour\n"
        b"Bad Slug,x,difficult-bank-finance,ITI3,4,red\n"
        b"ok,x,no-such-category,XX99,high,red\n"
        b"ok,x,difficult-bank-finance,ITI3,4,red\n"
    )
    with pytest.raises(InputError) as info:
        csv_to_triples(data, "Barrier", "marche-region")
    assert str(info.value).splitlines() == [
        "6 problem(s) in the CSV file:",
        "row 1, column 6: 'colour' is not a column of the template",
        "row 2, column 'barrier id': 'Bad Slug' must be lower-case letters, digits and hyphens",
        "row 3, column 'barrier category': 'no-such-category' is not a known barrier category; "
        "allowed: brain-drain, complex-environmental-rules, difficult-bank-finance, "
        "few-international-contacts, fragmented-governance, lack-of-equity-capital, "
        "language-and-cultural-barriers, limited-entrepreneurship, "
        "limited-foreign-market-knowledge, limited-green-technology-access, "
        "low-absorptive-capacity, low-business-rd, low-critical-mass, low-eco-awareness, "
        "missing-circular-value-chains, no-funding-for-transnational-cooperation, "
        "skills-mismatch, unstable-cluster-funding, weak-cofinancing-capacity, "
        "weak-evidence-base, weak-ip-management, weak-s3-alignment, "
        "weak-science-industry-links, weak-vocational-training",
        "row 3, column 'region': 'XX99' is not a known region",
        "row 3, column 'severity': 'high' is not a valid integer value",
        "row 4, column 'barrier id': 'ok' appears twice",
    ]


def test_many_errors_are_listed_up_to_fifty():
    rows = b"".join(b"Bad Slug %d,x,difficult-bank-finance,ITI3,4\n" % i for i in range(60))
    data = b"barrier id,name,barrier category,region,severity\n" + rows
    with pytest.raises(InputError) as info:
        csv_to_triples(data, "Barrier", "marche-region")
    lines = str(info.value).splitlines()
    assert lines[0] == "60 problem(s) in the CSV file:" and len(lines) == 52
    assert lines[1].startswith("row 2, column 'barrier id': 'Bad Slug 0'")
    assert lines[-1] == "... and 10 more"


def test_bad_csv_files():
    with pytest.raises(InputError, match="the CSV file is empty"):
        csv_to_triples(b"", "Barrier", "marche-region")
    with pytest.raises(InputError, match="first column must be the id column"):
        csv_to_triples(b"name,region\nx,ITI3\n", "marche-region")
    with pytest.raises(InputError, match="needs a valid partner id"):
        csv_to_triples(FILLED, "Barrier", "Not A Partner")
    with pytest.raises(InputError, match="UTF-16"):
        csv_to_triples(FILLED.decode().encode("utf-16"), "Barrier", "marche-region")


def test_cli_template_and_validate_csv(tmp_path):
    out = tmp_path / "barrier.csv"
    proc = run_cli("template", "Barrier", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().splitlines()[0].startswith("barrier id,name,description,")
    assert run_cli("template", "Nonsense").returncode == 2
    filled = tmp_path / "filled.csv"
    filled.write_bytes(FILLED)
    ok = run_cli("validate", str(filled), "--partner", "marche-region")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    no_partner = run_cli("validate", str(filled))
    assert no_partner.returncode == 2
    assert "a CSV file needs --partner" in no_partner.stderr
