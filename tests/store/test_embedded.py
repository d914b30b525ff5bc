"""The embedded store alone: crash safety under SIGKILL, leftover scratch graphs, and the
one-writer / many-readers rules of an on-disk pyoxigraph store."""

import collections
import random
import signal
import subprocess
import sys
import time

import pyoxigraph as ox
import pytest

from clusterpolisee.namespaces import graph_iri
from clusterpolisee.store import OxigraphStore, StoreError, journal

PARTNER = graph_iri("partner/crash-test")
EX = "https://example.org/"

# The child replaces the partner graph with version A, then B, then A ... forever, printing
# one line per commit so the parent knows it is running. argv[2] is the size from which a
# commit goes through the journal and the bulk loader (1: every commit does).
WRITER = f"""
import sys
import pyoxigraph as ox
from clusterpolisee.store import OxigraphStore
sys.path.insert(0, {str(__import__("pathlib").Path(__file__).parent)!r})
from test_embedded import version
OxigraphStore.BULK_MIN = int(sys.argv[2])
store = OxigraphStore(sys.argv[1])
print("open", flush=True)
i = 0
while True:
    store.replace_graph({PARTNER!r}, version("AB"[i % 2]))
    i += 1
    print(i, flush=True)
"""


def journal_state(path) -> str:
    folder = journal.folder_of(path)
    if journal.read_marker(folder):
        return "whole"
    return "partial" if folder.exists() else "none"


def version(tag: str) -> list[ox.Triple]:
    """Two versions of one graph that differ in every triple and in size."""
    size = 2000 if tag == "A" else 1500
    p = ox.NamedNode(EX + "p")
    return [
        ox.Triple(ox.NamedNode(f"{EX}{tag}/s{i}"), p, ox.Literal(f"{tag} {i}")) for i in range(size)
    ]


@pytest.mark.parametrize("bulk_min", [OxigraphStore.BULK_MIN, 1], ids=["update", "journal"])
def test_kill_9_during_replacement_leaves_old_or_new_graph(tmp_path, bulk_min):
    """SIGKILL at random points of a writer replacing a graph over and over: the next
    read-write open finds the old graph or the new one, never a mix. Both commit paths: one
    SPARQL update, and the journal with the bulk loader (finished by the next open)."""
    path = tmp_path / "store"
    with OxigraphStore(path) as store:
        store.replace_graph(PARTNER, version("A"))
    expected = {"A": set(version("A")), "B": set(version("B"))}
    rng = random.Random(4)
    commits_before_kill = []
    left = collections.Counter()  # journals the kills left behind: whole, partial or none
    previous = "A"
    for _ in range(20):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(bulk_min)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout.readline().strip() == "open"
        time.sleep(rng.uniform(0.05, 1.0))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL
        done = len(child.stdout.read().split())  # commits the child reported finished
        commits_before_kill.append(done)
        left[journal_state(path)] += 1
        with OxigraphStore(path) as store:
            got = set(store.graph_triples(PARTNER))
            assert store.graph_sizes() == {PARTNER: len(got)}
        matches = [tag for tag, triples in expected.items() if got == triples]
        assert len(matches) == 1, f"partial graph after kill: {len(got)} triples"
        # Commit k writes "AB"[(k - 1) % 2]; the k-th may have landed unreported. With no
        # commit reported, the graph may still be what the previous child left.
        allowed = {"AB"[(k - 1) % 2] for k in (done, done + 1) if k >= 1} | (
            {previous} if done == 0 else set()
        )
        assert matches[0] in allowed, (done, matches[0], previous)
        previous = matches[0]
    # The kills landed at different points of the writer's loop.
    assert len(set(commits_before_kill)) > 1, commits_before_kill
    print(bulk_min, "journals left by the kills:", dict(left))
    if bulk_min == 1:  # some kills caught a commit between its journal and its end
        assert left["whole"] >= 1, left
        assert not journal.folder_of(path).exists()


