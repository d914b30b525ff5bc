"""The one module that owns query execution: worker processes, time and row limits, a cache.

Views never touch the store for reading: they call ``Database`` methods, which check the
query (read-only, SERVICE allow-list), run it in a worker process with a real time limit (a
worker that runs past it is killed and replaced) and report truncation instead of hiding it.
The serving process may hold the one read-write handle (uploads); workers open the store
read-only and reopen it when the data version changes.

Memory stays bounded under a steady load: the caches keep only the current data version's
entries, within an entry count and a byte budget, and a worker whose resident memory has
grown past ``recycle_mb`` is replaced between two jobs (like gunicorn's max_requests).
"""

import contextlib
import copy
import hashlib
import logging
import multiprocessing as mp
import os
import queue
import re
import signal
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pyoxigraph as ox

from clusterpolisee.gcpause import paused_collection
from clusterpolisee.store.ordering import SORT_CAP

from . import sizes, wire, worker
from .flights import Flights
from .heap import rss_mb
from .pausing import Pauser
from .sparql_guard import QueryRefused

log = logging.getLogger(__name__)
#: Default byte budgets of the result cache and of the rendered-page cache.
CACHE_BYTES = 64 * 1024 * 1024
PAGE_CACHE_BYTES = 64 * 1024 * 1024
#: How often a job may meet the open race of a read-only snapshot (see ``_run``).
OPEN_RETRIES = 3


def nbytes(value: Any) -> int:
    """The memory a cached value holds (``webapp.sizes``); a query's result carries the
    estimate its worker made, so the serving process does not walk 100,000 terms for it
    (32 ms of its GIL for a 10,000-row listing)."""
    if isinstance(value, Result):
        if value.size is None:
            value.size = sizes.result_bytes(value.vars, value.rows, value.triples, value.labels)
        return value.size
    return sizes.nbytes(value)


def _what(job: dict) -> str:
    """A job in one log line."""
    subject = job.get("text") or job.get("iri") or job.get("iris")
    return f"{job.get('op')} {str(subject)[:300]!r} at version {job.get('version')}"


class BoundedCache(OrderedDict):
    """An LRU mapping of one data version's entries, bounded by count and by bytes.

    Keys are tuples whose first element is the data version. An entry of an older version
    can never be asked for again, so the first entry of a new version drops all others,
    and an entry computed for a version that is no longer current is not kept. Callers
    lock around it (it is a plain mapping, as webapp.pagecache expects).
    """

    def __init__(
        self,
        current: Callable[[], str],
        max_entries: int,
        max_bytes: int,
        size_of: Callable[[Any], int] = nbytes,
        max_entry_bytes: int | None = None,
    ) -> None:
        super().__init__()
        self.current = current
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        #: A larger entry is not kept (default: the whole budget).
        self.max_entry_bytes = max_bytes if max_entry_bytes is None else max_entry_bytes
        self.size_of = size_of
        self.version: str | None = None
        self.bytes = 0
        self._sizes: dict[tuple, int] = {}

    def __setitem__(self, key: tuple, value: Any) -> None:
        current = self.current()
        if key[0] != current:
            return
        if self.version != current:
            self.clear()
            self.version = current
        size = self.size_of(value)
        if size > self.max_entry_bytes or self.max_entries <= 0:
            return
        self._forget(key)
        super().__setitem__(key, value)
        self._sizes[key] = size
        self.bytes += size
        while len(self) > self.max_entries or self.bytes > self.max_bytes:
            self.popitem(last=False)

    def _forget(self, key: tuple) -> None:
        if key in self:
            super().__delitem__(key)
            self.bytes -= self._sizes.pop(key, 0)

    def __delitem__(self, key: tuple) -> None:
        super().__delitem__(key)
        self.bytes -= self._sizes.pop(key, 0)

    def popitem(self, last: bool = True) -> tuple[Any, Any]:
        key, value = super().popitem(last=last)
        self.bytes -= self._sizes.pop(key, 0)
        return key, value

    def clear(self) -> None:
        super().clear()
        self._sizes.clear()
        self.bytes = 0


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
    """The worker died of something that may not happen again (it was killed, most likely
    for memory); it has been replaced: 503, worth a retry."""

    status = 503


