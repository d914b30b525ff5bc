"""External lists as RDF files and from a SPARQL endpoint (a real one, on loopback)."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox
import pytest

from clusterpolisee.linking import SourceError, discover, load
from clusterpolisee.linking.records import read_endpoint, read_rdf_file
from clusterpolisee.sparqltext import inspect
from clusterpolisee.store import open_store

from ..conftest import run_cli

EXTERNAL = """\
@prefix schema: <http://schema.org/> .
@prefix ex: <https://example.org/eccp/> .
ex:p1 schema:name "Klaster IKT Istra d.o.o." ; schema:addressCountry "HR" ;
    schema:addressRegion "HR03" ; schema:industry "62.01" ; schema:url <http://www.example.org/> .
ex:p2 schema:name "Sofia Software Cluster" ; schema:addressCountry "MK" .
"""
ISTRIA_ICT = "https://w3id.org/clusterpolisee/id/partner/ida/cluster/istria-ict-cluster"


class Endpoint(BaseHTTPRequestHandler):
    """A minimal SPARQL 1.1 Protocol endpoint (GET, JSON results) over a pyoxigraph store."""

    store: ox.Store
    delay = 0.0

    def do_GET(self) -> None:
        time.sleep(self.delay)
        query = parse_qs(urlsplit(self.path).query)["query"][0]
        result = self.store.query(query)
        body = result.serialize(format=ox.QueryResultsFormat.JSON)
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def serve(delay: float) -> Iterator[str]:
    store = ox.Store()
    store.extend(ox.parse(EXTERNAL.encode(), format=ox.RdfFormat.TURTLE))
    handler = type("H", (Endpoint,), {"store": store, "delay": delay})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sparql"
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint() -> Iterator[str]:
    yield from serve(0.0)


@pytest.fixture
def slow_endpoint() -> Iterator[str]:
    yield from serve(3.0)


def test_rdf_file_is_matched(partner_store: Path, tmp_path: Path):
    src = tmp_path / "eccp.ttl"
    src.write_text(EXTERNAL, encoding="utf-8")
    records = read_rdf_file(src)
    assert sorted(r.iri for r in records) == [
        "https://example.org/eccp/p1",
        "https://example.org/eccp/p2",
    ]
    with open_store(str(partner_store), read_only=True) as store:
        found = discover(store, records, "cluster", src.name, 0.75)
    assert [(c.local, c.external) for c in found] == [(ISTRIA_ICT, "https://example.org/eccp/p1")]
    assert found[0].evidence == ["name 1.00", "country", "region", "sector 62"]


def test_reading_a_file_leaves_no_answer_for_another_thread(tmp_path: Path):
    """rdflib's parser (the mapping query's check) leaves reference cycles that hold the
    caller's frames until the collector runs, possibly on another thread; an Oxigraph answer
    kept by such a frame cannot be freed there (pyo3 warns and leaks it)."""
    import gc
    import sys

    src = tmp_path / "eccp.ttl"
    src.write_text(EXTERNAL, encoding="utf-8")
    unraisable: list[str] = []
    hook, sys.unraisablehook = sys.unraisablehook, lambda u: unraisable.append(repr(u.exc_value))
    gc.collect()  # what earlier tests left is freed here, not blamed on this test
    gc.disable()  # the collector runs only where this test says
    try:
        assert len(read_rdf_file(src)) == 2
        collector = threading.Thread(target=gc.collect)
        collector.start()
        collector.join()
    finally:
        sys.unraisablehook = hook
        gc.enable()
    assert unraisable == []


def test_endpoint_is_matched(partner_store: Path, endpoint: str):
    records = read_endpoint(endpoint, timeout=5)
    with open_store(str(partner_store), read_only=True) as store:
        found = discover(store, records, "cluster", endpoint, 0.75)
    assert [c.local for c in found] == [ISTRIA_ICT]


def test_slow_endpoint_fails_cleanly(slow_endpoint: str):
    start = time.monotonic()
    with pytest.raises(SourceError, match="did not answer within 1 s"):
        read_endpoint(slow_endpoint, timeout=1)
    assert time.monotonic() - start < 2.5


def test_dead_endpoint_and_bad_urls_fail_cleanly():
    with pytest.raises(SourceError, match="could not be queried"):
        read_endpoint("http://127.0.0.1:9/sparql", timeout=2)
    with pytest.raises(SourceError, match="not an http"):
        read_endpoint("file:///etc/passwd")


def test_mapping_query_may_not_use_service(tmp_path: Path):
    src = tmp_path / "eccp.ttl"
    src.write_text(EXTERNAL, encoding="utf-8")
    query = "SELECT ?id ?name WHERE { SERVICE <http://127.0.0.1:9/> { ?id ?p ?name } }"
    with pytest.raises(SourceError, match="SERVICE"):
        read_rdf_file(src, query)
    # An escaped quote ends Oxigraph's string before rdflib's: rdflib alone saw no SERVICE.
    hidden = (
        'SELECT ?id ?name WHERE { ?id ?p ?name BIND("\\u0022" AS ?x) '
        'SERVICE <http://127.0.0.1:9/> { ?id ?p ?name } # """ AS ?z)\n}'
    )
    assert inspect(hidden).services == []
    with pytest.raises(SourceError, match="escapes or a carriage return"):
        read_rdf_file(src, hidden)
    # A comment ends at a carriage return for Oxigraph, at a line feed only for rdflib.
    after_cr = "SELECT ?id ?name WHERE { ?id ?p ?name # note\r SERVICE <http://127.0.0.1:9/> {}\n}"
    assert inspect(after_cr).services == []
    with pytest.raises(SourceError, match="carriage return without a line feed"):
        read_rdf_file(src, after_cr)


