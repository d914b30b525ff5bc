"""The RDF documents of /id/... and /graph/... say what they are: a resource's document holds
the statements referring to it too, with truncation headers only when a list was cut, at the
real limit; an answer chosen by Accept names its document (Content-Location) and links the
thing it describes (rel="describes"); a named graph above the row limit comes whole or not at
all, never as its first rows with a 200."""

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask
from rdflib import Dataset, Graph, URIRef

from clusterpolisee.namespaces import graph_iri
from clusterpolisee.reasoning.tallies import TALLY_BASE
from clusterpolisee.store.oxigraph import OxigraphStore, open_read_only
from webapp import close_app
from webapp.database import Database, QueryTimedOut
from webapp.sparql_guard import QueryRefused
from webapp.views import graphs

from .conftest import ID, make_app

REGION = ID + "region/HU22"  # clusters, barriers... of data/partners/pbn.ttl refer to it
INFERRED = graph_iri("inferred")
RDFLIB = {  # suffix: (media type, rdflib format)
    "ttl": ("text/turtle", "turtle"),
    "nt": ("application/n-triples", "nt"),
    "jsonld": ("application/ld+json", "json-ld"),
    "rdf": ("application/rdf+xml", "xml"),
}
QUADS = {"trig": ("application/trig", "trig"), "nq": ("application/n-quads", "nquads")}


def rdflib_graph(body: bytes, fmt: str) -> Graph:
    return Graph().parse(data=body, format=fmt)


def described(store_path: Path, iri: str) -> tuple[set, set]:
    """(about, referring) statements of ``iri`` in the store, as rdflib triples; the referring
    ones without the tallies of graph/inferred (counts, which the page leaves out too)."""
    store = open_read_only(store_path)
    node = ox.NamedNode(iri)
    about = {q.triple for q in store.quads_for_pattern(node, None, None)}
    referring = {
        q.triple
        for q in store.quads_for_pattern(None, None, node)
        if not (q.graph_name.value == INFERRED and q.subject.value.startswith(TALLY_BASE))
    }
    return as_rdflib(about), as_rdflib(referring)


def as_rdflib(triples: set[ox.Triple]) -> set:
    text = ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES) or b""
    return set(Graph().parse(data=text, format="nt"))


# -- 1. a resource's document: its statements, the referring ones, honest truncation ---------


@pytest.mark.parametrize("suffix", sorted(RDFLIB))
def test_a_resource_document_holds_the_statements_referring_to_it(client, store_path, suffix):
    about, referring = described(store_path, REGION)
    assert len(about) > 0 and len(referring) >= 5
    r = client.get(f"/id/region/HU22.{suffix}")
    assert r.status_code == 200
    got = set(rdflib_graph(r.data, RDFLIB[suffix][1]))
    assert got == about | referring
    assert "X-Result-Truncated" not in r.headers and "X-Row-Limit" not in r.headers


@pytest.fixture(scope="module")
def limited(store_path, tmp_path_factory) -> Iterator[tuple[Flask, list[int]]]:
    """An app whose describe limit is the first item of the list (the view asks with the
    default), and that keeps no pages, so each request runs the describe."""
    app = make_app(
        store_path, tmp_path_factory.mktemp("limited"), PAGE_CACHE_SIZE=0, WRITABLE=False
    )
    database = app.extensions["cpo.db"]
    limit = [3]
    database.describe = lambda iri, limit_=None: Database.describe(database, iri, limit[0])
    yield app, limit
    close_app(app)


def test_a_cut_document_says_so_with_the_describe_limit(limited, store_path):
    app, limit = limited
    about, referring = described(store_path, REGION)
    limit[0] = 3
    r = app.test_client().get("/id/region/HU22.nt")
    assert r.status_code == 200
    assert (r.headers["X-Result-Truncated"], r.headers["X-Row-Limit"]) == ("true", "3")
    got = set(rdflib_graph(r.data, "nt"))
    assert len(got & referring) == 3 and got <= about | referring
    # every format carries the same triples
    for suffix, (_, fmt) in RDFLIB.items():
        other = app.test_client().get(f"/id/region/HU22.{suffix}")
        assert set(rdflib_graph(other.data, fmt)) == got, suffix


