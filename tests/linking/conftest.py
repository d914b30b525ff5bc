"""Fixtures for the linking tests: a real on-disk store built by the CLI, with the demo partner
data loaded into the partner graphs (as accepted submissions would be)."""

import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee import paths
from clusterpolisee.namespaces import graph_iri
from clusterpolisee.store import open_store

from ..conftest import run_cli

EVAL = Path(__file__).parent / "eval"
EVAL_OPTIONS = [
    "--column", "id=Profile ID",
    "--column", "name=Organisation name",
    "--column", "alt_name=Other names",
    "--column", "country=Country",
    "--column", "region=Region",
    "--column", "sector=NACE",
    "--column", "url=Website",
    "--id-base", "https://example.org/cluster-db/profile/",
]  # fmt: skip


def load_partners(store_path: Path) -> None:
    graphs = {}
    for f in sorted(paths.PARTNERS_DIR.glob("*.ttl")):
        with f.open("rb") as fh:
            graphs[graph_iri(f"partner/{f.stem}")] = [
                q.triple for q in ox.parse(fh, format=ox.RdfFormat.TURTLE)
            ]
    with open_store(str(store_path)) as store:
        store.commit(replace=graphs)


@pytest.fixture(scope="session")
def partner_store(tmp_path_factory) -> Path:
    """Built once; tests open it read-only or copy it (see ``writable_store``)."""
    path = tmp_path_factory.mktemp("linking") / "store"
    proc = run_cli("build", "--store", str(path))
    assert proc.returncode == 0, proc.stderr
    load_partners(path)
    return path


@pytest.fixture
def writable_store(partner_store: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(partner_store, copy)
    return copy