def test_rdf_xml_with_entities_is_refused(tmp_path: Path):
    src = tmp_path / "bomb.rdf"
    src.write_text(
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>',
        encoding="utf-8",
    )
    with pytest.raises(SourceError):
        read_rdf_file(src)


def test_endpoint_results_must_be_sparql_json(endpoint: str):
    # the mapping query must select ?id and ?name
    with pytest.raises(SourceError, match=r"must select \?id"):
        read_endpoint(endpoint, "SELECT ?x WHERE { ?x ?p ?o }")
    assert json.dumps([r.name for r in read_endpoint(endpoint)])


def test_cli_links_against_a_named_endpoint(partner_store: Path, endpoint: str, tmp_path: Path):
    out = tmp_path / "c.csv"
    proc = run_cli(
        "link", "--store", str(partner_store), "--source-endpoint", endpoint, "--type",
        "cluster", "--dry-run", "--output-csv", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "2 external records, 1 candidates" in proc.stderr
    assert ISTRIA_ICT in out.read_text(encoding="utf-8")


# A lone surrogate: JSON can write one (\ud800), no UTF-8 text or RDF literal can hold it.
BROKEN_NAME = {
    "head": {"vars": ["id", "name", "country"]},
    "results": {
        "bindings": [
            {
                "id": {"type": "uri", "value": "https://example.org/eccp/p1"},
                "name": {"type": "literal", "value": "Klaster IKT Istra \ud800d.o.o."},
                "country": {"type": "literal", "value": "HR"},
            }
        ]
    },
}


class BrokenEndpoint(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.end_headers()
        self.wfile.write(json.dumps(BROKEN_NAME).encode())  # ensure_ascii: "\ud800" as is

    def log_message(self, *args) -> None:
        pass


def test_a_name_no_text_can_hold_is_stored_with_a_replacement(writable_store: Path):
    """A lone surrogate in an endpoint's name reached the store, which cannot hold it: the
    run ended in a traceback. It is U+FFFD now, as a decoder writes what it cannot read."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BrokenEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/sparql"
        proc = run_cli("link", "--store", str(writable_store), "--source-endpoint", url,
                       "--type", "cluster", "--threshold", "0.5")  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, proc.stderr
    with open_store(str(writable_store), read_only=True) as store:
        (cand,) = load(store).values()
    assert (cand.local, cand.external_name) == (ISTRIA_ICT, "Klaster IKT Istra \ufffdd.o.o.")
