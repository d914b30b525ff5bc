"""What every store backend offers. The CLI, the pipelines and the web app use only this.

Queries see the union of all named graphs as their default graph, on every backend.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO

import pyoxigraph as ox

from ..namespaces import graph_iri
from .termtext import TextTriple, fact_pairs, to_triples

Term = ox.NamedNode | ox.Literal | ox.BlankNode
Row = dict[str, Term]


#: The bookkeeping graph of every backend (data version, recorded graph sizes); never
#: exported, never imported.
META_GRAPH = graph_iri("meta")


@dataclass
class QueryResult:
    """The answer to any query form: SELECT fills variables/rows, ASK boolean, CONSTRUCT and
    DESCRIBE triples."""

    kind: str  # "select" | "ask" | "construct"
    variables: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[ox.Triple] = field(default_factory=list)
    #: The backend kept only the rows it was asked for and the answer has more (a remote
    #: store's ``run_query(limit=...)``).
    more: bool = False


#: What marks a scratch graph: ``{graph}#staging-{token}``, one token per commit.
STAGING = "#staging-"
#: The least threshold (minutes, but 0: all) of a sweep of scratch graphs while others may
#: write: a remote commit renews its time once a minute, between upload requests, and one
#: request may take a while; five minutes leave a running commit a wide margin.
SWEEP_MIN_MINUTES = 5


@dataclass
class StagedCommit:
    """The scratch graphs of one commit (one token), and how many seconds ago it was last
    seen (None: no time recorded)."""

    token: str
    graphs: list[ox.NamedNode]
    silent: float | None = None


@dataclass
class StagingSweep:
    """What ``Store.sweep_staging`` did, commit by commit."""

    dropped: list[StagedCommit] = field(default_factory=list)
    #: Seen within the threshold: they may be running.
    running: list[StagedCommit] = field(default_factory=list)
    #: No time recorded (written by a version before commits recorded it): timed from now.
    untimed: list[StagedCommit] = field(default_factory=list)
    #: No other process can write while this one has the store open (the embedded store):
    #: every scratch graph is left over, whatever its age.
    exclusive: bool = False


def staged_commits(graphs: list[ox.NamedNode]) -> list[StagedCommit]:
    """Scratch graphs grouped by commit: the token after the last ``#staging-``."""
    commits: dict[str, StagedCommit] = {}
    for graph in graphs:
        token = graph.value.rsplit(STAGING, 1)[-1]
        commits.setdefault(token, StagedCommit(token, [])).graphs.append(graph)
    return list(commits.values())


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
    def run_query(self, query: str, store_sorts: bool = False, split: bool = False) -> QueryResult:
        """Run any read-only query (SELECT, ASK, CONSTRUCT, DESCRIBE) over the union of all
        graphs. Callers bind parameters before (see clusterpolisee.catalog). ``store_sorts``:
        leave a final ORDER BY to the engine even where this backend would sort the rows
        itself (a stored question's ``sort: store``). ``split``: a stored question, which
        may be cut in two where it says so (store/halves.py), if this backend does that."""

    @abstractmethod
    def graph_sizes(self) -> dict[str, int]:
        """Number of triples in each named graph."""

    @abstractmethod
    def graph_triples(self, graph: str) -> list[ox.Triple]:
        """All triples of one named graph."""

    @abstractmethod
    def scratch_graphs(self) -> list[ox.NamedNode]:
        """Scratch graphs (``...#staging-...``) of commits, not listed by graph_sizes."""

    @abstractmethod
    def sweep_staging(self, older_than: float) -> StagingSweep:
        """Drop the scratch graphs of commits not seen for ``older_than`` seconds (0: all),
        which are no longer running; leave those of commits seen since."""

    def drop_staging(self) -> int:
        """Drop every scratch graph, a running commit's too (only while nothing writes: tests,
        recovery after a crash); return how many."""
        return sum(len(c.graphs) for c in self.sweep_staging(0).dropped)

    # -- writing -------------------------------------------------------------------------
    @abstractmethod
    def commit(
        self,
        replace: Mapping[str, Iterable[ox.Triple]] | None = None,
        add: Mapping[str, Iterable[ox.Triple]] | None = None,
    ) -> None:
        """Replace the named graphs in ``replace`` and add triples to those in ``add``, as one
        unit: a reader sees all of it or none of it, and a crash leaves the old state or the
        new one. Changes the data version."""

    def replace_graph(self, graph: str, triples: Iterable[ox.Triple]) -> int:
        """Atomically replace one named graph; return its new size."""
        self.commit(replace={graph: triples})
        return self.graph_size(graph)

    def update_graph(self, graph: str, triples: Iterable[ox.Triple]) -> int:
        """Atomically make one named graph hold exactly ``triples``; return its size. A backend
        that can delete single triples writes only the difference (see OxigraphStore)."""
        return self.replace_graph(graph, triples)

    def update_graph_text(self, graph: str, triples: Iterable[TextTriple]) -> int:
        """``update_graph`` for triples given as N-Triples text (``termtext``)."""
        return self.update_graph(graph, to_triples(triples))

    def compact(self) -> None:  # noqa: B027 - most backends have nothing to do
        """Reorganise storage for reading after big loads; a no-op unless the backend needs it
        (a remote server manages its own)."""

    def pairs(self, predicate: str, skip_graph: str) -> set[tuple[str, str]]:
        """(subject, object) of every ``?s <predicate> ?o`` in a named graph other than
        ``skip_graph``, as N-Triples text (``termtext``)."""
        rows = self.select(
            "SELECT ?s ?o WHERE { GRAPH ?g { ?s ?p ?o } FILTER(?g != ?skip) }",
            {"p": ox.NamedNode(predicate), "skip": ox.NamedNode(skip_graph)},
        )
        return fact_pairs((str(r["s"]), str(r["o"])) for r in rows)

    def pairs_of(self, predicates: Iterable[str], skip_graph: str) -> dict[str, set]:
        """``pairs`` of several predicates: predicate -> pairs."""
        return {p: self.pairs(p, skip_graph) for p in predicates}

    def graph_size(self, graph: str) -> int:
        """Triples in one named graph (0 if it does not exist)."""
        return self.graph_sizes().get(graph, 0)

    @abstractmethod
    def data_version(self) -> str:
        """An opaque token that changes on every committed write (for cache keys)."""

    # -- dump and restore (see store/dump.py) --------------------------------------------
    def export(self, output: IO[bytes], fmt: str = "nquads", graph: str | None = None) -> int:
        """Write every named graph (or only ``graph``) as N-Quads or TriG; return the count."""
        from .dump import export

        return export(self, output, fmt, graph)

    def import_dataset(self, data: IO[bytes], fmt: str) -> dict[str, int]:
        """Replace each named graph found in an N-Quads / TriG dump, in one commit."""
        from .dump import import_dataset

        return import_dataset(self, data, fmt)

    def describe(self) -> str:
        """Where the store is (a path or an endpoint URL), for messages."""
        return type(self).__name__

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release the store."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
