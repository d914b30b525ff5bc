"""Content negotiation and CORS of the public read-only resources.

Media-type parameters other than q are ignored (Werkzeug 3.1 matched only offers with the same
parameters: "text/turtle; charset=utf-8" was a 406); "application/*" never picks HTML through
its application/xhtml+xml alias; every linked-data resource may be read from another origin.
"""

import json
import urllib.error
import urllib.request

import pyoxigraph as ox
import pytest
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from webapp import renderer

CONSTRUCT = """CONSTRUCT { ?r ?p ?o } WHERE {
  BIND(<https://w3id.org/clusterpolisee/id/region/ITI3> AS ?r) ?r ?p ?o }"""
SELECT = "SELECT ?r WHERE { ?r a <https://w3id.org/clusterpolisee/ontology#Region> } LIMIT 3"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
TURTLE_UTF8 = "text/turtle; charset=utf-8"
COMPACTED = 'application/ld+json; profile="http://www.w3.org/ns/json-ld#compacted"'
LINKED = ["/id/partner/pbn", "/graph/partner/nerda", "/dataset", "/ontology", "/shapes"]
RDF = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}


def accept(header: str) -> MIMEAccept:
    return parse_accept_header(header, MIMEAccept)


def get(client, path: str, header: str | None, query: str | None = None):
    headers = {"Accept": header} if header is not None else {}
    return client.get(path, query_string={"query": query} if query else None, headers=headers)


def triples(r) -> list[ox.Triple]:
    fmt = RDF[r.mimetype]
    return [q.triple for q in ox.parse(r.data, format=fmt)]


# 1. Parameters other than q -------------------------------------------------------------


@pytest.mark.parametrize(
    "header,offers,expected",
    [
        (TURTLE_UTF8, ["text/html", "text/turtle"], "text/turtle"),
        (COMPACTED, ["text/turtle", "application/ld+json"], "application/ld+json"),
        ('TEXT/Turtle ; Charset="UTF-8"', ["text/turtle"], "text/turtle"),
        # q still counts, wherever it stands among the parameters
        (
            "text/turtle;charset=utf-8;q=0.4, text/csv;q=0.5",
            ["text/turtle", "text/csv"],
            "text/csv",
        ),
        ("text/turtle;q=0;charset=utf-8, */*", ["text/turtle", "text/csv"], "text/csv"),
        ("image/png; x=1", ["text/turtle"], None),
        ("", ["text/turtle"], None),
    ],
)
def test_best_match_ignores_parameters_other_than_q(header, offers, expected):
    assert renderer.best_match(accept(header), offers) == expected


@pytest.mark.parametrize(
    "path,header,query,mimetype",
    [
        ("/id/partner/pbn", TURTLE_UTF8, None, "text/turtle"),
        ("/id/partner/pbn", COMPACTED, None, "application/ld+json"),
        ("/graph/partner/nerda", TURTLE_UTF8, None, "text/turtle"),
        ("/dataset", "application/n-triples; charset=utf-8", None, "application/n-triples"),
        ("/ontology", TURTLE_UTF8, None, "text/turtle"),
        ("/shapes", "application/rdf+xml; charset=utf-8", None, "application/rdf+xml"),
        ("/catalog", COMPACTED, None, "application/ld+json"),
        ("/.well-known/void", TURTLE_UTF8, None, "text/turtle"),
        ("/sparql", "application/sparql-results+json; charset=utf-8", SELECT, None),
        ("/sparql", TURTLE_UTF8, CONSTRUCT, "text/turtle"),
        ("/sparql", COMPACTED, CONSTRUCT, "application/ld+json"),
        ("/queries/external-links", "text/csv; charset=utf-8", None, None),
        ("/queries/overview", "application/sparql-results+xml; charset=utf-8", None, None),
    ],
)
def test_a_parameter_in_accept_gets_the_asked_format(client, path, header, query, mimetype):
    r = get(client, path, header, query)
    asked = header.split(";")[0]
    assert r.status_code == 200, r.data[:200]
    assert r.mimetype == asked
    assert "Accept" in r.headers["Vary"]
    if mimetype is not None:
        assert triples(r)
    elif asked == "application/sparql-results+json":
        assert len(json.loads(r.data)["results"]["bindings"]) == 3
    elif asked == "text/csv":
        assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert r.data.splitlines()[0].count(b",") >= 1


def test_html_error_pages_and_the_editor_take_parameters_too(client):
    r = client.get("/id/nothing/here", headers={"Accept": "text/html; charset=utf-8"})
    assert r.status_code == 404 and r.mimetype == "text/html"
    r = client.get("/sparql", headers={"Accept": "text/html; level=1"})
    assert r.status_code == 200 and b'<textarea id="query"' in r.data


