"""The store interface, run against both backends: the embedded Oxigraph store on disk and a
live Virtuoso on loopback."""

import io

import pyoxigraph as ox
import pytest

from clusterpolisee.build import build
from clusterpolisee.namespaces import graph_iri
from clusterpolisee.reasoning.materialise import INFERRED, materialise
from clusterpolisee.store import StoreError

EX = "https://example.org/"
G1, G2 = graph_iri("test/one"), graph_iri("test/two")
CPO = "https://w3id.org/clusterpolisee/ontology#"
REGION = "https://w3id.org/clusterpolisee/id/region/"


def n(local: str) -> ox.NamedNode:
    return ox.NamedNode(EX + local)


def triples(count: int, tag: str = "v") -> list[ox.Triple]:
    return [ox.Triple(n(f"s{i}"), n("p"), ox.Literal(f"{tag} {i}")) for i in range(count)]


XSD = "http://www.w3.org/2001/XMLSchema#"
HOSTILE = ox.Literal('quote " and } brace ; DROP ALL #', language="en")
TRICKY = [
    ox.Triple(n("a"), n("label"), HOSTILE),
    ox.Triple(n("a"), n("label"), ox.Literal("Zagreb\nčšž — 東京", language="hr")),
    ox.Triple(n("a"), n("date"), ox.Literal("2013-07-01", datatype=ox.NamedNode(XSD + "date"))),
    ox.Triple(n("a"), n("amount"), ox.Literal("1250000.5", datatype=ox.NamedNode(XSD + "decimal"))),
    ox.Triple(ox.BlankNode("node1"), n("about"), n("a")),
]


def canonical(dump: bytes, fmt: str) -> set[ox.Quad]:
    """The dataset with blank nodes canonically relabelled (RDFC-1.0): equal sets mean
    isomorphic datasets, named graphs included."""
    rdf_format = ox.RdfFormat.N_QUADS if fmt == "nquads" else ox.RdfFormat.TRIG
    ds = ox.Dataset(ox.parse(dump, format=rdf_format))
    ds.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return set(ds)


def test_commit_replace_and_add(store):
    v0 = store.data_version()
    store.commit(replace={G1: triples(30)})
    v1 = store.data_version()
    assert store.graph_sizes() == {G1: 30}
    store.commit(replace={G1: triples(5, "w")}, add={G2: triples(3)})
    assert store.graph_sizes() == {G1: 5, G2: 3}
    assert set(store.graph_triples(G1)) == set(triples(5, "w"))
    store.commit(add={G2: triples(4, "x")})
    assert store.graph_sizes() == {G1: 5, G2: 7}
    assert len({v0, v1, store.data_version()}) == 3


def test_one_graph_replaced_and_added_to_in_one_commit_holds_both(store):
    """Replace, then add: the remote backend staged both in one scratch graph, so the Graph
    Store upload of the added triples overwrote the replacement (5 of 35 triples kept)."""
    store.commit(replace={G1: triples(8, "old")})
    store.commit(replace={G1: triples(30)}, add={G1: triples(5, "w"), G2: triples(2)})
    assert store.graph_sizes() == {G1: 35, G2: 2}
    assert set(store.graph_triples(G1)) == set(triples(30)) | set(triples(5, "w"))


def test_replace_with_nothing_drops_the_graph(store):
    store.commit(replace={G1: triples(4), G2: triples(2)})
    assert store.replace_graph(G1, []) == 0
    assert store.graph_sizes() == {G2: 2}


def test_literals_round_trip_exactly(store):
    store.replace_graph(G1, TRICKY)
    got = store.graph_triples(G1)
    assert {t for t in got if not isinstance(t.subject, ox.BlankNode)} == set(TRICKY[:4])
    (bnode_triple,) = [t for t in got if isinstance(t.subject, ox.BlankNode)]
    assert bnode_triple.object == n("a")