def test_leftover_scratch_graphs_are_dropped_on_open(tmp_path):
    path = tmp_path / "store"
    raw = ox.Store(str(path))
    q = ox.Quad(ox.NamedNode(EX + "s"), ox.NamedNode(EX + "p"), ox.Literal("x"))
    raw.add(ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode(PARTNER)))
    raw.add(ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode(PARTNER + "#staging-dead")))
    raw.flush()
    del raw
    with OxigraphStore(path, read_only=True) as reader:  # readers never write
        assert PARTNER + "#staging-dead" in reader.graph_sizes()
    with OxigraphStore(path) as store:
        assert store.graph_sizes() == {PARTNER: 1}


def test_one_writer_many_frozen_readers(tmp_path):
    path = tmp_path / "store"
    writer = OxigraphStore(path)
    writer.replace_graph(PARTNER, version("A"))
    writer._store.flush()
    with pytest.raises(StoreError, match="Only one process may open it read-write"):
        subprocess_open(path)
    reader = OxigraphStore(path, read_only=True)
    writer.replace_graph(PARTNER, version("B"))
    # A read-only opener sees the store as it was when it opened, until it reopens.
    assert reader.graph_sizes() == {PARTNER: 2000}
    reader.close()
    writer._store.flush()
    with OxigraphStore(path, read_only=True) as fresh:
        assert fresh.graph_sizes() == {PARTNER: 1500}
    writer.close()


def subprocess_open(path) -> None:
    """Open the store read-write from another process; raise its StoreError message here."""
    code = (
        "import sys\nfrom clusterpolisee.store import OxigraphStore, StoreError, journal\n"
        "try:\n    OxigraphStore(sys.argv[1])\nexcept StoreError as e:\n"
        "    print(e); sys.exit(3)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60
    )
    if proc.returncode == 3:
        raise StoreError(proc.stdout.strip())
    assert proc.returncode == 0, proc.stderr


def test_reopen_keeps_the_data_and_waits_for_a_reader_of_the_old_handle(tmp_path):
    """A server's writer is reopened after each upload (RocksDB's native memory comes back
    only on close); a thread still reading through the old handle delays it, nothing breaks."""
    import threading

    store = OxigraphStore(tmp_path / "s")
    g = graph_iri("partner/reopen")
    triples = [
        ox.Triple(
            ox.NamedNode(f"https://example.org/s{i}"),
            ox.NamedNode("https://example.org/p"),
            ox.Literal(str(i)),
        )
        for i in range(2000)
    ]
    store.commit(replace={g: triples})
    version = store.data_version()
    started = threading.Event()

    def read_slowly() -> None:
        # pyoxigraph's iterators belong to their thread: made, held and dropped here.
        reading = store._store.quads_for_pattern(None, None, None, ox.NamedNode(g))
        next(reading)  # holds the old handle open
        started.set()
        time.sleep(0.5)
        del reading

    reader = threading.Thread(target=read_slowly)
    reader.start()
    started.wait()
    t0 = time.monotonic()
    store.reopen()
    reader.join()
    assert time.monotonic() - t0 >= 0.4  # it waited for the reader
    assert store.data_version() == version and store.graph_size(g) == 2000
    store.commit(
        add={
            g: [
                ox.Triple(
                    ox.NamedNode("https://example.org/new"),
                    ox.NamedNode("https://example.org/p"),
                    ox.Literal("x"),
                )
            ]
        }
    )
    assert store.graph_size(g) == 2001
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.data_version()


def test_graph_sizes_are_counted_by_oxigraph_and_match_the_quads(tmp_path):
    """count_graph() asks Oxigraph to count (the graph page and the catalogue use it); it
    must give what iterating the quads gives, and 0 for a graph the store does not hold."""
    from clusterpolisee.store.oxigraph import count_graph

    one, two = graph_iri("partner/count-one"), graph_iri("partner/count-two")
    p = ox.NamedNode("https://example.org/p")
    with OxigraphStore(tmp_path / "s") as store:
        store.commit(
            replace={
                one: [
                    ox.Triple(ox.NamedNode(f"https://example.org/{i}"), p, ox.Literal(i))
                    for i in range(1500)
                ],  # fmt: skip
                two: [ox.Triple(ox.BlankNode(), p, ox.Literal("x")) for _ in range(3)],
            }
        )
        sizes = store.graph_sizes()
        assert sizes[one] == 1500 and sizes[two] == 3
        assert store.graph_size(graph_iri("partner/none")) == 0
        raw = store._store
        for g in (one, two):
            node = ox.NamedNode(g)
            assert count_graph(raw, node) == sum(
                1 for _ in raw.quads_for_pattern(None, None, None, node)
            )


