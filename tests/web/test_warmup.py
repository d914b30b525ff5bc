"""The warm-up thread: stored questions' default results are cached after start and after
each new data version, under the keys their pages use."""

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask

from clusterpolisee.namespaces import graph_iri
from webapp import close_app
from webapp.database import Database
from webapp.views.queries import catalog
from webapp.warmup import MAX_DEFERRED, Warmer

from ..conftest import built_store
from .conftest import ID, RDFS_LABEL, make_app

LABEL = "SELECT ?l WHERE { <" + ID + "region/ITI3> <" + RDFS_LABEL.value + "> ?l }"


@pytest.fixture(scope="module")
def fresh_store(tmp_path_factory) -> Path:
    return built_store(tmp_path_factory, "warm")


@pytest.fixture()
def warm_app(fresh_store: Path, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(fresh_store, tmp_path, WARM_QUERIES=True)
    yield app
    close_app(app)


def wait_for_round(
    app: Flask, version: str, seconds: float = 60, warmer: Warmer | None = None
) -> list[str]:
    warmer = warmer or app.extensions["cpo.warmer"]
    deadline = time.monotonic() + seconds
    while version not in warmer.rounds:
        assert time.monotonic() < deadline, f"no warm-up round for {version}"
        time.sleep(0.1)
    return warmer.rounds[version]


def test_first_visit_after_start_reads_a_warmed_result(warm_app: Flask) -> None:
    db = warm_app.extensions["cpo.db"]
    warmed = wait_for_round(warm_app, db.version())
    local = [q.name for q in catalog().queries.values() if not q.services]
    # Every stored question but the federated one; those with required parameters and no
    # default (none in the catalog today) would be left out.
    assert sorted(warmed) == sorted(local) and len(warmed) == len(catalog().queries) - 1
    client, jobs = warm_app.test_client(), db.pool.jobs
    for url in ("knowledge-transfers.json", "clusters.csv", "overview.json", "region-profile.ttl"):
        assert client.get(f"/queries/{url}").status_code == 200
    assert db.pool.jobs == jobs  # no query ran: all four came from the cache
    for name in ("knowledge-transfers", "region-profile"):
        page = client.get(f"/queries/{name}", headers={"Accept": "text/html"})
        assert page.status_code == 200 and 'id="result-table"' in page.get_data(as_text=True)
    assert db.pool.jobs == jobs + 2  # only the labels of each page's own rows


def test_new_data_version_is_warmed_again(warm_app: Flask) -> None:
    db, writer = warm_app.extensions["cpo.db"], warm_app.extensions["cpo.writer"]
    wait_for_round(warm_app, db.version())
    triple = ox.Triple(ox.NamedNode(ID + "x"), RDFS_LABEL, ox.Literal("warm again"))
    writer.commit(replace={graph_iri("partner/warm-test"): [triple]})
    version = db.version()
    assert "overview" in wait_for_round(warm_app, version)
    keys = list(db.cache.data)
    assert keys and {k[0] for k in keys} == {version}


def test_off_without_the_setting_or_the_cache(fresh_store: Path, tmp_path: Path) -> None:
    for config in ({}, {"WARM_QUERIES": True, "CACHE_SIZE": 0}):
        app = make_app(fresh_store, tmp_path, **config)
        try:
            assert "cpo.warmer" not in app.extensions
            time.sleep(0.5)
            assert app.extensions["cpo.db"].pool.jobs == 0
        finally:
            close_app(app)


def test_catalog_is_parsed_when_the_app_starts(fresh_store: Path, tmp_path: Path) -> None:
    catalog.cache_clear()  # parsing took 0.65 s of the first visitor's request before
    app = make_app(fresh_store, tmp_path)
    try:
        assert catalog.cache_info().currsize == 1 and "overview" in catalog().queries
    finally:
        close_app(app)


def test_background_engine_is_lowest_priority_and_shares_the_cache(fresh_store: Path) -> None:
    db = Database(fresh_store, lambda: "v", workers=1, timeout=4)
    try:
        with db.background() as engine:
            worker = engine.pool.idle.queue[0].proc
            assert os.getpriority(os.PRIO_PROCESS, worker.pid) == 19
            assert engine.timeout == 12 and engine.pool is not db.pool
            assert engine.pool.recycle_mb == db.pool.recycle_mb == 512  # replaced when grown
            first = engine.query(LABEL, trusted=True)
            assert first.rows
        assert not worker.is_alive()  # its worker ends with the block
        assert db.query(LABEL, trusted=True) is first  # the app's engine reads it cached
        assert db.pool.jobs == 0
    finally:
        db.close()


def test_only_a_settled_data_version_is_warmed(fresh_store: Path, tmp_path: Path) -> None:
    app = make_app(fresh_store, tmp_path)  # without the app's own warm-up
    warmer = Warmer(app, poll=1.0)
    try:
        db, writer = app.extensions["cpo.db"], app.extensions["cpo.writer"]
        warmer.start()
        passing = []
        for i in range(15):  # a stream of uploads, one every 0.05 s: none settles
            triple = ox.Triple(ox.NamedNode(ID + "x"), RDFS_LABEL, ox.Literal(f"stream {i}"))
            writer.commit(replace={graph_iri("partner/stream-test"): [triple]})
            passing.append(db.version())
            time.sleep(0.05)
        assert "overview" in wait_for_round(app, passing[-1], warmer=warmer)
        assert not set(warmer.rounds) & set(passing[:-1]) and warmer.abandoned == 0
    finally:
        warmer.stop()
        warmer.join(30)
        close_app(app)


def test_a_failed_round_is_logged_and_the_next_version_warmed(
    fresh_store: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(fresh_store, tmp_path)
    db, writer = app.extensions["cpo.db"], app.extensions["cpo.writer"]
    db.pool.memory_mb = 1  # the warm-up's worker, started with this cap, cannot start
    warmer = Warmer(app, poll=0.3)
    try:
        warmer.start()
        assert wait_for_round(app, db.version(), warmer=warmer) == []
        assert "warm-up of data version" in caplog.text and "did not start" in caplog.text
        db.pool.memory_mb = 4096
        triple = ox.Triple(ox.NamedNode(ID + "x"), RDFS_LABEL, ox.Literal("after a failure"))
        writer.commit(replace={graph_iri("partner/failure-test"): [triple]})
        assert "overview" in wait_for_round(app, db.version(), warmer=warmer)
        assert warmer.is_alive()
    finally:
        warmer.stop()
        warmer.join(30)
        close_app(app)


def _instruments(app: Flask) -> tuple[int, str, dict]:
    resp = app.test_client().get("/queries/instruments.json")
    return resp.status_code, resp.get_data(as_text=True), dict(resp.headers)


def _uncached(app: Flask) -> None:
    app.extensions["cpo.db"].cache.data.clear()
    app.extensions["cpo.pages"].clear()


def test_a_question_past_the_visitors_limit_is_answered_in_the_background(
    fresh_store: Path, tmp_path: Path
) -> None:
    """Every visitor's run stops after 1 ms here, as `instruments` does after 10 s at 10M
    triples: the visitor is told the answer is being prepared, the warm-up runs it with its
    longer limit (5 s, twice that for a run put off), and the visitor's next request reads the
    kept answer."""
    app = make_app(fresh_store, tmp_path, QUERY_TIMEOUT=0.001)
    warmer = Warmer(app, poll=0.2, timeout_factor=5000)
    app.extensions["cpo.warmer"] = warmer
    db = app.extensions["cpo.db"]
    try:
        warmer.start()
        version = db.version()
        assert "instruments" in wait_for_round(app, version, warmer=warmer)
        status, warmed, _ = _instruments(app)  # the round's answer, from the cache
        assert status == 200 and warmed.count('"instrument"') > 3
        _uncached(app)
        status, body, headers = _instruments(app)
        assert status == 503 and headers["Retry-After"] == "15"
        assert "Answer being prepared" in body and "ask again in about 15 seconds" in body
        assert "(0.001 s)" in body
        deadline = time.monotonic() + 30
        while ("instruments", version) not in warmer.answered:
            assert time.monotonic() < deadline, "the deferred run never finished"
            time.sleep(0.05)
        jobs = db.pool.jobs
        assert _instruments(app)[:2] == (200, warmed)  # the same answer, from the cache
        assert db.pool.jobs == jobs and not warmer.deferred
        # With a parameter, a visitor's run past the limit is not queued: 503 as before.
        resp = app.test_client().get("/queries/instruments.json?minBudget=1")
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"
        assert "being prepared" not in resp.get_data(as_text=True) and not warmer.deferred
    finally:
        warmer.stop()
        warmer.join(30)
        close_app(app)


def test_a_question_that_fails_in_the_background_too_is_not_promised_again(
    fresh_store: Path, tmp_path: Path
) -> None:
    app = make_app(fresh_store, tmp_path, QUERY_TIMEOUT=0.001)
    warmer = Warmer(app, poll=0.2, timeout_factor=1)  # the background limit is 1 ms too
    app.extensions["cpo.warmer"] = warmer
    db = app.extensions["cpo.db"]
    try:
        warmer.start()
        assert wait_for_round(app, db.version(), warmer=warmer) == []
        status, body, headers = _instruments(app)
        assert status == 503 and "Answer being prepared" in body
        q = catalog().queries["instruments"]
        default = {p.name: None for p in q.params}
        deadline = time.monotonic() + 30
        while ("instruments", tuple(sorted(default.items()))) not in warmer.failed[1]:
            assert time.monotonic() < deadline, "the deferred run never ended"
            time.sleep(0.05)
        assert warmer.failed[0] == db.version() and not warmer.answered
        assert warmer.defer(q, default, db.version()) is None
        status, body, headers = _instruments(app)
        assert status == 503 and headers["Retry-After"] == "5"
        assert "Query stopped or service busy" in body and "being prepared" not in body
    finally:
        warmer.stop()
        warmer.join(30)
        close_app(app)


def test_the_queue_of_deferred_questions_is_bounded(fresh_store: Path, tmp_path: Path) -> None:
    app = make_app(fresh_store, tmp_path)
    warmer = Warmer(app)  # not started: nothing takes from the queue
    q = catalog().queries["instruments"]
    try:
        for budget in range(MAX_DEFERRED):
            assert warmer.defer(q, {"minBudget": ox.Literal(str(budget))}, "v") == budget
        assert warmer.defer(q, {"minBudget": ox.Literal("1")}, "v2") == 1  # queued already
        assert warmer.defer(q, {"minBudget": ox.Literal("99")}, "v") is None
        assert len(warmer.deferred) == MAX_DEFERRED
        assert warmer.deferred[next(iter(warmer.deferred))][2] == "v"
        assert list(warmer.deferred.values())[1][2] == "v2"  # for the newer version now
        assert warmer.retry_after(0) == 27 and warmer.retry_after(2) == 63  # 3 s x 3 limits
    finally:
        close_app(app)
