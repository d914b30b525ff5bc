"""gzip content-coding (webapp/compress.py) over a real waitress server.

http.client sends exactly the headers given and never decompresses, so each test sees the
bytes on the wire."""

import gzip
import http.client
import urllib.parse

import pytest
import requests

PAGE = "/queries/overview"  # kept by the page cache
SPARQL_JSON = "application/sparql-results+json"
#: Answered by Flask each time (SPARQL answers are not kept pages), about 30 KB.
SPARQL = "/sparql?query=" + urllib.parse.quote("SELECT * WHERE { ?s ?p ?o } LIMIT 200")


@pytest.fixture(scope="module")
def port(server: str) -> int:
    return urllib.parse.urlsplit(server).port  # type: ignore[return-value]


def fetch(
    port: int, path: str, method: str = "GET", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and the raw body of one request."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, headers={k.replace("_", "-"): v for k, v in headers.items()})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def varies(headers: dict[str, str]) -> bool:
    return "accept-encoding" in {v.strip().lower() for v in headers.get("vary", "").split(",")}


@pytest.mark.parametrize(("path", "accept"), [(PAGE, "text/html"), (SPARQL, SPARQL_JSON)])
def test_gzip_is_the_identity_body_compressed_with_its_own_etag(port, path, accept) -> None:
    _, plain_h, plain = fetch(port, path, Accept=accept)
    status, gz_h, packed = fetch(port, path, Accept=accept, Accept_Encoding="gzip")
    assert status == 200 and gz_h["content-encoding"] == "gzip"
    assert "content-encoding" not in plain_h
    assert gzip.decompress(packed) == plain and len(packed) < len(plain) / 4
    assert int(gz_h["content-length"]) == len(packed)
    assert varies(plain_h) and varies(gz_h), "caches must keep the two apart"
    assert gz_h["etag"] == plain_h["etag"][:-1] + '-gzip"'
    assert gz_h["content-type"] == plain_h["content-type"]


@pytest.mark.parametrize(("path", "accept"), [(PAGE, "text/html"), (SPARQL, SPARQL_JSON)])
def test_each_etag_revalidates_only_its_own_encoding(port, path, accept) -> None:
    """Page-cache hits and Flask's answers alike: 304 only for the ETag of the encoding
    the request would get; the other encoding's ETag gets the full answer."""
    _, plain_h, plain = fetch(port, path, Accept=accept)
    _, gz_h, _ = fetch(port, path, Accept=accept, Accept_Encoding="gzip")
    plain_tag, gz_tag = plain_h["etag"], gz_h["etag"]
    assert plain_tag != gz_tag

    status, h, body = fetch(port, path, Accept=accept, Accept_Encoding="gzip", If_None_Match=gz_tag)
    assert status == 304 and body == b"" and h["etag"] == gz_tag and varies(h)
    status, h, body = fetch(port, path, Accept=accept, If_None_Match=plain_tag)
    assert status == 304 and body == b"" and h["etag"] == plain_tag and varies(h)
    # A weak comparison, as If-None-Match asks, and a list of tags.
    status, _, _ = fetch(
        port, path, Accept=accept, Accept_Encoding="gzip", If_None_Match=f'"x", W/{gz_tag}'
    )
    assert status == 304

    status, h, body = fetch(
        port, path, Accept=accept, Accept_Encoding="gzip", If_None_Match=plain_tag
    )
    assert status == 200 and h["content-encoding"] == "gzip" and h["etag"] == gz_tag
    assert gzip.decompress(body) == plain
    status, h, body = fetch(port, path, Accept=accept, If_None_Match=gz_tag)
    assert status == 200 and "content-encoding" not in h and body == plain


@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [
        (None, False),
        ("gzip;q=0", False),
        ("identity", False),
        ("br, deflate", False),
        ("*;q=0", False),
        ("gzip;q=0, *", False),  # gzip named with q=0 wins over the star
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("GZIP;q=0.5", True),
        ("*", True),
        ("br, *;q=0.1", True),
    ],
)
def test_accept_encoding_is_honoured(port, accept_encoding, gzipped) -> None:
    headers = {"Accept_Encoding": accept_encoding} if accept_encoding else {}
    status, h, body = fetch(port, PAGE, **headers)
    assert status == 200 and varies(h)
    assert (h.get("content-encoding") == "gzip") is gzipped
    if not gzipped:
        assert b"<table" in body and h["etag"].endswith('-gzip"') is False


def test_already_compressed_and_small_answers_are_sent_as_they_are(port) -> None:
    status, h, body = fetch(port, "/queries/overview.xlsx", Accept_Encoding="gzip")
    assert status == 200 and "content-encoding" not in h and body[:2] == b"PK"
    assert not varies(h)  # never compressed: nothing for a cache to tell apart
    status, h, body = fetch(port, "/dumps/clusterpolisee.nq.gz", Accept_Encoding="gzip")
    assert status == 200 and "content-encoding" not in h and h["content-type"] == "application/gzip"
    assert gzip.decompress(body).startswith(b"<")  # gzip once, not twice
    status, h, body = fetch(port, "/health", Accept_Encoding="gzip")
    assert status == 200 and len(body) < 1024 and "content-encoding" not in h
    assert body.startswith(b"{") and varies(h)


