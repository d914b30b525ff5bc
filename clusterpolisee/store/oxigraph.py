"""Embedded on-disk store (pyoxigraph / RocksDB)."""

import errno
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox

from ..gcpause import paused_collection
from ..sparqltext import has_dataset
from . import journal, loading
from .base import (
    META_GRAPH,
    STAGING,
    QueryResult,
    Row,
    StagingSweep,
    Store,
    StoreError,
    Term,
    staged_commits,
)
from .bindings import bind, prebound
from .halves import Halves, in_two, joined
from .ordering import sort_solutions, split_order
from .termtext import TextTriple, as_text, fact_pairs, select_text, to_triples

VERSION_PRED = ox.NamedNode("https://w3id.org/clusterpolisee/ontology#dataVersion")
VOID_TRIPLES = ox.NamedNode("http://rdfs.org/ns/void#triples")
STORE_NODE = ox.NamedNode(META_GRAPH)


def open_read_only(path: Path, attempts: int = 5) -> ox.Store:
    """Open a read-only snapshot. While another process writes, RocksDB may compact away a
    file between reading its manifest and opening the file ("Corruption ... No such file");
    the manifest is consistent again a moment later, so retry briefly."""
    for attempt in range(attempts):
        try:
            return ox.Store.read_only(str(path))
        except (OSError, RuntimeError) as exc:
            if attempt == attempts - 1 or "No such file" not in str(exc):
                raise OSError(str(exc)) from exc
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def open_error(path: Path, exc: OSError) -> str:
    """The message for a failed open, with the hint that fits its cause. RocksDB's errors
    carry no errno, so the cause is read from their text as well."""
    text = str(exc)
    if exc.errno == errno.ENOSPC or "No space left on device" in text:
        return (
            f"No space left on device for the store at {path}: free some space and retry; "
            f"nothing was changed. ({text})"
        )
    if _LOCKED.search(text):
        return (
            f"cannot open the store at {path}: {text}. Only one process may open it "
            "read-write (a running `clusterpolisee serve` holds it: upload through its "
            "/submit page, or stop it); stop the other one or open it read-only."
        )
    return f"cannot open the store at {path}: {text}"


_COUNT_GRAPH = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


def count_graph(store: ox.Store, graph: ox.NamedNode) -> int:
    """The number of triples in ``graph``, counted by Oxigraph itself: for the 1M-triple graph
    0.5-1.3 s, against 13 s for iterating the quads in Python (the graph page timed out)."""
    (row,) = store.query(bind(_COUNT_GRAPH, {"g": graph}))
    return int(row["n"].value)


def graph_size(store: ox.Store, graph: ox.NamedNode) -> int:
    """The size of ``graph`` as its last write recorded it (see ``_size_ops``), else counted
    (a graph a journaled commit wrote, or a store written by an older version). Counting the
    10M-triple graph takes 7-9 s: its page ran out of time, and the catalogue spent 13 s on
    graph sizes."""
    recorded = _recorded(store, graph)
    return count_graph(store, graph) if recorded is None else recorded


def _size_ops(
    recount: Iterable[str], forget: Iterable[str] = (), known: Mapping[str, int] | None = None
) -> list[str]:
    """Update operations recording the sizes of graphs in graph/meta (``void:triples``), in
    the same update that sets the data version: those in ``known`` as given (worked out by
    ``_sizes_after`` from the change itself), those in ``recount`` counted by Oxigraph, and
    dropping the records of those in ``forget`` (their size is then counted when read). An
    empty or dropped graph gets no record. Every commit goes through ``_write``, and a bulk
    load or a journaled commit drops its graphs' records before it starts, so a record is
    never stale."""
    meta, ops, recount = ox.NamedNode(META_GRAPH), [], set(recount)  # read once: may be an iterator
    known = dict(known or {})
    for graph in sorted((recount | set(forget) | set(known)) - {META_GRAPH}):
        node = ox.NamedNode(graph)
        ops.append(f"DELETE WHERE {{ GRAPH {meta} {{ {node} {VOID_TRIPLES} ?n }} }}")
        if graph in known:
            if known[graph] > 0:
                size = _count(known[graph])
                ops.append(f"INSERT DATA {{ GRAPH {meta} {{ {node} {VOID_TRIPLES} {size} }} }}")
        elif graph in recount:
            ops.append(
                f"INSERT {{ GRAPH {meta} {{ {node} {VOID_TRIPLES} ?n }} }} WHERE {{ "
                f"{{ SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {node} {{ ?s ?p ?o }} }} }} "
                "FILTER(?n > 0) }"
            )
    return ops


