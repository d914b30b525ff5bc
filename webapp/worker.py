"""A query worker: a child process that opens the store read-only and answers jobs.

The parent (webapp.database) sends one job at a time through a pipe and kills the process
when a job runs past its time limit; pyoxigraph has no timeout of its own. A read-only
opener sees a snapshot as of opening, so the worker reopens when the data version changes.
"""

import contextlib
import itertools
import os
import re
import resource
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox

from clusterpolisee.gcpause import paused_collection
from clusterpolisee.namespaces import graph_iri
from clusterpolisee.reasoning.tallies import TALLY_BASE
from clusterpolisee.sparqltext import has_dataset
from clusterpolisee.store.bindings import prebound
from clusterpolisee.store.halves import Halves, in_two, locate
from clusterpolisee.store.ordering import SORT_CAP, Order, sort_solutions, split_order
from clusterpolisee.store.oxigraph import graph_size

from . import wire
from .heap import Settler, limit_arenas_by_env
from .sizes import result_bytes
from .sparql_guard import QueryRefused, check_parsed, check_query

INFERRED = ox.NamedNode(graph_iri("inferred"))

RECURSION_LIMIT = 60_000
STACK_BYTES = 512 * 1024 * 1024

LABEL_PREDICATES = (
    ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel"),
    ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
)
Labels = dict[str, dict[str, str]]
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


