"""What every store backend offers. The CLI, the pipelines and the web app use only this.

Queries see the union of all named graphs as their default graph, on every backend.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping

import pyoxigraph as ox

Term = ox.NamedNode | ox.Literal | ox.BlankNode
Row = dict[str, Term]


class StoreError(RuntimeError):
    """The store could not be opened, read or written; the message says why."""


class QueryTimeout(StoreError):
    """A query ran past its time limit (or the server said it did)."""


class Store(ABC):
    # -- reading -------------------------------------------------------------------------
    @abstractmethod
    def select(self, query: str, bindings: Mapping[str, Term] | None = None) -> list[Row]:
        """Run a SELECT over the union of all graphs. ``bindings`` pre-bind variables to RDF
        terms (never spliced as text). Rows map variable names to terms; unbound ones are
        absent."""

    @abstractmethod
    def graph_sizes(self) -> dict[str, int]:
        """Number of triples in each named graph."""

    @abstractmethod
    def graph_triples(self, graph: str) -> list[ox.Triple]:
        """All triples of one named graph."""

    # -- writing -------------------------------------------------------------------------
    @abstractmethod
    def commit(self, replace: Mapping[str, Iterable[ox.Triple]] | None = None,
               add: Mapping[str, Iterable[ox.Triple]] | None = None) -> None:
        """Replace the named graphs in ``replace`` and add triples to those in ``add``, as one
        unit: a reader sees all of it or none of it, and a crash leaves the old state or the
        new one. Changes the data version."""

    def replace_graph(self, graph: str, triples: Iterable[ox.Triple]) -> int:
        """Atomically replace one named graph; return its new size."""
        self.commit(replace={graph: triples})
        return self.graph_sizes().get(graph, 0)

    @abstractmethod
    def data_version(self) -> str:
        """An opaque token that changes on every committed write (for cache keys)."""

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release the store."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
