"""A redo journal for large commits to the embedded store.

One SPARQL update is one Oxigraph transaction, but Oxigraph holds the whole transaction in
memory and writes every quad through it: measured on the reference machine, 100,000 triples
took 6-8 s that way and 1,000,000 took 190 s and 4 GB. The bulk loader is bounded in memory
and, with several loader calls at once (``loading``), 5-11x faster, but a crash can leave part
of its work. So a large commit first writes what the store must hold afterwards to a journal
beside the store (``<store>.journal/``: one N-Triples file per graph and change, then
``commit.json`` naming them) and fsyncs it; only then does it change the store, with the bulk
loader reading those files; then it sets the new data version and deletes the journal.
Applying a journal is idempotent (each replaced graph is made *equal* to its file), so a writer
that opens the store and finds a whole journal simply applies it again: after a crash the
store holds the old state (the journal was not whole) or the new one, never a mix. (The
loader gives blank nodes fresh labels, as INSERT DATA does: a replayed graph is the same graph
up to those labels. An addition that names a blank node is journaled as a replacement of its
graph, since loading it twice would double those triples.)
"""

import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from .loading import ParallelLoad
from .termtext import TextTriple, to_triples

NT = ox.RdfFormat.N_TRIPLES
KINDS = ("replace", "add", "remove")
# Above this many removals from a graph, dropping it and loading its new content is cheaper
# than removing triples one by one (each removal is its own transaction).
REMOVE_ONE_BY_ONE = 1000

#: Graph -> triples. Additions may also be N-Triples text (``termtext.TextTriple``), which
#: the Oxigraph store's ``update_graph_text`` passes through; the rest are pyoxigraph triples.
Triples = Mapping[str, list[ox.Triple]]


@dataclass
class Commit:
    """What one commit changes (graph -> triples, per kind) and the data version it sets;
    ``files`` names each graph's journal file, per kind."""

    version: str
    replace: Triples
    add: Triples
    remove: Triples
    files: dict[str, dict[str, str]] = field(default_factory=dict)

    def size(self) -> int:
        return sum(len(ts) for kind in KINDS for ts in getattr(self, kind).values())

    def graphs(self) -> set[str]:
        """Every graph the commit writes to."""
        return {g for kind in KINDS for g in getattr(self, kind)}


def folder_of(store_path: Path) -> Path:
    return store_path.with_name(f"{store_path.name}.journal")


def write(folder: Path, commit: Commit) -> None:
    """Write and fsync the journal; ``commit.json``, renamed into place last, marks it whole."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for kind in KINDS:
        commit.files[kind] = {}
        for i, (graph, triples) in enumerate(getattr(commit, kind).items()):
            name = f"{kind}-{i}.nt"
            _write_synced(folder / name, triples)
            commit.files[kind][graph] = name
    head = {"version": commit.version, **commit.files}
    tmp = folder / "commit.json.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(head, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / "commit.json")
    _sync_dir(folder)
    _sync_dir(folder.parent)


def read_marker(folder: Path) -> bool:
    """Whether a whole journal is waiting: a commit is being applied or was interrupted."""
    return (folder / "commit.json").exists()


def read(folder: Path) -> Commit | None:
    """The journal's commit, or None if it was never whole (the store was not touched)."""
    if not read_marker(folder):
        return None
    head = json.loads((folder / "commit.json").read_text(encoding="utf-8"))
    kinds = {
        kind: {g: list(ox.parse(path=str(folder / f), format=NT)) for g, f in head[kind].items()}
        for kind in KINDS
    }
    return Commit(head["version"], **kinds, files={kind: head[kind] for kind in KINDS})


