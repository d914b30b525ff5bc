"""The SPARQL endpoint: protocol, formats, real clients, and the limits of a public endpoint."""

import csv
import io
import json
import os
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

import pytest
from rdflib import RDFS, Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, POST, XML, SPARQLWrapper

from clusterpolisee.catalog import load_catalog
from webapp import close_app
from webapp.views.examples import examples

from .conftest import RUNAWAY, make_app

COUNT_REGIONS = """PREFIX cpo: <https://w3id.org/clusterpolisee/ontology#>
SELECT (COUNT(?r) AS ?n) WHERE { ?r a cpo:Region }"""
MARCHE = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?label WHERE { <https://w3id.org/clusterpolisee/id/region/ITI3> rdfs:label ?label }"""
CONSTRUCT = """CONSTRUCT { ?r ?p ?o } WHERE {
  VALUES ?r { <https://w3id.org/clusterpolisee/id/region/ITI3> } ?r ?p ?o }"""


def test_get_json(client):
    r = client.get(
        "/sparql",
        query_string={"query": COUNT_REGIONS},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert r.status_code == 200
    assert r.mimetype == "application/sparql-results+json"
    doc = r.get_json(force=True)
    assert doc["head"]["vars"] == ["n"]
    assert doc["results"]["bindings"][0]["n"]["value"] == "109"  # 27 NUTS-1 + 82 NUTS-2


def test_from_names_the_default_graph(client):
    """FROM makes the named graph the default graph, instead of the union of all of them."""
    ontology = "https://w3id.org/clusterpolisee/graph/ontology"

    def count(text: str) -> int:
        r = client.get("/sparql", query_string={"query": text}, headers={"Accept": "text/csv"})
        assert r.status_code == 200, r.get_data(as_text=True)
        return int(r.get_data(as_text=True).split()[1])

    whole = count("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    named = count(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{ontology}> {{ ?s ?p ?o }} }}")
    assert 1000 < named < whole
    assert count(f"SELECT (COUNT(*) AS ?n) FROM <{ontology}> WHERE {{ ?s ?p ?o }}") == named
    assert count("SELECT (COUNT(*) AS ?n) FROM <https://example.org/none> { ?s ?p ?o }") == 0


def test_protocol_dataset_parameters(client):
    """default-graph-uri and named-graph-uri choose the dataset, in place of the query's own."""
    ontology = "https://w3id.org/clusterpolisee/graph/ontology"
    reference = "https://w3id.org/clusterpolisee/graph/reference"

    def answer(text: str, **dataset: list[str]) -> list[list[str]]:
        args = {"query": text, **{k.replace("_", "-"): v for k, v in dataset.items()}}
        r = client.get("/sparql", query_string=args, headers={"Accept": "text/csv"})
        assert r.status_code == 200, r.get_data(as_text=True)
        return list(csv.reader(io.StringIO(r.get_data(as_text=True))))[1:]

    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    sizes = {
        g: int(answer(f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{g}> {{ ?s ?p ?o }} }}")[0][0])
        for g in (ontology, reference)
    }
    assert answer(count, default_graph_uri=[ontology]) == [[str(sizes[ontology])]]
    both = answer(count, default_graph_uri=[ontology, reference])
    assert both == [[str(sizes[ontology] + sizes[reference])]]
    # The parameters win over the query's FROM, and name the only named graphs.
    assert answer(
        f"SELECT (COUNT(*) AS ?n) FROM <{reference}> WHERE {{ ?s ?p ?o }}",
        default_graph_uri=[ontology],
    ) == [[str(sizes[ontology])]]
    graphs = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    assert answer(graphs, named_graph_uri=[reference]) == [[reference]]
    assert answer(graphs, default_graph_uri=[ontology]) == []
    assert answer(count, named_graph_uri=[reference]) == [["0"]]
    bad = client.get("/sparql", query_string={"query": count, "default-graph-uri": "not an iri"})
    assert bad.status_code == 400
    assert bad.get_data(as_text=True) == (
        "Bad Request: 'not an iri' is not an IRI (default-graph-uri and named-graph-uri name "
        "graphs)\n"
    )


def test_post_form_and_sparql_query_body(client):
    form = client.post("/sparql", data={"query": MARCHE}, headers={"Accept": "text/csv"})
    assert form.status_code == 200 and form.mimetype == "text/csv"
    assert list(csv.reader(io.StringIO(form.get_data(as_text=True)))) == [["label"], ["Marche"]]
    body = client.post(
        "/sparql",
        data=MARCHE,
        content_type="application/sparql-query",
        headers={"Accept": "text/tab-separated-values"},
    )
    assert body.status_code == 200
    assert body.get_data(as_text=True) == '?label\n"Marche"\n'


def test_xml_results_and_ask(client):
    r = client.get(
        "/sparql",
        query_string={"query": MARCHE},
        headers={"Accept": "application/sparql-results+xml"},
    )
    assert r.status_code == 200
    assert "<literal>Marche</literal>" in r.get_data(as_text=True)
    ask = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
    assert ask.get_json(force=True)["boolean"] is True


@pytest.mark.parametrize(
    "accept,mimetype,marker",
    [
        ("text/turtle", "text/turtle", "Marche"),
        ("application/n-triples", "application/n-triples", '"Marche"'),
        ("application/ld+json", "application/ld+json", '"Marche"'),
        ("application/rdf+xml", "application/rdf+xml", ">Marche<"),
    ],
)
def test_construct_formats(client, accept, mimetype, marker):
    r = client.get("/sparql", query_string={"query": CONSTRUCT}, headers={"Accept": accept})
    assert r.status_code == 200
    assert r.mimetype == mimetype
    assert marker in r.get_data(as_text=True)
    g = Graph().parse(
        data=r.data,
        format={
            "text/turtle": "turtle",
            "application/n-triples": "nt",
            "application/ld+json": "json-ld",
            "application/rdf+xml": "xml",
        }[accept],
    )
    iti3 = URIRef("https://w3id.org/clusterpolisee/id/region/ITI3")
    assert (iti3, RDFS.label, RdfLiteral("Marche")) in g
    assert {s for s, _, _ in g} == {iti3} and len(g) >= 7


def test_service_description_and_editor(client):
    sd = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert sd.status_code == 200 and sd.mimetype == "text/turtle"
    g = Graph().parse(data=sd.data, format="turtle")
    assert len(g) > 10
    page = client.get("/sparql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and b'<textarea id="query"' in page.data
    assert b"PREFIX cpo: &lt;https://w3id.org/clusterpolisee/ontology#&gt;" in page.data


def test_editor_examples_answer_as_their_question_pages(demo_store, tmp_path):
    """Each example is its stored question with the defaults bound (unbound, "Policy gaps
    of a region" listed every region's gaps); a federated question is not offered. On the
    store `build` makes, where every default exists."""
    app = make_app(demo_store, tmp_path, WORKERS=1)
    try:
        _compare_examples(app.test_client())
    finally:
        close_app(app)


def test_the_editor_reads_the_catalog_the_app_parsed(client, monkeypatch):
    """The editor's prefixes and examples come from the catalog parsed when the app started;
    each parsed it again on the first visit (2.9 s of the first /sparql page, demo store)."""
    import clusterpolisee.catalog
    from webapp.views import examples as editor

    def parse_again(*_args, **_kw):
        raise AssertionError("the catalog was parsed again")

    editor.prefixes.cache_clear()
    editor.examples.cache_clear()
    monkeypatch.setattr(clusterpolisee.catalog, "load_catalog", parse_again)
    page = client.get("/sparql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert b"PREFIX cpo: &lt;https://w3id.org/clusterpolisee/ontology#&gt;" in page.data
    assert len(editor.examples()) > 15


def _compare_examples(client) -> None:
    by_summary = {q.summary: q for q in load_catalog().queries.values()}
    shown = examples()[1:]
    assert "federated-cluster-profiles" not in {by_summary[t].name for t, _ in shown}
    compared = 0
    for title, text in shown:
        q = by_summary[title]
        if q.kind == "construct":
            continue
        accept = {"Accept": "text/csv" if q.kind == "select" else "application/json"}
        mine = client.post("/sparql", data={"query": text}, headers=accept)
        page = client.get(f"/queries/{q.name}.{'csv' if q.kind == 'select' else 'json'}")
        assert mine.status_code == page.status_code == 200, q.name
        if q.kind == "select":
            assert mine.data.count(b"\n") == page.data.count(b"\n"), q.name
        else:
            assert mine.get_json(force=True)["boolean"] == page.get_json()["boolean"], q.name
        compared += 1
    assert compared >= 15


def test_cors(client):
    pre = client.options(
        "/sparql",
        headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"},
    )
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    r = client.get("/sparql", query_string={"query": MARCHE})
    assert r.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    "query,status,words",
    [
        ("INSERT DATA { <http://a/b> <http://a/c> <http://a/d> }", 403, "INSERT DATA"),
        ("LOAD <http://example.org/data.ttl>", 403, "LOAD"),
        ("DROP ALL", 403, "DROP"),
        ("# SELECT * { ?s ?p ?o }\nCLEAR DEFAULT", 403, "CLEAR"),
        (
            "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
            403,
            "SERVICE <http://example.org/sparql>",
        ),
        (
            "PREFIX e: <http://example.org/>\nSELECT * { OPTIONAL { SERVICE SILENT e:sparql "
            "{ ?s ?p ?o } } }",
            403,
            "SERVICE <http://example.org/sparql>",
        ),
        ("SELECT * WHERE { SERVICE ?x { ?s ?p ?o } }", 403, "variable endpoint"),
        ("SELECT * WHERE { ?s ?p }", 400, "line 1, column"),
        ("", 400, "empty"),
    ],
)
def test_refused(client, query, status, words):
    r = client.get("/sparql", query_string={"query": query})
    assert r.status_code == status
    text = r.get_data(as_text=True)
    assert words in text
    assert "Traceback" not in text


def test_words_in_comments_and_strings_do_not_refuse(client):
    q = '# LOAD <http://x> SERVICE <http://y>\nSELECT ("SERVICE <http://z> {}" AS ?x) {}'
    r = client.get("/sparql", query_string={"query": q})
    assert r.status_code == 200
    assert r.get_json(force=True)["results"]["bindings"][0]["x"]["value"].startswith("SERVICE")


def test_large_and_nested_queries_are_checked(client):
    """rdflib's parser recurses about ten frames per pattern; the worker allows for that."""
    many = "SELECT * WHERE {" + " ".join(f"?s{i} <http://x/p{i}> ?o{i} ." for i in range(150))
    r = client.get("/sparql", query_string={"query": many + "}"})
    assert r.status_code == 200 and r.get_json(force=True)["results"]["bindings"] == []
    nested = "SELECT * WHERE {" + "{" * 300 + "?s ?p ?o" + "}" * 300 + "} LIMIT 1"
    assert client.get("/sparql", query_string={"query": nested}).status_code == 200
    hidden = "SELECT * WHERE {" + "{" * 200 + "SERVICE <http://e/> {?s ?p ?o}" + "}" * 200 + "}"
    r = client.get("/sparql", query_string={"query": hidden})
    assert r.status_code == 403 and b"SERVICE <http://e/>" in r.data
    deep = "SELECT * WHERE {" + "{" * 5000 + "?s ?p ?o" + "}" * 5000 + "}"
    r = client.get("/sparql", query_string={"query": deep})
    assert r.status_code == 400 and b"nested too deeply (over 500 levels)" in r.data


def test_brackets_that_look_like_an_iri_are_counted(client):
    """``1 <((1))>0`` is a comparison of nested brackets to the engine; the depth check once
    skipped it as an IRI, so any depth got through."""
    deep = "SELECT * WHERE { BIND((1 <" + "(" * 600 + "1" + ")" * 601 + ">0 AS ?x) }"
    r = client.get("/sparql", query_string={"query": deep})
    assert r.status_code == 400 and b"nested too deeply (over 500 levels)" in r.data
    # (1 < 1) > 0 compares a boolean with a number: an error, so COALESCE gives "ran".
    shallow = (
        "SELECT ?x WHERE { BIND(COALESCE((1 <" + "(" * 20 + "1" + ")" * 21 + '>0, "ran") AS ?x) }'
    )
    r = client.get("/sparql", query_string={"query": shallow})
    assert r.get_json(force=True)["results"]["bindings"] == [
        {"x": {"type": "literal", "value": "ran"}}
    ]
    iri = "SELECT ?x WHERE { BIND(<http://dbpedia.org/resource/Foo_(bar)> AS ?x) }"
    r = client.get("/sparql", query_string={"query": iri})
    assert r.get_json(force=True)["results"]["bindings"][0]["x"]["value"].endswith("Foo_(bar)")


def test_editor_shows_errors_with_the_query(client):
    r = client.get(
        "/sparql",
        query_string={"query": "SELECT * WHERE { ?s ?p }"},
        headers={"Accept": "text/html"},
    )
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'id="query-error"' in html and "line 1, column" in html
    assert "SELECT * WHERE { ?s ?p }</textarea>" in html


def test_post_without_query(client):
    r = client.post("/sparql", data={"nothing": "x"})
    assert r.status_code == 400 and b"no query" in r.data


def test_update_parameter_refused(client):
    r = client.post("/sparql", data={"update": "DROP ALL"})
    assert r.status_code == 403
    # The protocol's other way to send an update: a body of its own media type.
    r = client.post("/sparql", data="DROP ALL", content_type="application/sparql-update")
    assert r.status_code == 403
    assert "SPARQL Update is not allowed" in r.get_data(as_text=True)


def test_row_limit_is_reported(store_path, tmp_path):
    from .conftest import make_app

    app = make_app(store_path, tmp_path, ROW_LIMIT=5, WORKERS=1, WRITABLE=False)
    try:
        c = app.test_client()
        r = c.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o }"})
        assert r.status_code == 200
        assert r.headers["X-Result-Truncated"] == "true"
        assert r.headers["X-Row-Limit"] == "5"
        doc = r.get_json(force=True)
        assert len(doc["results"]["bindings"]) == 5 and doc["truncated"] is True
        html = c.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o }", "format": "html"})
        assert b"truncated at the row limit of 5" in html.data
    finally:
        from webapp import close_app

        close_app(app)


def _nice_of_threads(pid: int) -> set[int]:
    """The nice value of each thread of a process (field 19 of /proc/PID/task/TID/stat)."""
    values = set()
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        after_name = stat.read_text().rpartition(")")[2].split()
        values.add(int(after_name[16]))
    return values


@pytest.mark.parametrize("nice", [7, 0])
def test_query_workers_run_at_a_lower_priority_than_the_server(store_path, tmp_path, nice):
    app = make_app(store_path, tmp_path, WRITABLE=False, WORKERS=2, WORKER_NICE=nice)
    try:
        client = app.test_client()
        # A query, so each worker's job thread (and RocksDB's) has started.
        for text in ("ASK {}", "ASK { ?s ?p ?o }"):
            assert client.get("/sparql", query_string={"query": text}).status_code == 200
        pids = [w.proc.pid for w in list(app.extensions["cpo.db"].pool.idle.queue)]
        assert len(pids) == 2
        lower = min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice)
        assert [_nice_of_threads(p) for p in pids] == [{lower}, {lower}]
    finally:
        close_app(app)