def test_pairs_skip_one_graph_and_keep_blank_nodes(tmp_path):
    """The reasoning step reads facts with pairs(): every named graph but the one it writes,
    blank nodes as stored (a renamed blank node would make every run rewrite its inferences)."""
    one, two, skip = (graph_iri(f"partner/pairs-{x}") for x in ("one", "two", "skip"))
    p, q = ox.NamedNode("https://example.org/p"), ox.NamedNode("https://example.org/q")
    blank, a = ox.BlankNode("b1"), ox.NamedNode("https://example.org/a")
    with OxigraphStore(tmp_path / "s") as store:
        store.commit(
            replace={
                one: [ox.Triple(a, p, ox.Literal("1")), ox.Triple(a, q, blank)],
                two: [ox.Triple(blank, p, a), ox.Triple(a, p, ox.Literal("1"))],
                skip: [ox.Triple(a, p, ox.Literal("inferred"))],
            }
        )
        stored = next(store._store.quads_for_pattern(None, p, a)).subject
        assert stored == next(store._store.quads_for_pattern(a, q, None)).object
        a, one_, stored = str(a), '"1"', str(stored)  # pairs come as N-Triples text
        assert stored.startswith("_:")
        assert store.pairs(p.value, skip) == {(a, one_), (stored, a)}
        assert store.pairs(q.value, skip) == {(a, stored)}
        inferred = (a, '"inferred"')
        assert store.pairs(p.value, one) == {(stored, a), (a, one_), inferred}
        both = store.pairs_of([p.value, q.value], skip)
        assert both == {p.value: {(a, one_), (stored, a)}, q.value: {(a, stored)}}


def test_text_reads_give_every_term_as_str_gives_it(tmp_path):
    """The reasoning step reads terms as TSV text, where Oxigraph shortens some literals
    (5, 1.5, true): termtext spells them out again, so each term has the one text str()
    gives, the values come back unescaped, and the text parses back to the same triples."""
    from clusterpolisee.store.termtext import as_text, literal_parts, to_triples

    xsd = "http://www.w3.org/2001/XMLSchema#"
    s, p = ox.NamedNode("https://example.org/s"), ox.NamedNode("https://example.org/p")
    objects = [
        *(
            ox.Literal(v, datatype=ox.NamedNode(xsd + t))
            for v, t in [
                ("5", "integer"),
                ("-12", "integer"),
                ("1.25", "decimal"),
                ("-0.5", "decimal"),
                ("1500", "decimal"),
                ("1.5E-7", "double"),
                ("1000", "double"),
                ("true", "boolean"),
                ("false", "boolean"),
                ("2026-11-28", "date"),
                ("7", "int"),
            ]
        ),
        ox.Literal(
            'tab\there, "quoted", back\\slash\nnew line \u0001 \b \u007f Győr', language="en"
        ),
        ox.Literal("plain"),
        ox.Literal("Ελλάδα", language="el"),
        ox.Literal("non\ufffecharacters\uffff"),
        # RDF 1.2 base direction: its language is "ar" (the search key is keyed by it)
        next(ox.parse('<x:s> <x:p> "جمعية"@ar--rtl .', ox.RdfFormat.N_TRIPLES)).object,
        ox.NamedNode("https://example.org/ä?x=1#f"),
        ox.BlankNode("b1"),
    ]
    graph = graph_iri("partner/text-reads")
    with OxigraphStore(tmp_path / "s") as store:
        store.commit(replace={graph: [ox.Triple(s, p, o) for o in objects]})
        stored = store.graph_triples(graph)
        text = store.graph_text(graph)
        assert text == {as_text(t) for t in stored}
        assert len(text) == len(objects)
        assert store.pairs(p.value, graph_iri("inferred")) == {(a, o) for a, _, o in text}
        for t in stored:
            parts = literal_parts(str(t.object))
            if isinstance(t.object, ox.Literal):
                assert parts == (t.object.value, t.object.language)
            else:
                assert parts is None
        plain = [t for t in text if not t[2].startswith("_:")]
        assert {as_text(t) for t in to_triples(plain)} == set(plain)
        # Writing the same text again changes nothing, so the data version stays.
        version = store.data_version()
        assert store.update_graph_text(graph, store.graph_text(graph)) == len(objects)
        assert store.data_version() == version
        assert store.update_graph_text(graph, plain) == len(plain)  # without the blank node
        assert store.graph_text(graph) == set(plain)
        assert store.data_version() != version


