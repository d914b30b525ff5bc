"""Embedded on-disk store (pyoxigraph / RocksDB)."""

import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

import pyoxigraph as ox

from ..namespaces import graph_iri
from .base import Row, Store, StoreError, Term

META_GRAPH = graph_iri("meta")
VERSION_PRED = ox.NamedNode("https://w3id.org/clusterpolisee/ontology#dataVersion")
STORE_NODE = ox.NamedNode(META_GRAPH)


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

    # -- reading -------------------------------------------------------------------------
    def select(self, query: str, bindings: Mapping[str, Term] | None = None) -> list[Row]:
        subs = {ox.Variable(k): v for k, v in (bindings or {}).items()}
        result = self._store.query(query, use_default_graph_as_union=True, substitutions=subs)
        names = [v.value for v in result.variables]
        return [{n: row[n] for n in names if row[n] is not None} for row in result]

    def _size(self, graph: ox.NamedNode) -> int:
        return sum(1 for _ in self._store.quads_for_pattern(None, None, None, graph))

    def graph_sizes(self) -> dict[str, int]:
        graphs = sorted(self._store.named_graphs(), key=str)
        return {g.value: self._size(g) for g in graphs if g.value != META_GRAPH}

    def graph_triples(self, graph: str) -> list[ox.Triple]:
        node = ox.NamedNode(graph)
        return [q.triple for q in self._store.quads_for_pattern(None, None, None, node)]

    def data_version(self) -> str:
        for q in self._store.quads_for_pattern(STORE_NODE, VERSION_PRED, None, STORE_NODE):
            return q.object.value
        return "empty"

    # -- writing -------------------------------------------------------------------------
    def commit(self, replace: Mapping[str, Iterable[ox.Triple]] | None = None,
               add: Mapping[str, Iterable[ox.Triple]] | None = None) -> None:
        # New content is staged under scratch graph names, then swapped in by one SPARQL
        # update: an update is one transaction, so readers and crashes see old or new state.
        token = uuid.uuid4().hex
        ops = []
        for graph, triples in (replace or {}).items():
            scratch = ox.NamedNode(f"{graph}#staging-{token}")
            self._store.extend(ox.Quad(t.subject, t.predicate, t.object, scratch)
                               for t in triples)
            ops.append(f"MOVE SILENT GRAPH <{scratch.value}> TO <{graph}>")
        for graph, triples in (add or {}).items():
            scratch = ox.NamedNode(f"{graph}#staging-{token}")
            self._store.extend(ox.Quad(t.subject, t.predicate, t.object, scratch)
                               for t in triples)
            ops.append(f"ADD SILENT GRAPH <{scratch.value}> TO <{graph}>")
            ops.append(f"DROP SILENT GRAPH <{scratch.value}>")
        ops.append(f"DELETE WHERE {{ GRAPH <{META_GRAPH}> {{ <{META_GRAPH}> "
                   f"<{VERSION_PRED.value}> ?v }} }}")
        ops.append(f'INSERT DATA {{ GRAPH <{META_GRAPH}> {{ <{META_GRAPH}> '
                   f'<{VERSION_PRED.value}> "{token}" }} }}')
        self._store.update(" ;\n".join(ops))

    def close(self) -> None:
        if not self.read_only:
            self._store.flush()
        del self._store
