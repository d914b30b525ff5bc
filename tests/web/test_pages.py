"""Every page and status code through Flask's test client, including hostile data."""

import datetime as dt
import io
import re
import shutil
from urllib.parse import parse_qs, urlencode, urlsplit

import pyoxigraph as ox
import pytest

from clusterpolisee.namespaces import graph_iri
from webapp import close_app, tokens

from .conftest import ID, XSS_LABEL, make_app

DCTERMS = "http://purl.org/dc/terms/"

EVIL_PAGE = "/id/partner/evil/cluster/x"


def test_home_counts_and_themes(client):
    r = client.get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.count("<tr><td>WG") == 6
    assert "Innovation and R&amp;D driven cluster development" in html
    # 109 regions are counted under the class "region", linked to its ontology entry
    assert re.search(r'href="/ontology#Region"[^>]*>region</a></td><td>109</td>', html)


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["status"] == "ok" and doc["store"] == "reachable"
    assert re.fullmatch(r"[0-9a-f]{32}", doc["data_version"])


def test_resource_page_html(client):
    r = client.get(
        "/id/region/ITI3", headers={"Accept": "text/html", "Accept-Language": "it,en;q=0.5"}
    )
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "<h1>Marche</h1>" in html
    assert 'href="http://data.europa.eu/nuts/code/ITI3" rel="noopener nofollow"' in html
    assert 'href="/id/country/ITA"' in html  # labelled link to a local resource
    assert "NUTS (Eurostat): <a" in html
    assert "regione" in html  # the class label in the preferred language (Italian)
    assert 'id="incoming"' in html  # the NUTS-1 region's ... or a partner refers to it


def test_resource_language_fallback(client):
    r = client.get("/id/country/AUT", headers={"Accept": "text/html", "Accept-Language": "fr"})
    assert "<h1>Austria</h1>" in r.get_data(as_text=True)


@pytest.mark.parametrize(
    "suffix,mimetype",
    [
        ("ttl", "text/turtle"),
        ("nt", "application/n-triples"),
        ("jsonld", "application/ld+json"),
        ("rdf", "application/rdf+xml"),
    ],
)
def test_resource_by_suffix(client, suffix, mimetype):
    r = client.get(f"/id/region/ITI3.{suffix}")
    assert r.status_code == 200 and r.mimetype == mimetype
    assert "Marche" in r.get_data(as_text=True)


def test_a_link_status_dereferences_to_its_concept(client):
    """The adms:status of each link candidate answered an empty 200: nothing said what
    "accepted" means. The states are a SKOS scheme of ontology/schemes now."""
    r = client.get("/id/link-status/accepted.nt")
    assert r.status_code == 200
    got = {q.triple for q in ox.parse(r.data, format=ox.RdfFormat.N_TRIPLES)}
    me = ox.NamedNode("https://w3id.org/clusterpolisee/id/link-status/accepted")
    skos = "http://www.w3.org/2004/02/skos/core#"
    assert (
        ox.Triple(me, ox.NamedNode(skos + "prefLabel"), ox.Literal("Accepted", language="en"))
        in got
    )
    assert (
        ox.Triple(
            me,
            ox.NamedNode(skos + "inScheme"),
            ox.NamedNode("https://w3id.org/clusterpolisee/id/scheme/link-status"),
        )
        in got
    )
    html = client.get("/id/link-status/rejected", headers=HTML).get_data(as_text=True)
    assert "<h1>Rejected</h1>" in html and "the pair is not proposed again" in html


def test_resource_errors(client):
    assert client.get("/id/region/XX99").status_code == 404
    assert client.get("/id/region/ITI3.exe").status_code == 404
    assert client.get("/id/region/ITI3", headers={"Accept": "image/png"}).status_code == 406
    assert client.get("/nowhere").status_code == 404