class Snapshot:
    """The read-only store at one data version: the serving process's checkpoint of that
    version when the job names one (``path``), otherwise the store itself."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.version: str | None = None
        self.store: ox.Store | None = None
        self.halves: Halves | None = None  # where long stored listings are cut in two

    def at(self, version: str, path: str | None = None) -> ox.Store:
        if self.store is None or version != self.version:
            self.store = self.halves = None
            self.store = ox.Store.read_only(path or self.path)
            self.halves = Halves(self.store)
            self.version = version
        return self.store


def labels_for(store: ox.Store, iris: set[str]) -> Labels:
    """Labels by language ('' when untagged) for each IRI, skos:prefLabel before rdfs:label."""
    out: Labels = {}
    for iri in iris:
        node = ox.NamedNode(iri)
        found: dict[str, str] = {}
        for pred in LABEL_PREDICATES:
            for q in store.quads_for_pattern(node, pred, None):
                if isinstance(q.object, ox.Literal):
                    found.setdefault(q.object.language or "", q.object.value)
        if found:
            out[iri] = found
    return out


def iris_in(terms: list[Any]) -> set[str]:
    return {t.value for t in terms if isinstance(t, ox.NamedNode)}


def run_query(store: ox.Store, job: dict, halves: Halves | None = None) -> dict:
    allowlist = None if job.get("allowlist") is None else tuple(job["allowlist"])
    if allowlist is not None:
        check_query(job["text"], allowlist)
    text, subs = prebound(job["text"], job.get("bindings") or {})  # as OxigraphStore.select
    if job.get("split") and halves is not None:
        answer = _in_halves(store, job, text, subs, halves)
        if answer is not None:
            return answer
    # Sorted here, as OxigraphStore.run_query does, unless the server knows the answer is long.
    order = None if job.get("engine_sort") else split_order(text)
    graphs = _graphs(text, job.get("dataset"))
    try:
        result = store.query(order.unordered if order else text, **graphs, substitutions=subs)
    except SyntaxError:
        if allowlist is not None:  # rdflib's reason, where it has one (sparql_guard)
            check_parsed(job["text"], allowlist)
        raise
    if isinstance(result, ox.QueryBoolean):
        return {"kind": "ask", "boolean": bool(result)}
    with paused_collection():  # rows and labels of terms make no cycles (OxigraphStore._rows)
        if isinstance(result, ox.QuerySolutions) and order:
            answer = _sorted_select(result, order, store, job)
            if answer is not None:
                return answer
            result = store.query(text, **graphs, substitutions=subs)
        return _collect(result, store, job)


def _graphs(text: str, dataset: list | None) -> dict:
    """The dataset arguments of a query: the graphs a protocol request named (default-graph-uri,
    named-graph-uri: they replace the query's own), else the union of all graphs as the
    default graph, unless the query has its own FROM or FROM NAMED, which the union would
    replace."""
    if dataset is None:
        return {"use_default_graph_as_union": not has_dataset(text)}
    default, named = dataset
    return {
        "default_graph": [ox.NamedNode(iri) for iri in default],
        "named_graphs": [ox.NamedNode(iri) for iri in named],
    }


def _in_halves(store: ox.Store, job: dict, text: str, subs: dict, halves: Halves) -> dict | None:
    """The answer of a stored question cut in two (store/halves.py), or None to run it whole
    (a short answer, no mark, a graph answer, or a sort key this cannot place). Where
    Oxigraph sorts (``sort: store``, or an answer noted as long), it sorts each half and only
    the rows the job can show are read from each; otherwise the halves' rows are sorted
    here, as a whole answer's."""
    cut = locate(text)
    if isinstance(cut, str) or text[cut.form : cut.form + 9].upper() == "CONSTRUCT":
        # Read whole, a graph answer stops at the row limit; each half would run to its end
        # (region-profile at 1M, 10,000 of 43,936 triples: 91 ms whole, 250 ms cut).
        return None
    order = split_order(text)
    engine_sorts = order is not None and bool(job.get("engine_sort"))
    parts = halves.of(text if engine_sorts or order is None else order.unordered)
    if parts is None:
        return None
    with paused_collection():
        if engine_sorts:
            return _sorted_halves(store, parts, subs, order, job)
        result = Both(store, parts, subs)
        return _sorted_select(result, order, store, job) if order else _collect(result, store, job)


def _sorted_halves(
    store: ox.Store, halves: tuple[str, str], subs: dict, order: Order, job: dict
) -> dict | None:
    """The first rows of two halves Oxigraph sorted, merged: a stable sort of the first half's
    rows and then the second's, as OxigraphStore.run_query sorts them all."""
    limit = job["limit"]

    def first_rows(text: str) -> tuple[list[str], list[ox.QuerySolution]]:
        result = store.query(text, use_default_graph_as_union=True, substitutions=subs)
        return [v.value for v in result.variables], list(itertools.islice(result, limit + 1))

    # Each thread only lists its solutions; the rows are built here once both have ended
    # (as OxigraphStore.run_query does: built on the two threads, each row waited for the
    # other thread's hold on the interpreter lock; knowledge-transfers at 1M, medians of two
    # alternating runs: 696-700 to 657-678 ms, clusters through Both below 445-482 to 426-443).
    (names, listed), (_, more) = in_two(
        lambda: first_rows(halves[0]), lambda: first_rows(halves[1])
    )
    first, second = (next(_batches(part, limit + 1), []) for part in (listed, more))
    where = {name: i for i, name in enumerate(names)}
    # In Oxigraph's order (strings by code point): each half's first rows are its first.
    rows = sort_solutions(
        first + second, names, order, lambda row, name: row[where[name]], collate=False
    )
    return None if rows is None else _select(names, rows, store, job)


class Both:
    """The solutions of both halves of a query (store/halves.py): the first half's as
    Oxigraph gives them while a helper thread reads the second half's, then those."""

    def __init__(self, store: ox.Store, halves: tuple[str, str], subs: dict) -> None:
        def query(text: str) -> ox.QuerySolutions:
            return store.query(text, use_default_graph_as_union=True, substitutions=subs)

        self._rest: dict[str, Any] = {}
        self._helper = threading.Thread(target=self._read, args=(query, halves[1]), daemon=True)
        self._helper.start()
        try:
            self._first = query(halves[0])
        except BaseException:
            self._helper.join()
            raise
        self.variables = self._first.variables

    def _read(self, query: Callable[[str], ox.QuerySolutions], text: str) -> None:
        try:
            # Listed only (solutions that the reader turns into rows): rows built
            # here would make each of this thread's rows wait for the reader's hold on the
            # interpreter lock, and the reader's for this thread's.
            self._rest["rows"] = list(query(text))
        except BaseException as exc:  # raised to the reader when it gets there
            # without the frames that held this thread's answer (freed here: see in_two)
            self._rest["error"] = exc.with_traceback(None)

    def __iter__(self) -> Iterator[Any]:
        try:
            yield from self._first
        finally:  # also when the reader stops early: the helper is not left running
            self._helper.join()
        if "error" in self._rest:
            raise self._rest["error"]
        yield from self._rest["rows"]


def _sorted_select(
    result: "ox.QuerySolutions | Both", order: Order, store: ox.Store, job: dict
) -> dict | None:
    """The answer sorted here and cut at the job's row limit, or None to let Oxigraph sort it
    (a value this cannot place). Rows are read SORT_CAP at a time; each batch is sorted with
    the best rows so far, which are then cut back to the limit. So memory stays bounded
    whatever the answer's size, and a long answer is not run a second time: at 10M triples
    evaluating a listing takes most of its 7 s before the first row comes out."""
    names = [v.value for v in result.variables]
    where = {name: i for i, name in enumerate(names)}

    def cell(row: tuple, name: str) -> Any:
        return row[where[name]]

    limit, kept, seen = job["limit"], [], 0
    for batch in _batches(result, SORT_CAP):
        seen += len(batch)
        # A stable sort of the best rows so far, followed by the batch: equal keys keep the
        # order they were read in, as when every row is sorted at once.
        # A stored question's strings collated for readers; any other text's by code point,
        # as SPARQL orders them (store/ordering.py).
        ordered = sort_solutions(kept + batch, names, order, cell, collate=bool(job.get("collate")))
        if ordered is None:
            return None
        kept = ordered[:limit]
    payload = {"kind": "select", "vars": names, "rows": kept, "rows_read": seen}
    return finish(payload, seen > limit, store, job)


def _select(names: list[str], rows: list[tuple], store: ox.Store, job: dict) -> dict:
    """A SELECT answer cut at the job's row limit."""
    limit = job["limit"]
    payload = {"kind": "select", "vars": names, "rows": rows[:limit]}
    return finish(payload, len(rows) > limit, store, job)


def _solutions(result: ox.QuerySolutions, limit: int) -> tuple[list[str], list[tuple]]:
    """The names and up to ``limit`` + 1 rows, as tuples of terms."""
    names = [v.value for v in result.variables]
    return names, next(_batches(result, limit + 1), [])


def _batches(solutions: Iterable[ox.QuerySolution], size: int) -> Iterator[list[tuple]]:
    """Lists of up to ``size`` rows, each row a tuple of terms (None where unbound)."""
    # One object per distinct term within a batch: pickle then sends each once and refers
    # back to it. A listing repeats its regions, labels and dates; pickling a pyoxigraph term
    # costs about 2 µs each way, so 10,000 rows of 10 terms took 450 ms to reach the server.
    solutions = iter(solutions)
    while True:
        same: dict[Any, Any] = {}
        # A solution gives its values in the order of the names.
        batch = [
            tuple(None if t is None else same.setdefault(t, t) for t in sol)
            for sol in itertools.islice(solutions, size)
        ]
        if not batch:
            return
        yield batch


def _collect(
    result: "ox.QuerySolutions | Both | ox.QueryTriples",
    store: ox.Store,
    job: dict,
) -> dict:
    limit = job["limit"]
    if isinstance(result, ox.QuerySolutions | Both):
        return _select(*_solutions(result, limit), store, job)
    triples = []
    for t in result:
        if len(triples) == limit:
            return finish({"kind": "graph", "triples": triples}, True, store, job)
        triples.append(t)
    return finish({"kind": "graph", "triples": triples}, False, store, job)


def finish(payload: dict, truncated: bool, store: ox.Store, job: dict) -> dict:
    payload["truncated"] = truncated
    if job.get("labels"):
        terms = [t for row in payload.get("rows", []) for t in row if t is not None]
        for t in payload.get("triples", []):
            terms.extend((t.subject, t.predicate, t.object))
        payload["labels"] = labels_for(store, iris_in(terms))
    # Estimated here, in this process, for the server's cache budget (webapp.sizes).
    parts = ("vars", "rows", "triples", "labels")
    payload["size"] = result_bytes(*(payload.get(k, ()) for k in parts))
    return payload


def describe(store: ox.Store, job: dict) -> dict:
    """Outgoing and incoming statements about one IRI, with labels for every IRI seen."""
    node = ox.NamedNode(job["iri"])
    limit = job["limit"]
    # One past the limit: "truncated" says a list was cut, not that it was exactly full.
    out = [q.triple for q in _take(store.quads_for_pattern(node, None, None), limit + 1)]
    # Tallies (written by the reasoning step into graph/inferred) point at regions, themes
    # and partners by the thousand; they are counts, not statements to browse.
    referring = (
        q
        for q in store.quads_for_pattern(None, None, node)
        if not (q.graph_name == INFERRED and q.subject.value.startswith(TALLY_BASE))
    )
    incoming = [q.triple for q in _take(referring, limit + 1)]
    hashed = hash_statements(store, job["iri"], out[:limit] + incoming[:limit], limit + 1)
    truncated = max(len(out), len(incoming), len(hashed)) > limit
    out, incoming, hashed = out[:limit], incoming[:limit], hashed[:limit]
    terms = [x for t in out + incoming + hashed for x in (t.subject, t.predicate, t.object)]
    return {
        "out": _dedupe(out),
        "in": _dedupe(incoming),
        "hash": _dedupe(hashed),
        "labels": labels_for(store, iris_in(terms)),
        "types": referrer_types(store, incoming),
        "truncated": truncated,
        "limit": limit,  # per list: the RDF document's X-Row-Limit (views.resource.answer)
    }


def referrer_types(store: ox.Store, incoming: list[ox.Triple]) -> list[list[str]]:
    """The rdf:type IRIs of each subject of ``incoming``, in the order the subjects first
    appear (a list, not keyed by the subjects: the pickle then holds each class IRI once and
    no subject twice), for the page that groups them by type: a lookup in this process each,
    27 ms for 2,000 at 1M, where a VALUES query over them took 130 ms."""
    same: dict[str, str] = {}
    return [
        list(
            dict.fromkeys(  # asserted and inferred
                same.setdefault(q.object.value, q.object.value)
                for q in store.quads_for_pattern(subject, RDF_TYPE, None)
                if isinstance(q.object, ox.NamedNode)
            )
        )
        for subject in dict.fromkeys(t.subject for t in incoming)
    ]


def hash_statements(store: ox.Store, iri: str, about: list[ox.Triple], limit: int) -> list:
    """The statements about the document's hash IRIs (``{iri}#file``...), which belong in its
    description: a client never sends the fragment, so ``{iri}`` is all it can ask for.

    Oxigraph has no index by IRI prefix (finding them by their text would read every subject
    in the store), so they are found through the document's own statements (``about``), from
    hash IRI to hash IRI; a hash IRI no statement of the document leads to is not found."""
    prefix = iri + "#"

    def hashes(triples: list[ox.Triple]) -> set[ox.NamedNode]:
        terms = (x for t in triples for x in (t.subject, t.object))
        return {x for x in terms if isinstance(x, ox.NamedNode) and x.value.startswith(prefix)}

    todo, done, found = hashes(about), set(), []
    while todo and len(found) < limit:
        node = todo.pop()
        done.add(node)
        new = [q.triple for q in _take(store.quads_for_pattern(node, None, None), limit)]
        found += new[: limit - len(found)]
        todo |= hashes(new) - done
    return found


def _take(it, limit: int) -> list:
    out = []
    for x in it:
        if len(out) >= limit:
            break
        out.append(x)
    return out


def _dedupe(triples: list[ox.Triple]) -> list[ox.Triple]:
    return list(dict.fromkeys(triples))


def graph_job(store: ox.Store, job: dict) -> dict:
    """The size of one named graph and its first ``limit`` triples."""
    node = ox.NamedNode(job["iri"])
    count = graph_size(store, node)
    quads = itertools.islice(store.quads_for_pattern(None, None, None, node), job["limit"])
    triples = [q.triple for q in quads]
    return {"count": count, "triples": triples, "truncated": count > len(triples)}


#: What XML 1.0 cannot carry, as pyoxigraph's RDF/XML writer leaves it (raw, in UTF-8): the
#: characters ``clusterpolisee.results.XML_FORBIDDEN`` names.
XML_FORBIDDEN_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]")


