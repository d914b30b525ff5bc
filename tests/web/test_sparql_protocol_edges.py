"""Edges of the SPARQL 1.1 Protocol found by an analyst's tests, through a real server.

Raw bytes matter here (a Latin-1 percent-escape, a byte order mark, a parameter given twice),
so requests go out through http.client exactly as written; SPARQLWrapper and rdflib are used
where the client is the point.
"""

import http.client
import json
import urllib.parse

import pytest
from rdflib import Graph, URIRef
from SPARQLWrapper import JSON, SPARQLWrapper

CLASSES = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <http://www.w3.org/2002/07/owl#Class> }"
ONTOLOGY = "https://w3id.org/clusterpolisee/graph/ontology"
SD = "http://www.w3.org/ns/sparql-service-description#"
ROU = "https://w3id.org/clusterpolisee/id/country/ROU"
ITA = "https://w3id.org/clusterpolisee/id/country/ITA"


def send(
    server: str, method: str, target: str, body: bytes | None = None, **headers: str
) -> tuple[int, http.client.HTTPResponse, bytes]:
    """One request with exactly these bytes; (status, response, body)."""
    host = urllib.parse.urlsplit(server).netloc
    conn = http.client.HTTPConnection(host, timeout=30)
    try:
        names = {k.replace("_", "-"): v for k, v in headers.items()}
        # Results as JSON, errors as text (a 406 would hide what the former code answered).
        names.setdefault("Accept", "application/sparql-results+json, text/plain;q=0.5")
        conn.request(method, target, body=body, headers=names)
        resp = conn.getresponse()
        return resp.status, resp, resp.read()
    finally:
        conn.close()


def q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def count(body: bytes) -> int:
    return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])


JSON_ACCEPT = "application/sparql-results+json"


# --- #8 an empty default-graph-uri= (Virtuoso's form) --------------------------------------


def test_an_empty_default_graph_uri_is_no_graph(server):
    """Was 400 "'' is not an IRI"; now the empty value is skipped and the query answered as
    without it."""
    status, _, everywhere = send(server, "GET", f"/sparql?query={q(CLASSES)}", Accept=JSON_ACCEPT)
    assert status == 200 and count(everywhere) > 0
    for target in (
        f"/sparql?default-graph-uri=&query={q(CLASSES)}",
        f"/sparql?named-graph-uri=&query={q(CLASSES)}",
        f"/sparql?default-graph-uri=&named-graph-uri=&query={q(CLASSES)}",
    ):
        status, _, body = send(server, "GET", target, Accept=JSON_ACCEPT)
        assert status == 200, body
        assert count(body) == count(everywhere)
    status, _, body = send(server, "GET", "/sparql?default-graph-uri=&query=ASK%7B%7D")
    assert status == 200, body


def test_a_virtuoso_style_url_as_copied_from_its_form(server):
    """The URL Virtuoso's /sparql form makes (and DBpedia links carry), unchanged."""
    target = (
        f"/sparql?default-graph-uri=&query={q(CLASSES)}"
        "&format=application%2Fsparql-results%2Bjson&timeout=0&signal_void=on"
    )
    status, resp, body = send(server, "GET", target, Accept="*/*")
    assert status == 200, body
    assert resp.getheader("Content-Type").startswith(JSON_ACCEPT)
    assert count(body) > 0


def test_an_empty_value_beside_a_graph_keeps_the_graph(server):
    target = f"/sparql?query={q(CLASSES)}&default-graph-uri={q(ONTOLOGY)}"
    _, _, only = send(server, "GET", target, Accept=JSON_ACCEPT)
    status, _, body = send(server, "GET", target + "&default-graph-uri=", Accept=JSON_ACCEPT)
    assert status == 200 and count(body) == count(only)


def test_sparqlwrapper_with_an_empty_default_graph(server):
    sw = SPARQLWrapper(f"{server}/sparql")
    sw.setReturnFormat(JSON)
    sw.setQuery(CLASSES)
    everywhere = sw.queryAndConvert()["results"]["bindings"][0]["n"]["value"]
    sw.addParameter("default-graph-uri", "")
    assert sw.queryAndConvert()["results"]["bindings"][0]["n"]["value"] == everywhere


# --- #9 invalid UTF-8 ---------------------------------------------------------------------

LATIN1 = 'SELECT ?x WHERE { BIND("Z\xfcrich" AS ?x) }'.encode("latin-1")
AT = LATIN1.index(b"\xfc")


