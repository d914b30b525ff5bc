"""Warm the result cache: after start and after each new data version, a background thread
runs every stored question with its default parameters, one at a time, so the first visitor
of a large listing reads a kept result instead of waiting for the store (knowledge-transfers
takes about 0.8 s at 1M triples and 8 s at 10M), and its drop-downs' options too.

It asks exactly what the question's page asks (``views.queries.run_stored``), so the cache
keys match. It runs in a worker of its own at the lowest priority, with three times the time
limit (``Database.background``), started for a round and stopped after it, so visitors'
queries keep the CPU and all the workers. A question that fails is logged and skipped; a new
data version restarts the round.

A question that runs out of time or of a worker's memory is put off: run again, whole, with
twice the background limit, before the round's next question (``instruments`` at 10M triples
takes about 25 s, and in two halves outgrew the worker's memory cap). So is a question's
default page whose visitor's run ran out of the page's limit (``defer``): the visitor is told
to come back, and the reload reads the kept answer. Visitors who ask meanwhile wait for a
put-off run rather than stopping it (``Database.deferring``).
"""

import contextlib
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask

from clusterpolisee.catalog import ParameterError, StoredQuery
from clusterpolisee.store.base import Term

from .access import EngineStore
from .database import (
    Database,
    EngineError,
    QueryRefused,
    QueryTimedOut,
    Superseded,
    WorkerLost,
)

log = logging.getLogger(__name__)
#: How often the thread looks for a new data version (seconds); a round starts once a
#: version has stayed current from one look to the next.
POLL_SECONDS = 2.0
KEEP_ROUNDS = 8
#: Put-off questions queued at most: each is up to six visitors' time limits of one core at
#: the lowest priority (only default pages are queued for visitors, views/queries.py).
MAX_DEFERRED = 8

Values = dict[str, Term | None]
Deferred = tuple[StoredQuery, Values, str]  # question, bound values, data version