class EngineCrashed(EngineError):
    """The query engine failed on this query (a Rust panic, or a crash of the worker): a
    bug on the server's side that the same query meets again, so 500 and no Retry-After."""

    status = 500


class QueryFailed(EngineError):
    status = 400


class Superseded(EngineError):
    """A background run stopped because a visitor asked for the same query (flights.py)."""

    status = 503


class Dataset(NamedTuple):
    """The graphs a protocol request names (default-graph-uri, named-graph-uri), which
    replace the query's own dataset: IRIs of graphs of the store."""

    default: tuple[str, ...]
    named: tuple[str, ...]


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
    #: Estimated bytes held (``webapp.sizes``), from the worker; None: not estimated yet.
    size: int | None = None
    #: The named graph the triples are, for the formats that name it (TriG, N-Quads).
    graph: str | None = None

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.vars, row, strict=True)) for row in self.rows]


class _Worker:
    def __init__(self, ctx: Any, path: str, memory_mb: int, nice: int = 0) -> None:
        self.conn, child = ctx.Pipe()
        nicer = min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice)
        # The worker's standard error, read when it dies (why: a panic's message) and
        # forwarded to the log after each job; the worker unlinks it once it has opened it
        # (and ready() or kill() here, if it never did).
        self.err, self.errpath = tempfile.mkstemp(prefix="cpo-worker-", suffix=".stderr")
        args = (child, path, memory_mb, nicer, self.errpath)
        self.proc = ctx.Process(target=worker.main, args=args, daemon=True)
        try:
            self.proc.start()
        except BaseException:
            self._unlink()
            os.close(self.err)
            raise
        if nice:
            # Now, so the child's imports are nice too; worker.main sets it again for the
            # threads it starts (on Linux a thread has its own nice value).
            try:
                os.setpriority(os.PRIO_PROCESS, self.proc.pid, nicer)
            except OSError as exc:  # gone already (ready() reports it) or not permitted here
                log.warning("cannot lower query worker %s's priority: %s", self.proc.pid, exc)
        child.close()

    def ready(self, timeout: float = 60.0) -> bool:
        """Wait for the worker's 'ready' (sent once its imports are done)."""
        try:
            return self.conn.poll(timeout) and self.conn.recv() == ("ready",)
        except (EOFError, OSError):
            return False
        finally:
            self._unlink()

    def _unlink(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.errpath)

    def said(self, limit: int = 65536) -> str:
        """What the worker wrote to its standard error since the last call (at most the
        first ``limit`` bytes), emptied."""
        if self.err < 0:
            return ""
        try:
            size = os.fstat(self.err).st_size
            if not size:
                return ""
            data = os.pread(self.err, min(size, limit), 0)
            os.ftruncate(self.err, 0)
        except OSError:
            return ""
        return data.decode("utf-8", "replace")

    def forward(self) -> None:
        """Log what the worker wrote to its standard error (it writes to a file, not to the
        server's: see worker.main)."""
        if text := self.said():
            log.warning("query worker %s wrote: %s", self.proc.pid, text.rstrip()[:4000])

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(5)
        self.conn.close()
        self.forward()
        self._unlink()
        if self.err >= 0:  # once: the number may be another file's after it is closed
            with contextlib.suppress(OSError):
                os.close(self.err)
            self.err = -1


