"""The home page's "Your region" form and /region, which leads from a region's code to its
page: through the Flask app on the real store of tests/web/conftest.py, and once in Chromium."""

import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask
from playwright.sync_api import Page

from clusterpolisee.namespaces import graph_iri
from clusterpolisee.store.oxigraph import OxigraphStore

from .conftest import CPO, ID, RDFS_LABEL, close_app, make_app
from .test_browser import browser, page  # noqa: F401 (fixtures, requested by name)

HTML = {"Accept": "text/html"}
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
#: Regions of partner resources with a theme, and the partners' seats, read from the
#: resources themselves: what the form's list (read from the tallies) must hold.
COVERED = """PREFIX cpo: <https://w3id.org/clusterpolisee/ontology#>
SELECT DISTINCT ?r WHERE {
  { ?p a cpo:ProjectPartner ; cpo:region ?r }
  UNION
  { ?x cpo:partner ?who ; cpo:theme ?theme ; cpo:region ?r }
}"""
HOSTILE_LABEL = '"><script>alert("region")</script>'


def region_select(html: str) -> str:
    found = re.search(r'<select id="region-choice" name="region"[^>]*>.*?</select>', html, re.S)
    assert found, "no region drop-down on the page"
    return found[0]


def groups(select: str) -> dict[str, list[tuple[str, str]]]:
    """Each optgroup's label and its options as (value, text), as written in the page."""
    return {
        label: re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', body)
        for label, body in re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', select, re.S)
    }


def test_the_form_lists_nord_est_of_romania_with_its_code(client):
    html = client.get("/", headers=HTML).get_data(as_text=True)
    assert '<form class="params region-form" id="region-form" method="get" action="/region">' in (
        html
    )
    assert '<label for="region-choice">Your region</label>' in html
    assert '<button type="submit">Go</button>' in html
    select = region_select(html)
    assert '<option value="">Choose a region</option>' in select
    by_country = groups(select)
    # Nord-Est is also Italy's ITH (in the data, not listed): the code tells them apart.
    assert ("RO21", "Nord-Est (RO21)") in by_country["Romania"]
    assert ">Nord-Est<" not in select
    assert ("ITI3", "Marche") in by_country["Italy"]
    assert ("RS12", "Region Vojvodine") in by_country["Serbia"]
    countries = list(by_country)
    assert countries == sorted(countries) and "Romania" in countries


def test_the_form_lists_the_covered_regions_each_once(app: Flask, client):
    """The list is read from the tallies; the same regions, read from the resources."""
    rows = app.extensions["cpo.db"].query(COVERED, trusted=True).rows
    expected = {r.value.rsplit("/", 1)[1] for (r,) in rows}
    listed = [
        v for options in groups(region_select(client.get("/").text)).values() for v, _ in options
    ]
    assert len(listed) == len(set(listed)) == len(expected) >= 19
    assert set(listed) == expected
    assert "ITH" not in listed  # a NUTS-1 region nothing is reported for


def test_the_country_names_follow_the_reader(client):
    html = client.get("/", headers={**HTML, "Accept-Language": "mul"}).get_data(as_text=True)
    assert ("RO21", "Nord-Est (RO21)") in groups(region_select(html))["România"]


@pytest.mark.parametrize("code", ["RO21", "ro21", " RO21 ", ID + "region/RO21"])
def test_a_region_leads_to_its_page(client, code):
    r = client.get("/region", query_string={"region": code}, headers=HTML)
    assert r.status_code == 303
    assert r.headers["Location"] == "/id/region/RO21"
    landed = client.get(r.headers["Location"], headers=HTML).get_data(as_text=True)
    assert "<h1>Nord-Est</h1>" in landed
    assert '<h2 id="next-steps-heading">Next steps</h2>' in landed
    assert "Nord-Est Textile Cluster" in landed  # what is reported for it


def test_a_region_the_form_does_not_list_has_its_page_too(client):
    """Šumadija and Western Serbia: nothing reported yet, but its code is a region's."""
    r = client.get("/region?region=RS21", headers=HTML)
    assert (r.status_code, r.headers["Location"]) == (303, "/id/region/RS21")


