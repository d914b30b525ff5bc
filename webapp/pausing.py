"""Long queries pause while the app answers other requests.

On the reference machine (two virtual cores) any CPU-bound neighbour, even a busy loop at the
lowest priority Linux has, makes cheap pages two to three times slower at the 99th percentile
(BENCHMARKS.md, "Web"). No priority keeps a runaway query from costing the other pages, so
the worker running a query that has taken longer than ``after`` seconds is stopped (SIGSTOP)
while any other request is in the app, and continued (SIGCONT) once the app has had no
request for ``quiet`` seconds.

Its time limit runs on the wall clock, paused or not, so a runaway query is still stopped on
time. The cost: under steady traffic a long query gets only the moments between requests,
and may reach its time limit where it would otherwise have finished.

A query that ran out of time the last time it was asked is long from its start
(``Database.ran_out``): each time a runaway query was sent again, its first 0.25 s made small
queries 2.5x slower at the 99th percentile.

A request that is itself waiting for a long query (its own, one another request started,
or a free worker) does not count: it would otherwise hold up the very query it waits for.
Workers are signalled through a pidfd, so a signal can never reach a process that has
taken a finished worker's pid.
"""

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict, Callable], Any]


class Pauser:
    """Counts the requests in the app and stops long queries' workers while there are any."""

    def __init__(self, after: float = 0.25, quiet: float = 0.02) -> None:
        self.after = after
        self.quiet = quiet
        self.pauses = 0  # times the long queries were stopped (tests, logs)
        self._cond = threading.Condition()
        self._busy = 0  # requests in the app not waiting for a long query
        self._idle_since = time.monotonic()
        self._long: dict[int, int] = {}  # pid of a long query's worker: its pidfd
        self._paused = False
        self._closed = False
        self._local = threading.local()
        self._thread = threading.Thread(target=self._continue_when_quiet, daemon=True)
        self._thread.start()

    def wrap(self, app: WsgiApp) -> WsgiApp:
        """``app`` with its requests counted (until it returns the body: a streamed download
        that takes minutes to send would otherwise hold every long query that long)."""

        def counted(environ: dict, start_response: Callable) -> Any:
            self._enter()
            try:
                return app(environ, start_response)
            finally:
                self._leave()

        return counted

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        """The current request, if this thread runs one, waits for other work meanwhile."""
        inside = getattr(self._local, "inside", False)
        if inside:
            self._leave()
        try:
            yield
        finally:
            if inside:
                self._enter()

    @contextlib.contextmanager
    def yielding(self, pid: int) -> Iterator[None]:
        """Worker ``pid`` runs a long query for the current thread, and yields to requests,
        until the block ends."""
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError) as exc:  # no pidfd here, or the worker is gone
            log.debug("cannot watch worker %s: %s", pid, exc)
            with self.waiting():
                yield
            return
        with self.waiting():
            with self._cond:
                self._long[pid] = fd
                if self._busy or self._paused:
                    self._stop(fd)
            try:
                yield
            finally:
                with self._cond:
                    del self._long[pid]
                    if self._paused:
                        _signal(fd, signal.SIGCONT)
                        self._paused = bool(self._long)
                    os.close(fd)

    def watched(self) -> list[int]:
        """The pids of the workers running a long query now."""
        with self._cond:
            return list(self._long)

    def close(self) -> None:
        """Continue every stopped worker and end the watching thread."""
        with self._cond:
            self._closed = True
            self._continue()
            self._cond.notify()

    # -- internals -------------------------------------------------------------------------
    def _enter(self) -> None:
        self._local.inside = True
        with self._cond:
            self._busy += 1
            if self._long and not self._paused:
                for fd in self._long.values():
                    self._stop(fd)

    def _stop(self, fd: int) -> None:
        if not self._paused:
            self._paused = True
            self.pauses += 1
        _signal(fd, signal.SIGSTOP)

    def _leave(self) -> None:
        self._local.inside = False
        with self._cond:
            self._busy -= 1
            if self._busy == 0:
                self._idle_since = time.monotonic()
                self._cond.notify()

    def _continue(self) -> None:
        if self._paused:
            for fd in self._long.values():
                _signal(fd, signal.SIGCONT)
            self._paused = False

    def _continue_when_quiet(self) -> None:
        with self._cond:
            while not self._closed:
                if not (self._paused and self._busy == 0):
                    self._cond.wait()
                    continue
                left = self._idle_since + self.quiet - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                else:
                    self._continue()


def _signal(fd: int, sig: int) -> None:
    # A worker that has ended (and is not yet reaped) has nothing to stop or continue.
    with contextlib.suppress(ProcessLookupError):
        signal.pidfd_send_signal(fd, sig)