def test_a_list_exactly_at_the_limit_is_not_cut(limited, store_path):
    app, limit = limited
    about, referring = described(store_path, REGION)
    # the describe counts quads: a statement in two graphs is one triple here
    store = open_read_only(store_path)
    node = ox.NamedNode(REGION)
    quads_in = [
        q
        for q in store.quads_for_pattern(None, None, node)
        if not (q.graph_name.value == INFERRED and q.subject.value.startswith(TALLY_BASE))
    ]
    quads_out = list(store.quads_for_pattern(node, None, None))
    limit[0] = max(len(quads_in), len(quads_out))
    r = app.test_client().get("/id/region/HU22.ttl")
    assert "X-Result-Truncated" not in r.headers  # was "true": a full list counted as cut
    assert set(rdflib_graph(r.data, "turtle")) == about | referring


# -- 2. Content-Location and rel="describes" --------------------------------------------------


@pytest.mark.parametrize("suffix", sorted(RDFLIB))
def test_a_negotiated_answer_names_its_document(client, suffix):
    media = RDFLIB[suffix][0]
    for _ in range(2):  # the second from the page cache, which keys on Accept
        r = client.get("/id/region/HU22", headers={"Accept": media})
        assert (r.status_code, r.mimetype) == (200, media)
        assert r.headers["Content-Location"] == f"/id/region/HU22.{suffix}"
        assert r.headers["Link"] == f'<{REGION}>; rel="describes"'
    by_suffix = client.get(f"/id/region/HU22.{suffix}")
    assert "Content-Location" not in by_suffix.headers  # it is at its own URL
    assert by_suffix.headers["Link"] == f'<{REGION}>; rel="describes"'
    assert by_suffix.data == r.data


def test_the_page_cache_keeps_each_formats_location(client):
    # alternated, so a kept answer of one Accept could only be wrong if the key left it out
    seen = {}
    for _ in range(2):
        for media in ("text/turtle", "application/ld+json", "text/html"):
            r = client.get("/id/region/RO21", headers={"Accept": media})
            seen.setdefault(media, set()).add(r.headers.get("Content-Location"))
    assert seen == {
        "text/turtle": {"/id/region/RO21.ttl"},
        "application/ld+json": {"/id/region/RO21.jsonld"},
        "text/html": {None},  # the page is at the bare URL, which was asked for
    }


def test_a_negotiated_graph_names_its_document(client):
    for media, suffix in (("text/turtle", "ttl"), ("application/n-quads", "nq")):
        r = client.get("/graph/partner/nerda", headers={"Accept": media})
        assert (r.status_code, r.mimetype) == (200, media)
        assert r.headers["Content-Location"] == f"/graph/partner/nerda.{suffix}"
        assert "Content-Location" not in client.get(f"/graph/partner/nerda.{suffix}").headers


# -- 3. a named graph above the row limit: whole, or refused ----------------------------------


@pytest.fixture(scope="module")
def small_rows(store_path, tmp_path_factory) -> Iterator[Flask]:
    """Row limit 5: graph/partner/nerda (6 triples) is above it."""
    folder = tmp_path_factory.mktemp("rows")
    app = make_app(store_path, folder, ROW_LIMIT=5, DUMPS_DIR=str(folder / "dumps"), WRITABLE=False)
    yield app
    close_app(app)


def nerda(store_path: Path) -> set:
    store = open_read_only(store_path)
    node = ox.NamedNode(graph_iri("partner/nerda"))
    return as_rdflib({q.triple for q in store.quads_for_pattern(None, None, None, node)})


