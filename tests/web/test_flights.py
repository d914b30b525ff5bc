"""Identical queries in flight share one run (webapp.flights), through the real worker pool."""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from webapp.database import Database, QueryFailed, QueryTimedOut, Superseded, WorkerLost
from webapp.flights import Flights

# A cross product counted: about a second on the demo store, long enough for others to join.
SLOW = (
    "SELECT (COUNT(*) AS ?n) WHERE { { SELECT ?a WHERE { ?a ?b ?c } LIMIT 5000 } "
    "{ SELECT ?d WHERE { ?d ?e ?f } LIMIT 5000 } }"
)


def started(flights: Flights, count: int = 1, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while len(flights.running) < count:
        assert time.monotonic() < deadline, "the first run never started"
        time.sleep(0.005)


def ask_together(db: Database, clients: int) -> list:
    """The first request, then the others while it runs."""
    with ThreadPoolExecutor(clients) as pool:
        first = pool.submit(db.query, SLOW, trusted=True)
        started(db.flights)
        rest = [pool.submit(db.query, SLOW, trusted=True) for _ in range(clients - 1)]
        return [f.result() for f in [first, *rest]]


def test_identical_requests_share_one_worker_job(store_path: Path) -> None:
    db = Database(store_path, lambda: "v1", workers=3, timeout=30)
    try:
        results = ask_together(db, 6)
        assert db.pool.jobs == 1 and db.flights.joined == 5
        assert {str(r.rows[0][0].value) for r in results} == {"25000000"}
        assert all(r is results[0] for r in results)  # one answer object, also the cached one
        assert not db.flights.running
        db.query(SLOW, trusted=True)
        assert db.pool.jobs == 1  # from the cache now
    finally:
        db.close()


def test_without_the_cache_each_request_runs(store_path: Path) -> None:
    db = Database(store_path, lambda: "v1", workers=3, timeout=30, cache_size=0)
    try:
        with ThreadPoolExecutor(3) as pool:
            futures = [pool.submit(db.query, SLOW, trusted=True) for _ in range(3)]
            assert {str(f.result().rows[0][0].value) for f in futures} == {"25000000"}
        assert db.pool.jobs == 3 and db.flights.joined == 0
    finally:
        db.close()


def test_a_failure_reaches_every_waiting_request(store_path: Path) -> None:
    db = Database(store_path, lambda: "v1", workers=2, timeout=30)
    bad = SLOW.replace("COUNT(*)", "COUNT(*) + xsd:nope(?n)")  # unknown prefix: fails at once
    try:
        with pytest.raises(QueryFailed, match="not valid SPARQL"):
            db.query(bad, trusted=True)
        gate, calls = threading.Event(), []

        def failing() -> None:
            calls.append(1)
            gate.wait(10)
            raise QueryFailed("the query failed: disk on fire")

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(db.flights.run, ("k",), failing, 30)]
            started(db.flights)
            futures += [pool.submit(db.flights.run, ("k",), failing, 30) for _ in range(3)]
            while db.flights.joined < 3:
                time.sleep(0.005)
            gate.set()
            for f in futures:
                with pytest.raises(QueryFailed, match="disk on fire"):
                    f.result()
        assert calls == [1] and not db.flights.running
    finally:
        db.close()


def test_visitors_do_not_wait_for_the_warm_up_but_it_waits_for_them(store_path: Path) -> None:
    """The warm-up runs at nice 19: a visitor behind it could wait as long as others keep
    the CPU busy, so visitors run their own, which stops the warm-up's; the warm-up joins
    a visitor's run."""
    db = Database(store_path, lambda: "v1", workers=2, timeout=30)
    try:
        with db.background() as warm, ThreadPoolExecutor(2) as pool:
            background = pool.submit(warm.query, SLOW, trusted=True)
            started(db.flights)
            time.sleep(0.2)  # its worker has the job
            (stopped,) = list(warm.pool._running.values())
            visitor = db.query(SLOW, trusted=True)
            assert db.pool.jobs == 1 and db.flights.joined == 0
            assert str(visitor.rows[0][0].value) == "25000000"
            with pytest.raises(Superseded, match="visitor's run of the same query"):
                background.result()
            assert stopped[1].proc.exitcode == -9  # killed, and replaced:
            assert warm.query("ASK { ?s ?p ?o }", trusted=True).boolean is True
            assert warm.pool.jobs == 2
        db.cache.data.clear()
        with db.background() as warm, ThreadPoolExecutor(2) as pool:
            visitor_run = pool.submit(db.query, SLOW, trusted=True)
            started(db.flights)
            assert warm.query(SLOW, trusted=True) is visitor_run.result()
            assert warm.pool.jobs == 0 and db.pool.jobs == 2 and db.flights.joined == 1
    finally:
        db.close()


