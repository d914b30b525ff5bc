"""Warm the result cache: after start and after each new data version, a background thread
runs every stored question with its default parameters, one at a time, so the first visitor
of a large listing reads a kept result instead of waiting for the store (knowledge-transfers
takes about 0.8 s at 1M triples and 8 s at 10M), and its drop-downs' options too.

It asks exactly what the question's page asks (``views.queries.run_stored``), so the cache
keys match. It runs in a worker of its own at the lowest priority, with three times the time
limit (``Database.background``), started for a round and stopped after it, so visitors'
queries keep the CPU and all the workers. A question that fails or runs out of time is logged
and skipped; a new data version restarts the round.

It also takes requests: a stored question whose visitor's run ran out of the page's time limit
(``instruments`` at 10M triples takes about 17 s of the 10 s) is queued (``defer``) and run
here with the longer limit, before the round's next question, so the visitor's reload reads
the kept answer. Visitors who ask meanwhile wait for that run (``Database.query``).
"""

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask

from clusterpolisee.catalog import ParameterError, StoredQuery
from clusterpolisee.store.base import Term

from .access import EngineStore
from .database import Database, EngineError, QueryRefused, QueryTimedOut, WorkerLost

log = logging.getLogger(__name__)
#: How often the thread looks for a new data version (seconds); a round starts once a
#: version has stayed current from one look to the next.
POLL_SECONDS = 2.0
KEEP_ROUNDS = 8
#: Questions queued by visitors at most: each is up to three time limits of one core at
#: the lowest priority, so a stream of slow parameter choices cannot queue hours of work.
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
        self.answered: list[tuple[str, str]] = []  # (question, version) run on request

    def stop(self) -> None:
        self.stopping.set()
        self.nudge.set()

    def defer(self, q: StoredQuery, values: Values, version: str) -> bool:
        """Queue a run of ``q`` with ``values`` for ``version`` in the background; whether it
        is queued (or already was). False when the queue is full, or when the same run
        failed in the background for this version already."""
        key = (q.name, tuple(sorted(values.items(), key=lambda kv: kv[0])))
        with self.lock:
            if self.failed[0] == version and key in self.failed[1]:
                return False
            if key not in self.deferred:
                if len(self.deferred) >= MAX_DEFERRED:
                    return False
                self.deferred[key] = (q, values, version)
        self.nudge.set()
        return True

    def retry_after(self) -> int:
        """Seconds a visitor should wait for a deferred answer: the background question
        running now, up to the background time limit, then the deferred one, up to twice it."""
        return round(3 * self.timeout_factor * self.app.extensions["cpo.db"].timeout)

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
        """Run the questions visitors queued, oldest first; those queued for an older data
        version are dropped (a visitor who asks again queues the current one)."""
        from .views.queries import run_stored

        while not self.stopping.is_set():
            with self.lock:
                if not self.deferred:
                    return
                key, (q, values, asked) = self.deferred.popitem(last=False)
            if asked != version or engine.version() != version:
                continue
            try:
                with self._longer(engine):
                    run_stored(q, values, engine)
            except (EngineError, QueryRefused) as exc:
                log.warning("a deferred run of %s failed: %s", q.name, exc)
                with self.lock:
                    if self.failed[0] != version:
                        self.failed = (version, set())
                    self.failed[1].add(key)
                continue
            self.answered.append((q.name, version))
            log.info("deferred run of %s kept for data version %s", q.name, version)

    @contextlib.contextmanager
    def _longer(self, engine: Database) -> Iterator[None]:
        """The background engine with the deferred runs' limit: twice a round's."""
        engine.timeout = 2 * (before := engine.timeout)
        try:
            yield
        finally:
            engine.timeout = before

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
            store, values = EngineStore(engine), None
            try:
                values = q.bind({}, store)
                run_stored(q, values, engine)
                for p in q.params:
                    p.options(store)  # the drop-downs the page shows
            except ParameterError:
                continue  # a required parameter without a default: nothing to guess
            except (QueryTimedOut, WorkerLost) as exc:
                # Again before the round's next question, with the deferred runs' longer
                # limit (and whole: a run that lost its worker is not cut in two again,
                # Database.query): at 10M, instruments in halves outgrew the worker's cap.
                again = values is not None and self.defer(q, values, version)
                log.info("warm-up put off %s (%s): %s", q.name, "again" if again else "no", exc)
                continue
            except (EngineError, QueryRefused) as exc:
                log.info("warm-up skipped %s: %s", q.name, exc)
                continue
            warmed.append(q.name)
        return warmed