def graph_file_job(store: ox.Store, job: dict) -> dict:
    """Write one named graph whole, in the format of the media type ``job["media"]``, to the
    file ``job["target"]`` (through a temporary file beside it: a reader never sees half a
    graph), for the /graph/... answers above the row limit (``views.graphs``).

    Oxigraph writes it in Rust, streaming: at 1M triples 5.6 s as Turtle, 5.8 s as
    N-Triples, 75 MB resident. With ``job["quads"]`` it writes the graph's quads (``dump``
    would write the whole store). What a format cannot carry is refused (406), as
    ``renderer.serialize_triples`` refuses it for a smaller graph."""
    node = ox.NamedNode(job["iri"])
    fmt = ox.RdfFormat.from_media_type(job["media"])
    target = job["target"]
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".graph-")
    try:
        with os.fdopen(fd, "wb") as out:
            _write_graph(store, node, fmt, out, job.get("prefixes"), job.get("quads", False))
        if fmt == ox.RdfFormat.RDF_XML and _holds_forbidden(tmp):
            raise QueryRefused(
                406,
                "this graph holds a character XML 1.0 cannot carry; "
                "ask for Turtle, N-Triples or JSON-LD",
            )
        os.chmod(tmp, 0o644)  # as the dumps: mkstemp made it the owner's only
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return {"bytes": os.path.getsize(target)}


