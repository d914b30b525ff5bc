"""Behind a reverse proxy (`serve --proxies N`), the server's own URLs name the public address
the proxy forwards (X-Forwarded-Proto/-Host/-Prefix), and the access log names the client
(X-Forwarded-For). Before, the VoID advertised http://127.0.0.1:PORT/sparql to the world; and
without --proxies those headers stay ignored, as any client could send them."""

import shutil
import subprocess
import time
import urllib.request

import pytest
from rdflib import Graph, URIRef

from webapp import close_app

from ..conftest import CLI
from .conftest import free_port, make_app

VOID = "http://rdfs.org/ns/void#"
FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "kg.example.eu",
    "X-Forwarded-Prefix": "/cps",
    "X-Forwarded-For": "203.0.113.7",
}


def advertised(client) -> tuple[set[str], set[str]]:
    """The VoID's SPARQL endpoints and data dumps."""
    r = client.get("/.well-known/void", headers={"Accept": "text/turtle", **FORWARDED})
    assert r.status_code == 200
    g = Graph().parse(data=r.get_data(as_text=True), format="turtle")
    endpoints = {str(o) for o in g.objects(None, URIRef(VOID + "sparqlEndpoint"))}
    dumps = {str(o) for o in g.objects(None, URIRef(VOID + "dataDump"))}
    return endpoints, dumps


@pytest.fixture(scope="module")
def proxied(store_path, tmp_path_factory):
    app = make_app(
        store_path, tmp_path_factory.mktemp("proxied"), TRUSTED_PROXIES=1, WRITABLE=False
    )
    yield app
    close_app(app)


def test_behind_a_trusted_proxy_the_description_names_the_public_address(proxied):
    endpoints, dumps = advertised(proxied.test_client())
    assert endpoints == {"https://kg.example.eu/cps/sparql"}
    assert "https://kg.example.eu/cps/dumps/clusterpolisee.nq.gz" in dumps
    service = proxied.test_client().get("/sparql", headers={"Accept": "text/turtle", **FORWARDED})
    assert "<https://kg.example.eu/cps/sparql>" in service.get_data(as_text=True)


def test_without_proxies_the_forwarded_headers_are_ignored(client):
    endpoints, dumps = advertised(client)
    assert endpoints == {"http://localhost/sparql"}
    assert not any("example.eu" in d for d in dumps)


def test_serve_with_proxies_logs_the_forwarded_client(store_path, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(store_path, store)
    port = free_port()
    args = [str(CLI), "serve", "--store", str(store), "--port", str(port), "--workers", "1"]
    args += ["--no-warm", "--proxies", "1", "--tokens", str(tmp_path / "t.json")]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/health", headers=FORWARDED)
        for _ in range(150):
            try:
                with urllib.request.urlopen(request, timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                time.sleep(0.1)
        void = urllib.request.Request(
            f"http://127.0.0.1:{port}/.well-known/void",
            headers={"Accept": "application/n-triples", **FORWARDED},
        )
        with urllib.request.urlopen(void, timeout=30) as r:
            described = r.read().decode()
        time.sleep(0.6)  # the access lines are written every 0.25 s
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert f"<{VOID}sparqlEndpoint> <https://kg.example.eu/cps/sparql>" in described
    lines = [line for line in err.splitlines() if "clusterpolisee.access: GET /cps/health" in line]
    assert lines and lines[-1].endswith(" 203.0.113.7"), err[-2000:]
    assert (
        "--proxies"
        in subprocess.run(
            [str(CLI), "serve", "--help"], capture_output=True, text=True, check=True
        ).stdout
    )
