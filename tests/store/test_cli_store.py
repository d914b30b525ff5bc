"""The store commands as a user runs them: export, import, materialise, generate, and
--endpoint on the commands that touch the store."""

import gzip
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee.cli_store import undone_on_failure
from clusterpolisee.namespaces import graph_iri
from clusterpolisee.publish import write_dumps
from clusterpolisee.store.base import META_GRAPH
from clusterpolisee.store.dump import MAX_EXPANSION, MIN_EXPANDED
from clusterpolisee.store.journal import folder_of
from clusterpolisee.store.oxigraph import OxigraphStore

from ..conftest import CLI, run_cli
from .conftest import backdate

INFERRED = graph_iri("inferred")


def listing(proc) -> dict[str, int]:
    assert proc.returncode == 0, proc.stderr
    return {g: int(n) for n, g in (line.split() for line in proc.stdout.splitlines())}


def test_export_and_import_round_trip_between_stores(tmp_path):
    a, b, dump = tmp_path / "a", tmp_path / "b", tmp_path / "dump.nq"
    assert run_cli("build", "--store", str(a)).returncode == 0
    exported = run_cli("export", "--store", str(a), "--output", str(dump))
    assert exported.returncode == 0, exported.stderr
    original = listing(run_cli("graphs", "--store", str(a)))
    assert f"Exported {sum(original.values())} quads" in exported.stderr
    imported = run_cli("import", "--store", str(b), str(dump))
    assert imported.returncode == 0, imported.stderr
    assert f"Imported {sum(original.values())} triples into {len(original)} graphs" in (
        imported.stdout
    )
    assert listing(run_cli("graphs", "--store", str(b))) == original
    again = run_cli("export", "--store", str(b), "--format", "trig", "--graph", INFERRED)
    assert again.returncode == 0
    quads = list(ox.parse(again.stdout.encode(), format=ox.RdfFormat.TRIG))
    assert len(quads) == original[INFERRED]
    assert {q.graph_name.value for q in quads} == {INFERRED}


def test_import_errors_are_clear_and_change_nothing(tmp_path):
    store = tmp_path / "store"
    assert run_cli("build", "--no-partners", "--store", str(store)).returncode == 0
    before = run_cli("graphs", "--store", str(store)).stdout
    bad = tmp_path / "bad.nq"
    bad.write_text(f'<https://example.org/s> <https://example.org/p> "x <{INFERRED}> .\n')
    proc = run_cli("import", "--store", str(store), str(bad))
    assert proc.returncode == 2
    assert "error: not valid nquads" in proc.stderr and "Traceback" not in proc.stderr
    unknown = tmp_path / "dump.txt"
    unknown.write_text("")
    proc = run_cli("import", "--store", str(store), str(unknown))
    assert proc.returncode == 2 and "cannot tell the format of dump.txt" in proc.stderr
    assert run_cli("graphs", "--store", str(store)).stdout == before
    proc = run_cli("export", "--store", str(store), "--graph", graph_iri("nope"))
    assert proc.returncode == 2 and f"no graph {graph_iri('nope')}" in proc.stderr


def test_generate_is_deterministic_and_exact(tmp_path):
    out = tmp_path / "g.nt"
    proc = run_cli("generate", "--triples", "5000", "--seed", "7", "--output", str(out))
    assert proc.returncode == 0 and "Generated 5000 triples (seed 7)" in proc.stderr
    triples = list(ox.parse(path=str(out), format=ox.RdfFormat.N_TRIPLES))
    assert len(triples) == 5000
    assert "https://w3id.org/clusterpolisee/ontology#KnowledgeTransfer" in {
        t.object.value for t in triples if t.predicate.value.endswith("#type")
    }
    same = run_cli("generate", "--triples", "5000", "--seed", "7")
    other = run_cli("generate", "--triples", "5000", "--seed", "8")
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert hashlib.sha256(same.stdout.encode()).hexdigest() == digest
    assert hashlib.sha256(other.stdout.encode()).hexdigest() != digest


def test_bad_endpoint_is_a_usage_error(tmp_path):
    proc = run_cli("graphs", "--endpoint", "file:///etc/passwd")
    assert proc.returncode == 2
    assert "must be an http(s) URL" in proc.stderr and "Traceback" not in proc.stderr


