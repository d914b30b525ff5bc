"""Memory bounds of the web app: byte-bounded, current-version caches, recycled workers, and
the flush that keeps read-only snapshots from replaying the write-ahead log (bench/soak.py)."""

import multiprocessing.forkserver
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask

from clusterpolisee.namespaces import graph_iri
from webapp import close_app
from webapp.database import SPAWNER, BoundedCache, Database, QueryTimedOut, Result, nbytes
from webapp.heap import SLACK_MB, Settler, rss_mb
from webapp.sizes import TERM_BYTES, result_bytes

from ..conftest import built_store
from .conftest import ID, RDFS_LABEL, RUNAWAY, make_app
from .test_flights import SLOW
from .test_pausing import until

LABEL = "SELECT ?l WHERE { <" + ID + "region/ITI3> <" + RDFS_LABEL.value + "> ?l }"


def test_cache_evicts_by_bytes_oldest_first() -> None:
    cache = BoundedCache(lambda: "v1", max_entries=100, max_bytes=1000, size_of=len)
    for i in range(5):
        cache[("v1", i)] = b"x" * 300
    assert list(cache) == [("v1", 2), ("v1", 3), ("v1", 4)]
    assert cache.bytes == 900
    cache[("v1", "big")] = b"x" * 1001  # larger than the whole budget: not kept
    assert ("v1", "big") not in cache and cache.bytes == 900
    del cache[("v1", 3)]
    assert cache.bytes == 600


def test_cache_keeps_only_the_current_version() -> None:
    current = ["v1"]
    cache = BoundedCache(lambda: current[0], max_entries=10, max_bytes=10_000, size_of=len)
    cache[("v1", "a")] = b"aaa"
    current[0] = "v2"
    cache[("v1", "late")] = b"old answer"  # computed before the upload: never asked again
    assert list(cache) == [("v1", "a")]
    cache[("v2", "a")] = b"new"
    assert list(cache) == [("v2", "a")] and cache.bytes == 3


def test_cache_entry_count_still_applies() -> None:
    cache = BoundedCache(lambda: "v", max_entries=2, max_bytes=10_000, size_of=len)
    for key in "abc":
        cache[("v", key)] = b"."
    assert list(cache) == [("v", "b"), ("v", "c")] and cache.bytes == 2


def test_result_size_estimate_grows_with_rows() -> None:
    def result(n: int) -> Result:
        rows = [(ox.NamedNode(f"{ID}region/R{i}"), ox.Literal(f"label {i}")) for i in range(n)]
        return Result(kind="select", vars=["r", "l"], rows=rows)

    small, large = nbytes(result(100)), nbytes(result(1000))
    # Measured on CPython 3.11: such a row holds about 360 bytes of Python and Rust memory.
    assert 250 * 1000 < large < 600 * 1000
    assert 9 * small < large < 11 * small


def test_cache_refuses_an_entry_over_its_share() -> None:
    cache = BoundedCache(lambda: "v", 10, max_bytes=1000, size_of=len, max_entry_bytes=250)
    cache[("v", "small")] = b"x" * 250
    cache[("v", "large")] = b"x" * 251  # would push out a quarter of the budget: not kept
    assert list(cache) == [("v", "small")] and cache.bytes == 250


def test_result_size_counts_a_shared_term_once() -> None:
    region = ox.NamedNode(f"{ID}region/ITI3")
    shared = [(region, ox.Literal(f"label {i}")) for i in range(1000)]
    distinct = [(ox.NamedNode(f"{ID}region/ITI3"), ox.Literal(f"label {i}")) for i in range(1000)]
    one, many = (nbytes(Result(kind="select", vars=["r", "l"], rows=r)) for r in (shared, distinct))
    # 999 region terms fewer, each TERM_BYTES and its text.
    assert many - one == 999 * (TERM_BYTES + len(str(region)))


@pytest.fixture(scope="module")
def fresh_store(tmp_path_factory) -> Path:
    return built_store(tmp_path_factory, "bounds")


def test_worker_past_its_memory_limit_is_recycled(fresh_store: Path) -> None:
    # A limit of 1 MB: every worker is over it after every job, so each is replaced.
    db = Database(fresh_store, lambda: "v", workers=1, timeout=20, recycle_mb=1)
    try:
        first = db.pool.idle.queue[0].proc.pid
        assert db.query(LABEL, use_cache=False).rows
        assert db.pool.recycled == 1
        assert db.query(LABEL, use_cache=False).rows  # waits for the fresh worker
        fresh = db.pool.idle.get(timeout=30)
        db.pool.idle.put(fresh)  # for close() to end
        assert fresh.proc.pid != first
    finally:
        db.close()


def _forked_workers() -> set[int]:
    """The live processes the fork server has started (every pool's query workers)."""
    server = multiprocessing.forkserver._forkserver._forkserver_pid
    if server is None:
        return set()
    children = Path(f"/proc/{server}/task/{server}/children").read_text().split()
    return {int(pid) for pid in children if Path(f"/proc/{pid}").exists()}


