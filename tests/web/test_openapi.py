"""/openapi.json: the OpenAPI description derived from the catalog and the renderer, checked
against the OpenAPI 3.0 schema and against what a real server answers."""

import json
import shutil
import urllib.error
import urllib.parse
import urllib.request

import pyoxigraph as ox
import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate

from clusterpolisee import __version__
from clusterpolisee.catalog import Option
from clusterpolisee.namespaces import graph_iri
from clusterpolisee.store.oxigraph import OxigraphStore
from webapp import close_app
from webapp.access import RESULT_KIND, EngineStore
from webapp.openapi import MAX_ENUM, build
from webapp.renderer import FORMATS, suffixes
from webapp.views.queries import catalog

from .conftest import CPO, ID, RDFS_LABEL, make_app

OAS = "application/vnd.oai.openapi+json;version=3.0"
SPARQL_JSON = "application/sparql-results+json"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


@pytest.fixture(scope="module")
def spec(app) -> dict:
    resp = app.test_client().get("/openapi.json")
    assert resp.status_code == 200
    return json.loads(resp.data)


def _op(spec: dict, name: str) -> dict:
    return spec["paths"][f"/queries/{name}"]["get"]


def _params(spec: dict, name: str) -> dict[str, dict]:
    return {p["name"]: p for p in _op(spec, name)["parameters"]}