def test_default_graph_is_the_union(store):
    store.commit(replace={G1: [ox.Triple(n("x"), n("knows"), n("y"))]})
    store.commit(replace={G2: [ox.Triple(n("y"), n("knows"), n("z"))]})
    rows = store.select("SELECT ?a ?c WHERE { ?a ?k ?b . ?b ?k ?c }", {"k": n("knows")})
    assert [(r["a"], r["c"]) for r in rows] == [(n("x"), n("z"))]


def test_a_query_that_names_its_graphs_reads_only_those(store):
    """FROM and FROM NAMED replace the union default graph, as SPARQL says (the embedded
    store ignored FROM and counted every graph)."""
    store.commit(replace={G1: triples(3), G2: triples(2, "w")})

    def count(dataset: str, pattern: str = "?s ?p ?o") -> int:
        text = f"SELECT (COUNT(*) AS ?n) {dataset} WHERE {{ {pattern} }}"
        return int(store.run_query(text).rows[0]["n"].value)

    assert count(f"FROM <{G1}>") == 3
    assert count(f"from <{G2}>") == 2
    assert count(f"FROM <{G1}> FROM <{G2}>") == 5
    assert count(f"FROM <{EX}no-such-graph>") == 0
    assert count(f"FROM NAMED <{G2}>", "GRAPH ?g { ?s ?p ?o }") == 2
    rows = store.select(f"SELECT DISTINCT ?g FROM NAMED <{G1}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}")
    assert [r["g"] for r in rows] == [ox.NamedNode(G1)]


def test_bindings_are_terms_not_text(store):
    store.replace_graph(G1, TRICKY + triples(3))
    rows = store.select("SELECT ?s ?label WHERE { ?s ?p ?label }", {"label": HOSTILE})
    assert [r["s"] for r in rows] == [n("a")]
    # Not projected: Virtuoso refuses a trailing VALUES for that, the backend must not.
    rows = store.select("SELECT ?o WHERE { ?s ?p ?o }", {"s": n("s1")})
    assert [r["o"] for r in rows] == [ox.Literal("v 1")]
    assert store.graph_sizes()[G1] == len(TRICKY) + 3


def test_a_binding_reaches_a_projected_expression_and_the_order(store):
    """The shape of an options query (catalog.py checks one value against it): the bound
    variable is projected, computed on and sorted by, and only its one row comes back."""
    store.replace_graph(G1, triples(3) + [ox.Triple(n("s0"), n("q"), n("x/last"))])
    text = (
        'SELECT DISTINCT ?value (STRAFTER(STR(?value), "x/") AS ?label) '
        "WHERE { ?c ?p ?value } ORDER BY ?label"
    )
    rows = store.select(text, {"value": n("x/last")})
    assert [(r["value"], r["label"]) for r in rows] == [(n("x/last"), ox.Literal("last"))]
    assert store.select(text, {"value": n("x/none")}) == []


def test_bad_bindings_are_refused(store):
    store.replace_graph(G1, triples(2))
    with pytest.raises(StoreError, match="must be bound to an IRI or a literal"):
        store.select("SELECT ?s WHERE { ?s ?p ?o }", {"o": "} ; DROP ALL"})
    with pytest.raises(StoreError, match="not a SPARQL variable"):
        store.select("SELECT ?s WHERE { ?s ?p ?o }", {"s) {} #": n("a")})
    assert store.graph_sizes() == {G1: 2}


@pytest.mark.parametrize("fmt", ["nquads", "trig"])
def test_export_import_round_trip(store, fmt, tmp_path):
    store.commit(replace={G1: TRICKY, G2: triples(25)})
    buf = io.BytesIO()
    assert store.export(buf, fmt) == len(TRICKY) + 25
    dump = buf.getvalue()
    store.commit(replace={G1: [], G2: triples(2, "other")})
    sizes = store.import_dataset(io.BytesIO(dump), fmt)
    assert sizes == {G1: len(TRICKY), G2: 25}
    again = io.BytesIO()
    store.export(again, fmt)
    assert canonical(dump, fmt) == canonical(again.getvalue(), fmt)
    assert len(canonical(dump, fmt)) == len(TRICKY) + 25


