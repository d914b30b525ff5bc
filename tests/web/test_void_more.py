"""The VoID description's review (2026-12-07): one link-set per link predicate, subsets that
name their graphs, and the ways a crawler finds the description."""

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask
from rdflib import Graph, Literal, URIRef

from clusterpolisee import publish
from clusterpolisee.publish import DATASET, DUMPS, LINK_PREDICATES, void_dcat
from clusterpolisee.store.oxigraph import OxigraphStore
from webapp import close_app
from webapp.renderer import PREFIXES
from webapp.views import publish as publish_view

from .conftest import make_app

W3ID = "https://w3id.org/clusterpolisee/"
ID = W3ID + "id/"
VOID = "http://rdfs.org/ns/void#"
SD = "http://www.w3.org/ns/sparql-service-description#"
RDF_TYPE = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
OWL_SAME = "http://www.w3.org/2002/07/owl#sameAs"
SCHEMA_SAME = "http://schema.org/sameAs"
EXACT = "http://www.w3.org/2004/02/skos/core#exactMatch"
WD = "http://www.wikidata.org/entity/"
AWS = W3ID + "graph/partner/aws"


def link(s: str, p: str, o: str) -> ox.Triple:
    return ox.Triple(ox.NamedNode(ID + s), ox.NamedNode(p), ox.NamedNode(WD + o))


# two owl:sameAs and one schema:sameAs link to Wikidata, and one skos:exactMatch
LINKS = [
    link("partner/aws/cluster/a", OWL_SAME, "Q1"),
    link("partner/aws/cluster/b", OWL_SAME, "Q2"),
    link("partner/aws/cluster/a", SCHEMA_SAME, "Q1"),
    link("partner/aws/cluster/c", EXACT, "Q3"),
]


def rdflib_graph(triples: list[ox.Triple]) -> Graph:
    nt = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    return Graph().parse(data=nt, format="nt")


@pytest.fixture(scope="module")
def small_void(tmp_path_factory) -> Graph:
    with OxigraphStore(tmp_path_factory.mktemp("void") / "store") as store:
        store.commit(replace={AWS: LINKS})
        return rdflib_graph(void_dcat(store, "http://localhost/"))


def linksets(g: Graph) -> dict[str, tuple[list[str], list[int]]]:
    """link-set IRI -> (its link predicates, its triple counts)."""
    out = {}
    for ls in g.subjects(RDF_TYPE, URIRef(VOID + "Linkset")):
        preds = sorted(str(p) for p in g.objects(ls, URIRef(VOID + "linkPredicate")))
        counts = sorted(int(n) for n in g.objects(ls, URIRef(VOID + "triples")))
        out[str(ls)] = (preds, counts)
    return out


def test_each_link_predicate_has_its_own_linkset(small_void: Graph):
    assert linksets(small_void) == {
        f"{DATASET}/linkset/wikidata/owl-sameAs": ([OWL_SAME], [2]),
        f"{DATASET}/linkset/wikidata/schema-sameAs": ([SCHEMA_SAME], [1]),
        # no collision: the name it always had
        f"{DATASET}/linkset/wikidata/exactMatch": ([EXACT], [1]),
    }


def test_linkset_names_are_stable_and_prefixed_only_where_local_names_collide():
    assert publish.linkset_names(LINK_PREDICATES, PREFIXES) == {
        EXACT: "exactMatch",
        OWL_SAME: "owl-sameAs",
        SCHEMA_SAME: "schema-sameAs",
        "https://w3id.org/clusterpolisee/ontology#sector": "sector",
    }
    with pytest.raises(ValueError, match="no prefix"):
        publish.linkset_names((OWL_SAME, "http://example.org/v#sameAs"), PREFIXES)


def test_subsets_name_their_graphs_with_sd_name(small_void: Graph):
    subset = URIRef(f"{DATASET}/graph/partner/aws")
    assert list(small_void.objects(subset, URIRef(SD + "name"))) == [URIRef(AWS)]
    assert (subset, RDF_TYPE, URIRef(SD + "NamedGraph")) in small_void
    assert list(small_void.objects(subset, URIRef(VOID + "triples"))) == [Literal(4)]
    # every graph subset names exactly one graph, the one its IRI is made from
    for sub in small_void.objects(URIRef(DATASET), URIRef(VOID + "subset")):
        if "/dataset/graph/" in str(sub):
            (name,) = small_void.objects(sub, URIRef(SD + "name"))
            assert str(name) == W3ID + "graph/" + str(sub).split("/dataset/graph/", 1)[1]


@pytest.fixture(scope="module")
def linked_app(store_path: Path, tmp_path_factory) -> Iterator[Flask]:
    """The web tests' store, copied, with the links above added."""
    copy = tmp_path_factory.mktemp("linked") / "store"
    shutil.copytree(store_path, copy)
    with OxigraphStore(copy) as store:
        store.commit(replace={AWS: LINKS})
    app_dir = tmp_path_factory.mktemp("linked-app")
    application = make_app(copy, app_dir, DUMPS_DIR=str(app_dir / "dumps"))
    yield application
    close_app(application)


