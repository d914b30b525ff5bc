"""The one module that owns query execution: worker processes, time and row limits, a cache.

Views never touch the store for reading: they call ``Database`` methods, which check the
query (read-only, SERVICE allow-list), run it in a worker process with a real time limit (a
worker that runs past it is killed and replaced) and report truncation instead of hiding it.
The serving process may hold the one read-write handle (uploads); workers open the store
read-only and reopen it when the data version changes.
"""

import logging
import multiprocessing as mp
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from . import worker
from .sparql_guard import QueryRefused

log = logging.getLogger(__name__)
#: Results larger than this are not cached, so the cache's memory stays bounded.
CACHE_MAX_ROWS = 5000


def _size(value: Any) -> int:
    if isinstance(value, Result):
        return len(value.rows) + len(value.triples)
    if isinstance(value, dict):
        parts = ("out", "in", "labels", "triples")
        return sum(len(value.get(k, ())) for k in parts)
    return 0


class EngineError(Exception):
    """A query could not be answered; ``status`` is the HTTP status to give."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class QueryTimedOut(EngineError):
    status = 503


class EngineBusy(EngineError):
    status = 503


class WorkerLost(EngineError):
    status = 503


class QueryFailed(EngineError):
    status = 400


@dataclass
class Result:
    """What a query returned, as plain data the renderers understand."""

    kind: str  # 'select' | 'ask' | 'graph'
    vars: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    boolean: bool = False
    triples: list[ox.Triple] = field(default_factory=list)
    truncated: bool = False
    limit: int = 0
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    seconds: float = 0.0

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.vars, row, strict=True)) for row in self.rows]


class _Worker:
    def __init__(self, ctx: Any, path: str, memory_mb: int) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=worker.main, args=(child, path, memory_mb), daemon=True)
        self.proc.start()
        child.close()

    def ready(self, timeout: float = 60.0) -> bool:
        """Wait for the worker's 'ready' (sent once its imports are done)."""
        try:
            return self.conn.poll(timeout) and self.conn.recv() == ("ready",)
        except (EOFError, OSError):
            return False

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class Pool:
    """A fixed number of worker processes; a busy one is borrowed, a stuck one is killed."""

    def __init__(self, path: str, size: int, memory_mb: int = 4096) -> None:
        self.path = path
        self.memory_mb = memory_mb
        self.ctx = mp.get_context("spawn")
        self.idle: queue.Queue[_Worker] = queue.Queue()
        self.closed = False
        workers = [_Worker(self.ctx, path, memory_mb) for _ in range(size)]
        for w in workers:
            if not w.ready():
                for other in workers:
                    other.kill()
                raise EngineError("a query worker did not start; see the server log")
            self.idle.put(w)

    def run(self, job: dict, timeout: float) -> Any:
        try:
            w = self.idle.get(timeout=timeout)
        except queue.Empty:
            raise EngineBusy("all query workers are busy; try again in a few seconds") from None
        try:
            w.conn.send(job)
            if not w.conn.poll(timeout):
                self._replace(w)
                w = None
                raise QueryTimedOut(
                    f"the query ran longer than the time limit of {timeout:g} s and was stopped"
                )
            reply = w.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            if w is not None:
                self._replace(w)
                w = None
            raise WorkerLost(
                "the query worker stopped (the query may have needed more memory than a "
                "worker may use); it has been replaced"
            ) from None
        finally:
            if w is not None:
                self.idle.put(w)
        return reply

    def _replace(self, w: _Worker) -> None:
        """Kill a stuck worker and start a fresh one in the background."""
        log.warning("replacing query worker %s", w.proc.pid)
        w.kill()

        def spawn() -> None:
            if self.closed:
                return
            fresh = _Worker(self.ctx, self.path, self.memory_mb)
            if fresh.ready():
                self.idle.put(fresh)
            else:
                fresh.kill()

        threading.Thread(target=spawn, daemon=True).start()

    def close(self) -> None:
        self.closed = True
        while True:
            try:
                self.idle.get_nowait().kill()
            except queue.Empty:
                return


