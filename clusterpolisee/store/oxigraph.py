"""Embedded on-disk store (pyoxigraph / RocksDB)."""

import uuid
from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox

from .base import Store, StoreError


class OxigraphStore(Store):
    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        try:
            if read_only:
                self._store = ox.Store.read_only(str(self.path))
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(self.path))
        except OSError as exc:
            raise StoreError(
                f"cannot open the store at {self.path}: {exc}. Only one process may open it "
                "read-write; stop the other one or open it read-only."
            ) from exc

    def replace_graph(self, graph: str, triples: Iterable[ox.Triple]) -> int:
        # Write the new content under a scratch name, then swap it in with one SPARQL update:
        # an update is one transaction, so a reader sees the old graph or the new one.
        target = ox.NamedNode(graph)
        scratch = ox.NamedNode(f"{graph}#staging-{uuid.uuid4().hex}")
        self._store.extend(ox.Quad(t.subject, t.predicate, t.object, scratch) for t in triples)
        self._store.update(f"MOVE SILENT GRAPH <{scratch.value}> TO <{target.value}>")
        return self._size(target)

    def _size(self, graph: ox.NamedNode) -> int:
        return sum(1 for _ in self._store.quads_for_pattern(None, None, None, graph))

    def graph_sizes(self) -> dict[str, int]:
        return {
            g.value: self._size(g) for g in sorted(self._store.named_graphs(), key=lambda g: str(g))
        }

    def select(self, query: str) -> list[dict]:
        result = self._store.query(query, use_default_graph_as_union=True)
        names = [v.value for v in result.variables]
        return [{n: row[n] for n in names if row[n] is not None} for row in result]

    def close(self) -> None:
        if not self.read_only:
            self._store.flush()
        del self._store
