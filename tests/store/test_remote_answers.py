"""What the remote backend makes of servers that answer, but not as a SPARQL or Graph Store
endpoint would: a web page where an update endpoint was expected (the write must fail, not
pass as done), a wrong path, a refused password, an error page. Real HTTP servers on
loopback (a live Virtuoso, and http.server in a thread); one-line messages that name the
setting to check."""

import http.server
import re
import socket
import struct
import threading
from urllib.parse import urlsplit

import pyoxigraph as ox
import pytest

from clusterpolisee.namespaces import graph_iri
from clusterpolisee.store import StoreError
from clusterpolisee.store.remote import RemoteConfig, RemoteStore, limited, own_limit
from clusterpolisee.store.virtuoso_server import free_port

from .conftest import answering, remote_config

EX = "https://example.org/"
CHECK_UPDATE = (
    "check CLUSTERPOLISEE_UPDATE_ENDPOINT (update_endpoint under [remote] in "
    "CLUSTERPOLISEE_STORE_CONFIG)"
)
CHECK_QUERY = (
    "check CLUSTERPOLISEE_ENDPOINT (endpoint under [remote] in CLUSTERPOLISEE_STORE_CONFIG)"
)
CHECK_GSP = (
    "check CLUSTERPOLISEE_GSP_ENDPOINT (gsp_endpoint under [remote] in CLUSTERPOLISEE_STORE_CONFIG)"
)
CREDENTIALS = (
    "CLUSTERPOLISEE_USER and CLUSTERPOLISEE_PASSWORD (user and password under [remote] in "
    "CLUSTERPOLISEE_STORE_CONFIG)"
)


def triple(value: str) -> ox.Triple:
    return ox.Triple(ox.NamedNode(EX + "a"), ox.NamedNode(EX + "p"), ox.Literal(value))


# -- a write the server acknowledged but did not make ---------------------------------------
def test_an_update_endpoint_that_answers_a_web_page_fails_the_commit(virtuoso, remote):
    g = graph_iri("test/web-page-update")
    remote.replace_graph(g, [triple("old")])
    version = remote.data_version()
    with answering() as (url, seen):
        fake = RemoteStore(remote_config(virtuoso, update_endpoint=f"{url}/update"))
        with pytest.raises(StoreError) as caught:
            fake.replace_graph(g, [triple("new")])
    assert str(caught.value) == (
        f"the server at {url}/update accepted the commit's update, but the store read at "
        f"{virtuoso.endpoint} did not change: {url}/update is not a SPARQL update endpoint of "
        f"that store; {CHECK_UPDATE}. The commit did not take effect; remove the scratch "
        "graphs it left with 'clusterpolisee drop-staging' in an hour, or with its "
        "--older-than 0 now if no other commit is running"
    )
    assert seen == ["POST", "POST"]  # the swap, then the attempt to drop the scratch graph
    assert remote.graph_triples(g) == [triple("old")] and remote.data_version() == version
    assert remote.drop_staging() == 2  # the data and the commit's marker, uploaded by GSP


def test_a_graph_store_endpoint_that_answers_a_web_page_fails_the_commit(
    virtuoso, remote, tmp_path
):
    """Before the check, the swap replaced the graph with the empty scratch graph: the
    partner's data was deleted and the commit reported done."""
    g = graph_iri("test/web-page-gsp")
    remote.replace_graph(g, [triple("old")])
    version = remote.data_version()
    with answering() as (url, seen):
        fake = RemoteStore(remote_config(virtuoso, gsp_endpoint=f"{url}/store"))
        with pytest.raises(StoreError) as caught:
            fake.replace_graph(g, [triple("new")])
        data = tmp_path / "one.nt"
        data.write_text(f"{triple('bulk')} .\n")
        with pytest.raises(StoreError) as bulk:
            fake.bulk_load(data, graph_iri("test/web-page-bulk"))
    pattern = (
        rf"the server at {url}/store accepted the upload to {re.escape(g)}#staging-[0-9a-f]{{32}}, "
        rf"but the store read at {virtuoso.endpoint} holds none of it: {url}/store is not a "
        rf"Graph Store endpoint of that store; {re.escape(CHECK_GSP)}\. The store is unchanged"
    )
    assert re.fullmatch(pattern, str(caught.value)), str(caught.value)
    assert str(bulk.value).startswith(
        f"the server at {url}/store accepted the upload to {graph_iri('test/web-page-bulk')}, "
    )
    assert seen == ["PUT", "PUT", "PUT"]  # the commit's marker and its data; the bulk load
    assert remote.graph_triples(g) == [triple("old")] and remote.data_version() == version
    assert remote.drop_staging() == 0


