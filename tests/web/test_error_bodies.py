"""Error bodies and headers as HTTP clients see them, through a real server on loopback.

An error is an HTML page only for a client that prefers HTML outright (a browser) and did
not name another format (URL suffix, ``format``/``output``); YASGUI, curl, requests, R and
SPARQLWrapper accept ``*/*`` and get one line of text they can show. A 405 says what is
allowed and may be read from another origin. A query the engine crashes on is a 500 that
says so, not a 503 blaming memory with a Retry-After that fails the same way.
"""

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests

from webapp import close_app
from webapp.database import EngineCrashed, WorkerLost, worker_death

from ..conftest import run_cli
from .conftest import make_app, waitress_serving

XSD = "http://www.w3.org/2001/XMLSchema#"

BAD = "SELECT ?s WHERE { ?s ?p }"
YASGUI = "application/sparql-results+json,*/*;q=0.9"
CHROME = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
#: Oxigraph 0.5 panics ("user-provided comparison function does not correctly implement a
#: total order") sorting the store's literals of mixed types, and the panic aborts the worker.
PANIC = (
    "SELECT ?o (COUNT(*) AS ?n) WHERE { ?s ?p ?o FILTER(isLiteral(?o)) } GROUP BY ?o ORDER BY ?o"
)


def sparql(server: str, accept: str, query: str = BAD, **params) -> requests.Response:
    return requests.get(
        f"{server}/sparql",
        params={"query": query, **params},
        headers={"Accept": accept},
        timeout=30,
    )


def is_text(r: requests.Response) -> bool:
    return r.headers["Content-Type"] == "text/plain; charset=utf-8" and "<html" not in r.text


@pytest.mark.parametrize("accept", [YASGUI, "*/*", "text/csv,*/*;q=0.1", ""])
def test_a_client_accepting_anything_gets_the_error_as_text(server, accept):
    r = sparql(server, accept)
    assert r.status_code == 400
    assert is_text(r), r.text[:200]
    assert r.text.startswith("Malformed query: ") and len(r.text.splitlines()) <= 3


@pytest.mark.parametrize("accept", [CHROME, FIREFOX, "text/html"])
def test_a_browser_gets_the_error_page(server, accept):
    r = sparql(server, accept, format="json")  # names JSON: text, whatever the browser says
    assert r.status_code == 400 and is_text(r)
    r = requests.get(f"{server}/id/nothing-here", headers={"Accept": accept}, timeout=30)
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.text.lstrip().lower().startswith("<!doctype html")


def test_the_same_url_answers_each_client_in_its_own_type(server):
    """The page cache keeps no error, so a browser's page never reaches curl or back."""
    for accept, html in [(CHROME, True), ("*/*", False), (CHROME, True), (YASGUI, False)]:
        r = requests.get(f"{server}/queries/no-such-question", headers={"Accept": accept})
        assert r.status_code == 404
        assert r.headers["Content-Type"].startswith("text/html" if html else "text/plain")
        assert "Accept" in r.headers.get("Vary", "")


@pytest.mark.parametrize("accept", ["*/*", CHROME])
def test_a_stored_question_asked_in_json_gets_its_error_as_text(server, accept):
    r = requests.get(
        f"{server}/queries/clusters.json",
        params={"country": "notaniri"},
        headers={"Accept": accept},
        timeout=30,
    )
    assert r.status_code == 400
    assert is_text(r), r.text[:200]
    assert r.text.startswith("Bad parameter: ")


def test_put_on_sparql_says_what_is_allowed_to_any_origin(server):
    r = requests.put(f"{server}/sparql", headers={"Origin": "http://x.example"}, timeout=30)
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET", "POST", "OPTIONS"}
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert is_text(r)


def test_put_on_a_stored_question_says_what_is_allowed_to_any_origin(server):
    r = requests.put(f"{server}/queries/clusters.json", timeout=30)
    assert r.status_code == 405
    assert "GET" in r.headers["Allow"]
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_put_on_a_private_route_has_allow_but_no_cors(server):
    r = requests.put(f"{server}/submit", timeout=30)
    assert r.status_code == 405 and "POST" in r.headers["Allow"]
    assert "Access-Control-Allow-Origin" not in r.headers