def fold_blank_additions(commit: Commit, graph_triples: Callable[[str], list[ox.Triple]]) -> None:
    """Turn each addition that names a blank node into a replacement of the graph.

    Replaying an addition after a crash would load its blank-node triples a second time under
    fresh labels, doubling them; a replacement is made *equal* to its file, so replaying it is
    safe. The new content is what the commit leaves: the replacement if the same commit has
    one, else the graph less this commit's removals, plus the additions.

    The price, paid only by such additions (no caller makes one today: the reasoning step adds
    no blank nodes): the whole graph is read and journaled, and, like any replacement, the
    graph's blank nodes may come back under fresh labels, so one shared with a graph outside
    the commit would no longer be the same node."""
    for graph, added in list(commit.add.items()):
        if not any(_has_blank(t) for t in added):
            continue
        if added and type(added[0]) is tuple:  # text additions (``termtext``)
            added = to_triples(added)
        if graph in commit.replace:
            base = list(commit.replace[graph])
        else:
            gone = set(commit.remove.pop(graph, ()))
            base = [t for t in graph_triples(graph) if t not in gone]
        commit.replace[graph] = list(dict.fromkeys([*base, *added]))
        del commit.add[graph]


def apply(store: ox.Store, commit: Commit, folder: Path) -> None:
    """Bring ``store`` to the state the commit describes; safe to repeat after a crash.
    Removals first, then replacements, then additions: the order one SPARQL update uses."""
    for graph, triples in commit.remove.items():
        node = ox.NamedNode(graph)
        for t in triples:
            store.remove(ox.Quad(t.subject, t.predicate, t.object, node))
    # The loader calls run several at once (``loading``); lines with a blank node go into one
    # call, so a blank node written in two graphs stays one node, as in one INSERT DATA.
    with ParallelLoad(store, folder / "blank.nq") as load:  # present quads are not doubled
        for graph, triples in commit.replace.items():
            node = ox.NamedNode(graph)
            rest = _make_equal(store, node, triples)
            if rest is None:
                load.add_file(folder / commit.files["replace"][graph], node)
            elif rest:
                _write_synced(folder / "rest.nt", rest)
                load.add_file(folder / "rest.nt", node)  # read whole before the next graph
        for graph, name in commit.files["add"].items():
            load.add_file(folder / name, ox.NamedNode(graph))
    store.flush()  # the loader's files and the removals are on disk before the version


def _make_equal(store: ox.Store, graph: ox.NamedNode, new: list[ox.Triple]):
    """Remove what ``graph`` holds beyond ``new``. Return the triples still to add, or None
    when the whole of ``new`` is to be loaded (loading a triple the graph already holds does
    not double it, unless it has a blank node: those are removed first)."""
    old = {q.triple for q in store.quads_for_pattern(None, None, None, graph)}
    if not old:
        return None
    wanted = set(new)
    gone = old - wanted
    if len(gone) > REMOVE_ONE_BY_ONE and 2 * len(gone) > len(old):
        store.remove_graph(graph)
        return None
    for t in gone:
        store.remove(ox.Quad(t.subject, t.predicate, t.object, graph))
    kept = len(old) - len(gone)
    # Loading the kept triples again is cheaper than writing (and fsyncing) the rest to a file
    # of its own: 1M triples over a graph of 256 committed in 10.5-13.9 s instead of 16.7-18.7.
    if kept < len(wanted) - kept:
        # The loader would give a kept triple's blank nodes fresh labels and so add it twice:
        # remove those too; the file brings them back, linked as before (one loader call).
        for t in old & wanted:
            if _has_blank(t):
                store.remove(ox.Quad(t.subject, t.predicate, t.object, graph))
        return None
    return wanted - old


def _has_blank(t: ox.Triple | TextTriple) -> bool:
    if type(t) is tuple:
        return t[0].startswith("_:") or t[2].startswith("_:")
    return type(t.subject) is ox.BlankNode or type(t.object) is ox.BlankNode


def _write_synced(path: Path, triples: Iterable[ox.Triple] | list[TextTriple]) -> None:
    """Write triples as N-Triples and fsync. The reasoning step's additions come as text
    (``termtext``) and are written as they are: at 10M triples, turning 2.7 million of them
    into pyoxigraph triples first cost 8 s."""
    with open(path, "wb") as fh:
        if isinstance(triples, list) and triples and type(triples[0]) is tuple:
            for i in range(0, len(triples), 100_000):
                chunk = triples[i : i + 100_000]
                fh.write("".join(f"{s} {p} {o} .\n" for s, p, o in chunk).encode())
        else:
            ox.serialize(triples, output=fh, format=NT)
        fh.flush()
        os.fsync(fh.fileno())


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
