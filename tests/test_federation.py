"""Federated stored queries, offline: a second real endpoint on loopback holds an external-style
cluster database; the stored query ``federated-cluster-profiles`` joins our clusters with it
through SERVICE, from the CLI and from the web page; an endpoint not on the allow-list is
refused; a dead or hung remote gives a clear error within the time limit."""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee.catalog import CatalogError, load_catalog, load_query
from clusterpolisee.linking import Candidate, review, save_proposals
from clusterpolisee.namespaces import graph_iri
from clusterpolisee.store.oxigraph import OxigraphStore
from webapp import close_app

from .conftest import CLI, run_cli
from .web.conftest import make_app

NAME = "federated-cluster-profiles"
ENDPOINT = "http://127.0.0.1:7878/sparql"
PORT = 7878
ID = "https://w3id.org/clusterpolisee/id/partner/"
ECCP = "https://reporting.clustercollaboration.eu/profile/"
# Accepted links from our clusters to profiles of the external database.
LINKS = {
    ID + "aws/cluster/vienna-ict-cluster": ECCP + "X001",
    ID + "aws/cluster/vienna-life-sciences-cluster": ECCP + "X003",
}
# The external database: schema.org profiles, one of them (X999) linked to nothing of ours.
EXTERNAL = f"""
@prefix schema: <http://schema.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<{ECCP}X001> a schema:Organization ; schema:name "ICT Cluster Vienna" ;
    schema:award "ESCA Silver Label" ; schema:numberOfEmployees 180 ;
    schema:url <https://ict-cluster.example.at/> .
<{ECCP}X003> a schema:Organization ; schema:name "Life Sciences Cluster Wien" ;
    schema:award "ESCA Gold Label" ; schema:numberOfEmployees 240 .
<{ECCP}X999> a schema:Organization ; schema:name "Unrelated cluster" .
"""
EXPECTED = {
    (ID + "aws/cluster/vienna-ict-cluster", "ICT Cluster Vienna", "ESCA Silver Label", "180"),
    (ID + "aws/cluster/vienna-life-sciences-cluster", "Life Sciences Cluster Wien",
     "ESCA Gold Label", "240"),
}  # fmt: skip


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until_free(port: int, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not port_is_free(port):
        assert time.monotonic() < deadline, f"port {port} stayed busy"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def our_store(demo_store: Path, tmp_path_factory) -> Path:
    """A copy of the demo store with two links accepted through the link review."""
    path = tmp_path_factory.mktemp("federation") / "store"
    shutil.copytree(demo_store, path)
    with OxigraphStore(path) as store:
        found = [
            Candidate(ours, theirs, 0.97, ["name 0.97"], external_name="x", source="test")
            for ours, theirs in LINKS.items()
        ]
        save_proposals(store, found)
        review(store, [c.id for c in found], [], "curator")
    return path


class Remote:
    """`clusterpolisee serve` over the external store, on the port the stored query names."""

    def __init__(self, store: Path, log: Path) -> None:
        self.store, self.log, self.proc = store, log, None

    def start(self) -> None:
        assert port_is_free(PORT), f"port {PORT} is busy: the federation test needs it"
        self.proc = subprocess.Popen(
            [str(CLI), "serve", "--store", str(self.store), "--port", str(PORT),
             "--workers", "1", "--tokens", str(self.log.with_suffix(".tokens"))],
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the second endpoint did not start"
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        self.proc = None
        wait_until_free(PORT)


@pytest.fixture(scope="module")
def remote(tmp_path_factory) -> Iterator[Remote]:
    tmp = tmp_path_factory.mktemp("external")
    with OxigraphStore(tmp / "store") as store:
        triples = [q.triple for q in ox.parse(EXTERNAL.encode(), format=ox.RdfFormat.TURTLE)]
        store.commit(replace={graph_iri("external/cluster-profiles"): triples})
    server = Remote(tmp / "store", tmp / "serve.log")
    server.start()
    yield server
    server.stop()


def cli_rows(proc: subprocess.CompletedProcess) -> set[tuple[str, ...]]:
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["results"]["bindings"]
    return {
        (b["cluster"]["value"], b["profileName"]["value"], b["managementLabel"]["value"],
         b["profileMembers"]["value"])
        for b in rows
    }  # fmt: skip


def query(store: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return run_cli("query", NAME, "--format", "json", "--store", str(store), *args, **kw)


def test_the_stored_query_names_its_endpoint_and_loads_without_contacting_it():
    q = load_catalog().get(NAME)
    assert q.services == [ENDPOINT]
    assert "SERVICE <" + ENDPOINT + ">" in q.text


def test_a_variable_service_endpoint_is_a_load_error(tmp_path):
    path = tmp_path / "v.rq"
    path.write_text("#+ summary: x\nSELECT * WHERE { SERVICE ?e { ?s ?p ?o } }\n")
    with pytest.raises(CatalogError, match=r"v.rq, line 2: SERVICE \?e: .*fixed IRI"):
        load_query(path)


def test_cli_joins_our_clusters_with_the_remote_profiles(our_store, remote):
    rows = cli_rows(query(our_store, "--allow-service", ENDPOINT))
    assert rows == EXPECTED
    # the allow-list from the environment, and a parameter bound next to the SERVICE call
    env = {"CLUSTERPOLISEE_SERVICE_ALLOW": f"http://127.0.0.1:1/x {ENDPOINT}"}
    austria = "https://w3id.org/clusterpolisee/id/country/AUT"
    assert cli_rows(query(our_store, "-p", f"country={austria}", env=env)) == EXPECTED
    italy = "https://w3id.org/clusterpolisee/id/country/ITA"
    assert cli_rows(query(our_store, "-p", f"country={italy}", env=env)) == set()


def test_cli_refuses_an_endpoint_not_on_the_allow_list(our_store, remote):
    env = {"CLUSTERPOLISEE_SERVICE_ALLOW": ""}
    proc = query(our_store, env=env)
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"calls SERVICE <{ENDPOINT}>, which is not on this run's allow-list" in proc.stderr
    assert "Traceback" not in proc.stderr
    other = query(our_store, "--allow-service", "http://127.0.0.1:7879/sparql", env=env)
    assert other.returncode == 2 and "not on this run's allow-list" in other.stderr


def test_web_page_joins_and_refuses(our_store, remote, tmp_path):
    app = make_app(our_store, tmp_path, WORKERS=1, WRITABLE=False, SERVICE_ALLOWLIST=(ENDPOINT,))
    try:
        client = app.test_client()
        r = client.get(f"/queries/{NAME}.json")
        assert r.status_code == 200, r.data
        got = {
            (b["cluster"]["value"], b["profileName"]["value"], b["managementLabel"]["value"],
             b["profileMembers"]["value"])
            for b in r.get_json(force=True)["results"]["bindings"]
        }  # fmt: skip
        assert got == EXPECTED
        page = client.get(f"/queries/{NAME}", headers={"Accept": "text/html"})
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "Life Sciences Cluster Wien" in html and "ESCA Silver Label" in html
        # allowed here, so the catalog does not mark it
        assert "not available on this server" not in client.get("/queries").get_data(as_text=True)
    finally:
        close_app(app)
    closed = make_app(our_store, tmp_path, WORKERS=1, WRITABLE=False)
    try:
        client = closed.test_client()
        r = client.get(f"/queries/{NAME}", headers={"Accept": "text/html"})
        assert r.status_code == 403
        text = r.get_data(as_text=True)
        assert 'id="unavailable"><strong>Not available on this server.</strong>' in text
        assert f"asks another SPARQL endpoint, &lt;{ENDPOINT}&gt;, for part of its answer" in text
        assert f"SERVICE &lt;{ENDPOINT}&gt;" in text  # the query text, to run elsewhere
        csv_ = client.get(f"/queries/{NAME}.csv")
        assert csv_.status_code == 403 and b"Federated query not allowed" in csv_.data
        assert f'<li class="unavailable"><a href="/queries/{NAME}">' in client.get(
            "/queries"
        ).get_data(as_text=True)
    finally:
        close_app(closed)


def test_a_dead_remote_gives_a_clear_error_at_once(our_store, remote, tmp_path):
    remote.stop()
    start = time.monotonic()
    proc = query(our_store, "--allow-service", ENDPOINT, "--timeout", "20")
    assert time.monotonic() - start < 15
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"the query calls SERVICE <{ENDPOINT}>" in proc.stderr
    assert "refused" in proc.stderr.lower() or "connect" in proc.stderr.lower(), proc.stderr
    app = make_app(our_store, tmp_path, WORKERS=1, WRITABLE=False, SERVICE_ALLOWLIST=(ENDPOINT,))
    try:
        r = app.test_client().get(f"/queries/{NAME}.csv")
        assert r.status_code == 502
        assert b"Federated query failed" in r.data and ENDPOINT.encode() in r.data
        # The same through /sparql: the endpoint's fault, not the query's (was 400)
        adhoc = f"SELECT * WHERE {{ SERVICE <{ENDPOINT}> {{ ?s ?p ?o }} }} LIMIT 1"
        client = app.test_client()
        r = client.post("/sparql", data={"query": adhoc}, headers={"Accept": "text/csv"})
        assert r.status_code == 502 and r.headers["Retry-After"] == "30"
        assert r.data.startswith(b"Federated query failed: ") and ENDPOINT.encode() in r.data
        page = client.post("/sparql", data={"query": adhoc}, headers={"Accept": "text/html"})
        assert page.status_code == 502
        assert f"the query calls SERVICE &lt;{ENDPOINT}&gt;" in page.get_data(as_text=True)
    finally:
        close_app(app)


def test_a_hung_remote_is_stopped_by_the_time_limit(our_store, remote, tmp_path):
    """A server that accepts the connection and never answers: pyoxigraph has no HTTP
    timeout, so the CLI's query process and the web worker are killed at the limit."""
    remote.stop()
    with socket.socket() as hung:
        hung.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hung.bind(("127.0.0.1", PORT))
        hung.listen(8)
        start = time.monotonic()
        proc = query(our_store, "--allow-service", ENDPOINT, "--timeout", "2", timeout=60)
        took = time.monotonic() - start
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert "did not finish within 2 s" in proc.stderr and ENDPOINT in proc.stderr
        assert took < 20
        app = make_app(
            our_store,
            tmp_path,
            WORKERS=1,
            WRITABLE=False,
            QUERY_TIMEOUT=2.0,
            SERVICE_ALLOWLIST=(ENDPOINT,),
        )
        try:
            start = time.monotonic()
            r = app.test_client().get(f"/queries/{NAME}.json")
            assert time.monotonic() - start < 10
            assert r.status_code == 504
            assert b"time limit of 2 s" in r.data and ENDPOINT.encode() in r.data
            adhoc = f"SELECT * WHERE {{ SERVICE <{ENDPOINT}> {{ ?s ?p ?o }} }} LIMIT 1"
            r = app.test_client().get("/sparql", query_string={"query": adhoc, "format": "json"})
            assert r.status_code == 504
            assert b"Federated query timed out" in r.data and ENDPOINT.encode() in r.data
        finally:
            close_app(app)


def test_a_local_failure_of_a_federated_query_is_not_blamed_on_the_remote(our_store, tmp_path):
    """A query calling an allowed endpoint whose worker ran out of memory locally got 502
    "Federated query failed ... that endpoint may be down": the server's own 503 is kept."""
    app = make_app(
        our_store,
        tmp_path,
        WORKERS=1,
        WRITABLE=False,
        WORKER_MEMORY_MB=1500,
        QUERY_TIMEOUT=30.0,
        SERVICE_ALLOWLIST=(ENDPOINT,),
    )
    try:
        q = (
            "SELECT * WHERE { { ?a ?b ?c . ?d ?e ?f } UNION "
            f"{{ SERVICE <{ENDPOINT}> {{ ?a ?b ?c }} }} }} ORDER BY ?c ?f LIMIT 1"
        )
        r = app.test_client().get("/sparql", query_string={"query": q, "format": "json"})
        assert r.status_code == 503 and r.headers["Retry-After"] == "5"
        assert b"more memory than a worker may use" in r.data
        assert b"Federated" not in r.data
    finally:
        close_app(app)