def test_stored_xss_is_escaped_and_javascript_iri_not_linked(client):
    r = client.get(EVIL_PAGE, headers={"Accept": "text/html"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert XSS_LABEL not in html and "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;label&#34;)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html
    assert "javascript:alert(2)" in html  # shown as text
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script at all
    # the same label through a stored query table and the SPARQL editor
    q = client.get(
        "/sparql",
        query_string={
            "query": "SELECT ?l ?u { ?s "
            "<http://www.w3.org/2000/01/rdf-schema#label> ?l ; <http://schema.org/url> "
            "?u }",
            "format": "html",
        },
    )
    assert "<script>alert" not in q.get_data(as_text=True)
    assert 'href="javascript:' not in q.get_data(as_text=True)


def test_ontology_and_shapes(client):
    r = client.get("/ontology", headers={"Accept": "text/html"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="Cluster"' in html and "Usage note:" in html
    assert "Innovation and R&amp;D driven cluster development" in html
    ttl = client.get("/ontology", headers={"Accept": "text/turtle"})
    assert ttl.mimetype == "text/turtle" and b"cpo:Cluster" in ttl.data
    assert client.get("/ontology.jsonld").mimetype == "application/ld+json"
    assert client.get("/ontology.exe").status_code == 404
    assert client.get("/shapes", headers={"Accept": "text/html"}).status_code == 200
    assert client.get("/shapes.ttl").mimetype == "text/turtle"


def test_shapes_are_described_by_their_class_not_by_an_error_message(client):
    """Each shape showed its closed-shape violation message as its description."""
    html = client.get("/shapes", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "uses a property that a barrier does not have" not in html
    assert "An obstacle to cluster development that a partner reports" in html


@pytest.mark.parametrize("path", ["/ontology", "/shapes"])
def test_documentation_chosen_by_accept_says_so_to_caches(client, path):
    """The HTML of /ontology and /shapes had no Vary: Accept, which their RDF had: a cache
    could give the page to a client that asked for Turtle."""
    for accept in ("text/html", "text/turtle"):
        r = client.get(path, headers={"Accept": accept})
        assert r.status_code == 200 and r.headers["Vary"] == "Accept, Accept-Encoding", accept
    # A suffix chooses alone (only gzip, webapp.compress, varies).
    assert client.get(path + ".html").headers["Vary"] == "Accept-Encoding"


def test_a_question_without_a_chart_shows_none(client):
    """pilot-actions drew bars of its start years, all 2013, labelled by five cut names."""
    html = client.get("/queries/pilot-actions", headers=HTML).get_data(as_text=True)
    assert 'id="chart"' not in html and "<table" in html
    assert 'id="chart"' in client.get("/queries/overview", headers=HTML).get_data(as_text=True)


def test_query_catalog_and_page(client):
    r = client.get("/queries")
    assert r.status_code == 200 and b'href="/queries/overview"' in r.data
    page = client.get("/queries/overview", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<select id="p-country" name="country">' in html
    assert '<option value="https://w3id.org/clusterpolisee/id/country/ITA">' in html
    assert 'id="stable-url"' in html and 'id="sparql-text"' in html
    csv_ = client.get("/queries/overview.csv")
    assert csv_.status_code == 200 and csv_.mimetype == "text/csv"
    assert csv_.get_data(as_text=True).startswith("country,countryLabel,theme,themeLabel")
    js = client.get("/queries/overview", headers={"Accept": "application/sparql-results+json"})
    assert js.status_code == 200 and js.get_json(force=True)["head"]["vars"][0] == "country"
    assert client.get("/queries/overview.ttl").status_code == 404
    assert client.get("/queries/nope").status_code == 404


def test_query_parameter_errors(client):
    r = client.get(
        "/queries/overview",
        query_string={"country": "javascript:alert(1)"},
        headers={"Accept": "text/html"},
    )
    assert r.status_code == 400
    assert "must be an http(s) IRI" in r.get_data(as_text=True)
    bad = client.get("/queries/overview.csv", query_string={"bogus": "1"})
    assert bad.status_code == 400 and b"unknown parameter" in bad.data


def test_submit_needs_csrf_and_own_token(app, client):
    form = client.get("/submit")
    assert form.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.get_data(as_text=True))[1]
    data = {"file": (io.BytesIO(b"<a:b> <a:c> <a:d> ."), "x.nt")}
    no_csrf = client.post("/submit", data={**data, "token": "x"})
    assert no_csrf.status_code == 400 and b"CSRF" in no_csrf.data
    bad = client.post(
        "/submit", data={"csrf_token": csrf, "token": "wrong", "file": (io.BytesIO(b""), "x.nt")}
    )
    assert bad.status_code == 403
    tok = tokens.create(__import__("pathlib").Path(app.config["TOKENS_FILE"]), "veneto-region")
    other = client.post(
        "/submit",
        data={
            "csrf_token": csrf,
            "token": tok,
            "partner": "marche-region",
            "file": (io.BytesIO(b"x"), "x.nt"),
        },
    )
    assert other.status_code == 403
    assert b"belongs to partner" in other.data
    stored = __import__("pathlib").Path(app.config["TOKENS_FILE"]).read_text()
    assert tok not in stored  # hashed at rest


def test_errors_never_show_tracebacks(client):
    r = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT -1"})
    assert r.status_code == 400
    assert "Traceback" not in r.get_data(as_text=True)


def test_query_page_chart_map_and_escaping(client):
    over = client.get("/queries/overview", headers={"Accept": "text/html"})
    html = over.get_data(as_text=True)
    assert 'id="chart"' in html and "Romania" in html
    assert "New skills and jobs creation" in html
    page = client.get("/queries/clusters", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="result-map"' in html
    assert 'href="/id/region/RO21" class="marker"' in html
    assert 'href="/id/region/ITI3" class="marker"' in html
    assert 'href="/id/partner/nerda/cluster/textile"' in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_query_paging(app, client):
    app.config["PAGE_SIZE"] = 5
    try:
        first = client.get("/queries/regions-by-maturity", headers={"Accept": "text/html"})
        html = first.get_data(as_text=True)
        assert "page 1 of" in html and 'rel="next"' in html
        nxt = re.search(r'href="([^"]+)" rel="next"', html)[1].replace("&amp;", "&")
        second = client.get(nxt, headers={"Accept": "text/html"}).get_data(as_text=True)
        assert "page 2 of" in second and 'rel="prev"' in second
        # Each page looks up the labels of the IRIs it shows: page 2's countries are named.
        data = client.get("/queries/regions-by-maturity.json").get_json()["results"]["bindings"]
        for row in data[5:10]:
            iri, label = row["country"]["value"], row["countryLabel"]["value"]
            link = f'<a href="[^"]+" title="{re.escape(iri)}">{re.escape(label)}</a>'
            assert re.search(link, second), (iri, label)
        assert not re.search(f'title="{re.escape(data[0]["country"]["value"])}"', second)
    finally:
        app.config["PAGE_SIZE"] = 100


def test_graph_result_is_paged_and_labelled(app, client):
    app.config["PAGE_SIZE"] = 5
    try:
        html = client.get("/queries/region-profile", headers={"Accept": "text/html"}).get_data(
            as_text=True
        )
        whole = client.get("/queries/region-profile.nt").get_data(as_text=True)
        total = len([line for line in whole.splitlines() if line.strip()])
        assert total > 5
        assert f"{total} triples, page 1 of {-(-total // 5)}" in html
        table = html[html.index('id="result-table"') : html.index("</table>")]
        assert table.count("<tr>") == 6  # the header and five triples
        # The page's resources are shown by their labels, not by their IRIs.
        links = re.findall(r'title="(https://w3id.org/clusterpolisee/id/[^"]+)">([^<]+)</a>', table)
        assert len(links) >= 5
        assert all(text not in (iri, iri.rsplit("/", 1)[-1]) for iri, text in links), links
        assert 'rel="next"' in html
    finally:
        app.config["PAGE_SIZE"] = 100


def test_home_map_of_partner_regions(client):
    html = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'id="partner-map"' in html
    assert html.count('class="marker"') >= 10
    assert 'href="/id/region/ITI3" class="marker"' in html


def test_conditional_get(client):
    first = client.get("/id/region/ITI3.ttl")
    etag = first.headers["ETag"]
    again = client.get("/id/region/ITI3.ttl", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/ontology",
        "/shapes",
        "/queries",
        "/queries/clusters",
        "/id/region/ITI3",
        "/id/country/ITA",
        EVIL_PAGE,
        "/sparql",
        "/graph/reference",
        "/submit",
    ],
)
def test_every_external_link_is_marked_and_safe(client, url):
    html = client.get(url, headers={"Accept": "text/html"}).get_data(as_text=True)
    links = re.findall(r"<a\s[^>]*>", html)
    assert links
    for tag in links:
        target = re.search(r'href="([^"]*)"', tag)[1]
        assert target.startswith(("/", "http://", "https://", "#", "?")), tag
        if target.startswith("http"):
            assert 'rel="noopener nofollow"' in tag, tag


def test_named_graph_pages(client):
    page = client.get("/graph/reference", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'id="graph-size">\d{3,} triples', html)
    nt = client.get("/graph/partner/nerda.nt")
    assert nt.status_code == 200 and nt.mimetype == "application/n-triples"
    assert len(nt.get_data(as_text=True).strip().splitlines()) == 6  # the DEMO triples
    small = client.get("/graph/partner/nerda", headers={"Accept": "text/html"})
    assert 'id="graph-size">6 triples.' in small.get_data(as_text=True)
    assert client.get("/graph/nope").status_code == 404
    # graph IRIs in results link to these pages
    r = client.get(
        "/sparql",
        query_string={"query": "SELECT DISTINCT ?g { GRAPH ?g {?s ?p ?o}}", "format": "html"},
    )
    assert 'href="/graph/reference"' in r.get_data(as_text=True)


def test_submit_title_is_text_and_templates_listed_once(client):
    html = client.get("/submit", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert re.search(r"<title>(.*?)</title>", html, re.S)[1] == "Submit data"
    assert html.count('id="templates"') == 1
    assert html.index('id="templates"') > html.index("<main")


RO32 = "https://w3id.org/clusterpolisee/id/region/RO32"


def _shown_rows(html: str) -> int:
    return int(re.search(r'<p class="count">(\d+) rows?', html)[1])


def _editor_rows(client, html: str) -> int:
    """Rows of the text the page's "Open in the SPARQL editor" link carries, run by /sparql."""
    link = re.search(r'href="([^"]+)" id="editor-link"', html)[1].replace("&amp;", "&")
    args = parse_qs(urlsplit(link).query)
    assert urlsplit(link).path == "/sparql" and args["format"] == ["html"]
    r = client.post(
        "/sparql",
        data={"query": args["query"][0]},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert r.status_code == 200
    return len(r.get_json()["results"]["bindings"])


@pytest.mark.parametrize(("args", "rows"), [({}, 3), ({"region": RO32}, 2)])
def test_editor_link_binds_the_page_values(client, args, rows):
    r = client.get("/queries/policy-gaps", query_string=args, headers={"Accept": "text/html"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and _shown_rows(html) == rows
    assert _editor_rows(client, html) == rows
    # the text shown is the one the link opens: the default region is bound there too
    region = args.get("region", "https://w3id.org/clusterpolisee/id/region/RO21")
    assert f"VALUES (?region) {{ (&lt;{region}&gt;) }}" in html


def test_editor_link_left_out_after_a_bad_parameter(client):
    r = client.get(
        "/queries/policy-gaps", query_string={"region": "nope"}, headers={"Accept": "text/html"}
    )
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'id="editor-link"' not in html and 'id="sparql-text"' in html


@pytest.mark.parametrize("path", ["%22x", "a%20b", "%3C", "x%7By", "a%20b.ttl"])
def test_graph_path_that_is_no_iri_is_404_without_a_query(app, client, path):
    db = app.extensions["cpo.db"]
    jobs = db.pool.jobs
    r = client.get("/graph/" + path, headers={"Accept": "text/html"})
    body = r.get_data(as_text=True)
    assert r.status_code == 404
    assert "this is not an IRI of the knowledge graph" in body and "ValueError" not in body
    assert db.pool.jobs == jobs


def test_paging_past_the_end_goes_to_the_last_page(app, client):
    app.config["PAGE_SIZE"] = 100
    html = {"Accept": "text/html"}
    r = client.get("/queries/external-links", query_string={"page": "4"}, headers=html)
    assert r.status_code == 302 and r.headers["Location"] == "/queries/external-links?page=3"
    last = client.get(r.headers["Location"], headers=html).get_data(as_text=True)
    assert "261 rows, page 3 of 3" in last and last.count("<tr>") == 62  # header + 61
    # the other parameters are kept; a one-page answer goes to its plain URL
    ita = "https://w3id.org/clusterpolisee/id/country/ITA"
    r = client.get("/queries/clusters", query_string={"country": ita, "page": "99"})
    assert r.status_code == 302
    assert r.headers["Location"] == "/queries/clusters?" + urlencode({"country": ita})
    # as page=0 and page=abc still show page 1
    for page in ("0", "abc"):
        r = client.get("/queries/external-links", query_string={"page": page}, headers=html)
        assert r.status_code == 200 and "261 rows, page 1 of 3" in r.get_data(as_text=True)


def test_empty_answer_has_its_page_1(client):
    html = {"Accept": "text/html"}
    first = client.get("/queries/search", query_string={"text": "zzzqqq"}, headers=html)
    assert first.status_code == 200
    page = first.get_data(as_text=True)
    assert '<p class="count">0 rows</p>' in page and 'rel="next"' not in page
    past = client.get("/queries/search", query_string={"text": "zzzqqq", "page": "2"})
    assert past.status_code == 302 and past.headers["Location"] == "/queries/search?text=zzzqqq"


def test_a_long_description_is_shown_whole_once(store_path, tmp_path):
    """Under the title the first 1,000 characters; whole only under Properties (a 9 MB
    description made a 19 MB page)."""
    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)
    app = make_app(copy, tmp_path, WORKERS=1)
    try:
        text = "word " * 20_000  # 100,000 characters
        subject = ox.NamedNode("https://w3id.org/clusterpolisee/id/partner/nerda/cluster/long")
        app.extensions["cpo.writer"].commit(
            add={
                graph_iri("partner/nerda"): [
                    ox.Triple(subject, ox.NamedNode(DCTERMS + "description"), ox.Literal(text))
                ]
            }
        )
        page = app.test_client().get("/id/partner/nerda/cluster/long").get_data(as_text=True)
        shown = re.search(r'<p class="description">(.*?)</p>', page, re.S)[1]
        assert len(shown) < 1_100 and shown.endswith("… (in full below)")
        assert page.count(text.strip()) == 1 and len(page) < len(text) + 20_000
    finally:
        close_app(app)


HTML = {"Accept": "text/html"}


def test_overview_bars_are_told_apart(client):
    """Six bars all read "Albania": each now adds its theme, the column that differs."""
    html = client.get("/queries/overview", headers=HTML).get_data(as_text=True)
    bars = re.findall(r'<text x="0" y="\d+" font-size="13">([^<]*)</text>', html)
    assert len(bars) == 30 and len(set(bars)) == 30
    assert bars[:2] == [
        "Albania · Clusters and regional (smart) s…",
        "Albania · Financial framework improvement…",
    ]
    assert "<title>Albania · Innovation and R&amp;D driven cluster development: 1</title>" in html
    assert 'aria-label="Clusters by Country name and Theme name"' in html


def test_result_headings_are_readable_and_downloads_keep_the_names(client):
    html = client.get("/queries/clusters", headers=HTML).get_data(as_text=True)
    head = re.search(r"<thead><tr>(.*?)</tr></thead>", html)[1]
    # The name columns say what the links beside them say: left out of the page only.
    assert re.findall(r'<th scope="col" title="\?(\w+)">([^<]+)</th>', head) == [
        ("cluster", "Cluster"),
        ("region", "Region"),
        ("country", "Country"),
        ("sectors", "Sectors"),
        ("stageLabel", "Stage"),
        ("members", "Members"),
    ]
    names = "cluster,clusterLabel,region,regionLabel,country,countryLabel,sectors,stageLabel"
    assert client.get("/queries/clusters.csv").get_data(as_text=True).startswith(names + ",")
    js = client.get("/queries/clusters.json").get_json(force=True)
    assert js["head"]["vars"][:3] == ["cluster", "clusterLabel", "region"]


def test_sector_options_show_the_nace_titles(client):
    html = client.get("/queries/clusters", headers=HTML).get_data(as_text=True)
    assert (
        '<option value="http://data.europa.eu/ux2/nace2/29">'
        "29 — Manufacture of motor vehicles, trailers and semi-trailers</option>"
    ) in html
    c29 = client.get(
        "/queries/clusters.csv", query_string={"sector": "http://data.europa.eu/ux2/nace2/29"}
    )
    rows = c29.get_data(as_text=True).splitlines()[1:]
    assert c29.status_code == 200 and len(rows) == 4 and all("29" in r for r in rows)


FEDERATED = "federated-cluster-profiles"


def test_a_federated_question_the_server_may_not_run_is_marked_and_explained(client):
    listing = client.get("/queries", headers=HTML).get_data(as_text=True)
    item = re.search(
        rf'<li class="unavailable"><a href="/queries/{FEDERATED}">.*?</li>', listing, re.S
    )
    assert item and '<strong class="warn">(not available on this server)</strong>' in item[0]
    reason = (
        "This question asks another SPARQL endpoint, &lt;http://127.0.0.1:7878/sparql&gt;, for "
        "part of its answer, and this server is not allowed to call it (its operator can allow "
        "it with &#39;clusterpolisee serve --allow-service http://127.0.0.1:7878/sparql&#39;)."
    )
    assert f'<p class="note">{reason}</p>' in item[0]
    assert listing.count('class="unavailable"') == 1  # the other questions run here
    page = client.get(f"/queries/{FEDERATED}", headers=HTML)
    assert page.status_code == 403
    html = page.get_data(as_text=True)
    assert (
        "<h1>Our clusters with their profiles in an external cluster database (federated)</h1>"
        in html
    )
    assert (
        '<p class="error" role="alert" id="unavailable"><strong>Not available on this server.'
        f"</strong> {reason} Its SPARQL text is below, to run on an endpoint that may call it.</p>"
    ) in html
    assert 'id="params"' not in html and "<details open>" in html and 'id="sparql-text"' in html
    csv_ = client.get(f"/queries/{FEDERATED}.csv")
    assert csv_.status_code == 403 and csv_.mimetype == "text/plain"


def _post_submit(client, csrf: str, **fields):
    files = [(io.BytesIO(b"x"), "clusters.csv"), (io.BytesIO(b"y"), "b&c.ttl")]
    return client.post("/submit", data={"csrf_token": csrf, "file": files, **fields})


def _csrf(client) -> str:
    html = client.get("/submit").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def test_a_wrong_token_gives_the_form_back(client):
    """The form again, with what was wrong, the partner field kept and the files named to be
    chosen again (a browser cannot refill a file input); never the token."""
    r = _post_submit(client, _csrf(client), token="wrong", partner="marche-region")
    assert r.status_code == 403
    html = r.get_data(as_text=True)
    assert (
        '<p class="error" role="alert" id="form-problem">the partner token is not valid: '
        "nothing was uploaded</p>"
    ) in html
    assert 'id="submit-form"' in html
    assert '<input type="hidden" name="partner" value="marche-region">' in html
    assert (
        '<strong id="choose-again">Choose the files again: a browser does not keep them after '
        "a refused upload (you had chosen clusters.csv, b&amp;c.ttl).</strong>"
    ) in html
    token_input = re.search(r'<input type="password" id="token"[^>]*>', html)[0]
    assert "value=" not in token_input and "wrong" not in html
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)[1]
    assert csrf  # the form can be sent again as it is


def test_a_refused_upload_echoes_only_clean_names(client):
    """File names were echoed with their client path and control characters, and any text
    sent as the partner was put back into the form."""
    files = [(io.BytesIO(b"x"), "/home/ana/clu\x01sters\x9b.csv")]
    data = {"csrf_token": _csrf(client), "file": files, "token": "wrong"}
    r = client.post("/submit", data={**data, "partner": "<b>\x07x"})
    html = r.get_data(as_text=True)
    assert r.status_code == 403
    assert "(you had chosen clu?sters?.csv).</strong>" in html
    assert 'name="partner"' not in html and "\x07" not in html and "/home" not in html


def test_another_partners_graph_or_no_file_gives_the_form_back(app, client):
    tok = tokens.create(__import__("pathlib").Path(app.config["TOKENS_FILE"]), "veneto-region")
    csrf = _csrf(client)
    other = _post_submit(client, csrf, token=tok, partner="marche-region")
    assert other.status_code == 403
    html = other.get_data(as_text=True)
    assert (
        "this token belongs to partner &#39;veneto-region&#39;; it cannot replace the graph of "
        "&#39;marche-region&#39;</p>"
    ) in html
    assert 'id="submit-form"' in html and 'id="choose-again"' in html and tok not in html
    # the other partner is not kept in a hidden field: it refused every retry
    assert 'name="partner"' not in html
    curator = tokens.create(__import__("pathlib").Path(app.config["TOKENS_FILE"]), "curator")
    cur = _post_submit(client, csrf, token=curator)
    assert cur.status_code == 403 and 'id="submit-form"' in cur.get_data(as_text=True)
    assert (
        'id="form-problem">a curator token decides links on /links/review; an upload needs '
        "the token of the partner whose data it is</p>"
    ) in cur.get_data(as_text=True)
    none = client.post("/submit", data={"csrf_token": csrf, "token": tok})
    assert none.status_code == 400
    assert 'id="form-problem">choose a file to upload</p>' in none.get_data(as_text=True)


def test_a_damaged_tokens_file_refuses_uploads_with_a_503_that_says_why(app, client, caplog):
    """A tokens file that is not what `token create` writes ended uploads in a 500."""
    path = __import__("pathlib").Path(app.config["TOKENS_FILE"])
    path.write_text("[]", encoding="utf-8")
    r = _post_submit(client, _csrf(client), token="any", partner="marche-region")
    assert r.status_code == 503
    assert (
        "the server cannot check upload tokens now: its tokens file is damaged. Nothing was "
        "uploaded; please tell the server's operator (the log names the file)"
    ) in r.get_data(as_text=True)
    assert f"upload refused: {path} is not a tokens file" in caplog.text
    assert path.read_text(encoding="utf-8") == "[]"


def test_home_shows_submission_times_in_utc(client):
    html = client.get("/", headers=HTML).get_data(as_text=True)
    latest = re.search(r'<ul id="latest">(.*?)</ul>', html, re.S)[1]
    times = re.findall(r'<small class="note">(.*?)</small>', latest)
    assert times
    for shown in times:
        stamp = re.fullmatch(r'<time datetime="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)">.*</time>', shown)
        assert stamp, shown
        assert shown.endswith(f">{stamp[1][:10]} {stamp[1][11:16]} UTC</time>")


def utc_shown(lexical: str) -> str:
    """How a page shows a stored xsd:dateTime: a readable UTC time, the exact one kept."""
    when = dt.datetime.fromisoformat(lexical).astimezone(dt.UTC)
    return f'<time datetime="{when:%Y-%m-%dT%H:%M:%SZ}">{when:%Y-%m-%d %H:%M} UTC</time>'


def submission_of(app, partner: str) -> tuple[str, str]:
    """The local path of a partner's submission and when it ended, as stored."""
    prov = "http://www.w3.org/ns/prov#"
    records = app.extensions["cpo.writer"].graph_triples(graph_iri("submissions"))
    generated = {t.subject for t in records if t.object.value == graph_iri(f"partner/{partner}")}
    ended = [
        t for t in records if t.subject in generated and t.predicate.value == prov + "endedAtTime"
    ]
    assert len(ended) == 1, ended
    return "/id/" + ended[0].subject.value.split("/id/", 1)[1], ended[0].object.value


def test_a_submission_page_shows_its_time_as_readable_utc(app, client):
    """/id/submission/... showed ``2026-12-06T22:50:49.194Z xsd:dateTime``."""
    path, ended = submission_of(app, "ancs")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", ended)  # as stored: ms, Z
    html = client.get(path, headers=HTML).get_data(as_text=True)
    assert f"<dd>{utc_shown(ended)}</dd>" in html
    assert ended not in html and "xsd:dateTime" not in html
    # other literals keep their notes; English, the page's language, has none
    assert '<dd><span class="lit">Submission by ancs</span></dd>' in html


def test_graph_provenance_says_when(app, client):
    """Provenance lines on /graph/... were undated ("Submission by ancs prov:generated this
    graph"): each now says when its activity ended, as the data records it."""
    path, ended = submission_of(app, "ancs")
    html = client.get("/graph/partner/ancs", headers=HTML).get_data(as_text=True)
    lines = re.findall(r"<li>(.*?)</li>", html.split('id="provenance">', 1)[1].split("</ul>")[0])
    assert len(lines) == 1
    assert f'<a href="{path}"' in lines[0] and ">Submission by ancs</a>" in lines[0]
    assert lines[0].endswith(f' this graph <small class="note">(ended {utc_shown(ended)})</small>')


def test_elsewhere_names_what_is_known_of_a_link_target(app, client):
    """ "Elsewhere" called every target outside the known datasets a "web page", also an
    exactMatch into another database's IRIs: the host is what is known."""
    from webapp.views.resource import dataset_of

    html = client.get("/id/partner/aws", headers=HTML).get_data(as_text=True)
    elsewhere = html.split('id="links-out">', 1)[1].split("</ul>", 1)[0]
    assert elsewhere == (
        '<li>www.aws.at: <a href="https://www.aws.at/" rel="noopener nofollow" class="ext">'
        "https://www.aws.at/</a></li>"
    )
    with app.test_request_context("/"):
        assert dataset_of("https://data.example.org/entity/7") == "data.example.org"
        assert dataset_of("http://www.wikidata.org/entity/Q1") == "Wikidata"
        assert dataset_of(ID + "region/AT13") == "this knowledge graph"
        assert dataset_of("https://[::1/x") == "external resource"


def test_policy_mix_draws_no_chart_of_its_counts(client):
    """policy-mix drew a bar of the same length for every row: its only number counts the
    instruments of one type in one region for the theme, 1 in 29 of its 30 default rows."""
    html = client.get("/queries/policy-mix", headers=HTML).get_data(as_text=True)
    assert 'id="chart"' not in html and 'class="chart"' not in html
    assert '<th scope="col" title="?instruments">Instruments</th>' in html
    assert 'id="result-map"' in html  # its regions are still mapped