@pytest.mark.parametrize(
    ("value", "status", "title", "said"),
    [
        ("", 400, "No region chosen", "The address names no region."),
        ("XX99", 404, "Unknown region", "Your region: &#39;XX99&#39; is not one of the choices"),
        ("nord-est", 404, "Unknown region", "Nord-Est (ITH), Nord-Est (RO21)"),
        (
            ID + "country/ROU",
            404,
            "Unknown region",
            f"&#39;{ID}country/ROU&#39; is not a region of the knowledge graph.",
        ),
        ("RO 21", 400, "Not a region code", "&#39;RO 21&#39; is not a region code such as RO21."),
    ],
)
def test_a_bad_region_says_what_to_do(client, value, status, title, said):
    r = client.get("/region", query_string={"region": value}, headers=HTML)
    assert r.status_code == status
    html = r.get_data(as_text=True)
    assert f"<h1>{title}</h1>" in html
    assert said in html
    assert "Choose your region on the home page.</p>" in html
    assert '<a href="/">Home</a>' in html
    assert "Traceback" not in html and "Location" not in r.headers


def test_no_region_parameter_at_all_is_a_400(client):
    r = client.get("/region")
    assert r.status_code == 400
    assert r.mimetype == "text/plain"
    said = "The address names no region. Choose your region on the home page."
    assert r.text == f"No region chosen: {said}\n"


def test_html_in_the_region_is_escaped(client):
    r = client.get("/region", query_string={"region": "<script>alert(1)</script>"}, headers=HTML)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "&#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39; is not a region code" in html
    assert "<script>alert(1)" not in html


def test_a_hostile_region_label_is_escaped_in_the_form(store_path: Path, tmp_path: Path):
    """A partner seated in a region whose label holds markup (no country: the last group)."""
    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)
    region = ox.NamedNode(ID + "region/ZZ99")
    seat = ox.NamedNode(ID + "partner/zz")
    with OxigraphStore(copy) as store:
        store.commit(
            replace={
                graph_iri("partner/zz"): [
                    ox.Triple(region, RDF_TYPE, ox.NamedNode(CPO + "Region")),
                    ox.Triple(region, RDFS_LABEL, ox.Literal(HOSTILE_LABEL)),
                    ox.Triple(seat, RDF_TYPE, ox.NamedNode(CPO + "ProjectPartner")),
                    ox.Triple(seat, ox.NamedNode(CPO + "region"), region),
                    # a region outside our IRIs: its page is not ours to send anyone to
                    ox.Triple(ox.NamedNode(EVIL), RDF_TYPE, ox.NamedNode(CPO + "Region")),
                ]
            }
        )
    app = make_app(copy, tmp_path, WORKERS=1)
    try:
        client = app.test_client()
        select = region_select(client.get("/", headers=HTML).get_data(as_text=True))
        redirect = client.get("/region?region=zz99")
        away = client.get("/region", query_string={"region": EVIL}, headers=HTML)
    finally:
        close_app(app)
    escaped = "&#34;&gt;&lt;script&gt;alert(&#34;region&#34;)&lt;/script&gt;"
    assert f'<optgroup label="Other regions">\n<option value="ZZ99">{escaped}</option>' in select
    assert list(groups(select))[-1] == "Other regions"
    assert "<script>" not in select
    assert (redirect.status_code, redirect.headers["Location"]) == (303, "/id/region/ZZ99")
    assert away.status_code == 404 and "Location" not in away.headers  # was a 303 to it
    assert "has no page here" in away.get_data(as_text=True)


EVIL = "https://evil.example/x"


@pytest.fixture()
def tab(page: Page) -> Page:  # noqa: F811 (the imported fixture, requested by name)
    return page


def test_picking_a_region_in_chromium_lands_on_its_page(tab: Page, server: str):
    tab.goto(server + "/")
    tab.select_option("#region-choice", "RO21")
    tab.click("#region-form button[type=submit]")
    tab.wait_for_url(server + "/id/region/RO21")
    assert tab.locator("h1").inner_text() == "Nord-Est"
    assert tab.locator("#next-steps a").count() >= 1
    assert tab.problems == []
