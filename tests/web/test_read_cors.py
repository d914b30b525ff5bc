"""CORS for browser clients of the public read-only resources: the response headers a
script may read (ETag, Content-Disposition, the dumps' range and date headers) and the
request headers a preflight allows (conditional and range requests); nothing for forms."""

import http.client
import urllib.parse

import pytest

ORIGIN = {"Origin": "https://tool.example"}
DUMP = "/dumps/clusterpolisee.nq.gz"
CONSTRUCT = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 3"


def _listed(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


def _preflight(client, path: str, headers: str):
    return client.options(
        path,
        headers={
            **ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": headers,
        },
    )


def test_a_preflight_for_a_dump_allows_range_and_conditional_requests(client):
    """Was 'Access-Control-Allow-Headers: Accept': a browser refused its range request."""
    r = _preflight(client, DUMP, "range,if-range,if-none-match,if-modified-since")
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert _listed(r.headers["Access-Control-Allow-Headers"]) == {
        "accept",
        "if-none-match",
        "if-modified-since",
        "range",
        "if-range",
    }
    assert _listed(r.headers["Access-Control-Allow-Methods"]) == {"get", "head", "options"}


@pytest.mark.parametrize("path", ["/id/partner/pbn", "/graph/partner/nerda", "/catalog"])
def test_a_preflight_for_a_page_allows_conditional_requests(client, path):
    r = _preflight(client, path, "accept,if-none-match")
    assert {"accept", "if-none-match", "if-modified-since"} <= _listed(
        r.headers["Access-Control-Allow-Headers"]
    )
    assert "post" not in _listed(r.headers["Access-Control-Allow-Methods"])


def test_a_range_of_a_dump_read_from_another_origin(server):
    """Over waitress: a 206 whose Content-Range, and the dump's ETag, dates and name, a
    script may read."""
    host = urllib.parse.urlsplit(server).netloc
    conn = http.client.HTTPConnection(host, timeout=60)
    try:
        conn.request("GET", DUMP, headers={**ORIGIN, "Range": "bytes=0-9"})
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    assert resp.status == 206 and len(body) == 10 and body[:2] == b"\x1f\x8b"  # gzip
    assert resp.getheader("Content-Range").startswith("bytes 0-9/")
    exposed = _listed(resp.getheader("Access-Control-Expose-Headers"))
    for name in ("Content-Range", "Accept-Ranges", "Last-Modified", "ETag", "Content-Disposition"):
        assert resp.getheader(name), name  # the dump carries it ...
        assert name.lower() in exposed, name  # ... and a script may read it


def test_a_dump_revalidated_from_another_origin(client):
    first = client.get(DUMP, headers=ORIGIN)
    again = client.get(DUMP, headers={**ORIGIN, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Access-Control-Allow-Origin"] == "*"
    assert "etag" in _listed(again.headers["Access-Control-Expose-Headers"])


@pytest.mark.parametrize(
    "path,accept",
    [
        ("/id/partner/pbn", "text/turtle"),
        ("/graph/partner/nerda", "application/n-triples"),
        ("/queries/overview.csv", "*/*"),
    ],
)
def test_pages_expose_their_etag_not_the_dump_headers(client, path, accept):
    r = client.get(path, headers={**ORIGIN, "Accept": accept})
    assert r.status_code == 200 and r.headers["ETag"]
    assert _listed(r.headers["Access-Control-Expose-Headers"]) == {
        "link",
        "x-result-truncated",
        "x-row-limit",
        "etag",
        "content-disposition",
        "content-location",  # which document an Accept chose
    }


def test_the_endpoint_exposes_etag_and_a_workbook_name(client):
    r = client.get("/sparql", query_string={"query": "ASK {}", "format": "xlsx"}, headers=ORIGIN)
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == 'attachment; filename="sparql-results.xlsx"'
    assert r.headers["ETag"]
    exposed = _listed(r.headers["Access-Control-Expose-Headers"])
    assert {"etag", "content-disposition", "x-row-limit"} <= exposed
    again = client.get(
        "/sparql",
        query_string={"query": CONSTRUCT},
        headers={**ORIGIN, "Accept": "text/turtle"},
    )
    revalidated = client.get(
        "/sparql",
        query_string={"query": CONSTRUCT},
        headers={**ORIGIN, "Accept": "text/turtle", "If-None-Match": again.headers["ETag"]},
    )
    assert revalidated.status_code == 304
    assert revalidated.headers["Access-Control-Allow-Origin"] == "*"


def test_a_preflight_for_the_endpoint_allows_if_none_match(client):
    r = client.options("/sparql", headers={**ORIGIN, "Access-Control-Request-Method": "POST"})
    assert _listed(r.headers["Access-Control-Allow-Headers"]) == {
        "accept",
        "content-type",
        "if-none-match",
    }


@pytest.mark.parametrize(
    "method,path",
    [
        ("OPTIONS", "/submit"),
        ("POST", "/submit"),
        ("GET", "/submit"),
        ("OPTIONS", "/links/review"),
        ("POST", "/links/review"),
        ("OPTIONS", "/links/accepted"),
        ("POST", "/links/accepted"),
    ],
)
def test_write_endpoints_get_no_cors_at_all(client, method, path):
    r = client.open(
        path,
        method=method,
        headers={
            **ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "range,if-none-match",
        },
    )
    assert not [h for h, _ in r.headers.items() if h.lower().startswith("access-control-")], path
