"""Warm the result cache: after start and after each new data version, a background thread
runs every stored question with its default parameters, one at a time, so the first visitor
of a large listing reads a kept result instead of waiting for the store (knowledge-transfers
takes about 0.8 s at 1M triples and 8 s at 10M), and its drop-downs' options too.

It asks exactly what the question's page asks (``views.queries.run_stored``), so the cache
keys match. It runs in a worker of its own at the lowest priority, with three times the time
limit (``Database.background``), started for a round and stopped after it, so visitors'
queries keep the CPU and all the workers. A question that fails or runs out of time is logged
and skipped; a new data version restarts the round.
"""

import logging
import threading
import time
from collections import OrderedDict

from flask import Flask

from clusterpolisee.catalog import ParameterError

from .access import EngineStore
from .database import Database, EngineError, QueryRefused

log = logging.getLogger(__name__)
#: How often the thread looks for a new data version (seconds); a round starts once a
#: version has stayed current from one look to the next.
POLL_SECONDS = 2.0
KEEP_ROUNDS = 8


class Warmer(threading.Thread):
    """The background thread; ``rounds`` maps the last few warmed data versions to the
    questions whose results it left in the cache (for tests and the log)."""

    def __init__(self, app: Flask, poll: float = POLL_SECONDS) -> None:
        super().__init__(name="cpo-warmup", daemon=True)
        self.app = app
        self.poll = poll
        self.stopping = threading.Event()
        self.rounds: OrderedDict[str, list[str]] = OrderedDict()
        self.abandoned = 0  # rounds given up for a newer data version or a stop

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        """Warm each data version once it has been the current one for a whole poll: under a
        stream of uploads, rounds would otherwise start and be given up one after another."""
        with self.app.app_context():
            seen = None
            while not self.stopping.is_set():
                version = self._version()
                if version is not None and version == seen and version not in self.rounds:
                    self._round(version)
                seen = version
                self.stopping.wait(self.poll)

    def _version(self) -> str | None:
        try:
            return self.app.extensions["cpo.db"].version()
        except Exception as exc:  # a closed or failing store: try again at the next poll
            log.warning("warm-up could not read the data version: %s", exc)
            return None

    def _round(self, version: str) -> None:
        start = time.perf_counter()
        try:
            with self.app.extensions["cpo.db"].background() as engine:
                warmed = self._questions(engine, version)
        except Exception:  # the warm-up is optional: never let it end the thread or retry
            log.exception(
                "warm-up of data version %s failed; visitors' queries are unaffected", version
            )
            warmed = []
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

    def _questions(self, engine: Database, version: str) -> list[str] | None:
        """Run each question; None when stopped or overtaken by a newer data version."""
        from .views.queries import catalog, run_stored

        warmed: list[str] = []
        for q in catalog().queries.values():
            if self.stopping.is_set() or engine.version() != version:
                return None  # closing, or a newer version: the next poll starts over
            if q.services:
                continue  # federated: depends on another server, not on our data
            store = EngineStore(engine)
            try:
                run_stored(q, q.bind({}, store), engine)
                for p in q.params:
                    p.options(store)  # the drop-downs the page shows
            except ParameterError:
                continue  # a required parameter without a default: nothing to guess
            except (EngineError, QueryRefused) as exc:
                log.info("warm-up skipped %s: %s", q.name, exc)
                continue
            warmed.append(q.name)
        return warmed