def test_a_parameter_in_accept_over_waitress(server):
    for path, header in (("/id/partner/pbn", TURTLE_UTF8), ("/catalog", COMPACTED)):
        req = urllib.request.Request(server + path, headers={"Accept": header})
        with urllib.request.urlopen(req, timeout=60) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == header.split(";")[0] + "; charset=utf-8"
            fmt = RDF[header.split(";")[0]]
            assert list(ox.parse(resp.read(), format=fmt))


# 2. application/* and the HTML alias ------------------------------------------------------


@pytest.mark.parametrize("path", LINKED)
def test_application_wildcard_gets_rdf_not_html(client, path):
    r = get(client, path, "application/*")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/n-triples; charset=utf-8"
    assert triples(r)
    r = get(client, path, "application/*;q=0.5, text/turtle;q=0.4")
    assert r.mimetype == "application/n-triples"


@pytest.mark.parametrize(
    "path,query,mimetype",
    [
        ("/queries/external-links", None, "application/sparql-results+json"),
        ("/sparql", SELECT, "application/sparql-results+json"),
        ("/sparql", CONSTRUCT, "application/n-triples"),
        ("/catalog", None, "application/ld+json"),
    ],
)
def test_application_wildcard_gets_the_first_application_format(client, path, query, mimetype):
    r = get(client, path, "application/*", query)
    assert r.status_code == 200 and r.mimetype == mimetype


@pytest.mark.parametrize("path", [*LINKED, "/queries/external-links"])
def test_refusing_html_is_not_undone_by_its_alias(client, path):
    """ "text/html;q=0, */*" got HTML: */* matched application/xhtml+xml, HTML's alias."""
    r = get(client, path, "text/html;q=0, */*")
    assert r.status_code == 200 and r.mimetype != "text/html"


# What clients got before, and keep: browsers and */* HTML where they had it, curl's */*
# the page's default, an explicit alias its format.
KEPT = [
    *[(p, h, None, "text/html") for p in LINKED for h in (None, "*/*", BROWSER, "text/*")],
    *[(p, "application/xhtml+xml", None, "text/html") for p in LINKED],
    *[(p, "application/json", None, "application/ld+json") for p in LINKED],
    *[(p, "application/xml", None, "application/rdf+xml") for p in LINKED],
    *[(p, "text/plain", None, "application/n-triples") for p in LINKED],
    *[("/queries/external-links", h, None, "text/html") for h in (None, "*/*", BROWSER)],
    ("/queries/external-links", "application/json", None, "application/sparql-results+json"),
    *[
        (p, h, None, "text/turtle")
        for p in ("/catalog", "/.well-known/void")
        for h in (None, "*/*", BROWSER)
    ],
    ("/catalog", "application/json", None, None),  # canonical types only: 406
    ("/sparql", "*/*", SELECT, "application/sparql-results+json"),
    ("/sparql", None, SELECT, "application/sparql-results+json"),
    ("/sparql", BROWSER, SELECT, "text/html"),
    ("/sparql", "*/*", CONSTRUCT, "text/turtle"),
    ("/sparql", BROWSER, CONSTRUCT, "text/html"),
    ("/sparql", "application/json", CONSTRUCT, "application/ld+json"),
    ("/sparql", "*/*", None, "text/turtle"),
    ("/sparql", BROWSER, None, "text/html"),
]


@pytest.mark.parametrize("path,header,query,mimetype", KEPT)
def test_what_browsers_and_curl_got_they_keep(client, path, header, query, mimetype):
    r = get(client, path, header, query)
    if mimetype is None:
        assert r.status_code == 406
    else:
        assert r.status_code == 200 and r.mimetype == mimetype