def _forking() -> Any:
    """Workers are forked from a server process that has imported ``webapp.worker`` once: a
    new worker then costs about 5 ms, not the 230 ms of CPU a fresh interpreter's imports
    take, which a replacement for a killed worker otherwise took from the pages. The fork
    server has no threads and opens no store, so forking it is safe where forking this
    threaded process is not."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["webapp.worker"])
    return ctx


#: The name of the thread that starts a replacement worker.
SPAWNER = "query-worker-spawn"


class _Idle(queue.LifoQueue):
    """The idle workers, the one given back last handed out first.

    A worker's first answer to a question costs more than its next ones: it opens the
    store (or the data version's snapshot), fills the store's block cache, and counts where
    a stored question is cut in two (store/halves.py: one count query per question and
    worker). Handed out in turn (first in, first out), each of three workers paid that in
    turn; handed out last in, first out, requests one at a time all go to the same warm
    worker. At 1M, three workers, the second and third of four runs in a row (medians of
    six): overview 38 to 6 ms, region-barriers 80 to 65, search 135 to 114, knowledge-
    transfers 1,179 to 1,057. Under load every worker is busy and this changes nothing.
    A worker that has answered nothing yet goes to the bottom (``put_cold``)."""

    def put_cold(self, worker: "_Worker") -> None:
        with self.not_full:  # the queue's own lock and conditions (unbounded: never full)
            self.queue.insert(0, worker)
            self.unfinished_tasks += 1
            self.not_empty.notify()


class Pool:
    """A fixed number of worker processes; a busy one is borrowed, a stuck one is killed."""

    def __init__(
        self,
        path: str,
        size: int,
        memory_mb: int = 4096,
        recycle_mb: float = 0,
        nice: int = 0,
        pauser: Pauser | None = None,
    ) -> None:
        self.path = path
        self.pauser = pauser
        self.memory_mb = memory_mb
        self.recycle_mb = recycle_mb
        self.nice = nice
        self.recycled = 0
        self.jobs = 0  # jobs handed to a worker since start
        self._running: dict[int, tuple[dict, _Worker]] = {}  # id(job): the job, its worker
        self._lock = threading.Lock()
        self.ctx = _forking()
        self.idle = _Idle()
        self.closed = False
        workers = [_Worker(self.ctx, path, memory_mb, nice) for _ in range(size)]
        for w in workers:
            if not w.ready():
                for other in workers:
                    other.kill()
                raise EngineError("a query worker did not start; see the server log")
            self.idle.put(w)

    def run(self, job: dict, timeout: float) -> Any:
        try:
            with self._waiting():
                w = self.idle.get(timeout=timeout)
        except queue.Empty:
            raise EngineBusy("all query workers are busy; try again in a few seconds") from None
        self.jobs += 1
        with self._lock:
            self._running[id(job)] = (job, w)
        try:
            w.conn.send(job)
            if not self._answered(w, timeout, job.get("long", False)):
                log.warning(
                    "job over %g s, %.0f MB resident: %s", timeout, rss_mb(w.proc.pid), _what(job)
                )
                self._replace(w)
                w = None
                raise QueryTimedOut(
                    f"the query ran longer than the time limit of {timeout:g} s and was stopped"
                )
            with paused_collection():  # unpickling a listing makes thousands of objects
                reply = w.conn.recv()
                if reply[0] == "ok":
                    wire.unpack(reply[1])
        except (EOFError, OSError, BrokenPipeError):
            if job.get("superseded"):
                if w is not None:
                    self._replace(w, quiet=True)
                    w = None
                raise Superseded("stopped for a visitor's run of the same query") from None
            if w is None:
                raise WorkerLost("the query worker stopped; it has been replaced") from None
            w.proc.join(2)  # the pipe closes as it exits: its exit status is a moment away
            code, said = w.proc.exitcode, w.said()
            log.warning(
                "query worker %s ended (exit status %s) on %s%s",
                w.proc.pid,
                code,
                _what(job),
                f"; it wrote: {said.rstrip()[:4000]}" if said else "",
            )
            self._replace(w)
            w = None
            raise worker_death(code, said, job.get("text") or "") from None
        finally:
            with self._lock:
                self._running.pop(id(job), None)
            if w is not None:
                self._give_back(w)
        return reply

    def cancel(self, job: dict) -> None:
        """Stop ``job`` by killing its worker, if one runs it now (its run then raises
        Superseded, and the worker is replaced)."""
        with self._lock:
            found = self._running.get(id(job))
            if found is not None and found[0] is job:
                job["superseded"] = True
                found[1].proc.kill()

    def _waiting(self) -> contextlib.AbstractContextManager:
        return self.pauser.waiting() if self.pauser else contextlib.nullcontext()

    def _answered(self, w: _Worker, timeout: float, long: bool = False) -> bool:
        """Whether ``w`` answers within ``timeout``; past the pauser's grace (from the start
        when ``long``: it ran out of time last time) the query is a long one, stopped while
        other requests are answered (webapp/pausing.py)."""
        if self.pauser is None:
            return w.conn.poll(timeout)
        first = 0.0 if long else min(timeout, self.pauser.after)
        if w.conn.poll(first):
            return True
        if first >= timeout:
            return False
        with self.pauser.yielding(w.proc.pid):
            return w.conn.poll(timeout - first)

    def _give_back(self, w: _Worker) -> None:
        """Return an idle worker, or replace it if its memory has grown past recycle_mb:
        heap fragmentation and per-snapshot allocations are then given back to the OS."""
        w.forward()
        mb = rss_mb(w.proc.pid) if self.recycle_mb > 0 else 0.0
        if mb <= self.recycle_mb:
            self._keep(w)
            return
        log.info("recycling query worker %s (%.0f MB resident)", w.proc.pid, mb)
        self.recycled += 1
        self._replace(w, quiet=True)

    def _replace(self, w: _Worker, quiet: bool = False) -> None:
        """Kill a stuck (or recycled) worker and start a fresh one in the background."""
        if not quiet:
            log.warning("replacing query worker %s", w.proc.pid)
        w.kill()

        def spawn() -> None:
            if self.closed:
                return
            fresh = _Worker(self.ctx, self.path, self.memory_mb, self.nice)
            if fresh.ready():
                self._keep(fresh, cold=True)
            else:
                fresh.kill()

        threading.Thread(target=spawn, name=SPAWNER, daemon=True).start()

    def _keep(self, w: _Worker, cold: bool = False) -> None:
        """Make ``w`` idle, or end it if the pool has closed meanwhile: a worker given back
        or started after close() would otherwise live on unseen until the server exits.
        ``cold``: a new worker, handed out after the others (``_Idle``)."""
        with self._lock:
            if not self.closed:
                (self.idle.put_cold if cold else self.idle.put)(w)
                return
        w.kill()

    def close(self) -> None:
        with self._lock:  # after this, _keep ends every worker it is given
            self.closed = True
        while True:
            try:
                self.idle.get_nowait().kill()
            except queue.Empty:
                return


#: How Rust reports a panic on standard error: the line after this one is its message.
PANICKED = re.compile(r"panicked at [^\n]*:\n(?P<message>[^\n]+)")
#: How Rust's allocator reports a failed allocation (the address-space cap) before aborting.
ALLOCATION_FAILED = re.compile(r"memory allocation of \d+ bytes failed")
#: Oxigraph's panic on ORDER BY over terms its comparison does not order consistently
#: (mixed literal types); ordering by their string form avoids it.
ORDER_PANIC = "does not correctly implement a total order"
ORDER_BY = re.compile(r"\bORDER\s+BY\b", re.IGNORECASE)
#: A panic for want of memory (a thread or buffer the address-space cap refused).
MEMORY_PANIC = re.compile(r"alloc|memory|capacity overflow|Resource temporarily", re.IGNORECASE)


def worker_death(code: int | None, said: str, text: str = "") -> EngineError:
    """The error to report when a worker died without answering: ``code`` is its exit
    status, ``said`` what it wrote to standard error, ``text`` the query it ran.

    Only what is known is said. Killed (SIGKILL: the system's out-of-memory killer, or an
    operator) or out of memory under its cap: 503, the worker is replaced and a retry may
    succeed. A Rust panic (its message is on standard error) or any other crash: 500, for
    the same query fails the same way and the fault is the engine's."""
    panic = PANICKED.search(said)
    if panic and not MEMORY_PANIC.search(panic.group("message")):
        message = panic.group("message").strip()[:300]
        hint = ""
        if ORDER_PANIC in message and ORDER_BY.search(text):
            hint = (
                "; ordering by the terms' string form avoids it, e.g. ORDER BY STR(?o) "
                "instead of ORDER BY ?o"
            )
        return EngineCrashed(
            f"the query engine failed on this query: {message}; this is a bug in the engine "
            f"(Oxigraph), not in your query, and asking again fails the same way{hint}"
        )
    if panic or ALLOCATION_FAILED.search(said):
        return WorkerLost(
            "the query needed more memory than a worker may use, and its worker stopped; "
            "it has been replaced"
        )
    if code == -signal.SIGKILL:
        return WorkerLost(
            "the query worker was killed, most likely by the system for lack of memory (the "
            "query may have needed more memory than a worker may use); it has been replaced"
        )
    how = f"exit status {code}"
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            how = f"signal {signal.Signals(-code).name}"
    return EngineCrashed(
        f"the query engine stopped on this query without an answer ({how}); its worker has "
        "been replaced; asking again may fail the same way (the server log has the details)"
    )