def _gone(pid: int) -> bool:
    return until(lambda: not Path(f"/proc/{pid}").exists(), 10.0)


def test_a_worker_that_answers_after_close_is_ended(fresh_store: Path) -> None:
    """The server shuts down while a query runs: its worker, given back after close(), ends
    with the answer instead of waiting, idle and unseen, for the server's exit."""
    db = Database(fresh_store, lambda: "v", workers=1, timeout=30, recycle_mb=4096)
    pid = db.pool.idle.queue[0].proc.pid
    with ThreadPoolExecutor(1) as ex:
        running = ex.submit(db.query, SLOW, use_cache=False)
        assert until(db.pool.idle.empty), "the query never reached the worker"
        db.close()
        assert int(running.result(timeout=30).rows[0][0].value) > 1_000_000
    assert _gone(pid), "the worker outlived its pool"
    assert db.pool.idle.empty()


def test_a_replacement_started_around_close_is_ended(fresh_store: Path) -> None:
    """A worker killed at its time limit is replaced from a thread; when the pool closes
    while the replacement starts, the replacement ends too."""
    before = _forked_workers()
    db = Database(fresh_store, lambda: "v", workers=1, timeout=0.3, recycle_mb=4096)
    try:
        with pytest.raises(QueryTimedOut):
            db.query(RUNAWAY, use_cache=False)
    finally:
        db.close()
    spawners = [t for t in threading.enumerate() if t.name == SPAWNER]
    for t in spawners:
        t.join(30)
    ours = _forked_workers() - before
    assert all(_gone(pid) for pid in ours), f"workers left after close: {sorted(ours)}"
    assert db.pool.idle.empty()


def _address_space_mb(pid: int, field: str = "VmPeak") -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    (line,) = [x for x in status.splitlines() if x.startswith(field + ":")]
    return int(line.split()[1]) / 1024


def test_a_worker_reserves_little_address_space_for_malloc(fresh_store: Path) -> None:
    """A worker's memory cap (RLIMIT_AS) counts what malloc reserves as well as what it uses.
    With glibc's default arenas (64 MB reserved each, up to 8 per core) opening the store
    and answering one ASK added 415-479 MB to a worker's peak, and under a 1,500 MB cap a
    worker once could not start a thread; with the workers' two arenas it adds about 100."""
    db = Database(fresh_store, lambda: "v", workers=1, timeout=20)
    try:
        pid = db.pool.idle.queue[0].proc.pid
        before = _address_space_mb(pid)
        assert db.query("ASK { ?s ?p ?o }", trusted=True, use_cache=False).boolean
        grown = _address_space_mb(pid) - before
        assert grown < 250, f"the worker's address space grew by {grown:.0f} MB"
    finally:
        db.close()


def test_worker_under_its_limit_is_kept(fresh_store: Path) -> None:
    db = Database(fresh_store, lambda: "v", workers=1, timeout=20, recycle_mb=4096)
    try:
        first = db.pool.idle.queue[0].proc.pid
        for _ in range(3):
            db.query(LABEL, use_cache=False)
        assert db.pool.recycled == 0 and db.pool.idle.queue[0].proc.pid == first
    finally:
        db.close()