def test_commands_run_against_virtuoso_with_endpoint(cli_env, remote, tmp_path):
    endpoint = cli_env.pop("CLUSTERPOLISEE_ENDPOINT")
    built = run_cli("build", "--endpoint", endpoint, env=cli_env)
    assert built.returncode == 0, built.stderr
    assert f"Built {endpoint}:" in built.stdout
    graphs = listing(run_cli("graphs", "--endpoint", endpoint, env=cli_env))
    assert set(graphs) == set(remote.graph_sizes()) and INFERRED in graphs
    dump = tmp_path / "remote.trig"
    exported = run_cli("export", "--endpoint", endpoint, "--output", str(dump), env=cli_env)
    assert exported.returncode == 0, exported.stderr
    local = tmp_path / "local"
    assert run_cli("import", "--store", str(local), str(dump)).returncode == 0
    assert listing(run_cli("graphs", "--store", str(local))) == graphs
    rematerialised = run_cli("materialise", "--endpoint", endpoint, env=cli_env)
    assert rematerialised.stdout.strip() == f"{INFERRED}: {graphs[INFERRED]} triples"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("blank.nq", '<https://example.org/s> <https://example.org/p> "o" _:g .\n'),
        ("blank.trig", '_:g { <https://example.org/s> <https://example.org/p> "o" . }\n'),
    ],
)
def test_a_graph_named_by_a_blank_node_is_refused_for_what_it_is(tmp_path, name, text):
    """Such a graph was reported as "triples outside a named graph", which it is not."""
    store = tmp_path / "store"
    assert run_cli("build", "--no-partners", "--store", str(store)).returncode == 0
    before = run_cli("graphs", "--store", str(store)).stdout
    dump = tmp_path / name
    dump.write_text(text, encoding="utf-8")
    proc = run_cli("import", "--store", str(store), str(dump))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        "error: the dump has triples in a graph named by the blank node _:g; the store keeps "
        "each graph under an IRI, so name it with one (e.g. <https://example.org/graph/mine>) "
        "and import the file again\n"
    )
    assert run_cli("graphs", "--store", str(store)).stdout == before


@pytest.fixture(scope="module")
def served_dumps(tmp_path_factory) -> tuple[dict[str, int], Path]:
    """A built store's graph sizes and the dumps the web app serves of it (publish.write_dumps,
    the code behind /dumps/clusterpolisee.nq.gz and .trig.gz)."""
    folder = tmp_path_factory.mktemp("served")
    store = folder / "store"
    assert run_cli("build", "--store", str(store)).returncode == 0
    with OxigraphStore(store, read_only=True) as opened:
        write_dumps(opened, folder / "dumps")
    return listing(run_cli("graphs", "--store", str(store))), folder / "dumps"


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("clusterpolisee.nq.gz", ()),
        ("clusterpolisee.trig.gz", ()),
        # gzip told by its magic bytes, whatever the name says
        ("clusterpolisee.nq.gz", ("--format", "nquads")),
    ],
)
def test_import_takes_the_dumps_as_the_server_serves_them(tmp_path, served_dumps, name, args):
    sizes, dumps = served_dumps
    dump = tmp_path / ("download.bin" if args else name)
    shutil.copyfile(dumps / name, dump)
    assert dump.read_bytes()[:2] == b"\x1f\x8b"
    store = tmp_path / "store"
    proc = run_cli("import", "--store", str(store), str(dump), *args)
    assert proc.returncode == 0, proc.stderr
    assert f"Imported {sum(sizes.values())} triples into {len(sizes)} graphs" in proc.stdout
    assert listing(run_cli("graphs", "--store", str(store))) == sizes


@pytest.mark.parametrize("name", ["mine.nq.gz", "mine.trig.gz"])
def test_export_to_a_gz_name_writes_gzip_that_import_reads(tmp_path, served_dumps, name):
    """A .gz name got plain N-Quads; now gzip of the format the name says."""
    sizes, dumps = served_dumps
    dump, store = tmp_path / name, tmp_path / "store"
    served = dumps / "clusterpolisee.nq.gz"
    assert run_cli("import", "--store", str(store), str(served)).returncode == 0
    proc = run_cli("export", "--store", str(store), "--output", str(dump))
    assert proc.returncode == 0, proc.stderr
    text = gzip.decompress(dump.read_bytes())
    fmt = ox.RdfFormat.TRIG if name.endswith(".trig.gz") else ox.RdfFormat.N_QUADS
    assert len(list(ox.parse(text, format=fmt))) == sum(sizes.values())
    again = tmp_path / "again"
    assert run_cli("import", "--store", str(again), str(dump)).returncode == 0
    assert listing(run_cli("graphs", "--store", str(again))) == sizes