#: Literals whose ORDER BY makes Oxigraph 0.5.13 panic, every time (found by shrinking the
#: literals of a `clusterpolisee build` store, on which the panic depends on the data). The
#: duration is one the server's own sort cannot place (store/ordering.py), so Oxigraph sorts.
MIXED = [
    ("168 students took part", "string"),
    ("578000", "decimal"),
    ("48", "integer"),
    ("2003", "integer"),
    ("2440", "integer"),
    ("Permit authorities involved from the start", "string"),
    ("13270", "integer"),
    ("80", "integer"),
    ("18800", "integer"),
    ("364000", "decimal"),
    ("32", "integer"),
    ("3710", "integer"),
    ("24408000", "decimal"),
    ("3200", "integer"),
    ("141 apprentices and workers trained", "string"),
    ("391000", "decimal"),
    ("1100000", "decimal"),
    ("16900", "integer"),
    ("2544000", "decimal"),
    ("425000", "decimal"),
    ("28212000", "decimal"),
    ("P1D", "duration"),
]


@pytest.fixture(scope="module")
def mixed_server(tmp_path_factory) -> Iterator[tuple[Path, str]]:
    """A server on a store of the ``MIXED`` literals alone."""
    path = tmp_path_factory.mktemp("mixed") / "store"
    p, g = ox.NamedNode("http://p"), ox.NamedNode("http://g")
    store = ox.Store(str(path))  # as shrunk: other IRIs or more triples change the order
    store.extend(
        ox.Quad(ox.NamedNode(f"http://s{i}"), p, ox.Literal(v, datatype=ox.NamedNode(XSD + d)), g)
        for i, (v, d) in enumerate(MIXED)
    )
    store.flush()
    del store
    app = make_app(path, tmp_path_factory.mktemp("mixed-app"))
    try:
        with waitress_serving(app, threads=4) as url:
            yield path, url
    finally:
        close_app(app)


def _panics(store_path) -> bool:
    code = (
        "import sys, pyoxigraph as ox\n"
        "st = ox.Store.read_only(sys.argv[1])\n"
        "list(st.query(sys.argv[2], use_default_graph_as_union=True))\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code, str(store_path), PANIC],
        capture_output=True,
        text=True,
        timeout=120,
        env={"RUST_BACKTRACE": "0"},
    )
    return p.returncode != 0 and "panicked" in p.stderr


def test_a_query_the_engine_crashes_on_is_a_500_that_says_so(mixed_server):
    store_path, server = mixed_server
    if not _panics(store_path):
        pytest.skip("this Oxigraph sorts the mixed literals without panicking")
    r = sparql(server, YASGUI, PANIC)
    assert r.status_code == 500, r.text
    assert "Retry-After" not in r.headers  # it would fail the same way
    assert is_text(r)
    assert "the query engine failed on this query: " in r.text
    assert "total order" in r.text and "not in your query" in r.text
    assert "ORDER BY STR(?o)" in r.text
    assert "memory" not in r.text
    # The worker was replaced: the next query is answered.
    r = sparql(server, "application/sparql-results+json", "ASK {}")
    assert r.status_code == 200 and r.json()["boolean"] is True


def test_the_cli_says_the_engine_aborted_on_the_query(mixed_server):
    """The CLI's query process dies the same way: it said "ended without an answer"."""
    store_path, _ = mixed_server
    if not _panics(store_path):
        pytest.skip("this Oxigraph sorts the mixed literals without panicking")
    done = run_cli("sparql", PANIC, "--store", str(store_path), env={"RUST_BACKTRACE": "0"})
    assert done.returncode == 2
    assert "panicked" in done.stderr  # Oxigraph's own message, from the query's process
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the query engine (Oxigraph) aborted on this query")
    assert "ORDER BY STR(?x)" in last and "Traceback" not in done.stderr


PANIC_SAID = (
    "\nthread '<unnamed>' (30145) panicked at /rustc/x/library/core/src/slice/sort/shared/"
    "smallsort.rs:854:5:\nuser-provided comparison function does not correctly implement a "
    "total order\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n"
)


def test_how_a_dead_worker_is_reported():
    abort = -signal.SIGABRT
    panic = worker_death(abort, PANIC_SAID, "SELECT ?o WHERE { ?s ?p ?o } ORDER BY ?o")
    assert isinstance(panic, EngineCrashed) and panic.status == 500
    assert "ORDER BY STR(?o)" in panic.message
    assert "ORDER BY" not in worker_death(abort, PANIC_SAID, "SELECT * {}").message
    other = worker_death(abort, "thread 'x' panicked at src/a.rs:1:1:\nindex out of bounds\n")
    assert isinstance(other, EngineCrashed) and "index out of bounds" in other.message
    memory = worker_death(abort, "memory allocation of 1073741824 bytes failed\n")
    assert isinstance(memory, WorkerLost) and memory.status == 503
    assert "more memory than a worker may use" in memory.message
    killed = worker_death(-signal.SIGKILL, "")
    assert isinstance(killed, WorkerLost) and "memory" in killed.message
    segv = worker_death(-signal.SIGSEGV, "")
    assert isinstance(segv, EngineCrashed) and "SIGSEGV" in segv.message
    assert "memory" not in segv.message
