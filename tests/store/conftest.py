"""Store fixtures: a throwaway Virtuoso on loopback for the session, and a ``store`` fixture
parametrised over both backends (embedded Oxigraph on disk, remote Virtuoso)."""

import os
import shutil
from collections.abc import Iterator

import pytest

from clusterpolisee.store import OxigraphStore, Store
from clusterpolisee.store.remote import META_GRAPH, RemoteConfig, RemoteStore
from clusterpolisee.store.virtuoso_server import VirtuosoServer, start


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory) -> Iterator[VirtuosoServer]:
    """A real Virtuoso 7 (Debian virtuoso-opensource, installed by `make test`), stopped by
    PID at the end of the session. Missing Virtuoso is a failure, never a skip."""
    assert shutil.which("virtuoso-t"), (
        "virtuoso-t is not on PATH; run 'make test' (scripts/install-system-deps.sh installs "
        "virtuoso-opensource)"
    )
    server = start(tmp_path_factory.mktemp("virtuoso"))
    try:
        yield server
    finally:
        server.stop()


def remote_config(server: VirtuosoServer, **overrides) -> RemoteConfig:
    settings = dict(
        endpoint=server.endpoint,
        update_endpoint=server.update_endpoint,
        gsp_endpoint=server.gsp_endpoint,
        user=server.user,
        password=server.password,
    )
    settings.update(overrides)
    return RemoteConfig(**settings)


def wipe(store: RemoteStore) -> None:
    """Drop every graph of ours (and scratch graphs) so each test starts empty."""
    graphs = list(store.graph_sizes()) + [META_GRAPH]
    store.drop_staging()
    store.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in graphs))


@pytest.fixture
def remote(virtuoso) -> Iterator[RemoteStore]:
    store = RemoteStore(remote_config(virtuoso))
    wipe(store)
    yield store
    store.close()


@pytest.fixture(params=["oxigraph", "virtuoso"])
def store(request, tmp_path) -> Iterator[Store]:
    """The same tests on both backends."""
    if request.param == "oxigraph":
        s: Store = OxigraphStore(tmp_path / "store")
    else:
        s = request.getfixturevalue("remote")
    yield s
    if request.param == "oxigraph":
        s.close()


@pytest.fixture
def cli_env(virtuoso) -> dict[str, str]:
    """Environment that points the CLI at the test Virtuoso (credentials never on argv)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLUSTERPOLISEE_")}
    env.update(virtuoso.env())
    return env