def _write_graph(
    store: ox.Store,
    node: ox.NamedNode,
    fmt: ox.RdfFormat,
    out: Any,
    prefixes: dict | None,
    quads: bool,
) -> None:
    """The graph's triples, or with ``quads`` its quads (TriG, N-Quads: named by its IRI;
    JSON-LD can name a graph too, but is offered as a triple format, like the smaller ones)."""
    if quads:
        quads = store.quads_for_pattern(None, None, None, node)
        ox.serialize(quads, out, fmt, prefixes=prefixes)
        return
    try:
        store.dump(out, fmt, from_graph=node, prefixes=prefixes)
    except OSError as exc:
        if fmt != ox.RdfFormat.JSON_LD:  # a full disk, a lost file: the worker's error
            raise
        # JSON-LD 1.1 has no form for a triple term (RDF 1.2): the writer fails on one.
        raise QueryRefused(
            406, f"this graph cannot be written as JSON-LD ({exc}); ask for Turtle or N-Triples"
        ) from None


def _holds_forbidden(path: str, chunk: int = 1 << 24) -> bool:
    """Whether the file holds a character XML 1.0 forbids; read in overlapping chunks (a
    three-byte character may straddle two)."""
    with open(path, "rb") as f:
        tail = b""
        while block := f.read(chunk):
            if XML_FORBIDDEN_BYTES.search(tail + block):
                return True
            tail = block[-2:]
    return False


