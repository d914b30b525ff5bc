"""SPARQL clients against a real server: every return format SPARQLWrapper offers, as it
sends them by default (the format named by 'format', 'output' and 'results', each twice for
TSV, RDF/XML and JSON-LD: short name and media type), and Turtle's other media types."""

import csv
import io
import json
import urllib.parse
import urllib.request
import warnings

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDFS
from SPARQLWrapper import (
    CSV,
    GET,
    JSON,
    JSONLD,
    N3,
    POST,
    POSTDIRECTLY,
    RDF,
    RDFXML,
    TSV,
    TURTLE,
    XML,
    SPARQLWrapper,
)
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from .test_sparql_protocol_edges import send

ITI3 = "https://w3id.org/clusterpolisee/id/region/ITI3"
RO21 = "https://w3id.org/clusterpolisee/id/region/RO21"
# Two rows, in a fixed order: the regions' labels.
LABELS = f"""PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?r ?label WHERE {{ VALUES ?r {{ <{ITI3}> <{RO21}> }} ?r rdfs:label ?label }} ORDER BY ?r"""
ASK_MARCHE = f'ASK {{ <{ITI3}> <http://www.w3.org/2000/01/rdf-schema#label> "Marche" }}'
CONSTRUCT = f"CONSTRUCT {{ ?r ?p ?o }} WHERE {{ VALUES ?r {{ <{ITI3}> }} ?r ?p ?o }}"
DESCRIBE = f"DESCRIBE <{ITI3}>"
METHODS = [GET, POST, POSTDIRECTLY]


def _wrapper(server: str, query: str, fmt: str, method: str) -> SPARQLWrapper:
    sw = SPARQLWrapper(f"{server}/sparql")
    sw.setQuery(query)
    sw.setReturnFormat(fmt)
    if method == POSTDIRECTLY:  # the query as the body, the format parameters in the URL
        sw.setMethod(POST)
        sw.setRequestMethod(POSTDIRECTLY)
    else:
        sw.setMethod(method)
    return sw


def _convert(sw: SPARQLWrapper):
    # SPARQLWrapper warns when it sends Accept */* (JSON or RDF for a graph query) and rdflib
    # of its own deprecations: neither is the server's doing.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sw.queryAndConvert()


def _expected_triples(server: str, query: str) -> Graph:
    """The query's graph as N-Triples, asked plainly (no format parameter)."""
    url = f"{server}/sparql?" + urllib.parse.urlencode({"query": query})
    req = urllib.request.Request(url, headers={"Accept": "application/n-triples"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return Graph().parse(data=resp.read().decode(), format="nt")


def _rows(fmt: str, answer) -> list[tuple[str, str]]:
    """(region, label) rows from SPARQLWrapper's converted answer in ``fmt``."""
    if fmt == JSON:
        return [(b["r"]["value"], b["label"]["value"]) for b in answer["results"]["bindings"]]
    if fmt == XML:
        rows = []
        for result in answer.getElementsByTagName("result"):
            cells = {b.getAttribute("name"): b for b in result.getElementsByTagName("binding")}
            rows.append(
                (
                    cells["r"].getElementsByTagName("uri")[0].firstChild.data,
                    cells["label"].getElementsByTagName("literal")[0].firstChild.data,
                )
            )
        return rows
    if fmt == CSV:
        table = list(csv.reader(io.StringIO(answer.decode())))
        assert table[0] == ["r", "label"]
        return [tuple(row) for row in table[1:]]
    lines = answer.decode().splitlines()  # TSV: N-Triples terms
    assert lines[0] == "?r\t?label"
    return [
        (r.strip("<>"), label.strip('"')) for r, label in (line.split("\t") for line in lines[1:])
    ]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_select_in_every_result_format(server, fmt, method):
    """TSV was a 400: 'the result format is given as 'text/tab-separated-values', 'tsv''."""
    answer = _convert(_wrapper(server, LABELS, fmt, method))
    assert _rows(fmt, answer) == [(ITI3, "Marche"), (RO21, "Nord-Est")]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_ask_in_every_result_format(server, fmt, method):
    answer = _convert(_wrapper(server, ASK_MARCHE, fmt, method))
    if fmt == JSON:
        assert answer["boolean"] is True
    elif fmt == XML:
        assert answer.getElementsByTagName("boolean")[0].firstChild.data == "true"
    elif fmt == CSV:  # a column 'boolean' (README, `query`); in TSV a variable '?boolean'
        assert answer.decode().split() == ["boolean", "true"]
    else:
        assert answer.decode().split() == ["?boolean", "true"]


def _graph(fmt: str, answer) -> Graph:
    """SPARQLWrapper's answer as a graph: it parses RDF/XML and JSON-LD itself; Turtle and
    N3 it returns as bytes."""
    if fmt in (TURTLE, N3):
        return Graph().parse(data=answer.decode(), format="turtle")
    assert isinstance(answer, Graph), type(answer)
    return answer


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE])
@pytest.mark.parametrize("fmt", [TURTLE, N3, RDFXML, RDF, JSONLD, XML, JSON])
def test_sparqlwrapper_graph_in_every_rdf_format(server, fmt, query, method):
    """RDF/XML and JSON-LD were a 400 ('rdf+xml', 'application/rdf+xml' and 'json-ld',
    'application/ld+json,application/x-json+ld': one format each)."""
    graph = _graph(fmt, _convert(_wrapper(server, query, fmt, method)))
    expected = _expected_triples(server, query)
    assert len(expected) > 3
    assert len(graph) == len(expected)
    assert Literal("Marche") in set(graph.objects(URIRef(ITI3), RDFS.label))