def test_a_latin1_percent_escape_is_refused(server):
    """Was 200 with the literal "Z%FCrich" (Werkzeug kept the escape as text)."""
    target = "/sparql?query=" + urllib.parse.quote_from_bytes(LATIN1, safe="")
    assert "%FC" in target
    status, _, body = send(server, "GET", target, Accept=JSON_ACCEPT)
    assert status == 400, body
    text = body.decode()
    assert f"the query is not valid UTF-8 (byte 0xFC at position {AT}" in text
    assert "percent-encode each UTF-8 byte" in text


def test_the_same_word_in_utf8_is_answered(server):
    target = "/sparql?query=" + q('SELECT ?x WHERE { BIND("Zürich" AS ?x) }')
    status, _, body = send(server, "GET", target, Accept=JSON_ACCEPT)
    assert status == 200
    assert json.loads(body)["results"]["bindings"][0]["x"]["value"] == "Zürich"


def test_invalid_utf8_in_a_query_body_is_refused(server):
    """Was 200 with U+FFFD in place of the byte."""
    status, _, body = send(
        server, "POST", "/sparql", LATIN1, Content_Type="application/sparql-query"
    )
    assert status == 400, body
    assert f"not valid UTF-8 (byte 0xFC at position {AT}" in body.decode()


def test_invalid_utf8_in_a_form_body_is_refused(server):
    form = b"query=" + urllib.parse.quote_from_bytes(LATIN1, safe="").encode()
    status, _, body = send(
        server, "POST", "/sparql", form, Content_Type="application/x-www-form-urlencoded"
    )
    assert status == 400, body
    assert "the query is not valid UTF-8 (byte 0xFC" in body.decode()


def test_a_replacement_character_sent_as_utf8_is_kept(server):
    """U+FFFD sent as its own UTF-8 bytes is a character like any other, not an error."""
    text = 'SELECT ?x WHERE { BIND("a\ufffdb" AS ?x) }'.encode()
    status, _, body = send(
        server, "POST", "/sparql", text, Content_Type="application/sparql-query",
        Accept=JSON_ACCEPT,
    )  # fmt: skip
    assert status == 200, body
    assert json.loads(body)["results"]["bindings"][0]["x"]["value"] == "a\ufffdb"


def test_invalid_utf8_in_a_graph_parameter_is_refused(server):
    target = f"/sparql?query={q(CLASSES)}&default-graph-uri=http%3A%2F%2Fe%2F%FC"
    status, _, body = send(server, "GET", target)
    assert status == 400
    assert "the parameter 'default-graph-uri' is not valid UTF-8 (byte 0xFC" in body.decode()


# --- #10 a byte order mark ----------------------------------------------------------------


def test_a_leading_byte_order_mark_is_dropped(server):
    """Was 400 "syntax error at line 1, column 1"."""
    status, _, body = send(
        server, "POST", "/sparql", b"\xef\xbb\xbfASK {}", Content_Type="application/sparql-query",
        Accept=JSON_ACCEPT,
    )  # fmt: skip
    assert status == 200, body
    assert json.loads(body)["boolean"] is True
    status, _, body = send(server, "GET", "/sparql?query=%EF%BB%BFASK%7B%7D", Accept=JSON_ACCEPT)
    assert status == 200, body
    assert json.loads(body)["boolean"] is True


# --- #14 ambiguous requests ---------------------------------------------------------------


def test_two_query_parameters_are_refused(server):
    """Was 200 answering the first."""
    status, _, body = send(
        server, "GET", "/sparql?query=ASK%7B%7D&query=SELECT%20*%20%7B%7D", Accept=JSON_ACCEPT
    )
    assert status == 400, body
    assert "the 'query' parameter is given 2 times; give it once" in body.decode()


def test_a_query_body_and_a_query_in_the_url_are_refused(server):
    """Was 200 answering the body."""
    status, _, body = send(
        server, "POST", "/sparql?query=SELECT%20*%20%7B%7D", b"ASK {}",
        Content_Type="application/sparql-query",
    )  # fmt: skip
    assert status == 400, body
    assert "the query is given twice" in body.decode()


def test_a_query_in_the_url_and_in_a_form_body_are_refused(server):
    status, _, body = send(
        server, "POST", "/sparql?query=ASK%7B%7D", b"query=ASK%7B%7D",
        Content_Type="application/x-www-form-urlencoded",
    )  # fmt: skip
    assert status == 400, body
    assert "given 2 times" in body.decode()


def test_two_different_formats_are_refused_two_equal_ones_are_not(server):
    status, _, body = send(server, "GET", "/sparql?query=ASK%7B%7D&format=json&output=xml")
    assert status == 400, body
    assert "the result format is given as 'json', 'xml'" in body.decode()
    status, _, body = send(server, "GET", "/sparql?query=ASK%7B%7D&format=csv&format=tsv")
    assert status == 400, body
    status, resp, body = send(server, "GET", "/sparql?query=ASK%7B%7D&format=json&output=JSON")
    assert status == 200 and resp.getheader("Content-Type").startswith(JSON_ACCEPT)