@pytest.mark.parametrize("name", ["owl-sameAs", "schema-sameAs", "exactMatch"])
def test_linkset_pages_dereference(linked_app: Flask, name: str):
    client = linked_app.test_client()
    iri = f"{DATASET}/linkset/wikidata/{name}"
    r = client.get(f"/dataset/linkset/wikidata/{name}", headers={"Accept": "text/turtle"})
    assert (r.status_code, r.mimetype) == (200, "text/turtle")
    g = Graph().parse(data=r.data, format="turtle")
    assert len(list(g.objects(URIRef(iri), URIRef(VOID + "linkPredicate")))) == 1
    page = client.get(f"/dataset/linkset/wikidata/{name}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert f"<code>{iri}</code>" in page.get_data(as_text=True)


def test_the_merged_linkset_iri_is_gone(linked_app: Flask):
    r = linked_app.test_client().get("/dataset/linkset/wikidata/sameAs")
    assert r.status_code == 404


def test_subset_page_renders_and_links_its_graph(linked_app: Flask):
    client = linked_app.test_client()
    page = client.get("/dataset/graph/partner/aws", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert '<a href="/graph/partner/aws"' in page.get_data(as_text=True)
    r = client.get("/dataset/graph/partner/aws.ttl")
    g = Graph().parse(data=r.data, format="turtle")
    subset = URIRef(f"{DATASET}/graph/partner/aws")
    assert list(g.objects(subset, URIRef(SD + "name"))) == [URIRef(AWS)]


def test_every_page_links_the_data_in_a_named_footer_nav(client):
    page = client.get("/").get_data(as_text=True)
    footer = page[page.index('<footer class="site">') : page.index("</footer>")]
    assert '<nav aria-label="Data">' in footer
    hrefs = re.findall(r'<a href="([^"]+)"', footer)
    assert hrefs == [
        "/catalog",
        "/.well-known/void",
        "/dataset",
        "/dumps/clusterpolisee.nq.gz",
        "/dumps/clusterpolisee.trig.gz",
        "/sparql",
    ]
    # every link answers (the dumps are left out: a request writes them, test_publish.py)
    for href in hrefs[:3] + hrefs[5:]:
        assert client.get(href).status_code == 200, href


def test_robots_txt_allows_crawling_and_names_the_void(client):
    r = client.get("/robots.txt")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    lines = r.get_data(as_text=True).splitlines()
    assert lines[:2] == ["User-agent: *", "Allow: /"]
    assert "# VoID description of this dataset: http://localhost/.well-known/void" in lines
    # no Sitemap line without a sitemap
    assert not [x for x in lines if x.lower().startswith("sitemap:")]
    assert client.get("/sitemap.xml").status_code == 404


DCAT = "http://www.w3.org/ns/dcat#"
BYTE_SIZE = URIRef(DCAT + "byteSize")


def byte_sizes(g: Graph) -> dict[str, int]:
    """dump file name -> its dcat:byteSize, from a description."""
    out = {}
    for dist, size in g.subject_objects(BYTE_SIZE):
        (url,) = g.objects(dist, URIRef(DCAT + "downloadURL"))
        out[str(url).rsplit("/", 1)[1]] = int(size)
    return out


def test_byte_size_is_given_only_for_dumps_of_the_current_data(tmp_path: Path):
    folder = tmp_path / "dumps"
    with OxigraphStore(tmp_path / "store") as store:
        store.commit(replace={AWS: LINKS})
        assert byte_sizes(rdflib_graph(void_dcat(store, "http://h/", dumps=folder))) == {}
        written = publish.write_dumps(store, folder)
        g = rdflib_graph(void_dcat(store, "http://h/", dumps=folder))
        assert byte_sizes(g) == {p.name: p.stat().st_size for p in written}
        assert set(byte_sizes(g)) == set(DUMPS)
        types = {str(size.datatype) for _d, size in g.subject_objects(BYTE_SIZE)}
        assert types == {"http://www.w3.org/2001/XMLSchema#nonNegativeInteger"}
        store.commit(add={AWS: [link("partner/aws/cluster/d", OWL_SAME, "Q4")]})
        # the dumps on disk are of the former data: the next download rewrites them
        assert byte_sizes(rdflib_graph(void_dcat(store, "http://h/", dumps=folder))) == {}


def served_void(client) -> Graph:
    return Graph().parse(data=client.get("/.well-known/void").data, format="turtle")


def test_a_head_of_a_dump_does_not_write_it_and_a_get_gives_its_size(linked_app: Flask):
    client = linked_app.test_client()
    folder = Path(linked_app.config["DUMPS_DIR"])
    name = "clusterpolisee.nq.gz"
    assert byte_sizes(served_void(client)) == {}
    head = client.head(f"/dumps/{name}")
    assert head.status_code == 200 and head.mimetype == "application/gzip"
    assert "Content-Length" not in head.headers  # not known before it is written
    assert "ETag" not in head.headers  # was the empty body's, not the dump's
    assert not (folder / name).exists()
    assert client.get(f"/dumps/{name}").status_code == 200
    size = (folder / name).stat().st_size
    # the kept description is dropped once the dumps are written: it now gives their sizes
    assert byte_sizes(served_void(client))[name] == size
    head = client.head(f"/dumps/{name}")
    assert int(head.headers["Content-Length"]) == size


def test_a_dump_request_while_another_writes_is_told_to_retry(linked_app: Flask, monkeypatch):
    monkeypatch.setattr(publish_view, "WRITE_WAIT", 0.05)
    with publish_view._LOCK:  # stands for a request writing the dumps
        r = linked_app.test_client().get("/dumps/clusterpolisee.trig.gz")
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "60"
    assert linked_app.test_client().head("/dumps/clusterpolisee.trig.gz").status_code == 200
