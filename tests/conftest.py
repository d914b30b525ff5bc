import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph

from clusterpolisee import paths
from clusterpolisee.catalog import load_catalog
from clusterpolisee.store import OxigraphStore, open_store

CLI = Path(sys.executable).with_name("clusterpolisee")


def load(files: list[Path]) -> Graph:
    g = Graph()
    for f in files:
        g.parse(f, format="turtle")
    return g


@pytest.fixture(scope="session")
def ontology() -> Graph:
    """The ontology file alone."""
    return load([paths.ONTOLOGY_FILE])


@pytest.fixture(scope="session")
def vocab() -> Graph:
    """The ontology with all its SKOS schemes."""
    return load(paths.ontology_files())


@pytest.fixture(scope="session")
def reference() -> Graph:
    return load(paths.reference_files())


@pytest.fixture(scope="session")
def java() -> str:
    """Java is a declared system dependency (make test installs it): missing is a failure."""
    exe = shutil.which("java")
    assert exe, "java is not on PATH; run 'make test' (it installs openjdk-17-jre-headless)"
    return exe


def run_cli(*args: str, **kw) -> subprocess.CompletedProcess:
    """Run the installed console script, as a user would."""
    env = {**os.environ, **kw.pop("env", {})}
    return subprocess.run(
        [str(CLI), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=kw.pop("timeout", 600),
        **kw,
    )


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> Path:
    """A store built from the repository's data by the real `build` command, once per run.

    Tests open it read-only; a test that writes must build its own.
    """
    return built_store(tmp_path_factory, "demo")


def built_store(tmp_path_factory, name: str) -> Path:
    """A fresh store in a new temporary folder, built by the real `build` command."""
    path = tmp_path_factory.mktemp(name) / "store"
    proc = run_cli("build", "--store", str(path))
    assert proc.returncode == 0, proc.stderr
    return path


def built_with_archive(tmp_path_factory, name: str) -> tuple[Path, Path]:
    """A fresh store and its submissions archive, built by the real `build` command."""
    root = tmp_path_factory.mktemp(name)
    store, archive = root / "store", root / "archive"
    proc = run_cli("build", "--store", str(store), env={"CLUSTERPOLISEE_ARCHIVE": str(archive)})
    assert proc.returncode == 0, proc.stderr
    return store, archive


def cli_on(built: tuple[Path, Path], *args: str) -> subprocess.CompletedProcess:
    """The CLI on a store and archive of ``built_with_archive``."""
    store, archive = built
    return run_cli(*args, "--store", str(store), "--archive", str(archive))


def listed_clusters(store: Path, file: Path, partner: str, region: str) -> list:
    """Submit ``file`` for ``partner`` with the CLI (it must be accepted), then the cluster
    names the `clusters` question lists for ``region`` (a NUTS code)."""
    proc = run_cli("submit", str(file), "--partner", partner, "--store", str(store))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    region_iri = f"https://w3id.org/clusterpolisee/id/region/{region}"
    with open_store(str(store), read_only=True) as s:
        rows = load_catalog().get("clusters").run(s, {"region": region_iri}).rows
    return [r["clusterLabel"] for r in rows]


@pytest.fixture(scope="session")
def tied_store(tmp_path_factory) -> Path:
    """The demo store plus 300,000 synthetic triples, whose labels and dates repeat: 4,754
    knowledge transfers and 4,755 clusters, enough for the listings to be cut in two halves
    (store/halves.py)."""
    return synthetic_store(tmp_path_factory, "ties", 300000, seed=3)


def synthetic_store(tmp_path_factory, name: str, triples: int, seed: int) -> Path:
    """A built demo store plus ``triples`` synthetic triples (`generate`) and their
    inferences, in a new temporary folder."""
    from clusterpolisee.generate import generate
    from clusterpolisee.namespaces import graph_iri
    from clusterpolisee.reasoning.materialise import materialise

    path = built_store(tmp_path_factory, name)
    data = path.parent / "synthetic.nt"
    with data.open("wb") as fh:
        generate(fh, triples, seed=seed)
    with OxigraphStore(str(path)) as store:
        store.bulk_load(data, graph_iri("partner/synthetic"))
        materialise(store)
    return path


def dataset(store: Path) -> set[tuple[str, ...]]:
    """Every quad of the store as text (the store's content, for before/after checks)."""
    with open_store(str(store), read_only=True) as s:
        return {
            (str(t.subject), str(t.predicate), str(t.object), g)
            for g in s.graph_sizes()
            for t in s.graph_triples(g)
        }