def test_export_one_graph(store):
    store.commit(replace={G1: triples(3), G2: triples(4)})
    buf = io.BytesIO()
    assert store.export(buf, "nquads", graph=G2) == 4
    *lines, end = buf.getvalue().decode().splitlines()
    assert all(line.endswith(f"<{G2}> .") for line in lines)
    assert end == "# end of clusterpolisee dump: 4 quads in 1 graphs"


def test_bad_import_changes_nothing(store):
    store.replace_graph(G1, triples(3))
    version = store.data_version()
    bad = f'<{EX}s> <{EX}p> "unterminated <{G1}> .\n'.encode()
    with pytest.raises(StoreError, match="not valid nquads"):
        store.import_dataset(io.BytesIO(bad), "nquads")
    default_graph = f"<{EX}s> <{EX}p> <{EX}o> .\n".encode()
    with pytest.raises(StoreError, match="outside a named graph"):
        store.import_dataset(io.BytesIO(default_graph), "nquads")
    meta = graph_iri("meta")  # the store's bookkeeping: a file must not rewrite it
    forged = f'<{G1}> <http://rdfs.org/ns/void#triples> "7" <{meta}> .\n'.encode()
    with pytest.raises(StoreError, match=f"refusing {meta} in the dump"):
        store.import_dataset(io.BytesIO(forged), "nquads")
    assert store.graph_sizes() == {G1: 3}
    assert store.data_version() == version


def test_inference_appears_and_disappears(store):
    build(store)
    partner = graph_iri("partner/test")
    region = ox.NamedNode(REGION + "TEST1")
    data = [
        ox.Triple(region, ox.NamedNode(CPO + "partOf"), ox.NamedNode(REGION + "ITI3")),
        ox.Triple(
            region,
            ox.NamedNode(CPO + "policyMaturity"),
            ox.NamedNode("https://w3id.org/clusterpolisee/id/maturity/mature"),
        ),
        ox.Triple(
            region,
            ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
            ox.NamedNode(CPO + "Region"),
        ),
    ]
    ask_within = "SELECT ?c WHERE { ?r ?within ?c }"
    binds = {"r": region, "within": ox.NamedNode(CPO + "within")}
    mature = "SELECT ?r WHERE { ?r a ?cls }"
    mature_binds = {"cls": ox.NamedNode(CPO + "MatureRegion")}
    assert store.select(ask_within, binds) == []
    store.replace_graph(partner, data)
    materialise(store)
    within = {r["c"].value for r in store.select(ask_within, binds)}
    assert within == {
        REGION + "ITI3",
        REGION + "ITI",
        "https://w3id.org/clusterpolisee/id/country/ITA",
    }
    assert region in {r["r"] for r in store.select(mature, mature_binds)}
    has_part = store.select(
        "SELECT ?x WHERE { ?x ?hasPart ?r }",
        {"hasPart": ox.NamedNode(CPO + "hasPart"), "r": region},
    )
    assert [r["x"] for r in has_part] == [ox.NamedNode(REGION + "ITI3")]
    store.replace_graph(partner, data[2:])  # no containment, no maturity any more
    materialise(store)
    assert store.select(ask_within, binds) == []
    assert region not in {r["r"] for r in store.select(mature, mature_binds)}
    assert store.graph_sizes()[INFERRED] > 0


def test_update_graph_writes_exactly_the_new_content(store):
    """Both backends end with the same graph whether they write the difference (Oxigraph) or
    replace the whole graph; an unchanged graph keeps the data version."""
    before = triples(6) + [TRICKY[0]]
    store.replace_graph(G1, before)
    after = triples(4) + triples(3, tag="w") + [TRICKY[0], TRICKY[3]]
    version = store.data_version()
    assert store.update_graph(G1, after) == len(after)
    assert set(store.graph_triples(G1)) == set(after)
    assert store.data_version() != version
    version = store.data_version()
    assert store.update_graph(G1, list(reversed(after))) == len(after)
    assert set(store.graph_triples(G1)) == set(after)
    if type(store).__name__ == "OxigraphStore":
        assert store.data_version() == version  # nothing written
