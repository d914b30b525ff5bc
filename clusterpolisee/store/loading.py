"""Bulk loading on every core: several calls of Oxigraph's bulk loader at once.

One call of ``Store.bulk_load`` uses one thread to parse and one to write, and the writing
thread is the bottleneck: measured on the reference machine (2 cores), 1,000,000 quads took
22 s as one call, 17 s as ten calls one after the other and 11 s as ten calls on two threads
(pyoxigraph releases the GIL while it loads; RocksDB takes the table files of concurrent loads).

The input is cut into chunks of whole lines, which N-Triples allows: one statement per line.
Each call gives blank nodes fresh labels, so a blank node named in two chunks would become two
nodes. Lines with a blank node are therefore set aside and loaded in one last call: they keep
the scope they had in one file (or in one commit, for the journal's several graphs).
"""

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox

NT = ox.RdfFormat.N_TRIPLES
NQ = ox.RdfFormat.N_QUADS
#: Concurrent loader calls: one per core (each call adds its own parsing thread), at most 4.
THREADS = max(2, min(4, os.cpu_count() or 2))
#: Bytes per call, at least (about 30,000 lines), so that a 100,000-triple commit (19 MB) is
#: split over the threads too: 0.8-1.0 s to load it, against 1.4-1.5 s as one 16 MB call.
CHUNK_BYTES = 4 << 20
#: Bytes per call, at most, for big files: at 1M triples (192 MB), 4 MB calls loaded in
#: 9.1-9.8 s but left RocksDB 1.4-1.8 s of work that the commit's flush() waits for; 16 MB
#: calls loaded in 9.6-10.3 s and left none (commit of a 1M submission: 14.3-14.6 s to
#: 12.1-13.1 s).
CHUNK_MAX = 16 << 20


def chunk_bytes(size: int) -> int:
    """Bytes per loader call for a file of ``size`` bytes: about four calls per thread."""
    return max(CHUNK_BYTES, min(CHUNK_MAX, size // (4 * THREADS)))


class ParallelLoad:
    """Load N-Triples files into named graphs; leaving the ``with`` block (``finish()``) waits
    for every call and raises the first error.

    ``spill`` is a scratch file for the lines with blank nodes. With ``graph`` given, every file
    goes to that one graph and may be any N-Triples; without it (several graphs), the files must
    be pyoxigraph's own N-Triples (every line ends with " .\\n"), so that a set-aside line can be
    put into its graph as N-Quads.
    """

    def __init__(self, store: ox.Store, spill: Path, graph: ox.NamedNode | None = None) -> None:
        self.store, self.graph = store, graph
        self.spill_path = spill
        self.spill = open(spill, "wb")  # noqa: SIM115 (closed by finish(), on leaving `with`)
        self.pool = ThreadPoolExecutor(THREADS, thread_name_prefix="bulk-load")
        self.slots = threading.BoundedSemaphore(2 * THREADS)
        self.futures: list[Future] = []
        self.failed = threading.Event()  # once a call fails, queue nothing more

    def add_file(self, path: Path, graph: ox.NamedNode) -> None:
        """Queue the file's lines; it is read whole before this returns (it may be rewritten)."""
        if self.graph is not None and graph != self.graph:
            raise ValueError("a single-graph load got a file for another graph")
        suffix = f" {graph} .\n".encode()
        line, size = 1, chunk_bytes(path.stat().st_size)
        with open(path, "rb") as fh:
            while (chunk := fh.read(size)) and not self.failed.is_set():
                chunk += fh.readline()  # whole lines only
                if not chunk.endswith(b"\n"):
                    chunk += b"\n"  # the file's last line: set aside, it must end too
                lines = chunk.count(b"\n")
                where = f"{path.name}, lines {line:,}-{line + lines - 1:,}"
                line += lines
                if b"_:" in chunk:
                    chunk = self._set_aside(chunk, suffix)
                if chunk.strip():
                    self._submit(where, chunk, NT, graph)

    def __enter__(self) -> "ParallelLoad":
        return self

    def __exit__(self, kind, *_) -> None:
        if kind is not None:  # the caller failed: load nothing more, only wait
            self.failed.set()
        self.finish()

    def finish(self) -> None:
        if self.store is None:
            return  # finished already
        try:
            self.spill.close()
            if self.spill_path.stat().st_size and not self.failed.is_set():
                where = "the lines with blank nodes"
                fmt = NT if self.graph is not None else NQ
                self._submit(where, self.spill_path, fmt, self.graph)
            errors = [f.exception() for f in self.futures]
        finally:
            self.pool.shutdown(wait=True)
            self.spill_path.unlink(missing_ok=True)
            # Let go of the store at once: a handle kept alive (until the garbage collector
            # finds it) keeps the store's lock, and the next read-write open fails.
            self.futures.clear()
            self.store = None
        first = next((e for e in errors if e is not None), None)
        del errors
        if first is not None:
            try:
                raise first
            finally:
                # No local may keep the exception: it would keep this frame, the caller's
                # frames and the store in them alive until the garbage collector runs.
                del first

    # -- internals ----------------------------------------------------------------------------
    def _set_aside(self, chunk: bytes, suffix: bytes) -> bytes:
        """Write the lines with a blank node to the spill file; return the others."""
        keep = []
        for line in chunk[:-1].split(b"\n"):  # on "\n" only: a stray "\r" stays inside
            line += b"\n"
            if b"_:" not in line:
                keep.append(line)
            elif self.graph is not None:
                self.spill.write(line)
            elif line.endswith(b" .\n"):
                self.spill.write(line[:-3] + suffix)
            else:  # not pyoxigraph's N-Triples: its graph cannot be added safely
                raise ValueError(f"a line of a journal file is not canonical N-Triples: {line!r}")
        return b"".join(keep)

    def _submit(self, where: str, data: bytes | Path, fmt: ox.RdfFormat, graph) -> None:
        self.slots.acquire()  # bounds the bytes waiting in memory
        future = self.pool.submit(self._load, where, data, fmt, graph)
        slots = self.slots  # the callback must not hold self (and with it the store)
        future.add_done_callback(lambda _: slots.release())
        self.futures.append(future)

    def _load(self, where: str, data: bytes | Path, fmt: ox.RdfFormat, graph) -> None:
        source = {"path": str(data)} if isinstance(data, Path) else {"input": data}
        target = {} if graph is None else {"to_graph": graph}
        try:
            self.store.bulk_load(**source, format=fmt, **target)
        except SyntaxError as exc:
            self.failed.set()
            raise SyntaxError(f"{where}: {exc}") from None
        except BaseException:
            self.failed.set()
            raise
