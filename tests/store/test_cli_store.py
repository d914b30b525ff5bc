"""The store commands as a user runs them: export, import, materialise, generate, and
--endpoint on the commands that touch the store."""

import hashlib

import pyoxigraph as ox
import pytest

from clusterpolisee.namespaces import graph_iri

from ..conftest import run_cli

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