def test_application_wildcard_over_waitress(server):
    req = urllib.request.Request(server + "/id/partner/pbn", headers={"Accept": "application/*"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/n-triples; charset=utf-8"
        assert b"<https://w3id.org/clusterpolisee/id/partner/pbn>" in resp.read()
    req = urllib.request.Request(server + "/id/partner/pbn", headers={"Accept": "*/*"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.headers["Content-Type"] == "text/html; charset=utf-8"


# 3. CORS ------------------------------------------------------------------------------------

PUBLIC = [
    ("/id/partner/pbn", "text/turtle", "Accept, Accept-Language, Accept-Encoding"),
    ("/id/partner/pbn", "text/html", "Accept, Accept-Language, Accept-Encoding"),
    ("/graph/partner/nerda", "text/turtle", "Accept, Accept-Language, Accept-Encoding"),
    ("/catalog", "text/turtle", "Accept, Accept-Encoding"),
    ("/.well-known/void", "application/ld+json", "Accept, Accept-Encoding"),
    ("/dataset", "text/turtle", "Accept, Accept-Language, Accept-Encoding"),
    ("/ontology", "text/turtle", "Accept, Accept-Encoding"),
    ("/ontology", "text/html", "Accept, Accept-Encoding"),
    # download() says so even for a suffix
    ("/shapes.ttl", "text/turtle", "Accept, Accept-Encoding"),
    ("/queries/external-links.json", "*/*", "Accept, Accept-Language, Accept-Encoding"),
    ("/queries/external-links", "text/csv", "Accept, Accept-Language, Accept-Encoding"),
    ("/dumps/clusterpolisee.nq.gz", "*/*", None),
]


@pytest.mark.parametrize("path,header,vary", PUBLIC)
def test_public_resources_may_be_read_from_any_origin(client, path, header, vary):
    origin = {"Origin": "https://tool.example"}
    for r in (
        client.get(path, headers={"Accept": header, **origin}),
        client.head(path, headers={"Accept": header, **origin}),
    ):
        assert r.status_code == 200
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        # "*" is the same for every origin: no "Vary: Origin" (it also kept pages uncached);
        # Accept-Encoding: gzip for clients that accept it (webapp.compress), not the .gz dump
        assert r.headers.get("Vary") == vary


def test_errors_of_public_resources_are_readable_too(client):
    for path, header, status in (
        ("/id/nothing/here", "text/turtle", 404),
        ("/id/partner/pbn", "image/png", 406),
        ("/catalog", "image/png", 406),
    ):
        r = client.get(path, headers={"Accept": header})
        assert r.status_code == status
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert "Accept" in r.headers["Vary"]  # text or HTML by Accept


def test_a_preflight_for_a_resource_allows_accept(client):
    """A quoted JSON-LD profile makes Accept a non-simple header: browsers ask first."""
    r = client.options(
        "/id/partner/pbn",
        headers={
            "Origin": "https://tool.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "accept",
        },
    )
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Accept" in r.headers["Access-Control-Allow-Headers"]
    assert "GET" in r.headers["Access-Control-Allow-Methods"]


def test_forms_and_token_pages_get_no_cors(client):
    for r in (
        client.get("/submit", headers={"Origin": "https://tool.example"}),
        client.post("/submit", data={}, headers={"Origin": "https://tool.example"}),
        client.get("/links/review", headers={"Origin": "https://tool.example"}),
        client.get("/", headers={"Origin": "https://tool.example"}),
    ):
        assert "Access-Control-Allow-Origin" not in r.headers, r.request.path


def test_a_resource_read_from_another_origin_is_still_kept_in_the_page_cache(app, client):
    path = "/id/partner/pbn"
    header = "application/n-triples"
    first = client.get(path, headers={"Accept": header, "Origin": "https://tool.example"})
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    pages = app.extensions["cpo.pages"]
    assert any(k[1] == path and k[4] == header for k in list(pages))
    again = client.get(path, headers={"Accept": header})
    assert again.headers["Access-Control-Allow-Origin"] == "*" and again.data == first.data


def test_cors_over_waitress(server):
    for path in ("/id/partner/pbn", "/dumps/clusterpolisee.trig.gz", "/queries/overview.csv"):
        req = urllib.request.Request(server + path, headers={"Origin": "https://tool.example"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            assert resp.status == 200
            assert resp.headers["Access-Control-Allow-Origin"] == "*", path
    req = urllib.request.Request(server + "/submit", headers={"Origin": "https://tool.example"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.headers["Access-Control-Allow-Origin"] is None
    req = urllib.request.Request(server + "/id/nothing/here", headers={"Accept": "text/turtle"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=60)
    assert err.value.code == 404 and err.value.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("kind", "accept"),
    [
        ("graph", "application/ld+json;q=0, application/json"),
        ("graph", "text/html;q=0, application/xhtml+xml"),
        ("graph", "application/n-triples;q=0, text/plain"),
        ("select", "application/sparql-results+json;q=0, application/json"),
    ],
)
def test_a_format_refused_by_its_own_type_is_not_given_through_an_alias(kind, accept):
    """The answer carried the very media type the client had refused (q=0)."""
    assert renderer.negotiate(parse_accept_header(accept, MIMEAccept), kind, "html") is None