class Warmer(threading.Thread):
    """The background thread; ``rounds`` maps the last few warmed data versions to the
    questions whose results it left in the cache (for tests and the log)."""

    def __init__(self, app: Flask, poll: float = POLL_SECONDS, timeout_factor: float = 3.0) -> None:
        super().__init__(name="cpo-warmup", daemon=True)
        self.app = app
        self.poll = poll
        #: The background worker's time limit, in the visitors' time limits.
        self.timeout_factor = timeout_factor
        self.stopping = threading.Event()
        self.nudge = threading.Event()  # set by ``defer``: wake up before the next poll
        self.rounds: OrderedDict[str, list[str]] = OrderedDict()
        self.abandoned = 0  # rounds given up for a newer data version or a stop
        self.lock = threading.Lock()
        self.deferred: OrderedDict[tuple, Deferred] = OrderedDict()
        #: Deferred questions that failed in the background too, for one data version: a
        #: visitor is then not told to come back for them.
        self.failed: tuple[str | None, set[tuple]] = (None, set())
        #: The last put-off runs kept: (question, data version).
        self.answered: deque[tuple[str, str]] = deque(maxlen=64)

    def stop(self) -> None:
        self.stopping.set()
        self.nudge.set()

    def defer(self, q: StoredQuery, values: Values, version: str) -> int | None:
        """Queue a run of ``q`` with ``values`` for ``version`` in the background: how many
        queued runs are ahead of it, or None when the queue is full or the same run failed
        in the background for this version already."""
        key = _key(q, values)
        with self.lock:
            if self.failed[0] == version and key in self.failed[1]:
                return None
            if key not in self.deferred and len(self.deferred) >= MAX_DEFERRED:
                return None
            self.deferred[key] = (q, values, version)  # a newer version replaces an older
            ahead = list(self.deferred).index(key)
        self.nudge.set()
        return ahead

    def retry_after(self, ahead: int) -> int:
        """Seconds a visitor should wait for a put-off answer with ``ahead`` runs before it:
        the background question running now, then each put-off run, each up to its limit."""
        limit = self.timeout_factor * self.app.extensions["cpo.db"].timeout
        return round(limit * (1 + 2 * (ahead + 1)))

    def run(self) -> None:
        """Warm each data version once it has been the current one for a whole poll: under a
        stream of uploads, rounds would otherwise start and be given up one after another."""
        with self.app.app_context():
            seen = None
            while not self.stopping.is_set():
                version = self._version()
                if version is not None and version == seen and version not in self.rounds:
                    self._round(version)
                elif version is not None and self.deferred:
                    self._background(version, self._run_deferred)
                seen = version
                self.nudge.wait(self.poll)
                self.nudge.clear()

    def _version(self) -> str | None:
        try:
            return self.app.extensions["cpo.db"].version()
        except Exception as exc:  # a closed or failing store: try again at the next poll
            log.warning("warm-up could not read the data version: %s", exc)
            return None

    def _round(self, version: str) -> None:
        start = time.perf_counter()
        warmed = self._background(version, self._questions)
        if warmed is None:
            self.abandoned += 1
        else:
            self.rounds[version] = warmed
            while len(self.rounds) > KEEP_ROUNDS:
                self.rounds.popitem(last=False)
            log.info(
                "warm-up: %d stored questions cached in %.1f s",
                len(warmed),
                time.perf_counter() - start,
            )

    def _background(self, version: str, work: Callable[[Database, str], Any]) -> Any:
        """``work(engine, version)`` on a background engine; [] when it failed."""
        try:
            with self.app.extensions["cpo.db"].background(self.timeout_factor) as engine:
                return work(engine, version)
        except Exception:  # the warm-up is optional: never let it end the thread or retry
            log.exception(
                "warm-up of data version %s failed; visitors' queries are unaffected", version
            )
            return []

    def _run_deferred(self, engine: Database, version: str) -> None:
        """Run the put-off questions, oldest first, for the current data version (the
        engine's, which may be newer than the round's); those of an older one are dropped (a
        visitor who asks again queues the current one)."""
        from .views.queries import run_stored

        while not self.stopping.is_set():
            with self.lock:
                if not self.deferred:
                    return
                key, (q, values, asked) = self.deferred.popitem(last=False)
                gave_up = self.failed[0] == asked and key in self.failed[1]
            if gave_up or asked != engine.version():
                continue
            try:
                with self._longer(engine):
                    run_stored(q, values, engine)
            except Superseded:
                continue  # not by a visitor (they join these runs); never a failure of its own
            except (EngineError, QueryRefused) as exc:
                log.warning("a put-off run of %s failed: %s", q.name, exc)
                with self.lock:
                    if self.failed[0] != asked:
                        self.failed = (asked, set())
                    self.failed[1].add(key)
                continue
            self.answered.append((q.name, asked))
            log.info("put-off run of %s kept for data version %s", q.name, asked)

    @contextlib.contextmanager
    def _longer(self, engine: Database) -> Iterator[None]:
        """The background engine (this thread's own copy) with the put-off runs' limit,
        twice a round's, and joined by visitors instead of stopped by them."""
        before = engine.timeout
        engine.timeout, engine.deferring = 2 * before, True
        try:
            yield
        finally:
            engine.timeout, engine.deferring = before, False

    def _questions(self, engine: Database, version: str) -> list[str] | None:
        """Run each question; None when stopped or overtaken by a newer data version."""
        from .views.queries import catalog, run_stored

        warmed: list[str] = []
        for q in catalog().queries.values():
            self._run_deferred(engine, version)  # a visitor waits for these
            if self.stopping.is_set() or engine.version() != version:
                return None  # closing, or a newer version: the next poll starts over
            if q.services:
                continue  # federated: depends on another server, not on our data
            store = EngineStore(engine)
            try:
                values = q.bind({}, store)
            except ParameterError:
                continue  # a required parameter without a default: nothing to guess
            except (EngineError, QueryRefused) as exc:
                log.info("warm-up skipped %s: %s", q.name, exc)
                continue
            try:
                run_stored(q, values, engine)
            except (QueryTimedOut, WorkerLost) as exc:
                # Again before the round's next question, with the put-off runs' longer
                # limit, and whole: a run that lost its worker is not cut in two again
                # (Database.query).
                queued = self.defer(q, values, version) is not None
                log.info("warm-up put off %s%s: %s", q.name, "" if queued else " (queue full)", exc)
                continue
            except (EngineError, QueryRefused) as exc:
                log.info("warm-up skipped %s: %s", q.name, exc)
                continue
            self._options(q, store)
            warmed.append(q.name)
        return warmed

    @staticmethod
    def _options(q: StoredQuery, store: EngineStore) -> None:
        """The drop-downs the question's page shows; one that fails is left to the page."""
        for p in q.params:
            try:
                p.options(store)
            except (EngineError, QueryRefused) as exc:
                log.info("warm-up skipped the options of %s's %s: %s", q.name, p.name, exc)


def _key(q: StoredQuery, values: Values) -> tuple:
    return (q.name, tuple(sorted(values.items(), key=lambda kv: kv[0])))