def test_a_visitor_waits_for_the_background_run_of_a_query_that_ran_out_of_time(
    store_path: Path,
) -> None:
    """Its own run would run out of time again: the visitor joins the background run, which
    has the longer limit, instead of stopping it (webapp/warmup.py queues such runs)."""
    db = Database(store_path, lambda: "v1", workers=2, timeout=0.2)
    try:
        with pytest.raises(QueryTimedOut):
            db.query(SLOW, trusted=True)
        db.timeout = 10  # the visitor's wait, 2 x 10 + 1 s, covers the background run
        with db.background() as warm, ThreadPoolExecutor(1) as pool:
            background = pool.submit(warm.query, SLOW, trusted=True)
            started(db.flights)
            running_worker(warm)
            jobs = db.pool.jobs
            visitor = db.query(SLOW, trusted=True)
            assert visitor is background.result() and warm.pool.jobs == 1
            assert db.pool.jobs == jobs and db.flights.joined == 1
            assert str(visitor.rows[0][0].value) == "25000000"
    finally:
        db.close()


def running_worker(db: Database, seconds: float = 30):
    """The worker of the one job running in ``db``'s pool, once it has it."""
    deadline = time.monotonic() + seconds
    while not db.pool._running:
        assert time.monotonic() < deadline, "the job never reached a worker"
        time.sleep(0.005)
    ((_, worker),) = db.pool._running.values()
    return worker


def test_a_stored_query_that_lost_its_worker_runs_whole_and_still_collated(
    store_path: Path,
) -> None:
    """At 10M triples `instruments` in two halves outgrew the worker's memory cap (4.2 GB
    against 2.5 GB whole): after a run that lost its worker, the same stored question runs
    whole, still sorted for readers; another text is not affected."""
    db = Database(store_path, lambda: "v1", workers=1, timeout=30)
    seen, run = [], db.pool.run

    def noting(job: dict, timeout: float):
        seen.append((job["split"], job["collate"], job["engine_sort"]))
        return run(job, timeout)

    db.pool.run = noting  # type: ignore[method-assign]  # observes; the real pool runs it
    try:
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(db.query, SLOW, trusted=True, split=True)
            started(db.flights)
            os.kill(running_worker(db).proc.pid, signal.SIGKILL)  # as the OOM killer does
            with pytest.raises(WorkerLost, match="killed"):
                first.result()
        assert str(db.query(SLOW, trusted=True, split=True).rows[0][0].value) == "25000000"
        db.query(SLOW, trusted=True)  # the same text from /sparql: neither split nor collated
        assert seen == [(True, True, False), (False, True, False), (False, False, False)]
    finally:
        db.close()


def test_visitors_wait_for_a_put_off_background_run(store_path: Path) -> None:
    """A question the warm-up put off (webapp/warmup.py, ``deferring``) is not stopped by a
    visitor's run of it: the visitor waits for it."""
    db = Database(store_path, lambda: "v1", workers=2, timeout=30)
    try:
        with db.background() as warm, ThreadPoolExecutor(1) as pool:
            warm.deferring = True
            background = pool.submit(warm.query, SLOW, trusted=True)
            started(db.flights)
            running_worker(warm)
            visitor = db.query(SLOW, trusted=True)
            assert visitor is background.result() and warm.pool.jobs == 1
            assert db.pool.jobs == 0 and db.flights.joined == 1
    finally:
        db.close()