@pytest.mark.parametrize("suffix", sorted(RDFLIB))
def test_a_graph_above_the_row_limit_comes_whole(small_rows, store_path, suffix):
    expected = nerda(store_path)
    assert len(expected) == 6
    client = small_rows.test_client()
    media, fmt = RDFLIB[suffix]
    r = client.get(f"/graph/partner/nerda.{suffix}")
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0] == media
    assert "X-Result-Truncated" not in r.headers
    assert set(rdflib_graph(r.data, fmt)) == expected  # was the first 5
    negotiated = client.get("/graph/partner/nerda", headers={"Accept": media})
    assert (negotiated.status_code, negotiated.data) == (200, r.data)
    assert negotiated.headers["Content-Location"] == f"/graph/partner/nerda.{suffix}"
    again = client.get(
        f"/graph/partner/nerda.{suffix}", headers={"If-None-Match": r.headers["ETag"]}
    )
    assert again.status_code == 304


@pytest.mark.parametrize("suffix", sorted(QUADS))
def test_a_graph_above_the_row_limit_keeps_its_name(small_rows, store_path, suffix):
    r = small_rows.test_client().get(f"/graph/partner/nerda.{suffix}")
    assert r.status_code == 200 and "X-Result-Truncated" not in r.headers
    data = Dataset()
    data.parse(data=r.data, format=QUADS[suffix][1])
    quads = list(data.quads((None, None, None, None)))
    assert {str(g) for *_, g in quads} == {graph_iri("partner/nerda")}
    assert {(s, p, o) for s, p, o, _ in quads} == nerda(store_path)
    assert len(data.graph(URIRef(graph_iri("partner/nerda")))) == 6


def test_a_graph_too_large_to_write_in_time_is_refused(small_rows, monkeypatch):
    def late(iri, fmt):
        raise QueryTimedOut("the query ran longer than the time limit of 3 s and was stopped")

    monkeypatch.setattr(graphs, "_graph_file", late)
    r = small_rows.test_client().get("/graph/partner/nerda", headers={"Accept": "text/turtle"})
    assert r.status_code == 403
    text = r.get_data(as_text=True)
    assert "this graph has 6 triples" in text and "/dumps/clusterpolisee.nq.gz" in text
    assert (
        r.headers["Link"] == '</dumps/clusterpolisee.nq.gz>; rel="related"; type="application/gzip"'
    )
    html = small_rows.test_client().get("/graph/partner/nerda", headers={"Accept": "text/html"})
    assert html.status_code == 200  # the page itself shows the size, not the triples


def test_a_graph_within_the_row_limit_is_rendered_as_before(small_rows):
    r = small_rows.test_client().get("/graph/partner/evil.nt")  # 5 triples: at the limit
    assert r.status_code == 200 and "X-Result-Truncated" not in r.headers
    assert len(rdflib_graph(r.data, "nt")) == 5


def test_the_worker_refuses_what_rdf_xml_cannot_carry(tmp_path):
    from webapp.worker import graph_file_job  # here: the former code had none

    store = ox.Store()
    graph = ox.NamedNode(graph_iri("partner/x"))
    s, p = ox.NamedNode(ID + "x"), ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    store.add(ox.Quad(s, p, ox.Literal("bell \x07 é"), graph))
    store.add(ox.Quad(s, p, ox.Literal("plain"), graph))
    job = {"iri": graph.value, "target": str(tmp_path / "g.rdf"), "media": "application/rdf+xml"}
    with pytest.raises(QueryRefused) as refused:
        graph_file_job(store, job)
    assert refused.value.status == 406
    assert list(tmp_path.iterdir()) == []  # no file, no temporary left
    job = {**job, "target": str(tmp_path / "g.nt"), "media": "application/n-triples"}
    assert graph_file_job(store, job)["bytes"] == (tmp_path / "g.nt").stat().st_size
    assert len(Graph().parse(tmp_path / "g.nt", format="nt")) == 2


