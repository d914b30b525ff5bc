"""The page cache answers a repeated page before Flask runs, with the same headers and body."""

import http.client
import time
import urllib.parse
from collections.abc import Iterator

import pytest
from flask import Flask, request, session
from werkzeug.test import EnvironBuilder

from webapp import close_app
from webapp.pagecache import PageCache, cached_page

from .conftest import make_app, waitress_serving

SPARQL = "SELECT ?r WHERE { ?r a <https://w3id.org/clusterpolisee/ontology#Region> } LIMIT 3"


@pytest.fixture(scope="module")
def counted(store_path, tmp_path_factory) -> Iterator[tuple[Flask, list[str]]]:
    """An app that records each request Flask itself handles (a hit never reaches it), with
    two pages of its own that touch the session (they must never be kept)."""
    app = make_app(store_path, tmp_path_factory.mktemp("pagecache"), WRITABLE=False)
    seen: list[str] = []
    app.before_request(lambda: seen.append(request.full_path))

    @app.route("/test/reads-session")
    @cached_page
    def reads_session():
        return f"hello {session.get('name', 'anyone')}"

    @app.route("/test/sets-session")
    @cached_page
    def sets_session():
        session["name"] = "partner"
        return "signed in"

    yield app, seen
    close_app(app)


def _headers(resp) -> dict[str, str]:
    return {k: v for k, v in resp.headers.items() if k != "Date"}


def test_a_repeated_page_is_answered_from_the_cache_with_the_same_headers(counted) -> None:
    app, seen = counted
    client = app.test_client()
    first = client.get("/queries/overview")
    before = len(seen)
    again = client.get("/queries/overview")
    assert len(seen) == before, "the second request reached Flask"
    assert first.status_code == again.status_code == 200
    assert again.data == first.data and b"<table" in again.data
    assert _headers(again) == _headers(first)
    for name in ("ETag", "Content-Security-Policy", "X-Frame-Options", "Vary", "Cache-Control"):
        assert again.headers[name] == first.headers[name]


def test_if_none_match_gets_304_from_the_cache_and_head_gets_no_body(counted) -> None:
    app, seen = counted
    client = app.test_client()
    first = client.get("/id/region/ITI3")
    before = len(seen)
    short = client.get("/id/region/ITI3", headers={"If-None-Match": first.headers["ETag"]})
    assert short.status_code == 304 and short.data == b""
    assert short.headers["ETag"] == first.headers["ETag"] and "Content-Type" not in short.headers
    other = client.get("/id/region/ITI3", headers={"If-None-Match": '"not-this-one"'})
    assert other.status_code == 200 and other.data == first.data
    head = client.head("/id/region/ITI3")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(first.data))
    assert len(seen) == before


def test_other_preconditions_and_other_keys_go_to_flask(counted) -> None:
    app, seen = counted
    client = app.test_client()
    url = "/id/region/ITI3?k=preconditions"
    first = client.get(url)
    before = len(seen)
    assert client.get(url, headers={"If-Match": first.headers["ETag"]}).status_code == 200
    assert client.get(url, headers={"Range": "bytes=0-9"}).data == first.data
    assert client.get(url, headers={"Accept": "text/turtle"}).status_code == 200
    assert client.get(url + "&other=1").status_code == 200
    assert client.get(url, base_url="http://other.example").status_code == 200
    assert len(seen) == before + 5
    assert client.get(url).data == first.data and len(seen) == before + 5


def test_pages_that_touch_the_session_are_never_kept(counted) -> None:
    app, seen = counted
    client = app.test_client()
    signed = client.get("/test/sets-session")
    assert signed.status_code == 200 and "Set-Cookie" in signed.headers
    for _ in range(2):
        page = client.get("/test/reads-session")  # the client sends the cookie back
        assert page.data == b"hello partner" and "Cookie" in page.headers["Vary"]
    before = len(seen)
    assert app.test_client().get("/test/reads-session").data == b"hello anyone"
    assert len(seen) == before + 1
    assert not [k for k in app.extensions["cpo.pages"] if k[1].startswith("/test/")]


def test_the_key_keeps_a_decoded_question_mark_apart_from_a_query_string(counted) -> None:
    app, _ = counted
    cache = PageCache(app, app.wsgi_app)
    encoded = EnvironBuilder(path="/id/x%3Fa", query_string="").get_environ()
    plain = EnvironBuilder(path="/id/x", query_string="a").get_environ()
    assert encoded["PATH_INFO"] == "/id/x?a"
    assert cache._key(encoded) != cache._key(plain)


def test_only_get_answers_of_200_are_kept(counted) -> None:
    app, seen = counted
    client = app.test_client()
    pages = app.extensions["cpo.pages"]
    url = "/sparql?" + urllib.parse.urlencode({"query": SPARQL})
    assert client.post("/sparql", data={"query": SPARQL}).status_code == 200
    assert not [k for k in pages if k[1] == "/sparql"]
    assert client.get(url).status_code == 200
    assert [k[2] for k in pages if k[1] == "/sparql"] == [url.partition("?")[2]]
    bad = "/sparql?" + urllib.parse.urlencode({"query": "SELECT WHERE {"})
    for _ in range(2):
        assert client.get(bad).status_code == 400
    assert client.get("/id/region/NOWHERE").status_code == 404
    before = len(seen)
    client.get("/id/region/NOWHERE")
    client.get(bad)
    assert len(seen) == before + 2
    assert not [k for k in pages if "NOWHERE" in k[1] or k[2] == bad.partition("?")[2]]


def test_cache_size_zero_keeps_nothing(store_path, tmp_path) -> None:
    app = make_app(store_path, tmp_path, PAGE_CACHE_SIZE=0, WRITABLE=False)
    try:
        client = app.test_client()
        assert client.get("/queries/overview").status_code == 200
        assert client.get("/queries/overview").status_code == 200
        assert len(app.extensions["cpo.pages"]) == 0
    finally:
        close_app(app)


def test_over_http_a_hit_carries_one_fresh_date(counted) -> None:
    app, seen = counted
    with waitress_serving(app, threads=4) as url:
        port = urllib.parse.urlsplit(url).port
        answers = []
        for _ in range(2):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/queries/overview", headers={"Host": "pages.test"})
            resp = conn.getresponse()
            answers.append((resp.status, resp.getheaders(), resp.read()))
            conn.close()
        before = len(seen)
        time.sleep(1.1)  # the server dates each answer; a kept page must not replay its date
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/queries/overview", headers={"Host": "pages.test"})
        resp = conn.getresponse()
        answers.append((resp.status, resp.getheaders(), resp.read()))
        conn.close()
        assert len(seen) == before
        dates = [dict((k.lower(), v) for k, v in h)["date"] for _, h, _ in answers]
        assert dates[2] != dates[0]
        for status, headers, body in answers:
            assert status == 200 and body == answers[0][2]
            names = [k.lower() for k, _ in headers]
            assert names.count("date") == 1 and names.count("server") == 1
            assert names.count("content-length") == 1 and names.count("etag") == 1
