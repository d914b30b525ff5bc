"""What every store backend offers. Views and the CLI use only this interface."""

from abc import ABC, abstractmethod
from collections.abc import Iterable

import pyoxigraph as ox


class StoreError(RuntimeError):
    """The store could not be opened, read or written; the message says why."""


class Store(ABC):
    @abstractmethod
    def replace_graph(self, graph: str, triples: Iterable[ox.Triple]) -> int:
        """Atomically replace the content of named graph ``graph``; return its new size."""

    @abstractmethod
    def graph_sizes(self) -> dict[str, int]:
        """Number of triples in each named graph."""

    @abstractmethod
    def select(self, query: str) -> list[dict[str, ox.NamedNode | ox.Literal | ox.BlankNode]]:
        """Run a SELECT over the union of all graphs; rows map variable names to terms."""

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release the store."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