def test_a_request_behind_another_s_write_is_told_to_retry(store_path, tmp_path):
    """One graph file is written at a time; a request behind it waits WAIT_FOR_WRITER
    seconds, then gets a 503 (before: it waited for every write before it, up to a minute
    each, holding a server thread)."""
    app = make_app(
        store_path, tmp_path, ROW_LIMIT=5, DUMPS_DIR=str(tmp_path / "d"), WORKERS=1, WRITABLE=False
    )
    try:
        client = app.test_client()
        with graphs._WRITING:  # stands for another request's write
            start = time.monotonic()
            busy = client.get("/graph/partner/nerda.ttl")
            waited = time.monotonic() - start
        after = client.get("/graph/partner/nerda.ttl")
    finally:
        close_app(app)
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "60"
    assert graphs.WAIT_FOR_WRITER <= waited < graphs.WAIT_FOR_WRITER + 3
    assert after.status_code == 200 and len(rdflib_graph(after.data, "turtle")) == 6


def graph_writes(app: Flask) -> list[str]:
    """The graph files the app's workers are asked to write from now on (their jobs' ops)."""
    writes, pool = [], app.extensions["cpo.db"].pool
    run = pool.run

    def counted(job, timeout):
        writes.extend([job["op"]] if job["op"] == "graph_file" else [])
        return run(job, timeout)

    pool.run = counted
    return writes


def test_a_write_past_its_time_limit_is_refused_and_not_tried_again(
    store_path, tmp_path, monkeypatch
):
    """The real path: the worker stopped at the limit, a 403 naming the dumps, no file or
    temporary left, and the next request refused at once, without another write."""
    monkeypatch.setattr(graphs, "_FAILED", {})
    monkeypatch.setattr(graphs, "WRITE_LIMITS", 0.00001)  # 30 us: less than the pipe takes
    dumps = tmp_path / "d"
    app = make_app(
        store_path, tmp_path, ROW_LIMIT=5, DUMPS_DIR=str(dumps), WORKERS=1, WRITABLE=False
    )
    writes = graph_writes(app)
    try:
        answers = [app.test_client().get("/graph/reference.nt") for _ in range(2)]
    finally:
        close_app(app)
    assert [a.status_code for a in answers] == [403, 403]
    assert all(b"/dumps/clusterpolisee.nq.gz" in a.data for a in answers)
    assert writes == ["graph_file"]
    assert list((dumps / "graphs").iterdir()) == []


def test_a_refused_write_is_not_tried_again_for_the_version(store_path, tmp_path, monkeypatch):
    """RDF/XML of a graph holding a character XML 1.0 cannot carry: a 406, and the next
    request is answered alike without a worker writing the graph again."""
    monkeypatch.setattr(graphs, "_FAILED", {})
    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)
    s, label = ox.NamedNode(ID + "x"), ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    with OxigraphStore(copy) as store:
        store.commit(
            replace={
                graph_iri("partner/bell"): [
                    ox.Triple(s, label, ox.Literal(text)) for text in ("bell \x07", "a", "b")
                ]
            }
        )
    app = make_app(copy, tmp_path, ROW_LIMIT=2, DUMPS_DIR=str(tmp_path / "d"), WORKERS=1)
    writes = graph_writes(app)
    try:
        answers = [app.test_client().get("/graph/partner/bell.rdf") for _ in range(3)]
        turtle = app.test_client().get("/graph/partner/bell.ttl")
    finally:
        close_app(app)
    assert [a.status_code for a in answers] == [406, 406, 406]
    assert all(b"XML 1.0" in a.data for a in answers)
    assert writes == ["graph_file", "graph_file"]  # the .rdf once, then the .ttl
    assert turtle.status_code == 200


def test_a_sweep_keeps_a_recent_file_of_another_version(tmp_path):
    """A request that read the version before a commit may still be sending its file: only
    other versions' files older than KEEP_OTHERS go, and stopped writes' temporary files."""
    names = ["cur-a.ttl", "new-b.ttl", "old-c.ttl", ".graph-123"]
    for name in names:
        (tmp_path / name).write_text("x")
    past = time.time() - graphs.KEEP_OTHERS - 5
    os.utime(tmp_path / "old-c.ttl", (past, past))
    graphs._sweep(tmp_path, "cur")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cur-a.ttl", "new-b.ttl"]
