"""Terms every result format must carry, and what a format cannot carry.

Triple terms (RDF 1.2 / SPARQL 1.2) in JSON, XML, CSV and TSV, as the SPARQL 1.2 result
format drafts write them (they were a 500 in JSON, XML and CSV); control characters, which
XML 1.0 cannot carry, refused in XML with a 406 naming them (the XML was not well-formed);
and a SPARQL client asking only for result sets gets Turtle for a CONSTRUCT (it was a 406,
which broke rdflib's SPARQLStore with returnFormat="json").
"""

import csv
import io
import json
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import markupsafe
import openpyxl
import pyoxigraph as ox
import pytest

from clusterpolisee.results import Unrepresentable, render, to_graph
from clusterpolisee.store.base import QueryResult

SR = "{http://www.w3.org/2005/sparql-results#}"
TRIPLE_QUERY = (
    'SELECT ?t ?n WHERE { BIND(TRIPLE(<http://a>, <http://b>, "c"@en) AS ?t) '
    "BIND(TRIPLE(<http://a>, <http://b>, ?t) AS ?n) }"
)
INNER = '<<( <http://a> <http://b> "c"@en )>>'
NESTED = f"<<( <http://a> <http://b> {INNER} )>>"
INNER_JSON = {
    "type": "triple",
    "value": {
        "subject": {"type": "uri", "value": "http://a"},
        "predicate": {"type": "uri", "value": "http://b"},
        "object": {"type": "literal", "value": "c", "xml:lang": "en"},
    },
}
NESTED_JSON = {
    "type": "triple",
    "value": {
        "subject": {"type": "uri", "value": "http://a"},
        "predicate": {"type": "uri", "value": "http://b"},
        "object": INNER_JSON,
    },
}
CONTROL_QUERY = 'SELECT ?x WHERE { BIND("a\\u0001b" AS ?x) }'
CONTROL_CONSTRUCT = 'CONSTRUCT { <http://a> <http://b> ?x } WHERE { BIND("a\\u0001b" AS ?x) }'


