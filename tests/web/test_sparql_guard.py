"""Which /sparql texts are parsed by rdflib before they run, and which go straight to the engine."""

import pyoxigraph as ox
import pytest

from clusterpolisee.sparqltext import max_nesting
from webapp import worker
from webapp.sparql_guard import QueryRefused, check_parsed, check_query, names_service

PLAIN = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\nSELECT ?l WHERE { ?s rdfs:label ?l }"


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * WHERE { SERVICE <http://e/> { ?s ?p ?o } }",
        "select * where { service <http://e/> { ?s ?p ?o } }",
        "SELECT * WHERE { ſERVICE <http://e/> { ?s ?p ?o } }",  # long s folds to s
        "# only a comment says service\nSELECT * {}",
    ],
)
def test_texts_that_name_service_are_parsed_first(text):
    assert names_service(text) is True


def test_a_plain_query_is_not_parsed_by_rdflib():
    before = check_parsed.cache_info()
    check_query(PLAIN + " # a text not seen before")
    assert check_parsed.cache_info().misses == before.misses
    assert names_service(PLAIN) is False


def test_service_is_refused_before_the_engine_sees_it():
    before = check_parsed.cache_info().misses
    with pytest.raises(QueryRefused) as refused:
        check_query("SELECT * WHERE { SERVICE <http://e/x> { ?s ?p ?o } }")
    assert refused.value.status == 403
    assert "SERVICE <http://e/x> is not allowed" in str(refused.value)
    assert check_parsed.cache_info().misses == before + 1


def test_service_spelt_with_an_escape_is_refused_after_oxigraph_rejects_it():
    """Oxigraph expands no escape outside strings and IRIs: to it this is bad syntax, and
    the worker then gives rdflib's reading, SERVICE not allowed."""
    text = "SELECT * WHERE { \\u0053ERVICE <http://e/x> { ?s ?p ?o } }"
    assert names_service(text) is False
    with pytest.raises(QueryRefused) as refused:
        worker.run_query(ox.Store(), {"text": text, "limit": 10, "allowlist": []})
    assert refused.value.status == 403 and "SERVICE <http://e/x>" in str(refused.value)


def test_escapes_in_a_text_that_names_service_are_refused():
    """rdflib reads the escaped quote before it parses and sees one long string; Oxigraph
    sees a one-character string and then a SERVICE call, which rdflib's check let through."""
    text = (
        'SELECT * WHERE {\nBIND("\\u0022" AS ?x) SERVICE <http://e/x> { ?s ?p ?o } # """ AS ?z)\n}'
    )
    assert check_parsed(text) == "select"  # what rdflib alone would have allowed
    with pytest.raises(QueryRefused) as refused:
        check_query(text)
    assert refused.value.status == 400 and "may not use \\u or \\U escapes" in str(refused.value)


@pytest.mark.parametrize(
    "text,status,words",
    [
        ("", 400, "the query is empty"),
        ("SELECT * WHERE {" + "{" * 600 + "}" * 600 + "}", 400, "over 500 levels"),
        ("SELECT * WHERE { ?s ?p ?o } # " + "x" * 100_000, 413, "the limit is 100,000"),
    ],
)
def test_cheap_refusals_come_before_any_parse(text, status, words):
    with pytest.raises(QueryRefused) as refused:
        check_query(text)
    assert refused.value.status == status and words in str(refused.value)


def test_the_reason_for_a_text_the_engine_rejects():
    """What the worker asks when Oxigraph will not parse a text that skipped rdflib."""
    with pytest.raises(QueryRefused) as update:
        check_parsed("DELETE WHERE { ?s ?p ?o }")
    assert update.value.status == 403 and "SPARQL Update (DELETE WHERE)" in str(update.value)
    with pytest.raises(QueryRefused) as syntax:
        check_parsed("SELECT * WHERE { ?s ?p }")
    assert syntax.value.status == 400 and "line 1, column" in str(syntax.value)
    assert check_parsed(PLAIN) == "select"


