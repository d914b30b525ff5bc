"""Excel workbooks (.xlsx) of SELECT and ASK answers on the web: /queries/<name>.xlsx, the
same URL by Accept, the query page's and the editor's download links, and /sparql."""

import csv
import io

import pytest

from clusterpolisee.xlsx import MEDIA_TYPE

from ..test_xlsx import about, cells, link, parts, read

SPARQL_VALUES = """PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
SELECT ?text ?n ?day ?web ?script WHERE {
  VALUES (?text ?n ?day ?web ?script) {
    ("=HYPERLINK(\\"http://evil.example/\\",\\"x\\")" 42 "2013-05-01"^^xsd:date
     <https://example.org/a> <javascript:alert(1)>)
  }
}"""
ASK = "ASK { ?c a <https://w3id.org/clusterpolisee/ontology#Cluster> }"
#: Pages asked for here with "page=1", a URL of their own: the app and its page cache are
#: shared, and other tests ask for the plain URLs with another PAGE_SIZE.
OWN = {"page": "1"}


def workbook_response(r, filename: str) -> bytes:
    assert r.status_code == 200, r.data[:300]
    assert r.headers["Content-Type"] == MEDIA_TYPE  # bytes: no charset
    assert r.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert "X-Result-Truncated" not in r.headers
    return r.data


def test_a_stored_question_as_a_workbook(app, client):
    data = workbook_response(client.get("/queries/external-links.xlsx"), "external-links.xlsx")
    table = cells(data)
    as_csv = list(csv.reader(io.StringIO(client.get("/queries/external-links.csv").text)))
    # the page's headings, each with its variable name (the CSV's header) as its comment
    assert as_csv[0] == ["resource", "label", "kind", "link", "target"]
    assert table[0] == ["Resource", "Label", "Kind", "Link", "Target"]
    header = read(data)["Results"][1]
    assert [c.comment.text for c in header] == as_csv[0]
    assert [[v or "" for v in row] for row in table[1:]] == as_csv[1:]
    hu32 = next(r for r in table if r[0].endswith("/region/HU32"))
    assert hu32[1] == "Észak-Alföld"  # UTF-8 CSV opened by Excel showed "Ã‰szak-AlfÃ¶ld"
    ws = read(data)["Results"]
    row = next(n for n, r in enumerate(table, start=1) if r is hu32)
    assert link(ws.cell(row, 1)) == hu32[0] and link(ws.cell(row, 2)) is None
    said = about(data)
    assert said["What"].startswith("Stored question external-links: ")
    assert said["Rows"] == f"{len(table) - 1:,}"
    assert said["Cut at a row limit"] == "no: every row of the answer is here"
    assert said["Data version"] == app.extensions["cpo.db"].version()
    assert said["Page"] == "http://localhost/queries/external-links"


def test_the_parameters_of_a_stored_question_are_in_about(client):
    r = client.get("/queries/search.xlsx", query_string={"text": "=Észak"})
    said = about(workbook_response(r, "search.xlsx"))
    assert said["Text to find"] == "=Észak"
    assert said["Page"] == "http://localhost/queries/search?text=%3D%C3%89szak"
    assert b"<f>" not in parts(r.data)["xl/worksheets/sheet2.xml"]


def test_a_yes_or_no_question_as_a_workbook(client):
    data = workbook_response(
        client.get("/queries/region-has-instrument.xlsx"), "region-has-instrument.xlsx"
    )
    assert cells(data) == [["boolean"], [True]]
    said = about(data)
    assert said["Region"] == "Marche (https://w3id.org/clusterpolisee/id/region/ITI3)"


def test_the_accept_header_gets_the_workbook_too(client):
    r = client.get("/queries/clusters", headers={"Accept": MEDIA_TYPE})
    data = workbook_response(r, "clusters.xlsx")
    assert cells(data)[0][:2] == ["Cluster", "Cluster name"]
    assert isinstance(cells(data)[1][-1], int)  # members: a number, not text
    assert "Accept" in r.headers["Vary"]
    # wildcards keep what they got: JSON for application/*, the page for */*
    wild = client.get("/queries/clusters", query_string=OWN, headers={"Accept": "application/*"})
    assert wild.mimetype == "application/sparql-results+json"
    page = client.get("/queries/clusters", query_string=OWN, headers={"Accept": "*/*"})
    assert page.mimetype == "text/html"