def test_runaway_query_is_stopped_while_others_are_served(server):
    """A query past the 3 s limit gets 503; meanwhile other requests answer quickly."""
    outcome: dict = {}

    def runaway() -> None:
        start = time.perf_counter()
        url = f"{server}/sparql?" + urllib.parse.urlencode({"query": RUNAWAY})
        try:
            urllib.request.urlopen(url, timeout=30)
            outcome["status"] = 200
        except urllib.error.HTTPError as exc:
            outcome["status"] = exc.code
            outcome["body"] = exc.read().decode()
        outcome["seconds"] = time.perf_counter() - start

    t = threading.Thread(target=runaway)
    t.start()
    time.sleep(0.5)
    latencies = []
    for _ in range(10):
        start = time.perf_counter()
        with urllib.request.urlopen(
            f"{server}/sparql?" + urllib.parse.urlencode({"query": MARCHE, "format": "json"}),
            timeout=10,
        ) as resp:
            assert resp.status == 200
        latencies.append(time.perf_counter() - start)
    t.join(30)
    assert outcome["status"] == 503
    assert "time limit of 3 s" in outcome["body"]
    assert 2.9 < outcome["seconds"] < 8
    assert max(latencies) < 1.0, latencies
    # the killed worker is replaced: the endpoint still answers afterwards
    time.sleep(2)
    with urllib.request.urlopen(f"{server}/health", timeout=10) as resp:
        assert json.load(resp)["status"] == "ok"