def test_pages_with_a_csrf_token_are_never_compressed(port) -> None:
    """BREACH: a secret compressed beside text the request put there leaks by length."""
    for path in ("/submit", "/links/review"):
        status, h, body = fetch(port, path, Accept_Encoding="gzip")
        assert status == 200 and "content-encoding" not in h, path
        assert "cookie" in h["vary"].lower() and "set-cookie" in h  # its CSRF session
    assert b"csrf" in fetch(port, "/submit", Accept_Encoding="gzip")[2]


def test_a_query_sent_by_post_is_compressed(port) -> None:
    query = urllib.parse.urlsplit(SPARQL).query
    answers = []
    for encoding in ("identity", "gzip"):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {
            "Accept": SPARQL_JSON,
            "Accept-Encoding": encoding,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        conn.request("POST", "/sparql", body=query, headers=headers)
        resp = conn.getresponse()
        answers.append((resp.status, resp.getheader("Content-Encoding"), resp.read()))
        conn.close()
    (s1, ce1, plain), (s2, ce2, packed) = answers
    assert s1 == s2 == 200 and ce1 is None and ce2 == "gzip"
    assert gzip.decompress(packed) == plain


def test_head_has_no_body_and_is_not_encoded(port) -> None:
    for path in (PAGE, SPARQL):
        status, h, body = fetch(port, path, method="HEAD", Accept_Encoding="gzip")
        assert status == 200 and body == b""
        assert "content-encoding" not in h and varies(h)


def test_static_files_are_compressed_and_revalidate(port) -> None:
    _, plain_h, plain = fetch(port, "/static/style.css")
    status, h, packed = fetch(port, "/static/style.css", Accept_Encoding="gzip")
    assert status == 200 and h["content-encoding"] == "gzip"
    assert gzip.decompress(packed) == plain
    status, _, _ = fetch(port, "/static/style.css", Accept_Encoding="gzip", If_None_Match=h["etag"])
    assert status == 304


def test_a_kept_page_is_compressed_once_and_gives_the_same_bytes(app, port) -> None:
    path, pages = "/queries/clusters", app.extensions["cpo.pages"]
    had = set(pages)
    fetch(port, path, Accept_Language="fr")  # a key of its own, kept now
    [key] = [k for k in set(pages) - had if k[1] == path]
    assert pages[key][3] is None, "no gzip bytes before a client asks for them"
    before = pages.bytes
    answers = [fetch(port, path, Accept_Encoding="gzip", Accept_Language="fr") for _ in range(3)]
    packed = pages[key][3][0]
    assert pages.bytes == before + len(packed) + sum(len(k) + len(v) for k, v in pages[key][3][1])
    for status, h, body in answers:
        assert status == 200 and h["content-encoding"] == "gzip" and body == packed
        assert h["etag"] == answers[0][1]["etag"]
    assert gzip.decompress(packed) == pages[key][0]


def test_requests_asks_for_gzip_and_reads_the_answer(server) -> None:
    plain = requests.get(server + SPARQL, headers={"Accept": SPARQL_JSON, "Accept-Encoding": ""})
    resp = requests.get(server + SPARQL, headers={"Accept": SPARQL_JSON})
    assert "gzip" in resp.request.headers["Accept-Encoding"]  # requests' default
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.content == plain.content and len(resp.json()["results"]["bindings"]) == 200


def test_sparqlwrapper_and_sparqlstore_ask_for_no_encoding_and_read_the_answer(
    server, monkeypatch
) -> None:
    from rdflib import Graph
    from rdflib.plugins.stores import sparqlconnector
    from rdflib.plugins.stores.sparqlstore import SPARQLStore
    from SPARQLWrapper import JSON, SPARQLWrapper

    query = "SELECT * WHERE { ?s ?p ?o } LIMIT 200"
    client = SPARQLWrapper(server + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(JSON)
    result = client.query()
    info = result.info()
    assert "content-encoding" not in info and "Accept-Encoding" in info["vary"]
    assert len(result.convert()["results"]["bindings"]) == 200

    seen: list = []
    urlopen = sparqlconnector.urlopen

    def recording(req, *args, **kwargs):
        seen.append(req)
        resp = urlopen(req, *args, **kwargs)
        seen.append(resp.headers)
        return resp

    monkeypatch.setattr(sparqlconnector, "urlopen", recording)
    graph = Graph(store=SPARQLStore(server + "/sparql", returnFormat="json"))
    assert len(list(graph.query(query))) == 200
    req, headers = seen
    assert req.get_header("Accept-encoding") is None
    assert "Content-Encoding" not in headers and "Accept-Encoding" in headers["Vary"]


def test_a_client_that_asks_for_gzip_gets_answers_it_can_read(server) -> None:
    """Every format of a stored question, decompressed, is the identity answer."""
    for suffix in (".json", ".csv", ".tsv", ".xml"):
        url = server + "/queries/clusters" + suffix
        plain = requests.get(url, headers={"Accept-Encoding": "identity"})
        packed = requests.get(url)
        assert plain.status_code == packed.status_code == 200
        assert "Content-Encoding" not in plain.headers
        assert packed.headers.get("Content-Encoding") == "gzip" or len(plain.content) < 1024
        assert packed.content == plain.content
