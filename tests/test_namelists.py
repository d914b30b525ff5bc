"""The name lists the reasoning step writes agree with naming the concepts the slow way.

The instruments question reads an instrument's types, themes, barrier categories, funding
sources and target groups from one literal each (reasoning/namelists.py), so a stale or wrong
list is a wrong answer. Each test compares with a GROUP_CONCAT over the data graphs.
"""

import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee.namespaces import CPO, graph_iri
from clusterpolisee.reasoning.materialise import INFERRED, materialise
from clusterpolisee.reasoning.namelists import joined, name_lists
from clusterpolisee.store.oxigraph import OxigraphStore

from .conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
LISTS = {
    "instrumentTypeNames": "instrumentType",
    "themeNames": "theme",
    "barrierCategoryNames": "addressesBarrierCategory",
    "fundingSourceNames": "fundingSource",
    "targetGroupNames": "targetGroup",
}
INSTRUMENT = "https://w3id.org/clusterpolisee/id/partner/marche-region/instrument/test-instrument"

#: The English names of each instrument's concepts under one property, from the data graphs.
DIRECT = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?s (GROUP_CONCAT(DISTINCT ?name; separator="|") AS ?names) WHERE {
  GRAPH ?g { ?s ?listed ?c } FILTER(?g != ?inferred)
  ?s a <%sPolicyInstrument> . ?c skos:prefLabel ?name . FILTER(LANG(?name) = "en")
} GROUP BY ?s"""


def direct(store: OxigraphStore, listed: str) -> dict[str, set[str]]:
    rows = store.select(
        DIRECT % CPO,
        {"listed": ox.NamedNode(CPO + listed), "inferred": ox.NamedNode(INFERRED)},
    )
    return {r["s"].value: set(r["names"].value.split("|")) for r in rows}


def written(store: OxigraphStore, list_prop: str) -> dict[str, ox.Literal]:
    rows = store.select(
        "SELECT ?s ?o WHERE { GRAPH ?g { ?s ?p ?o } }",
        {"p": ox.NamedNode(CPO + list_prop), "g": ox.NamedNode(INFERRED)},
    )
    out = {r["s"].value: r["o"] for r in rows}
    assert len(out) == len(rows), f"an instrument has two {list_prop}"
    return out


def assert_lists_agree(store: OxigraphStore) -> dict[str, int]:
    """Every list of every instrument, against the slow way; the number of lists of each."""
    sizes = {}
    for list_prop, listed in LISTS.items():
        expected, actual = direct(store, listed), written(store, list_prop)
        assert actual.keys() == expected.keys(), list_prop
        for s, literal in actual.items():
            assert literal.language == "en", (list_prop, s)
            names = literal.value.split("; ")
            assert set(names) == expected[s], (list_prop, s)
            assert names == sorted(names, key=lambda n: (n.casefold(), n)), (list_prop, s)
        sizes[list_prop] = len(actual)
    return sizes


def test_demo_lists_agree_with_naming(demo_store):
    store = OxigraphStore(demo_store, read_only=True)
    sizes = assert_lists_agree(store)
    # The demo's 113 instruments: each has a type, a theme and a funding source.
    assert sizes["instrumentTypeNames"] == sizes["themeNames"] == 113
    assert sizes["fundingSourceNames"] == 113
    assert sizes["targetGroupNames"] > 50 and sizes["barrierCategoryNames"] > 50
    several = [o.value for o in written(store, "fundingSourceNames").values() if "; " in o.value]
    assert len(several) > 10  # lists of more than one name, not only single names


@pytest.fixture()
def writable(demo_store, tmp_path) -> Path:
    path = tmp_path / "store"
    shutil.copytree(demo_store, path)
    return path


def test_lists_follow_an_accepted_submission(writable):
    """A partner's new submission replaces its instruments: their lists come and go with them."""
    store = OxigraphStore(writable)
    before = written(store, "themeNames")
    store.close()
    marche = [s for s in before if "/partner/marche-region/" in s]
    assert marche and INSTRUMENT not in before
    submission = ROOT / "tests/submissions/valid/complete.ttl"
    proc = run_cli(
        "submit", "--store", str(writable), "--partner", "marche-region", str(submission)
    )
    assert proc.returncode == 0, proc.stderr
    store = OxigraphStore(writable)
    assert_lists_agree(store)
    after = {p: written(store, p) for p in LISTS}
    assert not set(marche) & after["themeNames"].keys()  # withdrawn with their instruments
    assert {p: after[p][INSTRUMENT].value for p in LISTS} == {
        "instrumentTypeNames": "Loans and credits for innovation in firms",
        "themeNames": "Financial framework improvement (cluster financing)",
        "barrierCategoryNames": "Difficult access to bank finance",
        "fundingSourceNames": "European Regional Development Fund",
        "targetGroupNames": "Small and medium-sized enterprises",
    }
    # Nothing changed: nothing written, the same data version.
    version, inferred = store.data_version(), set(store.graph_triples(INFERRED))
    assert materialise(store) == len(inferred) and store.data_version() == version
    store.close()