def test_without_a_graph_store_endpoint_ignored_inserts_fail_the_commit(virtuoso, remote):
    g = graph_iri("test/web-page-insert")
    remote.replace_graph(g, [triple("old")])
    with answering() as (url, _):
        fake = RemoteStore(
            remote_config(virtuoso, gsp_endpoint=None, update_endpoint=f"{url}/update")
        )
        with pytest.raises(StoreError, match="is not a SPARQL update endpoint of that store"):
            fake.replace_graph(g, [triple("new")])
    assert remote.graph_triples(g) == [triple("old")]


class Relay:
    """A TCP relay on loopback to a Virtuoso endpoint, for one request per connection (the
    backend sends ``Connection: close``). It calls ``before_answer(request, answer)`` before
    it passes an answer on (False: it closes instead), and resets connections from number
    ``reset_from`` on."""

    def __init__(self, target: str, before_answer=None, reset_from: int | None = None) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname, parts.port)
        self.before_answer, self.reset_from, self.accepted = before_answer, reset_from, 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}{parts.path}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._relay, args=(conn, self.accepted), daemon=True).start()

    def _relay(self, conn: socket.socket, number: int) -> None:
        with conn:
            request = _read_request(conn)
            if self.reset_from is not None and number >= self.reset_from:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return  # closed with RST
            with socket.create_connection(self.target) as upstream:
                upstream.sendall(request)
                answer = b"".join(iter(lambda: upstream.recv(65536), b""))
            if self.before_answer and self.before_answer(request, answer) is False:
                return  # the answer is lost: the connection closes without it
            conn.sendall(answer)

    def close(self) -> None:
        self.sock.close()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: *(\d+)", head)
    while length and len(body) < int(length.group(1)):
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_later_writer_does_not_make_a_commit_look_lost(virtuoso, remote):
    """Another commit between our swap and its check changes the data version again: the
    swap took all the same (its scratch graphs are gone), so the commit succeeds."""
    mine, theirs = graph_iri("test/mine"), graph_iri("test/theirs")

    def other_writer(request: bytes, answer: bytes) -> None:
        if b"staging" in request and answer.startswith(b"HTTP/1.1 200"):
            remote.replace_graph(theirs, [triple("theirs")])

    relay = Relay(virtuoso.update_endpoint, other_writer)
    try:
        RemoteStore(remote_config(virtuoso, update_endpoint=relay.url)).replace_graph(
            mine, [triple("mine")]
        )
    finally:
        relay.close()
    assert remote.graph_triples(mine) == [triple("mine")]
    assert remote.graph_triples(theirs) == [triple("theirs")]


def test_a_check_cut_off_after_the_swap_says_it_most_likely_took(virtuoso, remote):
    g = graph_iri("test/checked")
    remote.replace_graph(g, [triple("old")])
    relay = Relay(virtuoso.endpoint, reset_from=2)  # the upload's check passes, the swap's not
    try:
        with pytest.raises(StoreError) as caught:
            RemoteStore(remote_config(virtuoso, endpoint=relay.url)).replace_graph(
                g, [triple("new")]
            )
    finally:
        relay.close()
    assert str(caught.value) == (
        "the commit's update was answered, then checking it failed: cannot reach the SPARQL "
        f"server at {relay.url} (Connection reset by peer); check that it is running, then "
        "retry (the commit has most likely taken effect: check the store, clusterpolisee "
        "graphs, before retrying)"
    )
    assert remote.graph_triples(g) == [triple("new")] and remote.drop_staging() == 0


# -- servers that are not SPARQL endpoints ----------------------------------------------------
def test_a_web_page_where_results_were_asked_for_is_named(tmp_path):
    with answering() as (url, _), pytest.raises(StoreError) as caught:
        RemoteStore(RemoteConfig(endpoint=f"{url}/sparql")).data_version()
    assert str(caught.value) == (
        f"the server at {url}/sparql answered (HTTP 200, text/html; charset=utf-8) but is not "
        f"a SPARQL endpoint: {CHECK_QUERY}"
    )