def test_export_into_a_pipe_closed_early_ends_quietly(served_dumps, tmp_path):
    """`export | head` ended with "error: [Errno 32] Broken pipe" (exit 2)."""
    _, dumps = served_dumps
    store = tmp_path / "store"
    served = dumps / "clusterpolisee.nq.gz"
    assert run_cli("import", "--store", str(store), str(served)).returncode == 0
    proc = subprocess.run(
        f"{CLI} export --store {store} | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        executable="/bin/bash",
    )
    assert proc.stdout.count("\n") == 1 and proc.stdout.endswith(" .\n")
    assert proc.stderr == ""


def test_a_decompression_bomb_is_refused_before_it_is_read_and_creates_nothing(tmp_path):
    quad = b"<https://e.org/s> <https://e.org/p> <https://e.org/o> <https://e.org/g> .\n"
    bomb = tmp_path / "bomb.nq.gz"
    bomb.write_bytes(gzip.compress(quad * 2_000_000, compresslevel=9))  # 150 MB in ~0.5 MB
    assert bomb.stat().st_size * MAX_EXPANSION < len(quad) * 2_000_000
    store = tmp_path / "store"
    proc = run_cli("import", "--store", str(store), str(bomb))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(
        f"error: bomb.nq.gz decompresses to more than {MAX_EXPANSION} times its size ("
    )
    assert "refused as a possible decompression bomb; nothing was changed" in proc.stderr
    # refused after about MIN_EXPANDED bytes, not after the whole allowance
    read = int(re.search(r"\(([\d,]+) bytes from", proc.stderr)[1].replace(",", ""))
    assert MIN_EXPANDED < read < MIN_EXPANDED + (2 << 20)
    assert not store.exists()
    damaged = tmp_path / "damaged.nq.gz"
    damaged.write_bytes(bomb.read_bytes()[:1000])
    proc = run_cli("import", "--store", str(store), str(damaged))
    assert proc.returncode == 2
    assert proc.stderr == (
        "error: damaged.nq.gz is not a whole gzip file: Compressed file ended before the "
        "end-of-stream marker was reached\n"
    )
    assert not store.exists()


def test_a_failed_import_removes_the_store_it_created_and_only_that(tmp_path):
    bad = tmp_path / "bad.nq"
    bad.write_text('<https://example.org/s> <https://example.org/p> "x .\n', encoding="utf-8")
    good = tmp_path / "good.nq"
    good.write_text(
        '<https://example.org/s> <https://example.org/p> "x" <https://example.org/g> .\n'
        "# end of clusterpolisee dump: 1 quads in 1 graphs\n",
        encoding="utf-8",
    )
    # a bad file into a new, nested path: nothing is made, not even the parent folders
    nested = tmp_path / "new" / "deep" / "store"
    proc = run_cli("import", "--store", str(nested), str(bad))
    assert proc.returncode == 2 and "not valid nquads" in proc.stderr
    assert not (tmp_path / "new").exists()
    # the store is made, then opening it fails (a file where its journal folder goes): the
    # new store goes, the file that was there stays
    store, journal = tmp_path / "store", tmp_path / "store.journal"
    journal.write_text("not a journal", encoding="utf-8")
    proc = run_cli("import", "--store", str(store), str(good))
    assert proc.returncode == 2 and "cannot open the store at" in proc.stderr
    assert not store.exists() and journal.read_text(encoding="utf-8") == "not a journal"
    # an empty folder given as the store is left empty
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "empty.journal").write_text("x", encoding="utf-8")
    assert run_cli("import", "--store", str(empty), str(good)).returncode == 2
    assert empty.is_dir() and list(empty.iterdir()) == []
    # an existing store that fails the same way is kept, whole
    journal.unlink()
    assert run_cli("import", "--store", str(store), str(good)).returncode == 0
    before = run_cli("graphs", "--store", str(store)).stdout
    journal.write_text("not a journal", encoding="utf-8")
    assert run_cli("import", "--store", str(store), str(good)).returncode == 2
    journal.unlink()
    assert (
        run_cli("graphs", "--store", str(store)).stdout
        == before
        == "         1  https://example.org/g\n"
    )


