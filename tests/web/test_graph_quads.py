"""A named graph's page gives its triples as TriG and N-Quads too, which keep the graph's
name, so a harvester that reads one graph into a dataset files it under its own IRI (before,
only triple formats: the name was lost on the way)."""

import pytest
import requests
from rdflib import Dataset, Graph, URIRef

GRAPH = "https://w3id.org/clusterpolisee/graph/"
HTML = {"Accept": "text/html"}


def triples_of(url: str) -> set:
    body = requests.get(url + ".nt", timeout=30)
    assert body.status_code == 200
    return set(Graph().parse(data=body.text, format="nt"))


@pytest.mark.parametrize(
    ("suffix", "media", "rdflib_format"),
    [("trig", "application/trig", "trig"), ("nq", "application/n-quads", "nquads")],
)
@pytest.mark.parametrize("name", ["partner/nerda", "partner/evil", "reference"])
def test_a_graph_comes_as_quads_named_by_its_iri(server, name, suffix, media, rdflib_format):
    url = f"{server}/graph/{name}"
    by_suffix = requests.get(f"{url}.{suffix}", timeout=30)
    by_accept = requests.get(url, headers={"Accept": media}, timeout=30)
    assert by_suffix.status_code == by_accept.status_code == 200
    assert by_suffix.headers["Content-Type"] == f"{media}; charset=utf-8"
    assert by_accept.headers["Content-Type"] == f"{media}; charset=utf-8"
    assert by_accept.content == by_suffix.content
    data = Dataset()
    data.parse(data=by_suffix.text, format=rdflib_format)
    quads = list(data.quads((None, None, None, None)))
    assert {str(g) for *_, g in quads} == {GRAPH + name}
    expected = triples_of(url)
    assert len(quads) == len(expected) > 0
    assert {(s, p, o) for s, p, o, _ in quads} == expected
    assert len(data.graph(URIRef(GRAPH + name))) == len(expected)


def test_the_graph_page_links_its_quad_downloads(client):
    html = client.get("/graph/partner/nerda", headers=HTML).get_data(as_text=True)
    for suffix in ("ttl", "nt", "jsonld", "rdf", "trig", "nq"):
        assert f'href="/graph/partner/nerda.{suffix}"' in html


def test_an_unknown_view_names_every_format_a_graph_has(client):
    r = client.get("/graph/partner/nerda.csv", headers={"Accept": "text/plain"})  # a table's
    assert r.status_code == 404
    assert "use .ttl, .nt, .jsonld, .rdf, .trig, .nq" in r.get_data(as_text=True)
    refused = client.get("/graph/partner/nerda", headers={"Accept": "image/png"})
    assert refused.status_code == 406
    assert "TriG and N-Quads" in refused.get_data(as_text=True)


def test_a_resource_or_query_answer_has_no_quad_formats(client):
    """Triples that are not one named graph's have no graph to name."""
    assert client.get("/id/region/RO21.trig").status_code == 404
    assert client.get("/id/region/RO21", headers={"Accept": "application/n-quads"}).status_code == (
        406
    )