@pytest.mark.parametrize("keyword", ["SERV\u0130CE", "SERV\u0131CE", "ＳＥＲＶＩＣＥ"])
def test_look_alikes_of_service_that_skip_rdflib_do_not_parse_in_oxigraph(keyword):
    """Oxigraph matches keywords in ASCII only: a look-alike the fast path lets through is
    a syntax error there, never a call."""
    text = f"SELECT * WHERE {{ {keyword} <http://127.0.0.1:9/x> {{ ?s ?p ?o }} }}"
    assert names_service(text) is False
    with pytest.raises(SyntaxError):
        ox.Store().query(text)


def test_a_carriage_return_in_a_text_that_names_service_is_refused():
    """A comment ends at a carriage return for Oxigraph, at a line feed only for rdflib: to
    rdflib's check this SERVICE is part of the comment, and Oxigraph called it (found by a
    review on 2026-12-05)."""
    text = "SELECT * WHERE { # note\r SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o }\n}"
    assert check_parsed(text) == "select"  # what rdflib alone would have allowed
    with pytest.raises(OSError, match="port 9"):  # Oxigraph's reading: a call
        list(ox.Store().query(text))
    with pytest.raises(QueryRefused) as refused:
        check_query(text)
    assert refused.value.status == 400
    assert "nor a carriage return without a line feed" in str(refused.value)
    # Windows line ends are read alike by both: the SERVICE is seen and refused as such.
    with pytest.raises(QueryRefused) as refused:
        check_query(text.replace("\r", "\r\n"))
    assert refused.value.status == 403


DEEP = "(" * 600 + "1" + ")" * 600


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * WHERE { BIND((1 <" + "(" * 600 + "1" + ")" * 601 + ">0 AS ?x) }",
        "SELECT * WHERE { VALUES ?v { " + "<x:)> " * 600 + "} BIND(" + DEEP + " AS ?x) }",
        "SELECT * WHERE { # c\r BIND(" + DEEP + " AS ?x)\n }",
        'SELECT * WHERE { BIND("""a\\"""" AS ?y) BIND(' + DEEP + ' AS ?x) BIND("b" AS ?z) }',
        "PREFIX ex: <http://e/> SELECT * WHERE { BIND(ex:a\\#b AS ?y) BIND(" + DEEP + " AS ?x) }",
        "PREFIX ex: <http://e/> SELECT * WHERE { VALUES ?v { "
        + "ex:a\\) " * 600
        + "} BIND("
        + DEEP
        + " AS ?x) }",
        "SELECT * WHERE { BIND(<http://e/\\u0041#x> AS ?y) BIND(" + DEEP + " AS ?x) }",
        "SELECT * WHERE { BIND(<http://e/\u00a0#x> AS ?y) BIND(" + DEEP + " AS ?x) }",
    ],
    ids=[
        "iri-like comparison",
        "iris with a closing bracket",
        "comment ended by a carriage return",
        "long string with an escaped quote",
        "escaped hash in a prefixed name",
        "escaped brackets in prefixed names",
        "iri with an escape and a hash",
        "iri with a no-break space and a hash",
    ],
)
def test_the_depth_scan_reads_what_the_engine_nests(text):
    """Each text nests 600 brackets that Oxigraph parses as such; the scan once read them
    as comment, string or IRI, or let IRIs and escapes count them down (review, 2026-12-05)."""
    list(ox.Store().query(text))  # the engine parses it
    with pytest.raises(QueryRefused) as refused:
        check_query(text)
    assert refused.value.status == 400 and "nested too deeply" in str(refused.value)


def test_the_depth_scan_passes_brackets_in_iris_and_strings():
    text = (
        "SELECT * WHERE { VALUES ?x { "
        + "<http://dbpedia.org/resource/Foo_(bar)> " * 600
        + '} BIND("'
        + "(" * 600
        + '" AS ?y) } # '
        + "(" * 600
    )
    assert max_nesting(text) == 3  # the two groups and one bracket inside each IRI
    check_query(text)