def test_sparqlwrapper_json_xml_csv_get_and_post(server):
    for method in ("GET", POST):
        sw = SPARQLWrapper(f"{server}/sparql")
        sw.setMethod(method)
        sw.setQuery(MARCHE)
        sw.setReturnFormat(JSON)
        assert sw.queryAndConvert()["results"]["bindings"][0]["label"]["value"] == "Marche"
        sw.setReturnFormat(XML)
        doc = sw.queryAndConvert()
        assert doc.getElementsByTagName("literal")[0].firstChild.data == "Marche"
        sw.setReturnFormat(CSV)
        assert sw.queryAndConvert().decode().splitlines() == ["label", "Marche"]


def test_sparqlwrapper_json_and_xml_on_a_graph_query(server):
    """SPARQLWrapper sends format=json / format=xml for a CONSTRUCT too: JSON-LD and RDF/XML."""
    for fmt in (JSON, XML):
        sw = SPARQLWrapper(f"{server}/sparql")
        sw.setQuery(CONSTRUCT)
        sw.setReturnFormat(fmt)
        # The client warns that JSON is no graph format (it then sends Accept */* and
        # format=json); its graph classes warn of rdflib's deprecations. None is ours.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            graph = sw.queryAndConvert()
        said = [str(w.message) for w in caught]
        assert (fmt == JSON) == any("unexpected returned format 'json'" in m for m in said)
        marche = URIRef("https://w3id.org/clusterpolisee/id/region/ITI3")
        assert RdfLiteral("Marche") in set(graph.objects(marche, RDFS.label)), fmt


