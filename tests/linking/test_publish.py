"""VoID + DCAT-AP description and the compressed dumps."""

import gzip
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from clusterpolisee.namespaces import graph_iri
from clusterpolisee.publish import (
    SHAPES_FILE,
    VERSION_FILE,
    check_dcat,
    count_links,
    void_dcat,
    write_dumps,
)
from clusterpolisee.store import open_store

BASE_URL = "http://127.0.0.1:8080/"
VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"


def values(triples, subject_end: str, predicate: str) -> list[str]:
    return sorted(
        t.object.value
        for t in triples
        if t.subject.value.endswith(subject_end) and t.predicate.value == predicate
    )


def test_description_parses_and_passes_the_dcat_ap_shapes(partner_store: Path):
    with open_store(str(partner_store), read_only=True) as store:
        triples = void_dcat(store, BASE_URL)
        sizes = store.graph_sizes()
    turtle = ox.serialize(triples, format=ox.RdfFormat.TURTLE)
    assert len(Graph().parse(data=turtle, format="turtle")) == len(triples)
    conforms, report = check_dcat(triples)
    assert conforms, report
    assert values(triples, "/dataset", VOID + "sparqlEndpoint") == [BASE_URL + "sparql"]
    assert values(triples, "/dataset", VOID + "dataDump") == [
        BASE_URL + "dumps/clusterpolisee.nq.gz",
        BASE_URL + "dumps/clusterpolisee.trig.gz",
    ]
    assert values(triples, "/dataset", VOID + "triples") == [str(sum(sizes.values()))]
    assert values(triples, "/dataset", DCAT + "theme") == [
        "http://publications.europa.eu/resource/authority/data-theme/" + t
        for t in ("ECON", "GOVE", "REGI")
    ]
    # link-sets with sizes counted from the store: 11 countries to the EU table and Wikidata,
    # every sector statement of the 90 demo clusters to NACE
    assert values(triples, "/linkset/eu-country/exactMatch", VOID + "triples") == ["11"]
    assert values(triples, "/linkset/wikidata/exactMatch", VOID + "triples") == ["11"]
    assert values(triples, "/linkset/nace2/sector", VOID + "triples") == ["108"]
    assert values(triples, "/linkset/nuts/exactMatch", VOID + "triples") == ["120"]


def test_link_counts_count_each_distinct_link_once(writable_store: Path):
    sector = ox.NamedNode("https://w3id.org/clusterpolisee/ontology#sector")
    with open_store(str(writable_store)) as store:
        before = count_links(store)
        (nace,) = [k for k in before if k[1] == "nace2"]
        row = store.select(f"SELECT ?s ?o WHERE {{ ?s <{sector.value}> ?o }} LIMIT 1")[0]
        again = ox.Triple(row["s"], sector, row["o"])  # the same link in a second graph
        new = ox.Triple(
            ox.NamedNode("https://w3id.org/clusterpolisee/id/partner/x/cluster/y"),
            sector,
            ox.NamedNode("http://data.europa.eu/ux2/nace2/99.99"),
        )
        store.commit(replace={graph_iri("partner/link-count-test"): [again, new]})
        after = count_links(store)
    assert before[nace] == 108 and after[nace] == 109
    assert {k: v for k, v in after.items() if k != nace} == {
        k: v for k, v in before.items() if k != nace
    }


def test_a_broken_description_fails_the_shapes(partner_store: Path):
    with open_store(str(partner_store), read_only=True) as store:
        triples = void_dcat(store, BASE_URL)
    broken = [
        t
        for t in triples
        if t.predicate.value not in ("http://purl.org/dc/terms/title", DCAT + "accessURL")
    ]
    conforms, report = check_dcat(broken)
    assert not conforms
    assert "title" in report and "accessURL" in report
    assert SHAPES_FILE.name == "dcat-ap-essential.ttl"


def test_dumps_are_regenerated_only_when_the_data_changes(writable_store: Path, tmp_path: Path):
    folder = tmp_path / "dumps"
    with open_store(str(writable_store)) as store:
        first = write_dumps(store, folder)
        assert [p.name for p in first] == ["clusterpolisee.nq.gz", "clusterpolisee.trig.gz"]
        stamps = [p.stat().st_mtime_ns for p in first]
        total = sum(store.graph_sizes().values())
        with gzip.open(first[0], "rb") as fh:
            quads = list(ox.parse(fh, format=ox.RdfFormat.N_QUADS))
        assert len(quads) == total
        with gzip.open(first[1], "rb") as fh:
            assert len(list(ox.parse(fh, format=ox.RdfFormat.TRIG))) == total
        assert [p.stat().st_mtime_ns for p in write_dumps(store, folder)] == stamps
        extra = ox.Triple(
            ox.NamedNode("https://w3id.org/clusterpolisee/id/partner/pbn"),
            ox.NamedNode("http://www.w3.org/2004/02/skos/core#exactMatch"),
            ox.NamedNode("http://www.wikidata.org/entity/Q1"),
        )
        store.commit(add={"https://w3id.org/clusterpolisee/graph/links": [extra]})
        again = write_dumps(store, folder)
        with gzip.open(again[0], "rb") as fh:
            assert len(list(ox.parse(fh, format=ox.RdfFormat.N_QUADS))) == total + 1


def test_dumps_of_the_former_form_are_written_again(writable_store: Path, tmp_path: Path):
    """Dumps kept from before export ended them with its end line (their marker holds the
    data version alone) are written again with it, not served until the data changes: our
    own import refuses a dump without it."""
    folder = tmp_path / "dumps"
    with open_store(str(writable_store)) as store:
        first = write_dumps(store, folder)
        (folder / VERSION_FILE).write_text(store.data_version(), encoding="utf-8")
        for path in first:
            path.write_bytes(gzip.compress(b""))  # stands for the old dumps
        again = write_dumps(store, folder)
        sizes = store.graph_sizes()
    total, graphs = sum(sizes.values()), sum(1 for n in sizes.values() if n)
    for path in again:
        with gzip.open(path, "rb") as fh:
            *_, last = fh.read().decode().splitlines()
        assert last == f"# end of clusterpolisee dump: {total} quads in {graphs} graphs"
