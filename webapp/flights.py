"""Identical queries in flight share one run.

While a result is being computed, another request for the same cache key waits for that run
instead of starting the same work on a second worker. After an upload, the first visitors of
a large listing would otherwise each run it: at 10M triples one run of knowledge-transfers
takes about 8 s of the 10 s limit, and a visitor's run beside the warm-up's took 9.7 s.
"""

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class Flights:
    """Runs in progress, by cache key.

    A background run (the warm-up, at the lowest CPU priority) is joined only by other
    background runs: a visitor waiting for it could wait as long as the visitors keep the CPU
    busy, so a visitor starts a run of its own, which stops the background one, and later
    visitors join it. Except where the visitor's own run is known to be hopeless (``join``:
    it ran out of time last time) or the background run is one put off for a longer limit
    (``joinable``): the visitor then waits for the background run.
    """

    def __init__(
        self, waiting: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    ) -> None:
        #: Entered while a request waits for another's run (webapp/pausing.py: a waiting
        #: request must not hold up the run it waits for).
        self.waiting = waiting
        self.lock = threading.Lock()
        #: By key: the run's future, whether visitors start their own instead of waiting
        #: for it (a background run), and how to stop it.
        self.running: dict[tuple, tuple[Future, bool, Callable[[], None] | None]] = {}
        self.joined = 0  # requests answered by a run another request started

    def run(
        self,
        key: tuple,
        compute: Callable[[], Any],
        wait: float,
        background: bool = False,
        cancel: Callable[[], None] | None = None,
        join: bool = False,
        joinable: bool = False,
    ) -> Any:
        """``compute()``, or the result of the run of ``key`` already in progress. Raises
        what that run raised, or TimeoutError after ``wait`` seconds of waiting for it.
        A visitor's run stops a background run of the same key with its ``cancel``, unless
        ``join``, when it waits for that run as for a visitor's. A ``joinable`` background
        run is waited for by visitors too (a question put off for a longer limit)."""
        superseded = None
        with self.lock:
            found = self.running.get(key)
            if found is not None and (background or join or not found[1]):
                self.joined += 1
                future = found[0]
            else:
                superseded = found[2] if found is not None else None
                future = Future()
                self.running[key] = (future, background and not joinable, cancel)
                found = None
        if superseded is not None:
            superseded()
        if found is not None:
            with self.waiting():
                return future.result(timeout=wait)
        try:
            value = compute()
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self.lock:
                if self.running.get(key, (None,))[0] is future:
                    del self.running[key]
        future.set_result(value)
        return value
