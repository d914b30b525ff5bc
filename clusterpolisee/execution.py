"""Run a query with a real time limit.

pyoxigraph has no query timeout, so an embedded-store query runs in a forked child that opens
the store read-only; the parent kills the child when the limit passes. A remote store sends
the limit with the query and the server enforces it (Virtuoso: its ``timeout`` parameter).
"""

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
from multiprocessing.connection import Connection

from .store.base import QueryResult, QueryTimeout, Store, StoreError
from .store.oxigraph import OxigraphStore

#: Linux's prctl option: the signal a process gets when the thread that forked it ends.
PR_SET_PDEATHSIG = 1


def _child(
    path: str, query: str, store_sorts: bool, split: bool, conn: Connection, parent: int
) -> None:
    _end_with_parent(parent)
    # Ctrl+C is the parent's to answer (it kills this process); the parent held SIGINT back
    # while it forked, and this process inherits that mask.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        store = OxigraphStore(path, read_only=True)
        conn.send(("ok", store.run_query(query, store_sorts, split)))
    except Exception as exc:  # report every failure to the parent as a message
        conn.send(("error", str(exc)))
    finally:
        conn.close()


def _end_with_parent(parent: int) -> None:
    """Be killed when the parent ends, however it ends. The CLI exited with 130 on a Ctrl+C
    and left the query running, orphaned, with the CLI's output pipes open, so a caller
    reading them waited (seen in CI on 2026-12-08; by hand 1 in 3 and 1 in 30 runs). Most
    likely a Ctrl+C that Python had noted just before the parent held SIGINT back was raised
    after the fork, before the parent had recorded this process. kill -9 of the CLI left
    the query running the same way."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent ended before the call
        os._exit(1)


def run_isolated(
    path: str, query: str, timeout: float, store_sorts: bool = False, split: bool = False
) -> QueryResult:
    ctx = mp.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_child, args=(path, query, store_sorts, split, sender, os.getpid()), daemon=True
    )
    # A Ctrl+C during the fork stopped the parent inside logging's after-fork handler, whose
    # lock then stayed held, and the exit hung on it: SIGINT waits until the child exists.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        proc.start()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        raise
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a Ctrl+C held back arrives here
        sender.close()
        if not receiver.poll(timeout):
            raise QueryTimeout(f"the query did not finish within {timeout:g} s and was stopped")
        status, payload = receiver.recv()
    except EOFError as exc:
        proc.join(5)  # the pipe closed as it ended: its exit status says how
        raise StoreError(_ended_without_answer(proc.exitcode)) from exc
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        receiver.close()
    if status == "error":
        raise StoreError(payload)
    return payload


def execute(
    store: Store,
    query: str,
    timeout: float,
    store_sorts: bool = False,
    split: bool = False,
    limit: int | None = None,
) -> QueryResult:
    """Run ``query`` on ``store`` within ``timeout`` seconds or raise QueryTimeout
    (``store_sorts``, ``split``: see ``Store.run_query``). ``limit``: the rows the caller
    will show; a remote store asks the server for no more (its row limit would refuse a
    long answer whole), the embedded one returns them all."""
    if isinstance(store, OxigraphStore):
        return run_isolated(str(store.path), query, timeout, store_sorts, split)
    from .store.remote import RemoteStore  # only ever opened remote stores load it

    if isinstance(store, RemoteStore):
        return store.run_query(query, store_sorts, split, timeout=timeout, limit=limit)
    return store.run_query(query, store_sorts, split)


def _ended_without_answer(code: int | None) -> str:
    """Why the query's process gave no answer, from its exit status. Oxigraph 0.5 aborts the
    process on a panic (SIGABRT; its message is on standard error, above this line)."""
    if code == -signal.SIGABRT:
        return (
            "the query engine (Oxigraph) aborted on this query; its message is above. This is "
            "a bug in the engine, not in the query; a panic that names a 'total order' comes "
            "from ORDER BY over mixed types, and ORDER BY STR(?x) avoids it"
        )
    if code == -signal.SIGKILL:
        return "the query process was killed, most likely by the system for lack of memory"
    how = f"exit status {code}"
    if code is not None and code < 0:
        how = f"signal {-code}"
        with contextlib.suppress(ValueError):  # a real-time signal has no name
            how = f"signal {signal.Signals(-code).name}"
    return f"the query process ended without an answer ({how})"
