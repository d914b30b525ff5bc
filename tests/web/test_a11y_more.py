"""Accessibility of forms and tables, through the Flask app on a real store: errors tied to
their fields, header cells with a scope, tables with a name, titles and headings that say
which page and which outcome. tests/web/test_browser_a11y.py checks keyboard behaviour in
Chromium."""

import io
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask

from clusterpolisee import paths
from webapp import close_app, tokens

from ..conftest import run_cli
from .conftest import make_app
from .test_submit import VALID, a_cluster_of

HTML = {"Accept": "text/html"}
INVALID = b"""@prefix cpo: <https://w3id.org/clusterpolisee/ontology#> .
<https://w3id.org/clusterpolisee/id/partner/marche-region/cluster/x> a cpo:Cluster ."""


class Page(HTMLParser):
    """Every element's tag and attributes in order, the text of each element with an id, and
    each table's header cells and caption."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: dict[str, str] = {}
        self.tables: list[dict] = []
        self._open: list[tuple[str, str | None]] = []  # (tag, id)
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a))
        if tag == "table":
            self.tables.append({"attrs": a, "th": [], "caption": None})
        elif tag == "th":
            self.tables[-1]["th"].append(a)
        elif tag == "caption":
            self.tables[-1]["caption"] = ""
            self._in_caption = True
        if tag not in {"input", "br", "meta", "link", "img"}:
            self._open.append((tag, a.get("id")))
            if a.get("id"):
                self.text[a["id"]] = ""

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            t, _ = self._open.pop()
            if t == tag:
                break
        if tag == "caption":
            self._in_caption = False

    def handle_data(self, data: str) -> None:
        for _, ident in self._open:
            if ident:
                self.text[ident] += data
        if self._in_caption:
            self.tables[-1]["caption"] += data

    def by_id(self, ident: str) -> tuple[str, dict[str, str]]:
        found = [(t, a) for t, a in self.elements if a.get("id") == ident]
        assert len(found) == 1, (ident, found)
        return found[0]

    def words(self, ident: str) -> str:
        return " ".join(self.text[ident].split())


def parsed(html: str) -> Page:
    p = Page()
    p.feed(html)
    return p


def title(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S)[1]


def assert_named_tables_with_scoped_headers(page: Page) -> None:
    """Every header cell has scope="col"; every table has a caption or names a heading."""
    assert page.tables
    for table in page.tables:
        assert table["th"] and [th.get("scope") for th in table["th"]] == ["col"] * len(
            table["th"]
        ), table
        if table["caption"] is None:
            ref = table["attrs"]["aria-labelledby"]
            tag, _ = page.by_id(ref)
            assert tag in {"h1", "h2", "h3"} and page.words(ref), table
        else:
            assert table["caption"].strip(), table


# -- 1, 2, 4, 7: the SPARQL page ---------------------------------------------------------------


def test_sparql_page_has_a_hint_for_the_keys_and_named_prefix_buttons(client):
    html = client.get("/sparql", headers=HTML).get_data(as_text=True)
    page = parsed(html)
    tag, hint = page.by_id("query-hint")
    # Hidden until app.js, which makes the keys work, shows it (every page works without it).
    assert tag == "small" and "hidden" in hint
    assert page.words("query-hint") == (
        "Ctrl+Enter (\u2318+Enter on a Mac) runs the query; Tab moves on to the format and the "
        "Run button."
    )
    assert html.index('for="query"') < html.index('id="query-hint"') < html.index('id="query"')
    buttons = [a for t, a in page.elements if t == "button" and "add-prefix" in a.get("class", "")]
    assert len(buttons) > 5
    shown = re.findall(r'<button type="button" class="add-prefix"[^>]*>([^<]+)</button>', html)
    labels = [b["aria-label"] for b in buttons]
    assert labels == [f"Add PREFIX {text} to the query" for text in shown]
    assert "Add PREFIX adms: to the query" in labels
    # The visible text is inside the accessible name (WCAG 2.5.3, speech input).
    assert all(text in label for text, label in zip(shown, labels, strict=True))


def test_a_sparql_syntax_error_is_tied_to_the_query_field(client):
    r = client.post("/sparql", data={"query": "SELECT * WHERE { ?s ?p }", "format": "html"})
    html = r.get_data(as_text=True)
    page = parsed(html)
    tag, error = page.by_id("query-error")
    assert tag == "p" and error["role"] == "alert" and "line 1, column" in page.words("query-error")
    _, field = page.by_id("query")
    assert field["aria-invalid"] == "true" and field["aria-describedby"] == "query-error"
    # Without an error the field is not marked.
    ok = parsed(client.get("/sparql", headers=HTML).get_data(as_text=True))
    assert "aria-invalid" not in ok.by_id("query")[1] and "query-error" not in ok.text


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", ["g", "n"]),
        ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 3", ["subject", "predicate", "object"]),
    ],
)
def test_sparql_results_have_scoped_headers_and_are_named_by_their_heading(client, query, headers):
    html = client.get("/sparql", query_string={"query": query, "format": "html"}).get_data(
        as_text=True
    )
    page = parsed(html)
    assert_named_tables_with_scoped_headers(page)
    (table,) = page.tables
    assert table["attrs"]["aria-labelledby"] == "results-heading"
    assert page.words("results-heading").startswith("Results ")
    heads = re.findall(r'<th scope="col">([^<]+)</th>', html)
    assert heads == headers


# -- 2: a stored question's bad parameter --------------------------------------------------------


def test_a_bad_parameter_is_tied_to_its_field_and_the_form(client):
    r = client.get("/queries/shared-barrier-categories?minRegions=abc", headers=HTML)
    assert r.status_code == 400
    page = parsed(r.get_data(as_text=True))
    tag, error = page.by_id("param-error")
    assert tag == "p" and error["role"] == "alert"
    expected = "At least this many regions must be a whole number, got 'abc'"  # its label
    assert page.words("param-error") == expected
    assert page.by_id("params")[1]["aria-describedby"] == "param-error"
    _, bad = page.by_id("p-minRegions")
    assert bad["aria-invalid"] == "true" and bad["aria-describedby"] == "param-error"
    _, other = page.by_id("p-theme")
    assert "aria-invalid" not in other and "aria-describedby" not in other


def test_an_unknown_parameter_points_only_the_form_to_the_error(client):
    r = client.get("/queries/shared-barrier-categories?nope=1", headers=HTML)
    assert r.status_code == 400
    page = parsed(r.get_data(as_text=True))
    assert page.words("param-error").startswith("unknown parameter 'nope'")
    assert page.by_id("params")[1]["aria-describedby"] == "param-error"
    assert not [a for _, a in page.elements if "aria-invalid" in a]


def test_a_good_parameter_marks_nothing(client):
    r = client.get("/queries/shared-barrier-categories?minRegions=2", headers=HTML)
    assert r.status_code == 200
    page = parsed(r.get_data(as_text=True))
    assert "param-error" not in page.text and "aria-describedby" not in page.by_id("params")[1]
    assert not [a for _, a in page.elements if "aria-invalid" in a]


# -- 3, 4: tables ------------------------------------------------------------------------------


def test_home_tables_have_column_headers_and_names(client):
    html = client.get("/", headers=HTML).get_data(as_text=True)
    page = parsed(html)
    assert_named_tables_with_scoped_headers(page)

    def heads(table_id: str) -> list[str]:
        table = re.search(rf'<table id="{table_id}".*?</table>', html, re.S)[0]
        return re.findall(r'<th scope="col">([^<]+)</th>', table)

    assert heads("per-class") == ["Class", "Resources"]
    assert heads("per-country") == ["Country", "Resources"]
    assert heads("themes") == ["WG", "theme", "partner resources"]
    names = {t["attrs"]["id"]: page.words(t["attrs"]["aria-labelledby"]) for t in page.tables}
    assert names == {
        "themes": "The six thematic priorities",
        "per-class": "Per class",
        "per-country": "Per country",
    }
    # Each data row still has one cell per header.
    per_class = re.search(r'<table id="per-class".*?</table>', html, re.S)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", per_class)
    assert len(rows) > 3 and all(r.count("<td>") == 2 for r in rows[1:])


def test_shape_tables_have_scoped_headers_named_by_their_shape(client):
    page = parsed(client.get("/shapes", headers=HTML).get_data(as_text=True))
    assert_named_tables_with_scoped_headers(page)
    for table in page.tables:
        ref = table["attrs"]["aria-labelledby"]
        assert ref.endswith("-heading") and page.by_id(ref.removesuffix("-heading"))[0] == "section"


@pytest.mark.parametrize(
    ("path", "caption"),
    [
        ("/queries/shared-barrier-categories", "Results: Barrier categories shared by emerging"),
        ("/queries/region-profile", "Results: "),
    ],
)
def test_stored_question_tables_have_a_caption_and_scoped_headers(
    store_path, tmp_path, path, caption
):
    # An app of its own: the session's app keeps pages in its page cache whatever the page
    # size, and test_pages reads region-profile's pages at a page size of 5.
    app = make_app(store_path, tmp_path, WRITABLE=False)
    try:
        page = parsed(app.test_client().get(path, headers=HTML).get_data(as_text=True))
    finally:
        close_app(app)
    assert_named_tables_with_scoped_headers(page)
    (table,) = page.tables
    assert table["attrs"]["id"] == "result-table"
    assert table["caption"].startswith(caption)


def test_the_visually_hidden_class_exists():
    css = (paths.ROOT / "webapp" / "static" / "style.css").read_text()
    rule = re.search(r"\.visually-hidden \{([^}]*)\}", css)[1]
    assert "position: absolute" in rule and "width: 1px" in rule and "overflow: hidden" in rule


# -- 5: a graph's page -------------------------------------------------------------------------


def test_a_graph_page_names_its_graph_in_title_and_heading(client):
    html = client.get("/graph/reference", headers=HTML).get_data(as_text=True)
    assert title(html) == "Graph reference"
    assert re.findall(r"<h1>(.*?)</h1>", html) == ["Named graph: reference"]
    partner = client.get("/graph/partner/evil", headers=HTML).get_data(as_text=True)
    assert title(partner) == "Graph partner/evil"
    assert re.findall(r"<h1>(.*?)</h1>", partner) == ["Named graph: partner/evil"]


# -- 2, 6: the upload form -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sub_app(tmp_path_factory) -> Iterator[Flask]:
    """A store of its own: an accepted upload changes it."""
    tmp = tmp_path_factory.mktemp("a11y-submit")
    proc = run_cli("build", "--store", str(tmp / "store"))
    assert proc.returncode == 0, proc.stderr
    app = make_app(tmp / "store", tmp, ARCHIVE=str(tmp / "archive"))
    yield app
    close_app(app)


def _csrf(client) -> str:
    html = client.get("/submit").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def _token(app: Flask, partner: str) -> str:
    return tokens.create(Path(app.config["TOKENS_FILE"]), partner)


def test_a_wrong_token_is_tied_to_the_token_field(sub_app):
    client = sub_app.test_client()
    files = [(io.BytesIO(b"x"), "clusters.csv")]
    r = client.post("/submit", data={"csrf_token": _csrf(client), "token": "no", "file": files})
    assert r.status_code == 403
    page = parsed(r.get_data(as_text=True))
    assert page.words("form-problem") == "the partner token is not valid: nothing was uploaded"
    _, token = page.by_id("token")
    assert token["aria-invalid"] == "true" and token["aria-describedby"] == "form-problem"
    _, file = page.by_id("file")
    assert "aria-invalid" not in file and file["aria-describedby"] == "choose-again"


def test_a_missing_file_is_tied_to_the_file_field(sub_app):
    client = sub_app.test_client()
    data = {"csrf_token": _csrf(client), "token": _token(sub_app, "marche-region")}
    r = client.post("/submit", data=data)
    assert r.status_code == 400
    page = parsed(r.get_data(as_text=True))
    assert page.words("form-problem") == "choose a file to upload"
    _, file = page.by_id("file")
    assert (
        file["aria-invalid"] == "true" and file["aria-describedby"] == "form-problem choose-again"
    )
    assert "aria-invalid" not in page.by_id("token")[1]


def test_the_empty_form_marks_nothing(sub_app):
    page = parsed(sub_app.test_client().get("/submit").get_data(as_text=True))
    assert not [a for _, a in page.elements if "aria-invalid" in a or "aria-describedby" in a]


def test_a_rejected_upload_says_so_in_the_title_and_its_report_has_a_heading(sub_app):
    client = sub_app.test_client()
    data = {"csrf_token": _csrf(client), "token": _token(sub_app, "marche-region")}
    r = client.post("/submit", data={**data, "file": (io.BytesIO(INVALID), "bad.ttl")})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert title(html) == "Rejected \u2013 Submit data"
    page = parsed(html)
    assert page.by_id("report")[1]["aria-labelledby"] == "report-heading"
    assert page.by_id("report-heading")[0] == "h2"
    assert page.words("report-heading") == "Validation report"
    assert html.index('id="report-heading"') < html.index("Rejected: nothing was changed")


def test_an_accepted_upload_says_so_in_the_title(sub_app):
    client = sub_app.test_client()
    data = {"csrf_token": _csrf(client), "token": _token(sub_app, "marche-region")}
    _, label = a_cluster_of(VALID)
    changed = VALID.read_bytes().replace(
        f'"{label}"@en'.encode(), f'"{label} (renamed)"@en'.encode(), 1
    )
    r = client.post("/submit", data={**data, "file": (io.BytesIO(changed), VALID.name)})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert title(html) == "Accepted \u2013 Submit data"
    assert parsed(html).words("report-heading") == "Validation report"
