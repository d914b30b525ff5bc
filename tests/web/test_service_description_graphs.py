"""The service description's dataset (SPARQL 1.1 Service Description, 3.2): the union
default graph, every named graph by name with the size the store recorded, a link to VoID."""

import gc
import http.client
import urllib.parse

import pyoxigraph as ox
import pytest
from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import VOID

from clusterpolisee.namespaces import graph_iri
from clusterpolisee.store.oxigraph import OxigraphStore
from webapp import close_app

from .conftest import make_app

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = [
    ("text/turtle", "turtle"),
    ("application/n-triples", "nt"),
    ("application/ld+json", "json-ld"),
    ("application/rdf+xml", "xml"),
]


def _get(server: str, path: str, accept: str) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection(urllib.parse.urlsplit(server).netloc, timeout=60)
    try:
        conn.request("GET", path, headers={"Accept": accept})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read()
    finally:
        conn.close()


def _dataset(graph: Graph, endpoint: URIRef):
    datasets = list(graph.objects(endpoint, SD.defaultDataset))
    assert len(datasets) == 1
    assert (datasets[0], RDF.type, SD.Dataset) in graph
    return datasets[0]


def _named(graph: Graph, dataset) -> dict[str, int | None]:
    """Each sd:namedGraph's sd:name and its graph's void:triples (None: not given)."""
    out = {}
    for named in graph.objects(dataset, SD.namedGraph):
        assert (named, RDF.type, SD.NamedGraph) in graph
        (name,) = graph.objects(named, SD.name)
        (described,) = graph.objects(named, SD.graph)
        assert (described, RDF.type, SD.Graph) in graph
        sizes = [int(n) for n in graph.objects(described, VOID.triples)]
        out[str(name)] = sizes[0] if sizes else None
    return out


@pytest.fixture(scope="module")
def recorded(store_path) -> dict[str, int]:
    """The named graphs and sizes the store lists (`clusterpolisee graphs`)."""
    with OxigraphStore(store_path, read_only=True) as store:
        return store.graph_sizes()


@pytest.mark.parametrize("accept,rdflib_format", FORMATS)
def test_the_description_names_every_graph_with_its_size(server, recorded, accept, rdflib_format):
    """Was a default dataset of one empty blank node, and no named graph."""
    status, content_type, body = _get(server, "/sparql", accept)
    assert status == 200 and content_type.startswith(accept)
    graph = Graph().parse(data=body.decode(), format=rdflib_format)
    dataset = _dataset(graph, URIRef(f"{server}/sparql"))
    named = _named(graph, dataset)
    assert named == recorded  # every graph, with the size its last write recorded
    assert named[graph_iri("partner/nerda")] == 6 and named[graph_iri("partner/evil")] == 5
    assert graph_iri("meta") not in named  # the bookkeeping graph is none of the data's
    assert {graph_iri("ontology"), graph_iri("reference"), graph_iri("inferred")} <= set(named)
    (default,) = graph.objects(dataset, SD.defaultGraph)
    assert (default, RDF.type, SD.Graph) in graph
    assert list(graph.objects(dataset, RDFS.seeAlso)) == [URIRef(f"{server}/.well-known/void")]


def test_the_union_is_described_and_the_void_link_answers(server):
    _, _, body = _get(server, "/sparql", "text/turtle")
    graph = Graph().parse(data=body.decode(), format="turtle")
    dataset = _dataset(graph, URIRef(f"{server}/sparql"))
    (default,) = graph.objects(dataset, SD.defaultGraph)
    described = list(graph.objects(default, URIRef("http://purl.org/dc/terms/description")))
    assert described == [
        Literal("The union of all named graphs (sd:UnionDefaultGraph).", lang="en")
    ]
    assert (URIRef(f"{server}/sparql"), SD.feature, SD.UnionDefaultGraph) in graph
    status, content_type, void = _get(server, "/.well-known/void", "text/turtle")
    assert status == 200 and content_type.startswith("text/turtle")
    sizes = Graph().parse(data=void.decode(), format="turtle")
    nerda = URIRef(graph_iri("partner/nerda"))
    assert (None, SD.name, nerda) in sizes  # the VoID description names the same graphs


def test_the_same_data_gives_the_same_description(server):
    """Blank nodes labelled by position: the bytes, so the ETag, stay the same."""
    assert _get(server, "/sparql", "text/turtle")[2] == _get(server, "/sparql", "text/turtle")[2]


ODD = "https://w3id.org/clusterpolisee/graph/partner/ün'i;co#dé&x=1%3E"


@pytest.fixture()
def odd_app(tmp_path):
    """A store with a graph whose name Turtle must escape or keep as is (non-ASCII, quote,
    semicolon, fragment, percent), and one written past the size records."""
    path = tmp_path / "store"
    raw = ox.Store(str(path))
    unrecorded = ox.NamedNode(graph_iri("partner/unrecorded"))
    thing = ox.NamedNode("https://w3id.org/clusterpolisee/id/thing")
    raw.add(ox.Quad(thing, ox.NamedNode(str(RDFS.label)), ox.Literal("x"), unrecorded))
    raw.flush()
    del raw
    gc.collect()
    label = ox.Triple(thing, ox.NamedNode(str(RDFS.label)), ox.Literal("y"))
    comment = ox.Triple(thing, ox.NamedNode(str(RDFS.comment)), ox.Literal("z"))
    with OxigraphStore(path) as store:
        store.commit(replace={ODD: [label, comment]})
    app = make_app(path, tmp_path)
    yield app
    close_app(app)


def test_any_graph_name_gives_valid_rdf_and_no_count(odd_app):
    client = odd_app.test_client()
    for accept, rdflib_format in FORMATS:
        r = client.get("/sparql", headers={"Accept": accept})
        assert r.status_code == 200, r.data
        graph = Graph().parse(data=r.data.decode(), format=rdflib_format)
        named = _named(graph, _dataset(graph, URIRef("http://localhost/sparql")))
        # The graph written past the records is listed, not counted for the description.
        assert named == {ODD: 2, graph_iri("partner/unrecorded"): None}, accept