class _Cache:
    """The result cache: a locked BoundedCache."""

    def __init__(self, current: Callable[[], str], size: int, max_bytes: int) -> None:
        # One result may take a quarter of the budget (a 10,000-row listing of ten columns
        # is about 4 MB), so no single listing empties the cache of everything else.
        self.data = BoundedCache(current, size, max_bytes, max_entry_bytes=max_bytes // 4)
        self.lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.data.max_entries > 0

    def get(self, key: tuple) -> Any:
        with self.lock:
            hit = self.data.get(key)
            if hit is not None:
                self.data.move_to_end(key)
            return hit

    def put(self, key: tuple, value: Any) -> None:
        with self.lock:
            self.data[key] = value


class _RecentKeys:
    """The last ``size`` keys noted, for membership tests from many threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.keys: OrderedDict[tuple, None] = OrderedDict()
        self.lock = threading.Lock()

    def note(self, key: tuple) -> None:
        with self.lock:
            self.keys[key] = None
            self.keys.move_to_end(key)
            while len(self.keys) > self.size:
                self.keys.popitem(last=False)

    def forget(self, key: tuple) -> None:
        with self.lock:
            self.keys.pop(key, None)

    def __contains__(self, key: tuple) -> bool:
        with self.lock:
            return key in self.keys


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
        cache_bytes: int = CACHE_BYTES,
        service_allowlist: tuple[str, ...] = (),
        memory_mb: int = 4096,
        recycle_mb: float = 512,
        nice: int = 0,
        snapshot: Callable[[str], str | None] = lambda version: None,
        pauser: Pauser | None = None,
    ) -> None:
        self.path = str(path)
        self.version = version
        #: The folder workers open for a data version (None: the store itself).
        self.snapshot = snapshot
        self.timeout = timeout
        self.row_limit = row_limit
        self.service_allowlist = tuple(service_allowlist)
        self.pool = Pool(self.path, workers, memory_mb, recycle_mb, nice, pauser)
        self.cache = _Cache(version, cache_size, cache_bytes)
        # Shared with background() views, like the cache.
        self.flights = Flights(pauser.waiting if pauser else contextlib.nullcontext)
        self.is_background = False
        #: Queries (text digest and bindings) whose sorted answer last had more than SORT_CAP
        #: rows, or that ran out of time.
        #: A worker that sorts an answer itself decodes every row of it (worker.py); for
        #: these it lets Oxigraph sort, which then decodes only the rows kept (at 10M:
        #: knowledge-transfers 10.4-13.5 s sorted in the worker, 8.2-8.6 s by Oxigraph).
        self.large_answers = _RecentKeys(1024)
        #: Queries that ran out of time on their last run: the next run of one is a long
        #: query from its start, not after the pauser's grace (webapp/pausing.py).
        self.ran_out = _RecentKeys(1024)
        #: Stored questions a run of which in two halves lost its worker: run whole since.
        self.whole = _RecentKeys(1024)
        #: A background view running a put-off question (webapp/warmup.py): visitors join
        #: its runs instead of stopping them.
        self.deferring = False

    def close(self) -> None:
        self.pool.close()

    @contextlib.contextmanager
    def background(self, timeout_factor: float = 3.0) -> Iterator["Database"]:
        """This database with its own single worker at the lowest priority (nice 19) and a
        longer time limit, sharing the result cache: for work no visitor waits for (the
        warm-up), so visitors' queries keep their CPU. The worker ends with the block."""
        view = copy.copy(self)
        view.timeout = self.timeout * timeout_factor
        view.is_background = True
        # Recycled like the visitors' workers: a round runs every listing in one process, and
        # at 10M its address space reached the cap by the eighteenth (a lost worker).
        pool = self.pool
        view.pool = Pool(self.path, 1, pool.memory_mb, pool.recycle_mb, 19, pool.pauser)
        try:
            yield view
        finally:
            view.pool.close()

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
        store_sorts: bool = False,
        split: bool = False,
        dataset: Dataset | None = None,
    ) -> Result:
        """Check and run a SPARQL query. Raises QueryRefused or EngineError subclasses.

        The check (webapp.sparql_guard) runs in the worker too, so it is under the time limit
        and cannot exhaust the serving process; ``trusted`` skips it (fixed or stored text).
        ``store_sorts``: Oxigraph sorts, not the worker (a stored question's ``sort: store``).
        ``split``: a stored question, which the worker may cut in two (store/halves.py).
        ``dataset``: the graphs a protocol request names, in place of the query's own.
        """
        limit = min(limit or self.row_limit, self.row_limit)
        bound = tuple(sorted((bindings or {}).items(), key=lambda kv: kv[0]))
        # Keyed on whether a stored question asks: its strings are collated for readers
        # (store/ordering.py), /sparql's are in SPARQL's code-point order, and a question's
        # page shows the very text it runs, which an analyst may paste into /sparql. Not on
        # who sorts otherwise: a stored question is always sorted by the worker unless it says
        # `sort: store`, and other texts are sorted by code point by either, so the two orders
        # differ only where SPARQL leaves the order open (equal keys; a number and a string).
        stored = split and trusted
        key = ("q", text, bound, labels, limit, dataset, stored)
        # Noted by a digest of the text: a /sparql text may be 100,000 characters.
        asked = (hashlib.sha256(text.encode()).digest(), bound, dataset)
        job = {
            "op": "query",
            "text": text,
            "bindings": dict(bindings or {}),
            "limit": limit,
            "labels": labels,
            "allowlist": None if trusted else list(self.service_allowlist),
            "engine_sort": store_sorts or (asked in self.large_answers and not stored),
            # Not in two halves once a run of it lost its worker: the halves took instruments
            # at 10M from 2.5 to 4.2 GB (past the cap).
            "split": stored and asked not in self.whole,
            "collate": stored,
            "long": asked in self.ran_out,
            # Plain lists for the pipe (webapp/wire.py).
            "dataset": None if dataset is None else [list(dataset.default), list(dataset.named)],
        }

        def convert(p: dict) -> Result:
            if p.get("rows_read", 0) > SORT_CAP:
                self.large_answers.note(asked)
            self.ran_out.forget(asked)
            return self._result(p, limit)

        try:
            return self._cached(key, job, use_cache, convert)
        except QueryTimedOut:
            # A sort in the worker that ran out of time was never counted: the next try lets
            # Oxigraph sort, as before 4 December (a query with no final ORDER BY is the same).
            self.large_answers.note(asked)
            self.ran_out.note(asked)
            raise
        except WorkerLost:
            if stored:
                self.whole.note(asked)
            raise

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

    def rendered(self, suffix: str, result: Result, about: Any = None) -> bytes:
        """``result`` in the download format ``suffix``, written by a worker: a workbook of
        10,000 rows is about 0.8 s of pure Python, which in this process would hold up every
        other request for as long. Not cached here: the page cache keeps the response."""
        plain = Result(
            result.kind,
            result.vars,
            result.rows,
            result.boolean,
            truncated=result.truncated,
            limit=result.limit,
        )
        job = {"op": "render", "suffix": suffix, "result": plain, "about": about}
        version = self.version()
        job["version"], job["path"] = version, self.snapshot(version)
        status, *payload = self._run(job)
        if status != "ok":
            raise EngineError(f"the {suffix} file could not be written: {payload[-1]}")
        return payload[0]["body"]

    # -- internals -------------------------------------------------------------------------
    def _cached(self, key: tuple, job: dict, use_cache: bool, convert: Callable) -> Any:
        """The cached result of ``job``, or a run of it shared by every identical request
        that comes while it runs. With the cache off, each request runs its own."""
        key = (self.version(), *key)
        if not (use_cache and self.cache.enabled):
            return self._compute(key, job, convert)
        if (hit := self.cache.get(key)) is not None:
            return hit
        # A request waits for a worker for up to the time limit, then runs up to it.
        wait = 2 * self.timeout + 1
        try:
            # A visitor's run stops the warm-up's run of the same query: the two would share
            # the two cores for one answer (at 10M, a first visit during the warm-up took
            # 6.9 s instead of 2.3 s once the warm-up yielded to pages, webapp/pausing.py).
            cancel = (lambda: self.pool.cancel(job)) if self.is_background else None
            # Unless this query ran out of a visitor's time last time: a visitor's run would
            # again, so it waits for the background one, which has the longer limit
            # (webapp/warmup.py runs such a question on a visitor's request).
            return self.flights.run(
                key,
                lambda: self._compute(key, job, convert),
                wait,
                self.is_background,
                cancel,
                join=job.get("long", False),
                joinable=self.is_background and self.deferring,
            )
        except TimeoutError:
            raise QueryTimedOut(
                f"the same query, asked for by another request, ran longer than {wait:g} s"
            ) from None

    def _compute(self, key: tuple, job: dict, convert: Callable) -> Any:
        version = key[0]
        job["version"], job["path"] = version, self.snapshot(version)
        start = time.perf_counter()
        status, *payload = self._run(job)
        if status == "refused":
            raise QueryRefused(payload[0], payload[1])
        if status == "syntax":
            raise QueryFailed(f"the query is not valid SPARQL: {payload[0]}")
        if status == "panic":  # a panic that unwound (worker.answer)
            raise worker_death(None, f"panicked at engine:\n{payload[0]}\n", job.get("text", ""))
        if status != "ok":
            raise QueryFailed(f"the query failed: {payload[0]}")
        value = convert(payload[0])
        if isinstance(value, Result):
            value.seconds = time.perf_counter() - start
        self.cache.put(key, value)
        return value

    def _run(self, job: dict) -> tuple:
        """Run a job, retrying the open race of a read-only snapshot: while the writer
        compacts, a worker may read a manifest naming a file just deleted ("No such
        file"); the next open sees a consistent manifest (the worker retries the open)."""
        for attempt in range(OPEN_RETRIES + 1):
            reply = self.pool.run(job, self.timeout)
            racy = reply[0] == "error" and "No such file" in str(reply[1])
            if not racy or attempt == OPEN_RETRIES:
                return reply
            log.info("retrying a job after a snapshot open race: %s", reply[1][:200])
            time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

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
            size=p.get("size"),
        )


__all__ = [
    "BoundedCache",
    "Database",
    "EngineError",
    "QueryTimedOut",
    "EngineBusy",
    "QueryFailed",
    "WorkerLost",
    "EngineCrashed",
    "QueryRefused",
    "Result",
]
