"""The command line: help everywhere, build into a fresh store, idempotently."""

import pytest

from clusterpolisee import paths

from .conftest import run_cli

COMMANDS = ["build", "check-ontology", "graphs"]


def test_help_lists_every_command():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for cmd in COMMANDS:
        assert cmd in proc.stdout


def test_each_command_has_help():
    for cmd in COMMANDS:
        proc = run_cli(cmd, "--help")
        assert proc.returncode == 0, cmd
        assert "Usage: clusterpolisee " + cmd in proc.stdout


def reference_size() -> int:
    """Distinct triples in the reference files (the store keeps a set)."""
    import pyoxigraph as ox

    return len(
        {
            q.triple
            for f in paths.reference_files()
            for q in ox.parse(path=str(f), format=ox.RdfFormat.TURTLE)
        }
    )


def test_build_is_idempotent_and_reports_graphs(tmp_path):
    store = tmp_path / "store"
    first = run_cli("build", "--store", str(store))
    assert first.returncode == 0, first.stderr
    assert "https://w3id.org/clusterpolisee/graph/ontology:" in first.stdout
    reference_files = len(paths.reference_files())
    assert f"graph/reference: {reference_size()} triples from {reference_files} file(s)" in (
        first.stdout
    )
    listing1 = run_cli("graphs", "--store", str(store)).stdout
    second = run_cli("build", "--store", str(store))
    assert second.returncode == 0
    listing2 = run_cli("graphs", "--store", str(store)).stdout
    assert listing1 == listing2
    # ontology, reference, inferences, submissions' provenance and one graph per demo partner
    partners = len(list(paths.PARTNERS_DIR.glob("*.ttl")))
    assert len(listing1.strip().splitlines()) == 4 + partners


def test_graphs_without_store_is_a_clear_error(tmp_path):
    proc = run_cli("graphs", "--store", str(tmp_path / "missing"))
    assert proc.returncode == 2
    assert "no store at" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("seconds", ["3000000", "1e20", "inf", "nan", "-1", "0"])
@pytest.mark.parametrize("command", [["query", "overview"], ["sparql", "ASK {}"], ["materialise"]])
def test_a_time_limit_out_of_range_is_refused_by_name(tmp_path, command, seconds):
    """Huge, infinite or NaN limits ended in tracebacks; zero or negative ones were taken.
    The option is checked before the store is looked for: a path with no store, so that a
    writer such as materialise could touch nothing if that check were lost."""
    proc = run_cli(*command, "--timeout", seconds, "--store", str(tmp_path / "none"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "is not a time limit from 0.1 to 86,400 s" in proc.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["materialise"],
        ["submit", str(paths.PARTNERS_DIR / "aida.ttl"), "--partner", "aida"],
        ["restore", "20261206T180044Z-087972d9"],
        ["links", "review"],
        ["graphs"],
        ["query", "overview"],
        ["sparql", "ASK {}"],
    ],
)
def test_a_store_that_is_not_there_is_named_and_not_made(tmp_path, command):
    """Opening a store to write creates one: a mistyped --store made an empty store and the
    command went on ("unknown partner", "0 triples"); an empty folder gave RocksDB's error."""
    missing, empty = tmp_path / "nope", tmp_path / "empty"
    empty.mkdir()
    for store in (missing, empty):
        proc = run_cli(*command, "--store", str(store))
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert f"no store at {store}; run 'clusterpolisee build' first" in proc.stderr
    assert not missing.exists() and list(empty.iterdir()) == []
