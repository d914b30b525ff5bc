"""Dump a store's named graphs to N-Quads / TriG, and restore them, on any backend.

Only the store interface is used (graph_sizes, graph_triples, commit), so the embedded and the
remote backend dump and restore the same way. The bookkeeping graph (graph/meta, the data
version) is not part of a dump.

A dump to import may be gzip-compressed (as the web app serves it, ``clusterpolisee.nq.gz``):
``open_dump`` tells it by its magic bytes, whatever its name, and refuses one that expands past
``expansion_limit`` (a decompression bomb) before it is all read.

Every dump ``export`` writes ends with a comment line, ``# end of clusterpolisee dump: N quads
in G graphs`` (a comment in N-Quads and TriG alike, so any reader skips it). A dump cut off at a
line break still parses, and importing it replaced each of its graphs with part of its
contents; ``read_dataset(..., end_check=True)`` refuses a dump without that line, or whose
line counts other quads or graphs than it holds.
"""

import gzip
import re
import zlib
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import IO

import pyoxigraph as ox

from .base import META_GRAPH, Store, StoreError

FORMATS = {"nquads": ox.RdfFormat.N_QUADS, "trig": ox.RdfFormat.TRIG}
SUFFIXES = {".nq": "nquads", ".nquads": "nquads", ".trig": "trig"}
GZIP_MAGIC = b"\x1f\x8b"
#: An uncompressed dump is read as it is: its size on disk is what import parses, and import
#: has no other size limit. A compressed one may expand to at most this many times its size
#: (measured: the demo data's dump 18x, 300,000 `generate` triples as N-Quads 41x; a gzip
#: bomb of zeros or of one repeated quad 300-1,000x), so what is parsed stays in proportion
#: to what the operator can see on disk, as for an uncompressed file.
MAX_EXPANSION = 200
#: ... and always to this many bytes, so that a small dump (where gzip's header is much of the
#: file) is never refused.
MIN_EXPANDED = 64 << 20
READ_SIZE = 1 << 20  # decompressed bytes per read at most, so the check comes often
END_LINE = "# end of clusterpolisee dump: {quads} quads in {graphs} graphs\n"
END_RE = re.compile(rb"# end of clusterpolisee dump: ([0-9]+) quads in ([0-9]+) graphs")
TAIL_SIZE = 4096  # bytes kept of the end of a dump read, where its end line is
NO_END_CHECK = (
    "nothing was changed. To import a dump written by another tool or before 2026-12-07, "
    "give --no-end-check"
)


def rdf_format(fmt: str) -> ox.RdfFormat:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise StoreError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}") from None


def format_of(name: str) -> str | None:
    """The dump format a file name says (``x.nq``, ``x.trig``, also ``x.nq.gz``), or None."""
    path = PurePath(name.lower())
    if path.suffix == ".gz":
        path = path.with_suffix("")
    return SUFFIXES.get(path.suffix)


def expansion_limit(compressed: int) -> int:
    """The most bytes a gzip file of ``compressed`` bytes may decompress to."""
    return max(MIN_EXPANDED, MAX_EXPANSION * compressed)


class _Tail:
    """A dump read through ``read``, keeping its last TAIL_SIZE bytes: where the end line
    ``export`` writes is, checked once the parser has read it all, so the file is read once."""

    def __init__(self, data: IO[bytes]) -> None:
        self.data, self.tail = data, b""

    def read(self, size: int = -1) -> bytes:
        chunk = self.data.read(size)
        if chunk:
            self.tail = (self.tail + chunk)[-TAIL_SIZE:]
        return chunk


def end_line(quads: int, graphs: int) -> bytes:
    """The last line of a dump of ``quads`` quads in ``graphs`` graphs."""
    return END_LINE.format(quads=quads, graphs=graphs).encode()


def check_end(tail: bytes, quads: int, graphs: int, name: str = "the dump") -> None:
    """Refuse a dump whose last line (in ``tail``) is not the end line ``export`` writes for
    ``quads`` quads in ``graphs`` graphs, what the dump was parsed into."""
    last = tail.rstrip().rsplit(b"\n", 1)[-1].strip()
    found = END_RE.fullmatch(last)
    if found is None:
        raise StoreError(
            f"{name} ends without the end line that `export` writes "
            f"('# end of clusterpolisee dump: ...'): it may be cut short; {NO_END_CHECK}"
        )
    said = int(found[1]), int(found[2])
    if said != (quads, graphs):
        raise StoreError(
            f"{name} ends with the end line of a dump of {said[0]} quads in {said[1]} graphs, "
            f"but holds {quads} quads in {graphs} graphs: it may be cut short or put together "
            f"from several files; {NO_END_CHECK}"
        )