def test_a_list_declared_in_the_ontology_is_filled_without_code(writable):
    """A new property with cpo:namesOf and a domain in graph/ontology gets its lists."""
    store = OxigraphStore(writable)
    ontology = graph_iri("ontology")
    cluster_themes = ox.NamedNode(CPO + "clusterThemeNames")
    declared = [
        ox.Triple(cluster_themes, ox.NamedNode(CPO + "namesOf"), ox.NamedNode(CPO + "theme")),
        ox.Triple(
            cluster_themes,
            ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#domain"),
            ox.NamedNode(CPO + "Cluster"),
        ),
    ]
    store.update_graph(ontology, [*store.graph_triples(ontology), *declared])
    materialise(store)
    rows = store.select(
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?c ?p ?o } }",
        {"p": cluster_themes, "g": ox.NamedNode(INFERRED)},
    )
    assert int(rows[0]["n"].value) == 90  # the demo's 90 clusters, one or more themes each
    store.close()


def test_concepts_without_an_english_name_are_left_out():
    """Names are the English preferred labels; a concept without one is not listed, and a
    resource none of whose concepts has one gets no literal (its column stays empty)."""
    labels = {
        ("<urn:a>", '"Zeta"@en'),
        ("<urn:b>", '"alpha"@en'),
        ("<urn:b>", '"Alpha"@de'),
        ("<urn:c>", '"nur Deutsch"@de'),
        ("<urn:d>", '"Beta"@en'),
    }
    facts = {
        "http://www.w3.org/2004/02/skos/core#prefLabel": labels,
        "urn:p": {
            ("<urn:x>", "<urn:a>"),
            ("<urn:x>", "<urn:b>"),
            ("<urn:x>", "<urn:c>"),
            ("<urn:y>", "<urn:c>"),
            ("<urn:z>", "<urn:d>"),
        },
    }
    members = {"<urn:C>": {"<urn:x>", "<urn:y>"}}  # urn:z is not of the domain class
    triples = list(name_lists([("urn:list", "urn:p", "urn:C")], facts.__getitem__, members))
    assert triples == [("<urn:x>", "<urn:list>", '"alpha; Zeta"@en')]
    assert joined(["b", "B", "a"]) == '"a; B; b"@en'


def test_a_partner_cannot_submit_a_list(tmp_path):
    """The lists are computed, never submitted: a partner's own list would sit beside the
    computed one and show twice. The instrument's closed shape refuses it."""
    text = (ROOT / "tests/submissions/valid/complete.ttl").read_text(encoding="utf-8")
    old = "    cpo:targetGroup tgroup:smes .\n"
    assert text.count(old) == 1
    path = tmp_path / "with-list.ttl"
    path.write_text(
        text.replace(old, '    cpo:targetGroup tgroup:smes ;\n    cpo:themeNames "Made up"@en .\n'),
        encoding="utf-8",
    )
    proc = run_cli("validate", "--partner", "marche-region", str(path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "cpo:themeNames (not a property of a policy instrument)" in proc.stdout
    assert "1 violation(s)" in proc.stdout


def test_region_profile_leaves_out_every_list():
    """The region profile names the lists it leaves out; the ontology is where lists are
    declared, so a list added there and not here would join every profile unnoticed."""
    from clusterpolisee import paths

    declared = {
        t.subject.value
        for t in ox.parse(path=str(paths.ONTOLOGY_FILE))
        if t.predicate.value == CPO + "namesOf"
    }
    assert len(declared) == len(LISTS)
    text = (ROOT / "queries/region-profile.rq").read_text(encoding="utf-8")
    start = text.index("FILTER(?p NOT IN (")
    left_out = {CPO + n for n in re.findall(r"cpo:(\w+)", text[start : text.index("))", start)])}
    assert left_out == declared | {CPO + "searchKey"}