# --- #3 a stored question's parameter given twice -----------------------------------------


def test_a_stored_question_parameter_given_twice_is_refused(server):
    """Was 200 with the first country's rows."""
    target = f"/queries/clusters.csv?country={q(ROU)}&country={q(ITA)}"
    status, _, body = send(server, "GET", target)
    assert status == 400, body
    assert "parameter 'country' is given 2 times; give it once" in body.decode()
    status, _, _ = send(server, "GET", f"/queries/clusters.csv?country={q(ITA)}")
    assert status == 200


def test_on_a_stored_question_page_the_field_is_marked(server):
    target = f"/queries/clusters?country={q(ROU)}&country={q(ITA)}"
    status, _, body = send(server, "GET", target, Accept="text/html")
    assert status == 400
    assert "is given 2 times; give it once" in body.decode()


# --- #7 a query over the length limit -------------------------------------------------------


def long_query(n: int = 14_000) -> str:
    values = " ".join(f'"v{i}"' for i in range(n))
    return "SELECT ?x WHERE { VALUES ?x { " + values + " } } LIMIT 1"


def test_a_query_over_the_limit_is_413(server):
    """Was 400 "Malformed query: the query is longer than 100000 characters"."""
    text = long_query()
    assert len(text) > 100_000
    status, _, body = send(
        server, "POST", "/sparql", text.encode(), Content_Type="application/sparql-query"
    )
    assert status == 413, body
    assert body.decode().startswith(
        f"Query too long: {len(text):,} characters, the limit is 100,000; "
    )
    form = b"query=" + q(text).encode()
    status, _, body = send(
        server, "POST", "/sparql", form, Content_Type="application/x-www-form-urlencoded",
        Accept="text/html",
    )  # fmt: skip
    assert status == 413
    assert "Query too long: " in body.decode()


def test_a_query_at_the_limit_runs(server):
    text = long_query(14_000)
    text = text + " " * (100_000 - len(text)) if len(text) < 100_000 else long_query(12_000)
    assert len(text) <= 100_000
    status, _, body = send(
        server, "POST", "/sparql", text.encode(), Content_Type="application/sparql-query",
        Accept=JSON_ACCEPT,
    )  # fmt: skip
    assert status == 200, body[:300]


# --- #13 the service description by content negotiation -------------------------------------


@pytest.mark.parametrize(
    "accept,mimetype,rdflib_format",
    [
        ("application/rdf+xml", "application/rdf+xml", "xml"),
        ("application/n-triples", "application/n-triples", "nt"),
        ("application/ld+json", "application/ld+json", "json-ld"),
        ("text/turtle", "text/turtle", "turtle"),
        ("*/*", "text/turtle", "turtle"),
        ("application/sparql-results+json", "text/turtle", "turtle"),
    ],
)
def test_the_service_description_follows_accept(server, accept, mimetype, rdflib_format):
    """Was text/turtle whatever the Accept header asked."""
    status, resp, body = send(server, "GET", "/sparql", Accept=accept)
    assert status == 200
    assert resp.getheader("Content-Type").split(";")[0] == mimetype
    assert "Accept" in resp.getheader("Vary")
    graph = Graph().parse(data=body, format=rdflib_format)
    endpoint = URIRef(f"{server}/sparql")
    assert (endpoint, URIRef(SD + "endpoint"), endpoint) in graph


def test_a_browser_still_gets_the_editor(server):
    status, resp, body = send(
        server, "GET", "/sparql",
        Accept="text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    )  # fmt: skip
    assert status == 200
    assert resp.getheader("Content-Type").startswith("text/html")
    assert b'id="sparql-form"' in body


def test_the_service_description_takes_a_named_format_and_refuses_an_unknown_one(server):
    """Without a query, `format`/`output` was ignored: `output=AAA` answered Turtle, 200."""
    status, resp, body = send(server, "GET", "/sparql?output=AAA", Accept="*/*")
    assert status == 400 and b"unknown format 'AAA'" in body
    status, resp, body = send(server, "GET", "/sparql?format=nt", Accept="*/*")
    assert status == 200
    assert resp.getheader("Content-Type").split(";")[0] == "application/n-triples"
    endpoint = URIRef(f"{server}/sparql")
    assert (endpoint, URIRef(SD + "endpoint"), endpoint) in Graph().parse(data=body, format="nt")
