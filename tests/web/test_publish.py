"""/.well-known/void, /catalog and /dumps: served, parse, pass the DCAT-AP checks, and the dumps
follow the data."""

import gzip
import io
import shutil
import urllib.request

import pyoxigraph as ox
import pytest
from rdflib import Graph

from clusterpolisee.publish import check_dcat
from clusterpolisee.store.oxigraph import OxigraphStore
from webapp import close_app

from .conftest import make_app

DCAT = "http://www.w3.org/ns/dcat#"
VOID = "http://rdfs.org/ns/void#"
FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}


def parse(body: bytes, fmt: ox.RdfFormat) -> list[ox.Triple]:
    return [q.triple for q in ox.parse(body, format=fmt)]


def objects(triples, predicate: str) -> set[str]:
    return {t.object.value for t in triples if t.predicate.value == predicate}


def test_catalog_is_turtle_by_default_and_passes_the_dcat_ap_checks(client):
    r = client.get("/catalog")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/turtle; charset=utf-8"
    triples = parse(r.data, ox.RdfFormat.TURTLE)
    assert len(Graph().parse(data=r.data, format="turtle")) == len(triples)
    conforms, report = check_dcat(triples)
    assert conforms, report
    # the URLs are this server's: the endpoint and the two dumps it serves
    assert objects(triples, VOID + "sparqlEndpoint") == {"http://localhost/sparql"}
    assert objects(triples, VOID + "dataDump") == {
        "http://localhost/dumps/clusterpolisee.nq.gz",
        "http://localhost/dumps/clusterpolisee.trig.gz",
    }
    assert DCAT + "Catalog" in objects(triples, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    well_known = client.get("/.well-known/void")
    assert well_known.status_code == 200
    assert set(parse(well_known.data, ox.RdfFormat.TURTLE)) == set(triples)


@pytest.mark.parametrize("media", sorted(FORMATS))
def test_catalog_by_content_negotiation(client, media):
    r = client.get("/catalog", headers={"Accept": media})
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0] == media
    assert "Accept" in r.headers["Vary"]
    triples = parse(r.data, FORMATS[media])
    assert check_dcat(triples)[0]
    turtle = parse(client.get("/catalog.ttl").data, ox.RdfFormat.TURTLE)
    assert {t for t in triples if not isinstance(t.subject, ox.BlankNode)} == set(turtle)


def test_browsers_get_turtle_and_unknown_types_get_406(client):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    r = client.get("/catalog", headers={"Accept": browser})
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/turtle; charset=utf-8"
    r = client.get("/catalog", headers={"Accept": "text/html,*/*;q=0.8"})
    assert r.headers["Content-Type"] == "text/turtle; charset=utf-8"
    r = client.get("/catalog", headers={"Accept": "image/png"})
    assert r.status_code == 406 and b"Turtle, JSON-LD" in r.data
    assert client.get("/catalog.pdf").status_code == 404


def test_dumps_are_served_gzip_and_hold_every_quad(store_path, server):
    with OxigraphStore(store_path, read_only=True) as store:
        total = sum(store.graph_sizes().values())
    for name, fmt in (
        ("clusterpolisee.nq.gz", ox.RdfFormat.N_QUADS),
        ("clusterpolisee.trig.gz", ox.RdfFormat.TRIG),
    ):
        with urllib.request.urlopen(f"{server}/dumps/{name}", timeout=60) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/gzip"
            assert f"filename={name}" in resp.headers["Content-Disposition"]
            body = resp.read()
        with gzip.open(io.BytesIO(body)) as fh:
            quads = list(ox.parse(fh, format=fmt))
        assert len(quads) == total
        assert {q.graph_name.value for q in quads} >= {
            "https://w3id.org/clusterpolisee/graph/reference",
            "https://w3id.org/clusterpolisee/graph/partner/nerda",
        }
    with urllib.request.urlopen(f"{server}/.well-known/void", timeout=60) as resp:
        assert resp.headers["Content-Type"] == "text/turtle; charset=utf-8"
        assert check_dcat(parse(resp.read(), ox.RdfFormat.TURTLE))[0]


def test_unknown_dump_is_404(client):
    r = client.get("/dumps/everything.zip")
    assert r.status_code == 404 and b"clusterpolisee.nq.gz" in r.data


def test_dumps_and_description_follow_a_data_change(store_path, tmp_path):
    """A commit through the serving process's writer gives a new data version: the next
    download is a fresh dump and the description counts the new link."""
    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)
    app = make_app(copy, tmp_path, WORKERS=1)
    try:
        client = app.test_client()

        def quads() -> list[ox.Quad]:
            r = client.get("/dumps/clusterpolisee.nq.gz")
            assert r.status_code == 200
            return list(ox.parse(gzip.decompress(r.data), format=ox.RdfFormat.N_QUADS))

        def wikidata_links() -> str:
            triples = parse(client.get("/catalog.nt").data, ox.RdfFormat.N_TRIPLES)
            subject = "https://w3id.org/clusterpolisee/dataset/linkset/wikidata/exactMatch"
            return next(
                t.object.value
                for t in triples
                if t.subject.value == subject and t.predicate.value == VOID + "triples"
            )

        before, links_before = quads(), wikidata_links()
        assert (tmp_path / "dumps" / "clusterpolisee.nq.gz").exists()
        extra = ox.Triple(
            ox.NamedNode("https://w3id.org/clusterpolisee/id/partner/pbn"),
            ox.NamedNode("http://www.w3.org/2004/02/skos/core#exactMatch"),
            ox.NamedNode("http://www.wikidata.org/entity/Q1"),
        )
        app.extensions["cpo.writer"].commit(
            add={"https://w3id.org/clusterpolisee/graph/links": [extra]}
        )
        after = quads()
        assert len(after) == len(before) + 1
        assert (
            ox.Quad(
                extra.subject,
                extra.predicate,
                extra.object,
                ox.NamedNode("https://w3id.org/clusterpolisee/graph/links"),
            )
            in after
        )
        assert int(wikidata_links()) == int(links_before) + 1
    finally:
        close_app(app)