def _count(n: int) -> ox.Literal:
    return ox.Literal(str(n), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))


def _recorded(store: ox.Store, graph: ox.NamedNode) -> int | None:
    for quad in store.quads_for_pattern(graph, VOID_TRIPLES, None, STORE_NODE):
        return int(quad.object.value)
    return None


#: A graph's change is checked triple by triple (is it there?) when it is under this share of
#: the graph; a bigger one has the graph counted instead (in memory, one lookup cost 2 us and
#: counting 0.16 us a triple).
CHECK_SHARE = 1 / 8


def _sizes_after(store: ox.Store, change: journal.Commit) -> dict[str, int]:
    """The sizes the graphs ``change`` writes will have once it is applied, for those that can
    be told without counting them: a replaced graph holds its distinct new triples (blank
    nodes get fresh labels, but one label stays one node); a graph that only gains or loses a
    few triples, and whose size is recorded, changes by those not there / there before. Read
    before the change is applied, under the commit lock (the only writer). The other graphs
    are counted by Oxigraph in the update that sets the version."""
    sizes = {}
    for graph in change.graphs() - {META_GRAPH}:
        replace = change.replace.get(graph)
        add, remove = change.add.get(graph, []), change.remove.get(graph, [])
        if replace is not None:
            if not add:  # removals come before the replacement, on both paths
                sizes[graph] = len(set(replace))
            continue
        node = ox.NamedNode(graph)
        old = _recorded(store, node)
        if old is None or len(add) + len(remove) > old * CHECK_SHARE:
            continue
        if any(_blank(t) for t in [*add, *remove]):
            continue  # an added blank node is always a new one; no lookup can tell
        gone = {t for t in set(remove) if _quad(t, node) in store}
        added = set(to_triples(add) if add and type(add[0]) is tuple else add)
        new = {t for t in added if t in gone or _quad(t, node) not in store}
        sizes[graph] = old - len(gone) + len(new)
    return sizes


def _blank(t: ox.Triple | TextTriple) -> bool:
    if type(t) is tuple:
        return t[0].startswith("_:") or t[2].startswith("_:")
    return type(t.subject) is ox.BlankNode or type(t.object) is ox.BlankNode


def _quad(t: ox.Triple, graph: ox.NamedNode) -> ox.Quad:
    return ox.Quad(t.subject, t.predicate, t.object, graph)


# RocksDB's lock errors: "While lock file: PATH/LOCK: Resource temporarily unavailable" from
# another process, "lock hold by current process" from this one.
_LOCKED = re.compile(r"While lock file|lock hold by current process")