def test_every_write_records_the_sizes_of_the_graphs_it_wrote(tmp_path):
    """Graph sizes are recorded in graph/meta by the write itself (the 10M graph took 7-9 s
    to count for every graph page): small commits, journaled commits, bulk loads and drops
    leave the record equal to a fresh count; a failed bulk load drops it (its readers count),
    never leaves it stale."""
    from clusterpolisee.store.oxigraph import META_GRAPH, VOID_TRIPLES, count_graph

    one, two = graph_iri("partner/size-one"), graph_iri("partner/size-two")
    p = ox.NamedNode("https://example.org/p")

    def made(n: int, tag: str) -> list[ox.Triple]:
        return [
            ox.Triple(ox.NamedNode(f"https://example.org/{i}"), p, ox.Literal(tag))
            for i in range(n)
        ]

    def recorded(store: OxigraphStore) -> dict[str, int]:
        quads = store._store.quads_for_pattern(None, VOID_TRIPLES, None, ox.NamedNode(META_GRAPH))
        return {q.subject.value: int(q.object.value) for q in quads}

    def counted(store: OxigraphStore) -> dict[str, int]:
        graphs = [g for g in store._store.named_graphs() if g.value != META_GRAPH]
        return {g.value: count_graph(store._store, g) for g in graphs}

    nt = tmp_path / "load.nt"
    nt.write_text("".join(f'<https://example.org/l{i}> {p} "x" .\n' for i in range(25_000)))
    with OxigraphStore(tmp_path / "s") as store:
        store.commit(replace={one: made(10, "a")})  # a small commit: one update
        assert recorded(store) == counted(store) == {one: 10}
        store.commit(add={one: made(20, "b")}, remove={one: made(5, "a")})
        assert recorded(store) == counted(store) == {one: 25}
        store.commit(replace={two: made(3, "c")})
        assert recorded(store) == counted(store) == {one: 25, two: 3}
        store.commit(replace={two: made(OxigraphStore.BULK_MIN, "c")})  # through the journal
        assert recorded(store) == {one: 25, two: OxigraphStore.BULK_MIN}
        assert counted(store) == store.graph_sizes() == {one: 25, two: OxigraphStore.BULK_MIN}
        assert store.bulk_load(nt, one) == 25_025
        assert recorded(store) == {one: 25_025, two: OxigraphStore.BULK_MIN}
        assert counted(store) == store.graph_sizes() == {one: 25_025, two: OxigraphStore.BULK_MIN}
        bad = tmp_path / "bad.nt"  # a load that fails half way: no record is left to lie
        bad.write_text(f'<https://example.org/x> {p} "ok" .\n<https://example.org/y> {p} "cut\n')
        with pytest.raises(StoreError, match="cannot load"):
            store.bulk_load(bad, one)
        assert one not in recorded(store)
        assert store.graph_sizes()[one] == counted(store)[one]
        store.commit(replace={one: made(25_025, "a")})  # over the journal: recorded again
        assert recorded(store) == counted(store) == {one: 25_025, two: OxigraphStore.BULK_MIN}
        store.commit(replace={two: []})  # dropped: no record left behind
        assert recorded(store) == counted(store) == {one: 25_025}
        store._store.update(f"DELETE WHERE {{ GRAPH <{META_GRAPH}> {{ ?g {VOID_TRIPLES} ?n }} }}")
        assert recorded(store) == {}
        store.commit(add={one: made(1, "z")})  # a small commit records it again
        assert recorded(store) == counted(store) == {one: 25_026}
        assert store.graph_sizes() == {one: 25_026}
        # A store written by an older version has no record: the size is counted.
        store._store.remove(
            ox.Quad(ox.NamedNode(one), VOID_TRIPLES, ox.Literal(25_026), ox.NamedNode(META_GRAPH))
        )
        assert recorded(store) == {} and store.graph_sizes() == {one: 25_026}


