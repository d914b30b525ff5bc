"""Fixtures for the web tests: a real store built by the CLI, the app, a real waitress server."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
import pytest
import waitress
from flask import Flask
from waitress.wasyncore import close_all

from clusterpolisee.namespaces import graph_iri
from clusterpolisee.store.oxigraph import OxigraphStore
from webapp import close_app, create_app

from ..conftest import run_cli

ID = "https://w3id.org/clusterpolisee/id/"
EVIL = ox.NamedNode(ID + "partner/evil/cluster/x")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
XSS_LABEL = '<script>alert("label")</script><img src=x onerror=alert(1)>'
HOSTILE = [
    ox.Triple(
        EVIL,
        ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
        ox.NamedNode("https://w3id.org/clusterpolisee/ontology#Cluster"),
    ),
    ox.Triple(EVIL, RDFS_LABEL, ox.Literal(XSS_LABEL, language="en")),
    ox.Triple(EVIL, ox.NamedNode("http://schema.org/url"), ox.NamedNode("javascript:alert(2)")),
    ox.Triple(
        EVIL,
        ox.NamedNode("https://w3id.org/clusterpolisee/ontology#region"),
        ox.NamedNode(ID + "region/ITI3"),
    ),
    ox.Triple(
        EVIL,
        ox.NamedNode("http://purl.org/dc/terms/description"),
        ox.Literal("<b>bold</b> & <i>x</i>", language="en"),
    ),
]
CPO = "https://w3id.org/clusterpolisee/ontology#"
TEXTILE = ox.NamedNode(ID + "partner/nerda/cluster/textile")
DEMO = [  # one well-formed cluster, so the stored questions have rows to chart and map
    ox.Triple(
        TEXTILE,
        ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
        ox.NamedNode(CPO + "Cluster"),
    ),
    ox.Triple(TEXTILE, RDFS_LABEL, ox.Literal("Nord-Est Textile Cluster", language="en")),
    ox.Triple(TEXTILE, ox.NamedNode(CPO + "region"), ox.NamedNode(ID + "region/RO21")),
    ox.Triple(TEXTILE, ox.NamedNode(CPO + "theme"), ox.NamedNode(ID + "theme/skills")),
    ox.Triple(
        TEXTILE,
        ox.NamedNode(CPO + "numberOfMembers"),
        ox.Literal("40", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
    ),
    ox.Triple(TEXTILE, ox.NamedNode(CPO + "partner"), ox.NamedNode(ID + "partner/nerda")),
]
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


@pytest.fixture(scope="session")
def store_path(tmp_path_factory) -> Path:
    """A store built with `clusterpolisee build`, plus a hostile partner graph."""
    path = tmp_path_factory.mktemp("web") / "store"
    proc = run_cli("build", "--store", str(path))
    assert proc.returncode == 0, proc.stderr
    with OxigraphStore(path) as store:
        store.commit(replace={graph_iri("partner/evil"): HOSTILE, graph_iri("partner/nerda"): DEMO})
    return path


def make_app(store_path: Path, tmp_path: Path, **config) -> Flask:
    settings = {
        "STORE_PATH": str(store_path),
        "QUERY_TIMEOUT": 3.0,
        "WORKERS": 2,
        "TOKENS_FILE": str(tmp_path / "tokens.json"),
        "TESTING": True,
    }
    settings.update(config)
    return create_app(settings)


@pytest.fixture(scope="session")
def app(store_path, tmp_path_factory) -> Iterator[Flask]:
    application = make_app(store_path, tmp_path_factory.mktemp("app"))
    yield application
    close_app(application)


@pytest.fixture()
def client(app):
    return app.test_client()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def waitress_serving(app: Flask, threads: int) -> Iterator[str]:
    """The app under a real waitress server on a free loopback port; yields its base URL.

    The task threads stop first: a task that ends wakes the loop through its trigger, and
    writing to a trigger already closed fails with "Bad file descriptor" in that thread. The
    server is then closed from inside its own loop (closing it from here left the loop's thread
    in select() on a closed socket, the same error), and joined."""
    srv = waitress.create_server(app, host="127.0.0.1", port=free_port(), threads=threads)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.effective_port}"
    finally:
        srv.task_dispatcher.shutdown()
        try:
            srv.trigger.pull_trigger(lambda: close_all(srv._map))
        except OSError:  # its pipe was closed under it (RELIABILITY.md): close from here
            close_all(srv._map, ignore_all=True)
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def server(app) -> Iterator[str]:
    with waitress_serving(app, threads=8) as url:
        yield url