class OxigraphStore(Store):
    #: Commits of at least this many quads go through the journal and the bulk loader
    #: (measured: 100,000 triples 1.5 s instead of 6-8 s); smaller ones are one update.
    BULK_MIN = 10_000

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        # Guards the handle while reopen() swaps it (threads of a server share a writer).
        self._lock = threading.RLock()
        # Held while a commit is applied, so no checkpoint catches one half-done.
        self._commit_lock = threading.Lock()
        self._journal = journal.folder_of(self.path)
        self._dropped_on_open: list[ox.NamedNode] = []  # for sweep_staging to report
        try:
            if read_only:
                self._refuse_pending_journal()
                self._handle: ox.Store | None = open_read_only(self.path)
                self._refuse_pending_journal()
                # Only a read-only handle is one snapshot for both halves (store/halves.py).
                self._halves: Halves | None = Halves(self._handle)
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._handle = ox.Store(str(self.path))
                self._halves = None
                self._dropped_on_open = self._drop_scratch()
                self._finish_journal()
        except BaseException as exc:
            # Let go of RocksDB now: kept by this frame in the traceback, a half-opened handle
            # held the store's lock, and wrote into the folder when collected (after a failed
            # `import` had removed the store it created).
            self._handle = self._halves = None
            if isinstance(exc, OSError):
                raise StoreError(open_error(self.path, exc)) from exc
            raise

    @property
    def _store(self) -> ox.Store:
        with self._lock:
            if self._handle is None:
                raise StoreError(f"the store at {self.path} is closed")
            return self._handle

    def reopen(self, wait: float = 30.0) -> None:
        """Close the read-write handle and open it again. RocksDB keeps native memory (table
        readers, cached blocks of files compaction has deleted) until the handle closes:
        measured on the demo store, a writer kept open grew 0.7 MB per accepted upload, one
        reopened after each stayed flat. A thread still using the old handle delays the open
        (RocksDB refuses a second handle in one process) for at most ``wait`` seconds."""
        if self.read_only:
            return
        with self._commit_lock, self._lock:  # the order commit() and checkpoint() take them
            if self._handle is not None:
                self._handle.flush()
                self._handle = None
            deadline = time.monotonic() + wait
            while True:
                try:
                    self._handle = ox.Store(str(self.path))
                    break
                except OSError as exc:
                    if not _LOCKED.search(str(exc)) or time.monotonic() > deadline:
                        raise StoreError(open_error(self.path, exc)) from exc
                    time.sleep(0.05)
            try:
                self._finish_journal()  # a commit that an error stopped half way
            except Exception as exc:
                self._handle = None
                raise StoreError(
                    f"cannot finish an interrupted commit to the store at {self.path}: {exc}"
                ) from exc

    @property
    def is_closed(self) -> bool:
        """True after close() or after a commit that could not be finished (see reopen)."""
        return self._handle is None

    # -- reading -------------------------------------------------------------------------
    def select(self, query: str, bindings: Mapping[str, Term] | None = None) -> list[Row]:
        text, subs = prebound(query, bindings or {})
        try:
            result = self._store.query(
                text, use_default_graph_as_union=not has_dataset(text), substitutions=subs
            )
        except RuntimeError as exc:  # pyoxigraph substitutes projected variables only
            if "SELECT projection" not in str(exc):
                raise
            raise StoreError(
                "a query that binds variables it does not select needs an explicit "
                "WHERE { ... } clause"
            ) from None
        return _rows(result)

    def run_query(self, query: str, store_sorts: bool = False, split: bool = False) -> QueryResult:
        # Rows and sort keys make no cycles, yet each collection started while they are made
        # walks the rows made so far: one pause for all of it, so that at most one collection
        # follows (external-links at 10M, 158,745 rows: its sort took 250-330 ms with the
        # collector on, 140 ms without).
        with paused_collection():
            return self._run_query(query, store_sorts, split)

    def _run_query(self, query: str, store_sorts: bool, split: bool) -> QueryResult:
        order = split_order(query) if split or not store_sorts else None
        # A listing cut in two (store/halves.py) is sorted here, from its halves as Oxigraph
        # sorted them where it would sort (so the web worker can merge their first rows).
        python_sorts = order is not None and not store_sorts
        text = order.unordered if python_sorts else query
        halves = self._halves.of(text) if split and self._halves else None
        if halves:
            first, second = halves
            # Each thread only lists its half's solutions, and the rows are built here once
            # both have ended: built on the two threads, each row made one thread wait for
            # the other's hold on the interpreter lock (at 1M, medians over three alternating
            # runs: clusters 464-477 to 436-449 ms, knowledge-transfers 669-686 to 632-674).
            parts = in_two(lambda: self._answer(first, True), lambda: self._answer(second, True))
            answer = joined(*map(_built, parts))
        else:
            order = order if python_sorts else None
            answer = self._answer(text)
        if order and answer.kind == "select":  # sorted here (store/ordering.py)
            # A stored question's strings (``split``) collated for readers, any other text's by
            # code point as SPARQL orders them; halves Oxigraph sorted merged in its order.
            rows, names = answer.rows, answer.variables
            collate = python_sorts and split
            ordered = sort_solutions(rows, names, order, dict.get, collate=collate)
            answer.rows = ordered if ordered is not None else _rows(self._query(query))
        return answer

    def _answer(self, text: str, listed: bool = False) -> QueryResult:
        """``listed``: a SELECT's rows are left as pyoxigraph's solutions, for ``_built``."""
        result = self._query(text)
        if isinstance(result, ox.QueryBoolean):
            return QueryResult("ask", boolean=bool(result))
        if isinstance(result, ox.QueryTriples):
            return QueryResult("construct", triples=list(result))
        names = [v.value for v in result.variables]
        return QueryResult(
            "select", variables=names, rows=list(result) if listed else _rows(result)
        )

    def _query(self, text: str) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        # The default graph is the union of every graph, unless the query names its own
        # (FROM, FROM NAMED), which the union would replace.
        return self._store.query(text, use_default_graph_as_union=not has_dataset(text))

    def _size(self, graph: ox.NamedNode) -> int:
        return graph_size(self._store, graph)

    def graph_sizes(self) -> dict[str, int]:
        graphs = sorted(self._store.named_graphs(), key=str)
        return {g.value: self._size(g) for g in graphs if g.value != META_GRAPH}

    def graph_triples(self, graph: str) -> list[ox.Triple]:
        node = ox.NamedNode(graph)
        return [q.triple for q in self._store.quads_for_pattern(None, None, None, node)]

    def graph_size(self, graph: str) -> int:
        return self._size(ox.NamedNode(graph))

    def pairs(self, predicate: str, skip_graph: str) -> set[tuple[str, str]]:
        # A SELECT, not quads_for_pattern: Oxigraph then skips the other graph's quads
        # without decoding them and never decodes graph names; its answer comes as TSV text
        # (see termtext). The two IRIs are NamedNodes written in N-Triples form, the same
        # escaping bind() uses.
        query = (
            f"SELECT ?s ?o WHERE {{ GRAPH ?g {{ ?s {ox.NamedNode(predicate)} ?o }} "
            f"FILTER(?g != {ox.NamedNode(skip_graph)}) }}"
        )
        return fact_pairs(select_text(self._store, query))

    def pairs_of(self, predicates: Iterable[str], skip_graph: str) -> dict[str, set]:
        # Oxigraph writes TSV without holding the GIL: one read runs while the other's text
        # is split in Python. At 10M triples: 28 s for every fact instead of 38 s.
        predicates = list(predicates)
        with ThreadPoolExecutor(2) as pool:
            found = pool.map(lambda p: self.pairs(p, skip_graph), predicates)
            return dict(zip(predicates, found, strict=True))

    def graph_text(self, graph: str) -> set[TextTriple]:
        query = f"SELECT ?s ?p ?o WHERE {{ GRAPH {ox.NamedNode(graph)} {{ ?s ?p ?o }} }}"
        return {(s, p, o) for s, p, o in select_text(self._store, query)}

    def update_graph(self, graph: str, triples: Iterable[ox.Triple]) -> int:
        return self.update_graph_text(graph, {as_text(t) for t in triples})

    def update_graph_text(self, graph: str, triples: Iterable[TextTriple]) -> int:
        new = triples if isinstance(triples, set) else set(triples)
        old = self.graph_text(graph)
        gone, added = old - new, new - old
        if not gone and not added:
            return len(new)  # nothing changed: keep the data version (and the caches)
        if any(x.startswith("_:") for t in gone for x in (t[0], t[2])):
            # DELETE DATA cannot name a blank node
            return self.replace_graph(graph, to_triples(new))
        # The additions stay text: the journal and INSERT DATA write them as they are.
        self.commit(add={graph: list(added)}, remove={graph: to_triples(gone)})
        return len(new)

    def data_version(self) -> str:
        for q in self._store.quads_for_pattern(STORE_NODE, VERSION_PRED, None, STORE_NODE):
            return q.object.value
        return "empty"

    # -- writing -------------------------------------------------------------------------
    def commit(
        self,
        replace: Mapping[str, Iterable[ox.Triple]] | None = None,
        add: Mapping[str, Iterable[ox.Triple]] | None = None,
        remove: Mapping[str, Iterable[ox.Triple]] | None = None,
    ) -> None:
        replace, add, remove = (
            {g: list(ts) for g, ts in (m or {}).items()} for m in (replace, add, remove)
        )
        change = journal.Commit(uuid.uuid4().hex, replace, add, remove)
        with self._commit_lock:
            if change.size() >= self.BULK_MIN:
                self._commit_journaled(change)
                return
            ops = [f"DROP SILENT GRAPH {ox.NamedNode(g)}" for g in replace]
            if remove:
                ops.append("DELETE DATA {\n" + "\n".join(_graph_blocks(remove)) + "\n}")
            body = _graph_blocks(replace) + _graph_blocks(add)
            if body:
                ops.append("INSERT DATA {\n" + "\n".join(body) + "\n}")
            known = _sizes_after(self._store, change)
            self._write(ops, change.version, change.graphs(), known=known)

    def _write(
        self,
        ops: list[str],
        version: str,
        recount: Iterable[str] = (),
        forget: Iterable[str] = (),
        known: Mapping[str, int] | None = None,
    ) -> None:
        # One SPARQL update request is one transaction: readers (and a crash) see the old
        # state or the new one, and nothing is ever staged where a union query could see it.
        # Every term is written in its N-Triples form, which escapes it fully. ``recount``
        # ``forget`` and ``known``: graphs the change wrote, see ``_size_ops``.
        meta = ox.NamedNode(META_GRAPH)
        ops = [
            *ops,
            *_size_ops(recount, forget, known),
            f"DELETE WHERE {{ GRAPH {meta} {{ {meta} {VERSION_PRED} ?v }} }}",
            f"INSERT DATA {{ GRAPH {meta} {{ {meta} {VERSION_PRED} {ox.Literal(version)} }} }}",
        ]
        try:
            self._store.update(" ;\n".join(ops))
        except (OSError, SyntaxError) as exc:
            raise StoreError(f"cannot write to the store at {self.path}: {exc}") from exc

    def _commit_journaled(self, change: journal.Commit) -> None:
        """Journal, bulk-load, set the version, drop the journal (see ``journal``)."""
        journal.fold_blank_additions(change, self.graph_triples)
        try:
            journal.write(self._journal, change)
        except OSError as exc:
            shutil.rmtree(self._journal, ignore_errors=True)
            raise StoreError(
                f"cannot write to the store at {self.path}: {exc}; nothing was changed"
            ) from exc
        try:
            self._apply(change)
        except Exception as exc:  # whatever stopped it, the store is now half applied
            # Let nobody read it through this handle. The journal is whole, so the next
            # read-write open finishes the commit.
            with self._lock:
                self._handle = None
            raise StoreError(
                f"cannot finish a commit to the store at {self.path}: {exc}. The store is "
                "closed; the commit is completed from its journal when the store is next "
                "opened (or reopened) read-write, once the cause is fixed"
            ) from exc

    def _apply(self, change: journal.Commit, replayed: bool = False) -> None:
        """``replayed``: a journal found on open, over a store it may have half changed, so
        only replaced graphs' sizes are known (they are made equal to their files)."""
        graphs = change.graphs()
        if replayed:
            known = {
                g: n for g, n in _sizes_after(self._store, change).items() if g in change.replace
            }
        else:
            known = _sizes_after(self._store, change)
        # The bulk loader writes outside one transaction: drop the records first, so that no
        # reader of the live store finds one that a half-applied change made stale.
        self._store.update(" ;\n".join(_size_ops((), graphs)))
        journal.apply(self._store, change, self._journal)
        # Sizes not known from the change are counted in the update that sets the version (a
        # 1M-triple graph: about 1 s), so a graph page never counts them.
        self._write([], change.version, graphs, known=known)
        shutil.rmtree(self._journal)

    def _finish_journal(self) -> None:
        """Complete a commit a crash interrupted (or discard one never fully journaled)."""
        if not self._journal.exists():
            return
        change = journal.read(self._journal)
        if change is None:
            shutil.rmtree(self._journal)
        else:
            self._apply(change, replayed=True)

    def _refuse_pending_journal(self) -> None:
        if journal.read_marker(self._journal):
            raise StoreError(
                f"a large commit to the store at {self.path} is being written or was "
                "interrupted: retry in a moment, or open the store read-write once to finish it"
            )

    def bulk_load(self, path: str | Path, graph: str) -> int:
        """Load a big N-Triples file into ``graph`` with RocksDB's bulk loader: fast and
        bounded in memory, but NOT atomic (a crash leaves part of it). For building a fresh
        store or benchmarks; use commit() for everything readers may see half-done."""
        node = ox.NamedNode(graph)
        path = Path(path)
        try:
            # Drop the graph's size record first: a load that fails half way leaves none.
            self._store.update(" ;\n".join(_size_ops((), [graph])))
            spill = self._journal.with_suffix(".spill")
            with loading.ParallelLoad(self._store, spill, node) as load:
                load.add_file(path, node)
        except (OSError, SyntaxError) as exc:
            raise StoreError(f"cannot load {path}: {exc}") from exc
        with self._commit_lock:  # a new data version, and the graph's size recorded
            self._write([], uuid.uuid4().hex, [graph])
        return self._size(node)

    def compact(self) -> None:
        """Compact RocksDB (``Store.optimize``). Bulk loads leave many table files: measured
        on the 1M benchmark store right after the build, compacting took 4 s and made the
        stored queries 1.3-2.3x faster (region-barriers 758 to 547 ms, search 4.5 to 2.4 s)."""
        with self._commit_lock:
            self._store.optimize()

    def flush(self) -> None:
        """Write the memtables to table files, so a read-only opener replays no log."""
        self._store.flush()

    def checkpoint(self, target: str | Path) -> None:
        """An unchanging copy of the store as it is now, in ``target`` (which must not exist):
        hard links to the table files, so it is quick and small. Readers open it instead of
        the live store, whose files the writer's compaction may delete under them."""
        try:
            with self._commit_lock:
                self._store.backup(str(target))
        except OSError as exc:
            raise StoreError(f"cannot checkpoint the store at {self.path}: {exc}") from exc

    def scratch_graphs(self) -> list[ox.NamedNode]:
        """Scratch graphs (``...#staging-...``) an interrupted writer of an earlier version
        left behind (a writer opening the store drops them)."""
        return [g for g in self._store.named_graphs() if STAGING in g.value]

    def _drop_scratch(self) -> list[ox.NamedNode]:
        stale = self.scratch_graphs()
        for graph in stale:
            self._store.remove_graph(graph)
        return stale

    def sweep_staging(self, older_than: float) -> StagingSweep:
        """Drop every scratch graph, whatever ``older_than``: commits here write none, and no
        other process can write while this one has the store open read-write (RocksDB's
        lock), so all were left by an earlier version. Those dropped on opening count too."""
        dropped = self._dropped_on_open + self._drop_scratch()
        self._dropped_on_open = []
        return StagingSweep(dropped=staged_commits(dropped), exclusive=True)

    def describe(self) -> str:
        return str(self.path)

    def close(self) -> None:
        with self._lock:
            if self._handle is not None and not self.read_only:
                self._handle.flush()
            self._handle = None