class _Bounded:
    """A gzip stream read through ``read`` (all pyoxigraph's parser calls), refused with a
    StoreError at a damaged stream or once it has expanded past ``expansion_limit`` of the
    compressed bytes read so far: checked as it goes, a bomb is refused after
    ``MIN_EXPANDED`` bytes, not after its whole allowance was parsed into memory (at 500 MB,
    16 s and 1.6 GB). The parser passes the error on as it is, so the message reaches the
    user whole."""

    def __init__(self, stream: gzip.GzipFile, raw: IO[bytes], name: str) -> None:
        self.stream, self.raw, self.name, self.seen = stream, raw, name, 0

    def read(self, size: int = -1) -> bytes:
        try:
            chunk = self.stream.read(size if 0 <= size <= READ_SIZE else READ_SIZE)
        except (OSError, EOFError, zlib.error) as exc:
            raise StoreError(f"{self.name} is not a whole gzip file: {exc}") from None
        self.seen += len(chunk)
        if self.seen > expansion_limit(self.raw.tell()):
            raise StoreError(self._bomb())
        return chunk

    def _bomb(self) -> str:
        return (
            f"{self.name} decompresses to more than {MAX_EXPANSION} times its size "
            f"({self.seen:,} bytes from its first {self.raw.tell():,}; this project's dumps "
            "decompress to 18-41 times their size), so it is refused as a possible "
            "decompression bomb; nothing was changed. If you trust the file, decompress it "
            "(gunzip) and import the uncompressed file"
        )


@contextmanager
def open_dump(path: Path) -> Iterator[IO[bytes]]:
    """The dump at ``path`` to read, decompressed when it starts with gzip's magic bytes."""
    with path.open("rb") as raw:
        magic = raw.read(len(GZIP_MAGIC))
        raw.seek(0)
        if magic != GZIP_MAGIC:
            yield raw
            return
        with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
            yield _Bounded(stream, raw, path.name)  # type: ignore[misc]


def export(store: Store, output: IO[bytes], fmt: str = "nquads", graph: str | None = None) -> int:
    """Write the named graphs (or one) as quads, then the end line (``end_line``); return
    how many quads were written."""
    fmt_ = rdf_format(fmt)
    sizes = store.graph_sizes()
    if graph is not None and graph not in sizes:
        raise StoreError(f"no graph {graph} in the store")
    graphs = [graph] if graph else list(sizes)
    quads = [
        ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(g))
        for g in graphs
        for t in store.graph_triples(g)
    ]
    ox.serialize(quads, output, fmt_)
    output.write(end_line(len(quads), len({q.graph_name for q in quads})))
    return len(quads)


def read_dataset(
    data: IO[bytes], fmt: str, end_check: bool = False, name: str = "the dump"
) -> dict[str, list[ox.Triple]]:
    """Parse a whole dump before anything is written, so bad input changes nothing. With
    ``end_check``, a dump (called ``name`` in messages) must end with the end line ``export``
    writes, for as many quads and graphs as it holds: one cut off at a line break is
    refused."""
    graphs: dict[str, list[ox.Triple]] = defaultdict(list)
    source = _Tail(data) if end_check else data
    quads = 0
    try:
        # No base IRI: a relative IRI is an error, never resolved against a local path.
        for q in ox.parse(source, format=rdf_format(fmt)):
            if not isinstance(q.graph_name, ox.NamedNode):
                raise StoreError(_unnamed(q.graph_name))
            if "#staging-" in q.graph_name.value:
                raise StoreError(f"refusing scratch graph {q.graph_name.value} in the dump")
            if q.graph_name.value == META_GRAPH:
                # The store's own bookkeeping (data version, recorded graph sizes): taking it
                # from a file would make both lie about the graphs.
                raise StoreError(
                    f"refusing {META_GRAPH} in the dump: it is the store's own bookkeeping, "
                    "never exported; remove that graph from the file and import it again"
                )
            graphs[q.graph_name.value].append(q.triple)
            quads += 1
    except SyntaxError as exc:
        raise StoreError(f"not valid {fmt}: {exc}") from exc
    if isinstance(source, _Tail):
        check_end(source.tail, quads, len(graphs), name)
    return dict(graphs)


def _unnamed(graph: ox.BlankNode | ox.DefaultGraph) -> str:
    """Why a quad outside an IRI-named graph is refused, and what to do. A graph named by a
    blank node was reported as "outside a named graph", which it is not."""
    if isinstance(graph, ox.BlankNode):
        return (
            f"the dump has triples in a graph named by the blank node {graph}; the store "
            "keeps each graph under an IRI, so name it with one (e.g. "
            "<https://example.org/graph/mine>) and import the file again"
        )
    return "the dump has triples outside a named graph; every triple must be in one"


def import_dataset(store: Store, data: IO[bytes], fmt: str) -> dict[str, int]:
    """Replace every named graph found in the dump, in one commit; return their sizes.

    Graphs the dump does not mention are kept; on an empty store this restores the dump.
    """
    return restore(store, read_dataset(data, fmt))


def restore(store: Store, graphs: dict[str, list[ox.Triple]]) -> dict[str, int]:
    """Replace each graph of a parsed dump (``read_dataset``), in one commit; their sizes."""
    if not graphs:
        raise StoreError("the dump holds no named graph; nothing was changed")
    store.commit(replace=graphs)
    return {g: len(set(ts)) for g, ts in graphs.items()}