def test_a_failure_after_an_existing_stores_journal_is_written_keeps_the_journal(tmp_path):
    """A large commit writes its journal, then applies it; failing half way, the store is
    finished from that journal at the next open. import's clean-up removed a journal it had
    not seen before, so an existing store would have stayed half-written."""
    good = tmp_path / "good.nq"
    good.write_text(
        '<https://example.org/s> <https://example.org/p> "x" <https://example.org/g> .\n'
        "# end of clusterpolisee dump: 1 quads in 1 graphs\n",
        encoding="utf-8",
    )
    store = tmp_path / "store"
    assert run_cli("import", "--store", str(store), str(good)).returncode == 0
    journal = folder_of(store)
    with pytest.raises(RuntimeError, match="half way"), undone_on_failure(store):
        journal.mkdir()  # what _commit_journaled writes before it applies
        (journal / "commit.json").write_text("{}", encoding="utf-8")
        raise RuntimeError("the apply failed half way")
    assert (journal / "commit.json").is_file() and (store / "CURRENT").is_file()


def test_a_failed_export_leaves_the_file_that_was_there(tmp_path):
    """On a remote store that cannot be reached, `export --output` left an empty dump over
    the previous backup."""
    from clusterpolisee.store.virtuoso_server import free_port

    backup = tmp_path / "backup.nq.gz"
    backup.write_bytes(b"the previous backup")
    endpoint = f"http://127.0.0.1:{free_port()}/sparql"
    proc = run_cli("export", "--endpoint", endpoint, "--output", str(backup))
    assert proc.returncode == 2 and "cannot reach the SPARQL server" in proc.stderr
    assert backup.read_bytes() == b"the previous backup"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.nq.gz"]


def test_scratch_graphs_left_on_a_remote_store_are_named_and_dropped(cli_env, remote):
    """An interrupted remote write left scratch graphs that every query counted, that
    `graphs` did not show and that no command removed."""
    endpoint = cli_env.pop("CLUSTERPOLISEE_ENDPOINT")
    assert run_cli("build", "--endpoint", endpoint, env=cli_env).returncode == 0
    scratch = graph_iri("partner/aida") + "#staging-left"
    remote.update(
        f"INSERT DATA {{ GRAPH <{scratch}> {{ <https://example.org/s> <https://example.org/p> "
        '"left over" } }'
    )
    seen = run_cli("graphs", "--endpoint", endpoint, env=cli_env)
    assert seen.returncode == 0 and scratch not in seen.stdout
    assert seen.stderr == (
        "warning: 1 scratch graphs of running or interrupted commits are in the store and "
        "every query sees their triples; 'clusterpolisee drop-staging' removes those of "
        "commits no longer running\n"
    )
    # No time recorded (a version before commits recorded it): its commit may be running, so
    # it stays and gets the time now, in its commit's marker graph.
    kept = run_cli("drop-staging", "--endpoint", endpoint, env=cli_env)
    assert (kept.returncode, kept.stdout) == (
        0,
        "left 1 scratch graph of 1 commit with no time recorded (written by an older "
        "clusterpolisee), timed from now: a run in 60 min drops them; if no commit is running, "
        "'clusterpolisee drop-staging --older-than 0' drops them now\n",
    )
    marker = f"{META_GRAPH}#staging-left"
    assert {g.value for g in remote.scratch_graphs()} == {scratch, marker}
    backdate(remote, marker, hours=1.1)  # as if that run was an hour ago
    dropped = run_cli("drop-staging", "--endpoint", endpoint, env=cli_env)
    assert (dropped.returncode, dropped.stdout) == (
        0,
        "dropped 2 scratch graphs of 1 commit (not seen for 60 min or more)\n",
    )
    assert run_cli("graphs", "--endpoint", endpoint, env=cli_env).stderr == ""
    assert remote.scratch_graphs() == []


def test_drop_staging_on_the_embedded_store_says_what_opening_it_dropped(tmp_path):
    """Opening the store to write drops the scratch graphs an earlier version left, so the
    command said it dropped 0."""
    path = tmp_path / "store"
    raw = ox.Store(str(path))
    ex = "https://example.org/"
    leftover = ox.NamedNode(graph_iri("partner/aida") + "#staging-dead")
    raw.add(ox.Quad(ox.NamedNode(ex + "s"), ox.NamedNode(ex + "p"), ox.Literal("x"), leftover))
    raw.flush()
    del raw
    proc = run_cli("drop-staging", "--store", str(path))
    assert (proc.returncode, proc.stdout) == (
        0,
        "dropped 1 scratch graph of 1 commit (no other process can write to this store "
        "meanwhile)\n",
    )
    again = run_cli("drop-staging", "--store", str(path))
    assert again.stdout == "no scratch graphs in the store\n"