def _graph_blocks(graphs: Mapping[str, Iterable[ox.Triple]]) -> list[str]:
    """``GRAPH <g> { ... }`` blocks of N-Triples lines (every term fully escaped)."""
    blocks = []
    for graph, triples in graphs.items():
        lines = "\n".join(
            f"{t[0]} {t[1]} {t[2]} ."
            if type(t) is tuple
            else f"{t.subject} {t.predicate} {t.object} ."
            for t in triples
        )
        blocks.append(f"GRAPH {ox.NamedNode(graph)} {{\n{lines}\n}}")
    return blocks


def _rows(result: ox.QuerySolutions) -> list[Row]:
    return _rows_of([v.value for v in result.variables], result)


def _built(answer: QueryResult) -> QueryResult:
    """A SELECT answer whose rows are pyoxigraph's solutions (``_answer(..., listed=True)``)
    with its rows built."""
    if answer.kind == "select":
        answer.rows = _rows_of(answer.variables, answer.rows)
    return answer


def _rows_of(names: list[str], result: Iterable[ox.QuerySolution]) -> list[Row]:
    """Solutions as dicts of bound variables. A solution iterates its values in the order of
    the variables: zipping is 3x faster than looking each one up by name (16,000 rows: 0.2 s
    instead of 0.6 s)."""
    # The rows hold terms, never cycles, yet 16,000 new dicts start about 250 collections
    # (mostly of the youngest generation, a few of the older ones, which walk the rows built
    # so far): 1.28 s with them, 1.07 s without, for knowledge-transfers at 1M (5 runs each).
    with paused_collection():
        return [{n: v for n, v in zip(names, row, strict=True) if v is not None} for row in result]
