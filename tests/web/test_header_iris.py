"""IRIs in response headers are URIs (RFC 8288, RFC 3987 section 3.1): a resource whose IRI
holds a character outside Latin-1 (partner data may: ``schema:url <.../id/€x>`` passes the
shapes) answered 500 in every RDF form, because waitress writes headers as Latin-1, and the
access log said 200. Through a real `clusterpolisee serve` and its stderr."""

import http.client
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
import waitress
from waitress.wasyncore import close_all

from clusterpolisee import serve as serve_module
from clusterpolisee.namespaces import graph_iri
from clusterpolisee.store.oxigraph import OxigraphStore
from webapp import url_builder

from ..conftest import built_store
from ..test_ops_serve_tokens import Server
from .conftest import ID, free_port

EURO = ox.NamedNode(ID + "€x")  # the object of a schema:url, as the review's upload had it
EURO_SUBJECT = ox.NamedNode(ID + "partner/aida/cluster/x€y")  # and a subject of its own
CLUSTER = ox.NamedNode(ID + "partner/aida/cluster/tirana-ict-cluster")
SCHEMA_URL = ox.NamedNode("http://schema.org/url")
LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
FORMS = [  # (path, Accept)
    ("/id/%E2%82%ACx.ttl", None),
    ("/id/%E2%82%ACx.nt", None),
    ("/id/%E2%82%ACx.jsonld", None),
    ("/id/%E2%82%ACx.rdf", None),
    ("/id/%E2%82%ACx", "text/turtle"),
    ("/id/%E2%82%ACx", "application/ld+json"),
]


@pytest.fixture(scope="module")
def euro_store(tmp_path_factory) -> Path:
    path = built_store(tmp_path_factory, "euro")
    with OxigraphStore(path) as store:
        store.commit(
            replace={
                graph_iri("partner/aida-euro"): [
                    ox.Triple(CLUSTER, SCHEMA_URL, EURO),
                    ox.Triple(EURO_SUBJECT, LABEL, ox.Literal("x € y", language="en")),
                ]
            }
        )
    return path


def get(url: str, path: str, accept: str | None) -> tuple[int, str | None]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", path, headers={"Accept": accept} if accept else {})
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("Link")
    finally:
        conn.close()


def test_header_iri_maps_an_iri_to_its_uri():
    assert url_builder.header_iri(ID + "€x") == ID + "%E2%82%ACx"
    # ASCII URIs, escapes already made and every reserved character are left as they are
    kept = "https://example.org/a%20b/c;d=e?f=g&h=i#j:k@l!$'()*+,[]~"
    assert url_builder.header_iri(kept) == kept
    # nothing that could end the <...> of a Link or the header itself
    assert url_builder.header_iri('x y<z>"\r\n') == "x%20y%3Cz%3E%22%0D%0A"
    assert url_builder.header_link(ID + "é", "canonical") == f'<{ID}%C3%A9>; rel="canonical"'


def test_a_non_latin1_iri_answers_in_every_rdf_form(euro_store, tmp_path):
    server = Server(euro_store, tmp_path / "log")
    try:
        answers = {(p, a): get(server.url, p, a) for p, a in FORMS}
        subject = get(server.url, "/id/partner/aida/cluster/x%E2%82%ACy.ttl", None)
        html = get(server.url, "/id/%E2%82%ACx", "text/html")
    finally:
        log = server.stop()
    describes = f'<{ID}%E2%82%ACx>; rel="describes"'  # the RDF documents: RFC 6892
    assert answers == {form: (200, describes) for form in FORMS}, log
    assert subject == (200, f'<{ID}partner/aida/cluster/x%E2%82%ACy>; rel="describes"')
    assert html[0] == 200
    # the access log has the status the client got, for each
    for path, _ in FORMS:
        assert f" GET {path} 200 " in log, log
    assert " 500 " not in log and "Traceback" not in log and "UnicodeEncodeError" not in log


def test_the_access_log_has_the_500_of_a_header_waitress_cannot_write():
    """Any header left outside Latin-1 (not only the Link fixed here) is waitress's 500
    after the app returned 200: the log line says 500."""

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Bad", "€")])
        return [b"ok"]

    front = serve_module.AccessLog()
    front.app = app
    srv = waitress.create_server(front, host="127.0.0.1", port=free_port(), threads=2)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        status, _ = get(f"http://127.0.0.1:{srv.effective_port}", "/bad-header", None)
    finally:
        srv.task_dispatcher.shutdown()
        srv.trigger.pull_trigger(lambda: close_all(srv._map))
        thread.join(timeout=10)
    assert status == 500
    deadline = time.monotonic() + 5
    while not any(" /bad-header " in x for x in serve_module._pending):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    line = next(x for x in serve_module._pending if " /bad-header " in x)
    serve_module._pending.remove(line)
    assert " GET /bad-header 500 " in line
