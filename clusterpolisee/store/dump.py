"""Dump a store's named graphs to N-Quads / TriG, and restore them, on any backend.

Only the store interface is used (graph_sizes, graph_triples, commit), so the embedded and the
remote backend dump and restore the same way. The bookkeeping graph (graph/meta, the data
version) is not part of a dump.
"""

from collections import defaultdict
from typing import IO

import pyoxigraph as ox

from .base import META_GRAPH, Store, StoreError

FORMATS = {"nquads": ox.RdfFormat.N_QUADS, "trig": ox.RdfFormat.TRIG}
SUFFIXES = {".nq": "nquads", ".nquads": "nquads", ".trig": "trig"}


def rdf_format(fmt: str) -> ox.RdfFormat:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise StoreError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}") from None


def export(store: Store, output: IO[bytes], fmt: str = "nquads", graph: str | None = None) -> int:
    """Write the named graphs (or one) as quads; return how many were written."""
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
    return len(quads)


def read_dataset(data: IO[bytes], fmt: str) -> dict[str, list[ox.Triple]]:
    """Parse a whole dump before anything is written, so bad input changes nothing."""
    graphs: dict[str, list[ox.Triple]] = defaultdict(list)
    try:
        # No base IRI: a relative IRI is an error, never resolved against a local path.
        for q in ox.parse(data, format=rdf_format(fmt)):
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
    except SyntaxError as exc:
        raise StoreError(f"not valid {fmt}: {exc}") from exc
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
    graphs = read_dataset(data, fmt)
    if not graphs:
        raise StoreError("the dump holds no named graph; nothing was changed")
    store.commit(replace=graphs)
    return {g: len(set(ts)) for g, ts in graphs.items()}