def get(server: str, query: str, accept: str, **params: str) -> tuple[int, str, bytes]:
    qs = urllib.parse.urlencode({"query": query, **params})
    req = urllib.request.Request(f"{server}/sparql?{qs}", headers={"Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def xml_triple(el: ET.Element) -> str:
    """A <triple> element back as N-Triples (the test's own reading of the XML draft)."""
    parts = []
    for role in ("subject", "predicate", "object"):
        (term,) = el.find(SR + role)
        parts.append(xml_term(term))
    return f"<<( {' '.join(parts)} )>>"


def xml_term(term: ET.Element) -> str:
    tag = term.tag.removeprefix(SR)
    if tag == "triple":
        return xml_triple(term)
    if tag == "uri":
        return f"<{term.text}>"
    lang = term.get("{http://www.w3.org/XML/1998/namespace}lang")
    return f'"{term.text}"@{lang}' if tag == "literal" and lang else f'"{term.text}"'


# 1. triple terms ---------------------------------------------------------------------------


def test_triple_terms_in_json_over_the_server(server):
    status, ctype, body = get(server, TRIPLE_QUERY, "application/sparql-results+json")
    assert status == 200, body
    assert ctype.startswith("application/sparql-results+json")
    (row,) = json.loads(body)["results"]["bindings"]
    assert row == {"t": INNER_JSON, "n": NESTED_JSON}


def test_triple_terms_in_xml_over_the_server(server):
    status, _, body = get(server, TRIPLE_QUERY, "application/sparql-results+xml")
    assert status == 200, body
    root = ET.fromstring(body)
    bindings = {b.get("name"): b for b in root.iter(SR + "binding")}
    assert xml_term(bindings["t"][0]) == INNER
    assert xml_term(bindings["n"][0]) == NESTED


def test_triple_terms_in_csv_and_tsv_over_the_server(server):
    status, _, body = get(server, TRIPLE_QUERY, "text/csv")
    assert status == 200, body
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows == [["t", "n"], [INNER, NESTED]]
    status, _, body = get(server, TRIPLE_QUERY, "text/tab-separated-values")
    assert status == 200, body
    # TSV writes terms as in N-Triples 1.2: the outer brackets too (they were left out)
    assert body.decode().splitlines() == ["?t\t?n", f"{INNER}\t{NESTED}"]
    parsed = list(ox.parse(f"<http://s> <http://p> {NESTED} .", format=ox.RdfFormat.N_TRIPLES))
    assert len(parsed) == 1


def test_a_triple_term_on_the_html_page(server):
    status, ctype, body = get(server, TRIPLE_QUERY, "text/html")
    assert status == 200 and ctype.startswith("text/html")
    # As N-Triples writes it, brackets and all (str() of a Triple leaves them out).
    assert str(markupsafe.escape(NESTED)).encode() in body


def test_a_triple_term_in_a_workbook(server):
    status, _, body = get(server, TRIPLE_QUERY, "*/*", format="xlsx")
    assert status == 200
    sheet = openpyxl.load_workbook(io.BytesIO(body))["Results"]
    assert [c.value for c in sheet[2]] == [INNER, NESTED]


def triple_result() -> QueryResult:
    inner = ox.Triple(
        ox.NamedNode("http://a"), ox.NamedNode("http://b"), ox.Literal("c", language="en")
    )
    nested = ox.Triple(ox.NamedNode("http://a"), ox.NamedNode("http://b"), inner)
    return QueryResult("select", ["t", "n"], [{"t": inner, "n": nested}])


def test_triple_terms_in_every_format_of_results_py():
    result = triple_result()
    doc = json.loads(render(result, "json"))
    assert doc["results"]["bindings"] == [{"t": INNER_JSON, "n": NESTED_JSON}]
    root = ET.fromstring(render(result, "xml"))
    bindings = {b.get("name"): b for b in root.iter(SR + "binding")}
    assert [xml_term(bindings[v][0]) for v in ("t", "n")] == [INNER, NESTED]
    assert list(csv.reader(io.StringIO(render(result, "csv")))) == [["t", "n"], [INNER, NESTED]]
    assert render(result, "tsv").splitlines() == ["?t\t?n", f"{INNER}\t{NESTED}"]
    assert INNER in render(result, "table")


# 2. what XML 1.0 cannot carry ------------------------------------------------------------


def test_a_control_character_is_refused_in_xml_and_named(server):
    status, ctype, body = get(server, CONTROL_QUERY, "application/sparql-results+xml")
    assert status == 406, body
    text = body.decode()
    assert "U+0001" in text and "?x" in text and "row 1" in text and "JSON" in text
    assert ctype.startswith("text/plain")


def test_a_control_character_is_fine_in_json_and_csv(server):
    status, _, body = get(server, CONTROL_QUERY, "application/sparql-results+json")
    assert status == 200
    assert json.loads(body)["results"]["bindings"][0]["x"]["value"] == "a\x01b"
    status, _, body = get(server, CONTROL_QUERY, "text/csv")
    assert status == 200 and "a\x01b" in body.decode()


def test_a_control_character_is_refused_in_rdf_xml_but_not_in_turtle(server):
    status, _, body = get(server, CONTROL_CONSTRUCT, "application/rdf+xml")
    assert status == 406, body
    assert "U+0001" in body.decode() and "Turtle" in body.decode()
    status, _, body = get(server, CONTROL_CONSTRUCT, "text/turtle")
    assert status == 200
    (triple,) = ox.parse(body, format=ox.RdfFormat.TURTLE)
    assert triple.object.value == "a\x01b"


def test_a_carriage_return_survives_xml(server):
    query = 'SELECT ?x WHERE { BIND("a\\rb\\tc" AS ?x) }'
    status, _, body = get(server, query, "application/sparql-results+xml")
    assert status == 200
    assert next(ET.fromstring(body).iter(SR + "literal")).text == "a\rb\tc"


def test_results_py_raises_unrepresentable_naming_the_place():
    rows = [{"x": ox.Literal("fine")}, {"x": ox.Literal("a\x1fb")}]
    result = QueryResult("select", ["x"], rows)
    with pytest.raises(Unrepresentable, match=r"U\+001F in \?x of row 2"):
        render(result, "xml")
    assert json.loads(render(result, "json"))["results"]["bindings"][1]["x"]["value"] == "a\x1fb"
    triples = [ox.Triple(ox.NamedNode("http://a"), ox.NamedNode("http://b"), ox.Literal("\x0b"))]
    with pytest.raises(Unrepresentable, match=r"U\+000B"):
        to_graph(triples, "rdfxml")


# 3. a SPARQL client that did not expect a graph ------------------------------------------


def test_construct_asked_as_result_sets_gets_turtle(server):
    query = "CONSTRUCT { ?s a ?o } WHERE { ?s a ?o } LIMIT 3"
    for accept in ("application/sparql-results+json", "application/sparql-results+xml"):
        status, ctype, body = get(server, query, accept)
        assert status == 200, (accept, body)
        assert ctype.startswith("text/turtle")
        assert len(list(ox.parse(body, format=ox.RdfFormat.TURTLE))) == 3


def test_rdflib_sparqlstore_construct_with_return_format_json(server):
    from rdflib import Graph
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    graph = Graph(store=SPARQLStore(server + "/sparql", returnFormat="json"))
    answer = graph.query("CONSTRUCT { ?s a ?o } WHERE { ?s a ?o } LIMIT 3")
    assert len(answer.graph) == 3


def test_what_we_never_give_and_explicit_formats_stay_406_or_400(server):
    query = "CONSTRUCT { ?s a ?o } WHERE { ?s a ?o } LIMIT 1"
    assert get(server, query, "image/png")[0] == 406
    # the client refused Turtle: no fallback to it
    assert get(server, query, "application/sparql-results+json, text/turtle;q=0")[0] == 406
    assert get(server, "SELECT * WHERE { ?s ?p ?o } LIMIT 1", "image/png")[0] == 406
    # a SELECT asked as RDF gets the endpoint's JSON
    status, ctype, _ = get(server, "SELECT * WHERE { ?s ?p ?o } LIMIT 1", "text/turtle")
    assert status == 200 and ctype.startswith("application/sparql-results+json")
    # an explicit format= is honoured or refused, never replaced
    assert get(server, query, "*/*", format="csv")[0] == 400


def test_pages_keep_their_406(client):
    r = client.get("/id/partner/pbn", headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 406


def test_a_constructed_triple_term_in_every_graph_format(server):
    query = (
        "CONSTRUCT { <http://s> <http://p> ?t } "
        'WHERE { BIND(TRIPLE(<http://a>, <http://b>, "c") AS ?t) }'
    )
    for accept, fmt in (
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
    ):
        status, _, body = get(server, query, accept)
        assert status == 200, (accept, body)
        (triple,) = ox.parse(body, format=fmt)
        assert isinstance(triple.object, ox.Triple)
    status, _, body = get(server, query, "application/ld+json")
    assert status == 406 and b"JSON-LD 1.1 cannot carry" in body
