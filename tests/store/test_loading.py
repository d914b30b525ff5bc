"""Bulk loading in chunks on several threads (clusterpolisee/store/loading.py): the same graph
as one load, blank nodes kept whole across chunks and graphs, errors that name the lines."""

import re

import pyoxigraph as ox
import pytest

from clusterpolisee.store import OxigraphStore, StoreError, loading

from .test_journal import STEPS, contents

EX = "https://example.org/"
G = ox.NamedNode(EX + "graph")


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of about 20 lines, so that a few hundred lines take many concurrent calls."""
    monkeypatch.setattr(loading, "CHUNK_BYTES", 2000)
    monkeypatch.setattr(loading, "CHUNK_MAX", 2000)


def test_chunks_grow_with_the_file_between_the_bounds():
    """Small files are still split over the threads; big ones get fewer, larger calls."""
    mb = 1 << 20
    threads = loading.THREADS
    assert loading.chunk_bytes(1000) == loading.CHUNK_BYTES == 4 * mb
    assert loading.chunk_bytes(19 * mb) == 4 * mb  # a 100,000-triple commit: several calls
    assert loading.chunk_bytes(4 * threads * 10 * mb) == 10 * mb
    assert loading.chunk_bytes(192 * mb * threads) == loading.CHUNK_MAX == 16 * mb


def nt_file(path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def sample(n: int) -> list[str]:
    """n statements; every 50th names a blank node that the next 50th names again, so the same
    node appears in chunks far apart."""
    out = []
    for i in range(n):
        out.append(f'<{EX}s{i}> <{EX}p> "value {i}" .')
        if i % 50 == 0:
            out.append(f"<{EX}s{i}> <{EX}next> _:b{i // 50} .")
            out.append(f'_:b{i // 50} <{EX}label> "node {i // 50}" .')
            if i:
                out.append(f"_:b{i // 50 - 1} <{EX}then> _:b{i // 50} .")
    return out


def ground(store: ox.Store) -> set[ox.Quad]:
    """The quads without a blank node (blank nodes get new labels on every load)."""
    blank = ox.BlankNode
    return {q for q in store if type(q.subject) is not blank and type(q.object) is not blank}


def test_chunked_load_holds_what_one_load_holds(tmp_path, small_chunks):
    nt_file(tmp_path / "in.nt", sample(600))
    one = ox.Store()
    one.bulk_load(path=str(tmp_path / "in.nt"), format=ox.RdfFormat.N_TRIPLES, to_graph=G)
    store = ox.Store(str(tmp_path / "store"))
    with loading.ParallelLoad(store, tmp_path / "spill", G) as load:
        load.add_file(tmp_path / "in.nt", G)
        assert len(load.futures) >= 15  # the file was really cut into many calls
    assert len(store) == len(one) == 600 + 3 * 12 - 1
    # Blank nodes: 12, each linked to the next, exactly as in one load (same chain).
    chain = "SELECT (COUNT(*) AS ?n) WHERE { ?a <%sthen> ?b . ?a <%slabel> ?la . ?b <%slabel> ?lb }"
    for s in (store, one):
        assert (
            next(iter(s.query(chain % (EX, EX, EX), use_default_graph_as_union=True)))["n"].value
            == "11"
        )
        blanks = {q.subject for q in s.quads_for_pattern(None, ox.NamedNode(EX + "label"), None)}
        assert len(blanks) == 12
    assert ground(store) == ground(one)
    assert not (tmp_path / "spill").exists()


def test_a_blank_node_in_two_graphs_stays_one_node(tmp_path, small_chunks):
    """The journal's case: several graphs in one commit, a blank node shared between them."""
    g2 = ox.NamedNode(EX + "other")
    nt_file(tmp_path / "a.nt", [f'<{EX}a{i}> <{EX}p> "{i}" .' for i in range(200)]
            + [f"<{EX}a0> <{EX}q> _:shared ."])  # fmt: skip
    nt_file(tmp_path / "b.nt", [f'_:shared <{EX}label> "shared" .'])
    store = ox.Store(str(tmp_path / "store"))
    with loading.ParallelLoad(store, tmp_path / "spill") as load:
        load.add_file(tmp_path / "a.nt", G)
        load.add_file(tmp_path / "b.nt", g2)
    (linked,) = [q.object for q in store.quads_for_pattern(None, ox.NamedNode(EX + "q"), None, G)]
    (labelled,) = [q.subject for q in store.quads_for_pattern(None, None, None, g2)]
    assert isinstance(linked, ox.BlankNode) and linked == labelled
    assert len(store) == 202