def _deref(spec: dict, node: dict) -> dict:
    """A schema with a top-level $ref resolved, carrying the components its own refs need."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        node = spec["components"]["schemas"][name]
    return {**node, "components": spec["components"]}


def _errors(spec: dict, schema: dict, body: object) -> list[str]:
    validator = OAS30Validator(_deref(spec, schema), format_checker=oas30_format_checker)
    return [e.message for e in validator.iter_errors(body)]


def _get(url: str, accept: str) -> tuple[int, str, bytes]:
    req = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def _bare(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip()


# (1) ------------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_0(spec):
    validate(spec)  # raises on any error
    assert spec["openapi"] == "3.0.3"
    assert spec["info"]["version"] == __version__
    assert spec["servers"] == [{"url": "http://localhost"}]
    assert "(http://localhost/queries)" in spec["info"]["description"]
    assert "(http://localhost/sparql)" in spec["info"]["description"]
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert all(i.isidentifier() for i in ids)


# (2) ------------------------------------------------------------------------------------


def test_every_question_has_its_path_and_parameters(spec):
    questions = catalog().queries
    paths = {p for p in spec["paths"] if p.startswith("/queries/")}
    assert paths == {f"/queries/{n}" for n in questions}
    for q in questions.values():
        op = _op(spec, q.name)
        assert op["operationId"] == q.name.replace("-", "_")
        assert op["summary"] == q.summary
        assert op["description"].startswith(q.description)
        assert op["tags"] == q.tags
        params = _params(spec, q.name)
        assert list(params) == [p.name for p in q.params], q.name
        for p in q.params:
            doc = params[p.name]
            assert doc["in"] == "query"
            # the catalog's "required" needs a value; a default gives one (see openapi.py)
            assert doc["required"] is (p.required and p.default is None), (q.name, p.name)
            assert p.label in doc["description"] or p.label == p.name
            schema = doc["schema"]
            if p.default is None:
                assert "default" not in schema
            else:
                assert str(schema["default"]) == p.default, (q.name, p.name)
            if p.allowed is not None:
                assert schema["enum"] == p.allowed
            if p.cls:
                assert p.cls in doc["description"]
        kinds = {f.mimetype for f in FORMATS if RESULT_KIND[q.kind] in f.kinds}
        assert set(op["responses"]["200"]["content"]) == kinds
        for suffix in suffixes(RESULT_KIND[q.kind]):
            assert f"`.{suffix}`" in op["description"]


def test_parameter_schemas_follow_the_catalog_types(spec):
    minimum = _params(spec, "shared-barrier-categories")["minRegions"]["schema"]
    assert minimum == {"type": "integer", "minimum": 1, "maximum": 100, "default": 2}
    text = _params(spec, "search")["text"]["schema"]
    assert text == {"type": "string", "maxLength": 200, "default": "cluster"}
    region = _params(spec, "policy-gaps")["region"]["schema"]
    assert region["format"] == "uri" and region["pattern"].startswith("^https?://")


# (3) ------------------------------------------------------------------------------------


def test_each_select_and_ask_answer_matches_its_documented_schema(app, server, spec):
    allowed = app.extensions["cpo.db"].service_allowlist
    checked, with_rows = [], 0
    for q in catalog().queries.values():
        if RESULT_KIND[q.kind] not in ("select", "ask"):
            continue
        status, ctype, body = _get(f"{server}/queries/{q.name}", SPARQL_JSON)
        responses = _op(spec, q.name)["responses"]
        if any(s not in allowed for s in q.services):  # federated, not allowed here
            assert status == 403, q.name
            assert _bare(ctype) in _error_types(spec, responses["403"])
            continue
        if _default_gone(spec, q.name):  # said so in the document: the default answer is 400
            assert status == 400, q.name
            assert _bare(ctype) in _error_types(spec, responses["400"])
            continue
        assert status == 200, (q.name, body[:200])
        assert _bare(ctype) == SPARQL_JSON
        doc = json.loads(body)
        schema = responses["200"]["content"][SPARQL_JSON]["schema"]
        assert _errors(spec, schema, doc) == [], q.name
        checked.append(q.name)
        with_rows += bool(doc.get("results", {}).get("bindings"))
    assert len(checked) >= 14, checked
    assert with_rows >= 10  # the schemas were checked against real rows


def _default_gone(spec: dict, name: str) -> bool:
    return any(
        "the default is not among them" in p["description"] for p in _op(spec, name)["parameters"]
    )


def test_a_default_missing_from_the_data_is_said_and_listed_without_enum(spec):
    """The web fixture replaced the demo partner's clusters: cluster-partners' default
    cluster is gone, so its value list would contradict its default."""
    cluster = _params(spec, "cluster-partners")["cluster"]
    assert "the default is not among them" in cluster["description"]
    assert "enum" not in cluster["schema"] and cluster["schema"]["default"]


def test_a_schema_refuses_an_answer_that_does_not_fit(spec):
    """The per-question schema is strict enough to mean something."""
    schema = _op(spec, "search")["responses"]["200"]["content"][SPARQL_JSON]["schema"]
    wrong = {"head": {"vars": ["nope"]}, "results": {"bindings": [{"nope": {"type": "uri"}}]}}
    assert len(_errors(spec, schema, wrong)) >= 2


def test_each_construct_serves_its_documented_types(server, spec):
    for q in catalog().queries.values():
        if RESULT_KIND[q.kind] != "graph":
            continue
        content = _op(spec, q.name)["responses"]["200"]["content"]
        assert "text/turtle" in content and "text/html" in content
        for media in content:
            status, ctype, body = _get(f"{server}/queries/{q.name}", media)
            assert status == 200, (q.name, media)
            assert _bare(ctype) == media
            assert body


# (4) ------------------------------------------------------------------------------------


def _error_types(spec: dict, response: dict) -> set[str]:
    name = response["$ref"].rsplit("/", 1)[1]
    return set(spec["components"]["responses"][name]["content"])


def test_a_value_outside_an_enum_gets_the_documented_400(server, spec):
    dataset = _params(spec, "external-links")["dataset"]["schema"]
    assert "Nowhere" not in dataset["enum"]
    documented = _error_types(spec, _op(spec, "external-links")["responses"]["400"])
    for accept, expected in ((SPARQL_JSON, "text/plain"), ("text/html", "text/html")):
        status, ctype, body = _get(f"{server}/queries/external-links?dataset=Nowhere", accept)
        assert status == 400
        assert _bare(ctype) == expected and expected in documented
    theme = _params(spec, "policy-mix")["theme"]["schema"]
    absent = ID + "theme/not-a-theme"
    assert absent not in theme["enum"]
    status, ctype, body = _get(f"{server}/queries/policy-mix?theme={absent}", SPARQL_JSON)
    assert status == 400 and _bare(ctype) == "text/plain"
    assert b"not an allowed value" in body


def test_the_endpoints_refusals_are_documented(server, spec):
    """A query past the length limit (413), one given twice (400), each as documented."""
    responses = spec["paths"]["/sparql"]["get"]["responses"]
    long_query = "ASK {} #" + "x" * 100_001
    body = urllib.parse.urlencode({"query": long_query}).encode()
    req = urllib.request.Request(
        f"{server}/sparql", data=body, headers={"Accept": SPARQL_JSON}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=60)
    assert refused.value.code == 413
    assert _bare(refused.value.headers["Content-Type"]) in _error_types(spec, responses["413"])
    twice = f"{server}/sparql?query=ASK%7B%7D&query=ASK%7B%7D"
    status, ctype, _ = _get(twice, SPARQL_JSON)
    assert status == 400 and _bare(ctype) in _error_types(spec, responses["400"])


def test_what_schemathesis_found_is_documented(server, spec):
    """An empty value takes the default (documented: allowEmptyValue), /sparql refuses an
    empty query (minLength 1), /sparql answers 304 too, data formats come before the page
    (a generated client types its answer by the first), and a Host header that is no host
    name gives a relative server."""
    for name, op in ((p, spec["paths"][p]["get"]) for p in spec["paths"] if "queries/" in p):
        assert all(param["allowEmptyValue"] for param in op["parameters"]), name
        assert next(iter(op["responses"]["200"]["content"])) != "text/html", name
    status, _, _ = _get(f"{server}/queries/clusters?theme=", SPARQL_JSON)
    assert status == 200
    sparql = spec["paths"]["/sparql"]["get"]
    (query,) = [p for p in sparql["parameters"] if p["name"] == "query"]
    assert query["schema"]["minLength"] == 1 and "304" in sparql["responses"]
    req = urllib.request.Request(f"{server}/openapi.json", headers={"Host": 'x"y'})
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert json.load(resp)["servers"] == [{"url": "/"}]


def test_a_class_parameter_lists_the_data_values_with_labels(app, spec):
    param = _params(spec, "policy-mix")["theme"]
    schema = param["schema"]
    assert schema["default"] in schema["enum"]
    labels = dict(zip(schema["enum"], schema["x-enum-descriptions"], strict=True))
    assert labels[ID + "theme/innovation"] == "Innovation and R&D driven cluster development"
    with app.test_request_context():  # the question page's drop-down, from the same engine
        shown = catalog().queries["policy-mix"].param("theme").options(EngineStore())
    assert [(o.value, o.label) for o in shown] == list(labels.items())
    assert "cpo:ThematicPriority" in param["description"]
    # an options query (not a class) gets the same: the regions of policy-gaps
    region = _params(spec, "policy-gaps")["region"]["schema"]
    assert region["default"] in region["enum"]
    assert len(region["enum"]) == len(region["x-enum-descriptions"])


# (5) ------------------------------------------------------------------------------------


def test_the_document_follows_the_data_version(store_path, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)
    app = make_app(copy, tmp_path, WORKERS=1, WARM_QUERIES=False)
    try:
        client = app.test_client()
        first = client.get("/openapi.json")
        again = client.get("/openapi.json")
        assert first.data == again.data and first.headers["ETag"] == again.headers["ETag"]
        app.extensions["cpo.openapi"].clear()  # built again, not kept: the same bytes
        assert client.get("/openapi.json?rebuilt").data == first.data
        assert client.get("/openapi.json", headers={"Accept": OAS}).data == first.data

        theme = ox.NamedNode(ID + "theme/made-up-theme")
        app.extensions["cpo.writer"].commit(
            replace={
                graph_iri("partner/openapi-test"): [
                    ox.Triple(theme, RDF_TYPE, ox.NamedNode(CPO + "ThematicPriority")),
                    ox.Triple(theme, RDFS_LABEL, ox.Literal("A made-up theme", language="en")),
                ]
            }
        )
        after = client.get("/openapi.json")
        assert after.data != first.data and after.headers["ETag"] != first.headers["ETag"]
        before, now = json.loads(first.data), json.loads(after.data)
        assert now["info"]["x-data-version"] != before["info"]["x-data-version"]
        old = _params(before, "data-gaps")["theme"]["schema"]
        new = _params(now, "data-gaps")["theme"]["schema"]
        assert theme.value not in old["enum"]
        position = new["enum"].index(theme.value)
        assert new["x-enum-descriptions"][position] == "A made-up theme"
    finally:
        close_app(app)
    with OxigraphStore(copy, read_only=True) as store:  # the commit did land in the copy
        assert store.data_version() == now["info"]["x-data-version"]


# (6) ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("application/*", "application/json"),
        ("application/vnd.oai.openapi+json", OAS),
        (OAS, OAS),
        ("application/json;q=0.5, application/vnd.oai.openapi+json", OAS),
    ],
)
def test_content_type_by_accept_and_cors(server, accept, expected):
    headers = {"Accept": accept} if accept else {}
    req = urllib.request.Request(f"{server}/openapi.json", headers=headers)
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.headers["Content-Type"] == expected
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert "Accept" in resp.headers["Vary"]
        assert resp.headers["ETag"]
        json.loads(resp.read())


def test_revalidation_and_the_link_from_the_catalog(client):
    first = client.get("/openapi.json")
    again = client.get("/openapi.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    html = client.get("/queries", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f'<link rel="service-desc" href="/openapi.json" type="{OAS}">' in html
    assert '<a href="/openapi.json">' in html


def test_a_long_value_list_is_left_out_and_said_where_to_find(app):
    """Past MAX_ENUM values a parameter gets no enum, and its description says where the
    values are (built from the real catalog with a list of 1,001 members)."""
    many = [Option(f"{ID}cluster/c{i:04}", f"Cluster {i}") for i in range(MAX_ENUM + 1)]
    few = [Option(f"{ID}theme/t{i}", f"Theme {i}") for i in range(3)]
    doc = build(
        catalog(),
        "http://example.org/cpo/",
        lambda p: many if p.cls == CPO + "Cluster" else few,
        (),
        "v1",
    )
    validate(doc)
    assert doc["servers"] == [{"url": "http://example.org/cpo"}]
    cluster = _params(doc, "cluster-partners")["cluster"]
    assert "enum" not in cluster["schema"]
    assert "1,001 of them, too many to list here" in cluster["description"]
    assert "/queries/cluster-partners" in cluster["description"]
    theme = _params(doc, "data-gaps")["theme"]["schema"]
    assert theme["enum"] == [o.value for o in few]
    assert theme["x-enum-descriptions"] == ["Theme 0", "Theme 1", "Theme 2"]