@pytest.fixture()
def writer_app(fresh_store: Path, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(fresh_store, tmp_path)
    yield app
    close_app(app)


def ssts(path: Path) -> set[str]:
    return {p.name for p in path.glob("*.sst")}


def settled_ssts(path: Path) -> set[str]:
    """The table files once RocksDB's background flushes after opening are over."""
    seen = ssts(path)
    for _ in range(50):
        time.sleep(0.2)
        if (now := ssts(path)) == seen:
            return now
        seen = now
    raise AssertionError("RocksDB kept writing table files")


def test_new_version_is_flushed_before_workers_see_it(writer_app: Flask, fresh_store) -> None:
    db, writer = writer_app.extensions["cpo.db"], writer_app.extensions["cpo.writer"]
    db.version()
    triple = ox.Triple(ox.NamedNode(ID + "x"), RDFS_LABEL, ox.Literal("flushed"))
    before = settled_ssts(fresh_store)
    writer.commit(replace={graph_iri("partner/flush-test"): [triple]})
    # RocksDB keeps a commit in its memtable (128 MB per column family) and write-ahead log
    # until something flushes it (whether a background job already has is up to RocksDB).
    db.version()
    assert ssts(fresh_store) - before, "the new version was not written to table files"
    found = db.query('ASK { ?s ?p "flushed" }', trusted=True)
    assert found.boolean


def test_page_cache_holds_only_the_current_version(writer_app: Flask) -> None:
    client, writer = writer_app.test_client(), writer_app.extensions["cpo.writer"]
    pages = writer_app.extensions["cpo.pages"]
    assert client.get("/id/region/ITI3").status_code == 200
    assert client.get("/id/country/ITA").status_code == 200
    assert len(pages) == 2 and pages.bytes > sum(len(v[0]) for v in pages.values())
    writer.commit(add={graph_iri("partner/flush-test"): []})  # a new data version
    assert client.get("/id/region/ITI3").status_code == 200
    assert [k[1:3] for k in pages] == [("/id/region/ITI3", "")]
    assert {k[0] for k in pages} == {writer.data_version()}


def test_workers_read_a_checkpoint_of_each_version(writer_app: Flask, fresh_store) -> None:
    """Workers open an unchanging checkpoint, never the store the writer compacts; the last
    three versions' checkpoints are kept, older ones removed."""
    db, writer = writer_app.extensions["cpo.db"], writer_app.extensions["cpo.writer"]
    folder = fresh_store.with_name(f"{fresh_store.name}.snapshots")
    seen = []
    for i in range(5):
        triple = ox.Triple(ox.NamedNode(ID + "x"), RDFS_LABEL, ox.Literal(f"version {i}"))
        writer.commit(replace={graph_iri("partner/checkpoint-test"): [triple]})
        version = db.version()
        path = db.snapshot(version)
        assert path and Path(path).parent == folder
        seen.append(path)
        # The worker answers from this version's checkpoint.
        assert db.query(f'ASK {{ ?s ?p "version {i}" }}', trusted=True).boolean
        assert not db.query(f'ASK {{ ?s ?p "version {i - 1}" }}', trusted=True).boolean
    assert sorted(p.name for p in folder.iterdir()) == sorted(Path(p).name for p in seen[-3:])


# Every region label with every organisation: thousands of rows that repeat a few hundred terms.
CPO = "https://w3id.org/clusterpolisee/ontology#"
PAIRS = (
    f"SELECT ?region ?label ?org WHERE {{ ?region a <{CPO}Region> ; <{RDFS_LABEL.value}> ?label ."
    f" ?org a <{CPO}Organisation> }}"
)


def test_large_result_crosses_the_pipe_once_per_term_and_is_cached(fresh_store: Path) -> None:
    db = Database(fresh_store, lambda: "v", workers=1, timeout=20)
    try:
        first = db.query(PAIRS, trusted=True)
        assert len(first.rows) > 5000  # over the row cap the cache used to have
        by_value: dict[str, object] = {}
        for row in first.rows:
            for term in row:  # the same term arrives as one object, however often it occurs
                assert by_value.setdefault(term.value, term) is term
        assert len(by_value) < len(first.rows)
        # The worker sent its size estimate along; the server's own walk agrees with it
        # within 1 % (the rows list's spare capacity differs after unpickling).
        assert first.size is not None and nbytes(first) == first.size
        again = result_bytes(first.vars, first.rows, first.triples, first.labels)
        assert abs(again - first.size) < first.size / 100
        assert db.query(PAIRS, trusted=True) is first  # kept: a repeat is a cache hit
    finally:
        db.close()


#: Every label of the demo data, each repeated 2,048 times: about 90 MB of answer.
LARGE = """SELECT ?d WHERE {
  ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l
  BIND(CONCAT(?l, ?l, ?l, ?l, ?l, ?l, ?l, ?l) AS ?a)
  BIND(CONCAT(?a, ?a, ?a, ?a, ?a, ?a, ?a, ?a) AS ?b)
  BIND(CONCAT(?b, ?b, ?b, ?b, ?b, ?b, ?b, ?b) AS ?c)
  BIND(CONCAT(?c, ?c, ?c, ?c) AS ?d)
}"""


def test_worker_gives_back_what_a_large_answer_freed(fresh_store: Path) -> None:
    """An idle worker kept what its last large answer freed (110-210 MB here, 59-124 MB per
    worker after the 10M listings) until its next job; it now trims its heap once the answer
    has gone."""
    db = Database(fresh_store, lambda: "v", workers=1, timeout=60, recycle_mb=4096)
    try:
        pid = db.pool.idle.queue[0].proc.pid
        db.query(LABEL, use_cache=False)
        before = rss_mb(pid)
        result = db.query(LARGE, use_cache=False, trusted=True)
        assert len(result.rows) > 1000
        assert sum(len(row[0].value) for row in result.rows) > 80 * 2**20
        deadline = time.monotonic() + 10
        while rss_mb(pid) - before > SLACK_MB and time.monotonic() < deadline:
            time.sleep(0.05)
        # Without the trim: 110-210 MB over `before`, under glibc's malloc and jemalloc.
        assert rss_mb(pid) - before <= SLACK_MB, (before, rss_mb(pid))
        assert db.pool.recycled == 0 and db.pool.idle.queue[0].proc.pid == pid
    finally:
        db.close()


def test_settler_trims_only_past_its_slack() -> None:
    heap = Settler(slack_mb=1024)
    assert heap.settle() is False  # nothing grew
    heap.slack_mb = -1  # any size is past it
    assert heap.settle() is True and heap.level == pytest.approx(rss_mb(os.getpid()), abs=8)