def test_sparqlwrapper_default_and_named_graphs(server):
    sw = SPARQLWrapper(f"{server}/sparql")
    sw.setReturnFormat(JSON)
    sw.setQuery("SELECT (COUNT(*) AS ?n) WHERE { ?s a <http://www.w3.org/2002/07/owl#Class> }")
    everywhere = int(sw.queryAndConvert()["results"]["bindings"][0]["n"]["value"])
    sw.addDefaultGraph("https://w3id.org/clusterpolisee/graph/reference")
    assert sw.queryAndConvert()["results"]["bindings"][0]["n"]["value"] == "0"
    sw.clearParameter("default-graph-uri")
    sw.addDefaultGraph("https://w3id.org/clusterpolisee/graph/ontology")
    in_ontology = int(sw.queryAndConvert()["results"]["bindings"][0]["n"]["value"])
    assert 10 < in_ontology <= everywhere


def test_rdflib_sparqlstore(server):
    store = SPARQLStore(f"{server}/sparql")
    rows = list(store.query(COUNT_REGIONS))
    assert int(rows[0][0]) == 109
    store.close()


def test_curl_content_negotiation(server):
    def curl(accept: str, path: str) -> tuple[str, str]:
        proc = subprocess.run(
            [
                "curl",
                "-s",
                "-H",
                f"Accept: {accept}",
                "-w",
                "\n%{http_code} %{content_type}",
                f"{server}{path}",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        body, _, status = proc.stdout.rpartition("\n")
        return body, status

    body, status = curl("text/turtle", "/id/region/ITI3")
    assert status == "200 text/turtle; charset=utf-8" and "Marche" in body
    body, status = curl("application/ld+json", "/id/country/ITA")
    assert status.startswith("200 application/ld+json") and json.loads(body)
    body, status = curl("application/rdf+xml", "/id/region/ITI3")
    assert status.startswith("200 application/rdf+xml") and "Marche" in body
    body, status = curl("application/n-triples", "/id/region/ITI3")
    assert status.startswith("200 application/n-triples")
    assert "<https://w3id.org/clusterpolisee/id/region/ITI3> " in body
    body, status = curl("text/html", "/id/region/ITI3")
    assert status.startswith("200 text/html") and "<h1>Marche</h1>" in body
    _, status = curl("text/turtle", "/id/region/XX99")
    assert status.startswith("404")


def test_service_on_the_allow_list_is_federated(store_path, tmp_path, server):
    """A second app may call the first one's endpoint because it is on its allow-list."""
    from webapp import close_app

    from .conftest import make_app

    endpoint = f"{server}/sparql"
    app = make_app(store_path, tmp_path, WORKERS=1, WRITABLE=False, SERVICE_ALLOWLIST=(endpoint,))
    try:
        q = (
            "SELECT ?l WHERE { SERVICE <" + endpoint + "> { <https://w3id.org/clusterpolisee/"
            "id/region/ITI3> <http://www.w3.org/2000/01/rdf-schema#label> ?l } }"
        )
        r = app.test_client().get("/sparql", query_string={"query": q})
        assert r.status_code == 200, r.data
        assert r.get_json(force=True)["results"]["bindings"][0]["l"]["value"] == "Marche"
        other = q.replace(endpoint, "http://127.0.0.1:9/sparql")
        assert app.test_client().get("/sparql", query_string={"query": other}).status_code == 403
        sd = app.test_client().get("/sparql", headers={"Accept": "text/turtle"})
        assert b"sd:BasicFederatedQuery" in sd.data
    finally:
        close_app(app)


def test_memory_hungry_query_ends_its_worker_only(store_path, tmp_path):
    """ORDER BY over a cross product materialises ~8 M rows: past the worker's 1.5 GB cap."""
    from webapp import close_app

    from .conftest import make_app

    app = make_app(
        store_path, tmp_path, WORKERS=1, WRITABLE=False, WORKER_MEMORY_MB=1500, QUERY_TIMEOUT=30.0
    )
    try:
        client = app.test_client()
        q = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f LIMIT 1"
        r = client.get("/sparql", query_string={"query": q})
        assert r.status_code == 503
        assert b"more memory than a worker may use" in r.data
        assert client.get("/health").status_code == 200  # waits for the fresh worker
    finally:
        close_app(app)