def labels_job(store: ox.Store, job: dict) -> dict:
    return {"labels": labels_for(store, set(job["iris"]))}


def render_job(store: ox.Store, job: dict) -> dict:
    """A result in a download format too slow to write in the serving process (a workbook:
    ``Database.rendered``)."""
    from . import renderer  # here: renderer imports database, which imports this module

    body, _ = renderer.render(renderer.BY_SUFFIX[job["suffix"]], job["result"], job["about"])
    return {"body": body}


OPS = {
    "query": run_query,
    "describe": describe,
    "labels": labels_job,
    "graph": graph_job,
    "graph_file": graph_file_job,
    "render": render_job,
}


def main(
    conn: Connection,
    path: str,
    memory_mb: int = 4096,
    nice: int | None = None,
    stderr_path: str | None = None,
) -> None:
    """Serve jobs until the pipe closes.

    rdflib's SPARQL parser recurses deeply (about 10 frames per triple pattern), so this
    process, which is isolated, time-limited and killed when stuck, runs its jobs in a thread
    with a large stack and a raised recursion limit; its address space is capped so a hungry
    query ends this worker, not the machine. ``nice``: this process's nice value, set here
    before any thread starts (threads inherit it; the parent set it for the main thread).
    ``stderr_path``: a file the parent reads (webapp.database._Worker.said) and forwards to
    its log; this process writes its standard error there, so when it dies the parent can
    tell why: a Rust panic or a failed allocation in Oxigraph aborts it with only a message
    on standard error.
    """
    if stderr_path is not None:
        with contextlib.suppress(OSError):  # the parent has gone or its file with it
            fd = os.open(stderr_path, os.O_WRONLY | os.O_APPEND)
            os.dup2(fd, 2)
            os.close(fd)
            os.unlink(stderr_path)  # the parent holds it open: gone when both have closed it
    if nice is not None:
        with contextlib.suppress(OSError):  # the parent has logged why
            os.setpriority(os.PRIO_PROCESS, 0, nice)
    # The address-space cap counts what malloc reserves, not only what it uses, and glibc
    # reserves 64 MB for each arena it adds, up to 8 per core: opening the store and
    # answering one ASK took a worker from 647 to 1,038-1,102 MB of address space with
    # glibc's default, 717-718 MB with two arenas. Under a 1,500 MB cap a worker once failed
    # to start a thread. `serve` sets the cap for the whole server; this holds wherever the
    # pool was made.
    limit_arenas_by_env()
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.setrecursionlimit(RECURSION_LIMIT)
    threading.stack_size(STACK_BYTES)
    runner = threading.Thread(target=serve, args=(conn, path))
    runner.start()
    runner.join()


