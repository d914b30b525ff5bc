"""Store fixtures: a throwaway Virtuoso on loopback for the session, and a ``store`` fixture
parametrised over both backends (embedded Oxigraph on disk, remote Virtuoso)."""

import contextlib
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

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


#: Where a commit records when it was last seen: in its marker graph (the stored format).
SEEN = "<https://w3id.org/clusterpolisee/ontology#stagingSeen>"
XSD_DATETIME = "<http://www.w3.org/2001/XMLSchema#dateTime>"


def backdate(remote: RemoteStore, marker: str, hours: float) -> None:
    """Make a commit's marker say it was last seen ``hours`` ago (a commit that crashed)."""
    at = (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    m = f"<{marker}>"
    remote.update(
        f"DELETE WHERE {{ GRAPH {m} {{ {m} {SEEN} ?t }} }} ;\n"
        f'INSERT DATA {{ GRAPH {m} {{ {m} {SEEN} "{at}"^^{XSD_DATETIME} }} }}'
    )


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


class Answering(http.server.BaseHTTPRequestHandler):
    """Answers every request with ``server.answer`` (status, content type, body), whatever
    it asks: a web server at a URL where a SPARQL or Graph Store endpoint was expected."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append(self.command)  # type: ignore[attr-defined]
        status, kind, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args) -> None:  # quiet test output
        pass


WEB_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Welcome</title><style>h1 {color: red}</style>"
    b"</head>\n<body><h1>Welcome to our site</h1><p>Nothing to see here.</p></body></html>\n"
)


@contextlib.contextmanager
def answering(
    status: int = 200, kind: str = "text/html; charset=utf-8", body: bytes = WEB_PAGE
) -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on loopback giving one answer to everything: its base URL and the
    methods of the requests it saw."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    server.answer, server.seen = (status, kind, body), []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.seen  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