@pytest.mark.parametrize("bulk_min", [OxigraphStore.BULK_MIN, 1], ids=["update", "journal"])
def test_text_additions_are_written_as_they_are(tmp_path, bulk_min, monkeypatch):
    """update_graph_text hands its additions to the commit as text, small (INSERT DATA) or
    journaled (written to the journal file as they are); one naming a blank node is folded
    into a replacement of the graph, as for pyoxigraph triples."""
    monkeypatch.setattr(OxigraphStore, "BULK_MIN", bulk_min)
    graph = graph_iri("partner/text-additions")
    p = "<https://example.org/p>"
    integer = "<http://www.w3.org/2001/XMLSchema#integer>"
    text = {(f"<https://example.org/s{i}>", p, f'"{i}"^^{integer}') for i in range(50)}
    with OxigraphStore(tmp_path / "s") as store:
        assert store.update_graph_text(graph, text) == 50
        assert store.graph_text(graph) == text
        more = text | {("<https://example.org/s99>", p, '"é\\n"@fr')}
        assert store.update_graph_text(graph, more) == 51
        assert store.graph_text(graph) == more
        with_blank = more | {("_:x", p, "<https://example.org/s1>")}
        assert store.update_graph_text(graph, with_blank) == 52
        stored = store.graph_text(graph)
        (blank,) = stored - more
        assert blank[0].startswith("_:") and blank[1:] == (p, "<https://example.org/s1>")
        assert len(stored) == 52
        assert not (tmp_path / "s.journal").exists()


def test_search_keys_of_labels_with_a_base_direction(tmp_path):
    """A label with an RDF 1.2 base direction ("@ar--rtl") gets its search key in its
    language ("ar"), as the search question's LANG() match expects; the reasoning step
    must not fail on it (a later run for any partner would fail too)."""
    from clusterpolisee.catalog import fold_text
    from clusterpolisee.reasoning.materialise import INFERRED, SEARCH_KEY, materialise

    label = next(ox.parse('<x:s> <x:p> "Ăjmعية"@ar--rtl .', ox.RdfFormat.N_TRIPLES)).object
    subject = ox.NamedNode("https://example.org/directed")
    rdfs_label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    with OxigraphStore(tmp_path / "s") as store:
        store.commit(
            replace={graph_iri("partner/directed"): [ox.Triple(subject, rdfs_label, label)]}
        )
        assert materialise(store) == 1
        key = str(ox.Literal(fold_text("Ăjmعية"), language="ar"))
        assert store.graph_text(INFERRED) == {(str(subject), SEARCH_KEY, key)}
        version = store.data_version()
        materialise(store)
        assert store.data_version() == version  # nothing changed, nothing written


def test_bindings_go_in_as_values_or_substitution(tmp_path):
    """A query with a WHERE clause gets its bindings as a VALUES block at its start; one
    without the keyword falls back to pyoxigraph's substitution, with the same answer."""
    from clusterpolisee.store.bindings import prebound

    a, p = ox.NamedNode("https://example.org/a"), ox.NamedNode("https://example.org/p")
    text, subs = prebound("SELECT ?s ?o WHERE { ?s ?p ?o }", {"s": a})
    assert text.startswith("SELECT ?s ?o WHERE { VALUES (?s) { (<https://example.org/a>) }")
    assert subs == {}
    text, subs = prebound("SELECT ?s ?o { ?s ?p ?o }", {"s": a})
    assert (text, subs) == ("SELECT ?s ?o { ?s ?p ?o }", {ox.Variable("s"): a})
    with OxigraphStore(tmp_path / "store") as store:
        g = graph_iri("test/bind")
        store.replace_graph(g, [ox.Triple(a, p, ox.Literal("x")), ox.Triple(p, p, a)])
        for query in ("SELECT ?s ?o WHERE { ?s ?p ?o }", "SELECT ?s ?o { ?s ?p ?o }"):
            assert [r["o"] for r in store.select(query, {"s": a})] == [ox.Literal("x")]
        with pytest.raises(StoreError, match="needs an explicit WHERE"):
            store.select("SELECT ?o { ?s ?p ?o }", {"s": a})