def test_a_graph_question_has_no_workbook(client):
    """As .csv: a suffix the answer cannot take is a 404, an Accept it cannot meet a 406."""
    for suffix in ("csv", "xlsx"):
        r = client.get(f"/queries/region-profile.{suffix}")
        assert r.status_code == 404 and b"no ." + suffix.encode() + b" format" in r.data
    refused = client.get("/queries/region-profile", headers={"Accept": MEDIA_TYPE})
    assert refused.status_code == 406 and b"xlsx" not in refused.data
    for fmt in ("csv", "xlsx"):
        args = {"query": "DESCRIBE <x:y>", "format": fmt}
        graph = client.get("/sparql", query_string=args)
        assert graph.status_code == 400 and f"unknown format '{fmt}'".encode() in graph.data
    args = {"query": "DESCRIBE <x:y>"}
    assert (
        client.get("/sparql", query_string=args, headers={"Accept": MEDIA_TYPE}).status_code == 406
    )


def test_the_query_page_and_the_editor_offer_the_workbook(client):
    html = {"Accept": "text/html"}
    page = client.get("/queries/clusters", query_string=OWN, headers=html).text
    assert 'href="/queries/clusters.xlsx"' in page
    graph = client.get("/queries/region-profile", query_string=OWN, headers=html).text
    assert ".xlsx" not in graph
    editor = client.get("/sparql", query_string={"query": ASK, "format": "html"}).text
    assert "format=xlsx" in editor


@pytest.mark.parametrize("how", ["format", "accept"])
def test_sparql_answers_as_a_workbook(client, how: str):
    args = {"query": SPARQL_VALUES, **({"format": "xlsx"} if how == "format" else {})}
    headers = {"Accept": MEDIA_TYPE} if how == "accept" else {}
    r = client.get("/sparql", query_string=args, headers=headers)
    data = workbook_response(r, "sparql-results.xlsx")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    ws = read(data)["Results"]
    assert [c.value for c in ws[1]] == ["text", "n", "day", "web", "script"]
    text, n, day, web, script = ws[2]
    assert text.value == '=HYPERLINK("http://evil.example/","x")' and text.data_type == "s"
    assert n.value == 42 and day.is_date and day.value.year == 2013
    assert link(web) == "https://example.org/a" and script.value == "javascript:alert(1)"
    assert link(script) is None
    assert b"<f>" not in parts(data)["xl/worksheets/sheet1.xml"]
    said = about(data)
    assert said["What"] == "SPARQL query" and said["Query"] == SPARQL_VALUES
    assert said["Page"].startswith("http://localhost/sparql?query=")


def test_sparql_yes_or_no_by_post(client):
    r = client.post("/sparql", data={"query": ASK, "format": "xlsx"})
    assert cells(workbook_response(r, "sparql-results.xlsx")) == [["boolean"], [True]]


def test_a_truncated_answer_says_so_in_its_workbook(store_path, tmp_path):
    from webapp import close_app

    from .conftest import make_app

    app = make_app(store_path, tmp_path, ROW_LIMIT=5, WORKERS=1, WRITABLE=False)
    try:
        c = app.test_client()
        for r in (
            c.get("/queries/clusters.xlsx"),
            c.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o }", "format": "xlsx"}),
        ):
            assert r.status_code == 200 and r.headers["X-Result-Truncated"] == "true"
            assert len(cells(r.data)) == 6  # the header and the 5 rows kept
            said = about(r.data)
            assert said["Rows"] == "5"
            assert said["Cut at a row limit"] == (
                "yes: the first 5 rows, the server's row limit (X-Result-Truncated)"
            )
    finally:
        close_app(app)


def test_the_workbook_is_written_by_a_query_worker(app, client):
    """A workbook of 10,000 rows is about 0.8 s of pure Python: written in the serving
    process, it held up every other request for as long. A worker writes it, as one job."""
    db = app.extensions["cpo.db"]
    as_csv = client.get("/queries/overview.csv", query_string=OWN)  # the answer, now cached
    jobs = db.pool.jobs
    r = client.get("/queries/overview.xlsx", query_string=OWN)
    assert db.pool.jobs == jobs + 1
    table = cells(workbook_response(r, "overview.xlsx"))
    assert len(table) == len(list(csv.reader(io.StringIO(as_csv.text)))) > 1