class _Cache:
    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[tuple, Result] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> Result | None:
        with self.lock:
            hit = self.data.get(key)
            if hit is not None:
                self.data.move_to_end(key)
            return hit

    def put(self, key: tuple, value: Result) -> None:
        if self.size <= 0:
            return
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)


class Database:
    """Query execution for the web app, with limits. ``version`` gives the data version."""

    def __init__(
        self,
        path: str | Path,
        version: Callable[[], str],
        *,
        workers: int = 3,
        timeout: float = 10.0,
        row_limit: int = 10000,
        cache_size: int = 256,
        service_allowlist: tuple[str, ...] = (),
        memory_mb: int = 4096,
    ) -> None:
        self.path = str(path)
        self.version = version
        self.timeout = timeout
        self.row_limit = row_limit
        self.service_allowlist = tuple(service_allowlist)
        self.pool = Pool(self.path, workers, memory_mb)
        self.cache = _Cache(cache_size)

    def close(self) -> None:
        self.pool.close()

    # -- public API used by the views -----------------------------------------------------
    def query(
        self,
        text: str,
        bindings: Mapping[str, ox.NamedNode | ox.Literal] | None = None,
        *,
        labels: bool = False,
        limit: int | None = None,
        trusted: bool = False,
        use_cache: bool = True,
    ) -> Result:
        """Check and run a SPARQL query. Raises QueryRefused or EngineError subclasses.

        The check (rdflib's parser) runs in the worker too, so it is under the time limit
        and cannot exhaust the serving process; ``trusted`` skips it (fixed or stored text).
        """
        limit = min(limit or self.row_limit, self.row_limit)
        key = (
            "q",
            text,
            tuple(sorted((bindings or {}).items(), key=lambda kv: kv[0])),
            labels,
            limit,
        )
        job = {
            "op": "query",
            "text": text,
            "bindings": dict(bindings or {}),
            "limit": limit,
            "labels": labels,
            "allowlist": None if trusted else list(self.service_allowlist),
        }
        return self._cached(key, job, use_cache, lambda p: self._result(p, limit))

    def describe(self, iri: str, limit: int = 2000) -> dict:
        """Outgoing and incoming statements of one IRI, with labels."""
        job = {"op": "describe", "iri": iri, "limit": limit}
        return self._cached(("d", iri, limit), job, True, lambda p: p)

    def graph(self, iri: str) -> dict:
        """Size and first triples (up to the row limit) of one named graph."""
        job = {"op": "graph", "iri": iri, "limit": self.row_limit}
        return self._cached(("g", iri), job, True, lambda p: p)

    def labels(self, iris: set[str]) -> dict[str, dict[str, str]]:
        job = {"op": "labels", "iris": sorted(iris)}
        return self._cached(("l", tuple(sorted(iris))), job, True, lambda p: p["labels"])

    # -- internals -------------------------------------------------------------------------
    def _cached(self, key: tuple, job: dict, use_cache: bool, convert: Callable) -> Any:
        version = self.version()
        key = (version, *key)
        if use_cache and (hit := self.cache.get(key)) is not None:
            return hit
        job["version"] = version
        start = time.perf_counter()
        status, *payload = self.pool.run(job, self.timeout)
        if status == "refused":
            raise QueryRefused(payload[0], payload[1])
        if status == "syntax":
            raise QueryFailed(f"the query is not valid SPARQL: {payload[0]}")
        if status != "ok":
            raise QueryFailed(f"the query failed: {payload[0]}")
        value = convert(payload[0])
        if isinstance(value, Result):
            value.seconds = time.perf_counter() - start
        if _size(value) <= CACHE_MAX_ROWS:
            self.cache.put(key, value)
        return value

    @staticmethod
    def _result(p: dict, limit: int) -> Result:
        return Result(
            kind=p["kind"],
            vars=p.get("vars", []),
            rows=p.get("rows", []),
            boolean=p.get("boolean", False),
            triples=p.get("triples", []),
            truncated=p.get("truncated", False),
            limit=limit,
            labels=p.get("labels", {}),
        )


__all__ = [
    "Database",
    "EngineError",
    "QueryTimedOut",
    "EngineBusy",
    "QueryFailed",
    "WorkerLost",
    "QueryRefused",
    "Result",
]