@pytest.mark.parametrize("fmt", [CSV, TSV])
def test_sparqlwrapper_result_table_formats_are_refused_for_a_graph(server, fmt):
    with pytest.raises(QueryBadFormed, match=f"unknown format '{fmt}'"):
        _convert(_wrapper(server, CONSTRUCT, fmt, GET))


def test_the_exact_failing_request_of_the_review(server):
    query = urllib.parse.quote("SELECT * WHERE {?s ?p ?o} LIMIT 1")
    path = (
        f"/sparql?query={query}&format=tsv&format=text/tab-separated-values"
        "&output=tsv&output=text/tab-separated-values"
    )
    status, resp, body = send(server, "GET", path)
    assert status == 200, body
    assert resp.getheader("Content-Type").startswith("text/tab-separated-values")
    lines = body.decode().splitlines()
    assert sorted(lines[0].split("\t")) == ["?o", "?p", "?s"] and len(lines) == 2


@pytest.mark.parametrize(
    "params",
    [
        [("format", "json"), ("output", "application/sparql-results+json")],
        [("format", "xml"), ("format", "application/xml"), ("output", "XML")],
        [("format", "ttl"), ("output", "text/turtle")],  # not one for a SELECT: a 400 later
    ],
)
def test_a_short_name_and_the_media_type_of_one_format_are_one_choice(server, params):
    query = urllib.parse.urlencode([("query", "ASK {}"), *params])
    status, resp, body = send(server, "GET", f"/sparql?{query}")
    if params[0][1] == "ttl":
        assert status == 400 and b"unknown format 'ttl'" in body
        return
    assert status == 200, body
    if params[0][1] == "json":
        assert json.loads(body) == {"head": {}, "boolean": True}
    else:
        assert b"<boolean>true</boolean>" in body


@pytest.mark.parametrize(
    "params,shown",
    [
        ([("format", "tsv"), ("output", "text/csv")], "'text/csv', 'tsv'"),
        ([("format", "json-ld"), ("output", "application/rdf+xml")], "'application/rdf+xml'"),
        ([("format", "json"), ("format", "application/rdf+xml")], "'application/rdf+xml'"),
    ],
)
def test_values_naming_different_formats_are_still_refused(server, params, shown):
    """For a SELECT 'json' is SPARQL JSON, for a graph JSON-LD: with 'application/rdf+xml'
    it names one format for neither."""
    query = urllib.parse.urlencode([("query", CONSTRUCT), *params])
    status, _, body = send(server, "GET", f"/sparql?{query}")
    assert status == 400, body
    assert "the result format is given as" in body.decode() and shown in body.decode()


def test_one_format_for_a_select_is_two_for_a_graph(server):
    """'json' and the SPARQL JSON media type agree for a SELECT only: a graph query gets
    the 400 naming the value that is no graph format."""
    params = [("format", "json"), ("output", "application/sparql-results+json")]
    query = urllib.parse.urlencode([("query", CONSTRUCT), *params])
    status, _, body = send(server, "GET", f"/sparql?{query}")
    assert status == 400 and b"unknown format 'application/sparql-results+json'" in body


# Turtle's other media types ------------------------------------------------------------------

N3_ACCEPT = ["text/n3", "application/turtle", "text/n3; charset=utf-8"]


@pytest.mark.parametrize("accept", N3_ACCEPT)
@pytest.mark.parametrize(
    "path",
    [
        "/sparql?" + urllib.parse.urlencode({"query": CONSTRUCT}),
        "/sparql?" + urllib.parse.urlencode({"query": DESCRIBE}),
        "/id/region/ITI3",
        "/graph/partner/nerda",
    ],
)
def test_n3_and_application_turtle_get_turtle(server, path, accept):
    """Were 406: Turtle is N3, and application/turtle its former media type."""
    status, resp, body = send(server, "GET", path, Accept=accept)
    assert status == 200, body
    assert resp.getheader("Content-Type") == "text/turtle; charset=utf-8"
    graph = Graph().parse(data=body.decode(), format="turtle")
    if path.startswith("/graph/"):
        textile = URIRef("https://w3id.org/clusterpolisee/id/partner/nerda/cluster/textile")
        label = Literal("Nord-Est Textile Cluster", lang="en")
        assert label in set(graph.objects(textile, RDFS.label))
    else:
        assert Literal("Marche") in set(graph.objects(URIRef(ITI3), RDFS.label))


@pytest.mark.parametrize("accept", N3_ACCEPT)
def test_the_service_description_in_n3(server, accept):
    status, resp, body = send(server, "GET", "/sparql", Accept=accept)
    assert status == 200, body
    assert resp.getheader("Content-Type").startswith("text/turtle")
    graph = Graph().parse(data=body.decode(), format="turtle")
    endpoint, sd = URIRef(f"{server}/sparql"), "http://www.w3.org/ns/sparql-service-description#"
    assert (endpoint, URIRef(sd + "endpoint"), endpoint) in graph


@pytest.mark.parametrize("fmt", [TURTLE, N3])
def test_sparqlwrapper_by_accept_only(server, fmt):
    """With setOnlyConneg SPARQLWrapper sends no format parameter: for N3 its Accept is
    'application/turtle,text/turtle,text/rdf+n3,application/n-triples,application/n3,text/n3'."""
    sw = _wrapper(server, CONSTRUCT, fmt, GET)
    sw.setOnlyConneg(True)
    graph = _graph(fmt, _convert(sw))
    assert len(graph) == len(_expected_triples(server, CONSTRUCT))