def test_a_syntax_error_names_the_lines_and_lets_go_of_the_store(tmp_path, small_chunks):
    lines = sample(300)
    lines[200] = f"<{EX}broken> <{EX}p> no quotes here ."  # line 201 of the file
    nt_file(tmp_path / "bad.nt", lines)
    path = tmp_path / "store"
    store = OxigraphStore(path)
    with pytest.raises(StoreError, match=r"cannot load .*bad.nt, lines ") as raised:
        store.bulk_load(tmp_path / "bad.nt", G.value)
    low, high = (int(x) for x in re.search(r"lines ([0-9]+)-([0-9]+)", str(raised.value)).groups())
    assert low <= 201 <= high and high - low < 60, (low, high)  # one chunk: ~2,000 bytes
    store.close()
    with OxigraphStore(path) as again:  # opens: the writer's lock went with the handle
        assert again.graph_sizes().get(G.value, 0) < len(lines)  # not atomic: part may be in


def test_crlf_comments_a_last_line_without_newline_and_empty_files(tmp_path, small_chunks):
    body = [f'<{EX}s{i}> <{EX}p> "{i}" .' for i in range(100)]
    text = "# a comment naming _:nothing\r\n" + "\r\n".join(body) + f"\r\n<{EX}z> <{EX}q> _:end ."
    (tmp_path / "crlf.nt").write_bytes(text.encode())  # no newline at the end
    (tmp_path / "empty.nt").write_bytes(b"")
    store = ox.Store(str(tmp_path / "store"))
    with loading.ParallelLoad(store, tmp_path / "spill", G) as load:
        load.add_file(tmp_path / "empty.nt", G)
        load.add_file(tmp_path / "crlf.nt", G)
    assert len(store) == 101
    assert {
        q.object.value for q in store.quads_for_pattern(None, ox.NamedNode(EX + "p"), None)
    } == {str(i) for i in range(100)}


def test_after_a_failure_in_the_caller_nothing_more_is_loaded(tmp_path, small_chunks):
    """The set-aside lines are loaded last; if the caller fails before that, they are not."""
    nt_file(tmp_path / "in.nt", sample(100))
    store = ox.Store(str(tmp_path / "store"))
    failing = pytest.raises(RuntimeError, match="caller failed")
    with failing, loading.ParallelLoad(store, tmp_path / "spill", G) as load:
        load.add_file(tmp_path / "in.nt", G)
        raise RuntimeError("caller failed")
    assert not list(store.quads_for_pattern(None, ox.NamedNode(EX + "label"), None))
    assert len(store) == 100  # the chunks already queued are waited for, nothing is cut off
    assert not (tmp_path / "spill").exists()


def test_journaled_commits_in_many_chunks_give_what_one_update_gives(tmp_path, small_chunks):
    """The journal's equivalence test again, with every graph cut into many loader calls."""
    by_update, by_journal = OxigraphStore(tmp_path / "u"), OxigraphStore(tmp_path / "j")
    by_journal.BULK_MIN = 1
    for replace, add, remove in STEPS:
        for store in (by_update, by_journal):
            store.commit(replace=replace, add=add, remove=remove)
        assert contents(by_journal) == contents(by_update)
    by_update.close()
    by_journal.close()