def serve(conn: Connection, path: str) -> None:
    snap, heap = Snapshot(path), Settler()
    conn.send(("ready",))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        answer(conn, snap, job)
        # After the answer has gone (and with it every reference to it), so no one waits
        # for this; an idle worker would otherwise keep what the answer freed.
        heap.settle()


def answer(conn: Connection, snap: Snapshot, job: dict) -> None:
    """Run one job and send its answer, or why there is none."""
    try:
        store = snap.at(job["version"], job.get("path"))
        if job["op"] == "query":
            payload = run_query(store, job, snap.halves)
        else:
            payload = OPS[job["op"]](store, job)
        conn.send(("ok", wire.pack(payload)))
    except QueryRefused as exc:
        conn.send(("refused", exc.status, exc.message))
    except SyntaxError as exc:
        conn.send(("syntax", str(exc)))
    except MemoryError:
        conn.send(("error", "the query needed more memory than a worker may use"))
    except (OSError, RuntimeError, ValueError, TypeError) as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    except BaseException as exc:
        # A Rust panic that unwinds reaches Python as pyo3's PanicException, a
        # BaseException; this build aborts instead (the parent reads why, Pool.run).
        if type(exc).__name__ != "PanicException":
            raise
        first = (str(exc).strip().splitlines() or ["(no message)"])[0]
        conn.send(("panic", first[:500]))