def test_a_web_server_without_post_is_not_called_unreachable(tmp_path):
    (tmp_path / "index.html").write_text("<html><body>files</body></html>")

    class Files(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/sparql"
    try:
        with pytest.raises(StoreError) as caught:
            RemoteStore(RemoteConfig(endpoint=url)).graph_sizes()
    finally:
        server.shutdown()
        server.server_close()
    assert str(caught.value) == (
        f"the server at {url} answered (HTTP 501, text/html;charset=utf-8) but is not a "
        f"SPARQL endpoint: {CHECK_QUERY}"
    )


def test_a_wrong_path_on_virtuoso_gives_no_html(virtuoso):
    url = virtuoso.base + "/sparq"
    with pytest.raises(StoreError) as caught:
        RemoteStore(remote_config(virtuoso, endpoint=url)).graph_sizes()
    assert str(caught.value) == (
        f"the server at {url} answered (HTTP 404, text/html; charset=UTF-8) but is not a "
        f"SPARQL endpoint: {CHECK_QUERY}"
    )


def test_refused_credentials_name_the_settings(virtuoso, remote):
    g = graph_iri("test/credentials")
    wrong = RemoteStore(remote_config(virtuoso, password="not-the-password"))
    with pytest.raises(StoreError) as refused:
        wrong.update(f"INSERT DATA {{ GRAPH <{g}> {{ {triple('x')} }} }}")
    anonymous = RemoteStore(remote_config(virtuoso, user=None, password=None, gsp_endpoint=None))
    with pytest.raises(StoreError) as missing:
        anonymous.replace_graph(g, [triple("x")])
    wrong_gsp = RemoteStore(remote_config(virtuoso, password="not-the-password"))
    with pytest.raises(StoreError) as gsp:
        wrong_gsp.replace_graph(g, [triple("x")])
    assert str(refused.value) == (
        f"the SPARQL server at {virtuoso.update_endpoint} refused the credentials (HTTP 401): "
        f"check {CREDENTIALS}, and CLUSTERPOLISEE_AUTH (auth: digest or basic; now digest)"
    )
    assert str(missing.value) == (
        f"the SPARQL server at {virtuoso.update_endpoint} asks for credentials (HTTP 401): "
        f"set {CREDENTIALS}"
    )
    assert str(gsp.value) == (
        f"the Graph Store endpoint {virtuoso.gsp_endpoint} refused the credentials (HTTP 401): "
        f"check {CREDENTIALS}, and CLUSTERPOLISEE_AUTH (auth: digest or basic; now digest)"
    )
    assert g not in remote.graph_sizes() and remote.drop_staging() == 0


def test_virtuoso_errors_are_one_line_of_text(virtuoso, remote):
    with pytest.raises(StoreError) as caught:
        remote.run_query("SELECT ?x WHERE { ?x ?y }")
    assert str(caught.value) == (
        f"the SPARQL server at {virtuoso.endpoint} refused the query (HTTP 400): Virtuoso "
        "37000 Error SP030: SPARQL compiler, line 1: syntax error at '}' before '}'"
    )


def test_an_error_page_is_given_as_its_text(virtuoso):
    page = (
        b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html>\n  <head>\n    <title>'
        b"SPARQL Graph Protocol request failed</title>\n  </head>\n  <body>\n    <h1>HTTP/1.1 "
        b"500 Request Failed</h1>\n    <h3>Error 42000</h3>\n<xmp>The PUT request for graph "
        b"&lt;urn:x&gt; is rejected: disk full</xmp></body></html>"
    )
    with answering(500, "text/html; charset=UTF-8", page) as (url, _):
        store = RemoteStore(remote_config(virtuoso, gsp_endpoint=url))
        with pytest.raises(StoreError) as caught:
            store.replace_graph(graph_iri("test/error-page"), [triple("x")])
    assert str(caught.value) == (
        f"the Graph Store endpoint {url} refused the PUT (HTTP 500): HTTP/1.1 500 Request "
        "Failed Error 42000 The PUT request for graph <urn:x> is rejected: disk full"
    )


def test_an_unreachable_server_is_said_in_a_few_words():
    url = f"http://127.0.0.1:{free_port()}/sparql"
    with pytest.raises(StoreError) as caught:
        RemoteStore(RemoteConfig(endpoint=url, timeout=5)).graph_sizes()
    assert str(caught.value) == (
        f"cannot reach the SPARQL server at {url} (Connection refused); check that it is "
        "running, then retry"
    )


# -- the limit asked of the server -------------------------------------------------------------
def test_a_limit_wraps_the_query_and_keeps_its_prologue():
    query = "PREFIX ex: <https://example.org/#>\n# ours\nSELECT ?x WHERE { ?x ex:p ?y } # last"
    assert limited(query, 11) == (
        "PREFIX ex: <https://example.org/#>\n# ours\n\nSELECT * WHERE { {\n"
        "SELECT ?x WHERE { ?x ex:p ?y } # last\n} } LIMIT 11"
    )
    assert limited("SELECT ?x FROM <urn:g> WHERE { ?x ?p ?o }", 3) is None
    assert own_limit("SELECT * WHERE { ?s ?p ?o } ORDER BY ?s LIMIT 10000\n# end\n") == 10000
    assert own_limit("SELECT * WHERE { ?s ?p ?o } OFFSET 5 LIMIT 7") == 7
    assert own_limit("SELECT * WHERE { { SELECT * WHERE { ?s ?p ?o } LIMIT 3 } }") is None


def _is_swap(request: bytes, answer: bytes) -> bool:
    return b"dataVersion" in request and answer.startswith(b"HTTP/1.1 200")


def test_a_swap_whose_answer_is_lost_is_checked_not_reported_failed(virtuoso, remote):
    """The server applied the swap and closed without answering: the commit was reported
    failed ("cannot reach ..., retry") although it had taken effect."""
    g = graph_iri("test/answer-lost")
    remote.replace_graph(g, [triple("old")])
    relay = Relay(virtuoso.update_endpoint, lambda request, answer: not _is_swap(request, answer))
    try:
        RemoteStore(remote_config(virtuoso, update_endpoint=relay.url)).replace_graph(
            g, [triple("new")]
        )
    finally:
        relay.close()
    assert remote.graph_triples(g) == [triple("new")]
    assert remote.drop_staging() == 0


def test_an_empty_commit_is_not_lost_to_a_later_writer(virtuoso, remote):
    """A commit that uploads nothing (a graph emptied) had only the data version to show
    that it took; a later writer's version made it look refused."""
    mine, theirs = graph_iri("test/emptied"), graph_iri("test/theirs-too")
    remote.replace_graph(mine, [triple("mine")])

    def other_writer(request: bytes, answer: bytes) -> None:
        if _is_swap(request, answer) and b"emptied" in request:
            remote.replace_graph(theirs, [triple("theirs")])

    relay = Relay(virtuoso.update_endpoint, other_writer)
    try:
        RemoteStore(remote_config(virtuoso, update_endpoint=relay.url)).replace_graph(mine, [])
    finally:
        relay.close()
    assert remote.graph_triples(mine) == []
    assert remote.graph_triples(theirs) == [triple("theirs")]


@pytest.mark.parametrize(
    ("query", "limit"),
    [
        ("SELECT * { ?s ?p ?o } LIMIT 5", 5),
        ("SELECT * { ?s ?p ?o } OFFSET 2 LIMIT 7 # seven", 7),
        ("SELECT * { ?s ?p ?o } # was LIMIT 5", None),  # read from the comment before
        ("SELECT * { { SELECT * { ?s ?p ?o } LIMIT 3 } }", None),
        ('SELECT * { ?s ?p "LIMIT 9" } LIMIT 10000', 10000),
    ],
)
def test_a_querys_own_limit_is_its_outermost_one_outside_comments(query, limit):
    assert own_limit(query) == limit


def test_a_query_ending_in_values_is_not_wrapped():
    """Virtuoso 7.2.5 answers a sub-select with a VALUES block after its WHERE with no rows."""
    assert limited("SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s VALUES ?s { <a> <b> }", 2) is None
    inside = limited("SELECT ?s WHERE { VALUES ?s { <a> } ?s ?p ?o } # VALUES", 2)
    assert inside is not None and inside.endswith("} } LIMIT 2")


def test_a_bulk_load_ignored_over_a_graph_with_triples_is_refused(virtuoso, remote, tmp_path):
    """Its check asked only whether the graph held anything, which the old triples did."""
    g = graph_iri("test/bulk-over-old")
    remote.replace_graph(g, [triple("old")])
    data = tmp_path / "new.nt"
    data.write_text(f"{triple('new')} .\n{triple('newer')} .\n")
    with answering() as (url, seen):
        fake = RemoteStore(remote_config(virtuoso, gsp_endpoint=f"{url}/store"))
        with pytest.raises(StoreError) as caught:
            fake.bulk_load(data, g)
    assert seen == ["PUT"]
    assert str(caught.value) == (
        f"the server at {url}/store accepted the upload to {g}, but the store read at "
        f"{virtuoso.endpoint} does not hold it; {CHECK_GSP}"
    )
    assert remote.graph_triples(g) == [triple("old")]
    assert remote.bulk_load(data, g) == 2  # the real endpoint: the check passes
    assert sorted(t.object.value for t in remote.graph_triples(g)) == ["new", "newer"]
