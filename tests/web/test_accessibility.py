"""Accessibility of the rendered pages: skip link, images without tab stops, languages marked.

Through Flask's test client; tests/web/test_browser.py checks the same in Chromium.
"""

import re
import shutil
from html.parser import HTMLParser

import pyoxigraph as ox
import pytest

from clusterpolisee.namespaces import graph_iri
from clusterpolisee.store import OxigraphStore
from webapp.present import term_html

from .conftest import CPO, RDFS_LABEL, close_app, make_app

HTML = {"Accept": "text/html"}
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
#: What takes focus with Tab on these pages (no contenteditable or audio anywhere).
FOCUSABLE = {"a", "button", "input", "select", "textarea", "summary"}


class Focusables(HTMLParser):
    """The focusable elements of a page in document order, as (tag, attributes); and every
    element with an id."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"] or "")
        focusable = tag in FOCUSABLE and (tag != "a" or "href" in a) and a.get("type") != "hidden"
        if (focusable or "tabindex" in a) and a.get("tabindex") != "-1":
            self.found.append((tag, a))


def parsed(html: str) -> Focusables:
    p = Focusables()
    p.feed(html)
    return p


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/queries", 200),
        ("/queries/overview", 200),
        ("/queries/clusters", 200),
        ("/sparql", 200),
        ("/ontology", 200),
        ("/shapes", 200),
        ("/id/region/ITI3", 200),
        ("/submit", 200),
        ("/links/review", 200),
        ("/queries/nope", 404),
    ],
)
def test_every_page_starts_with_a_skip_link_to_its_main_content(client, path, status):
    """Without it a keyboard user tabbed through the seven header links on every page."""
    r = client.get(path, headers=HTML)
    assert r.status_code == status
    html = r.get_data(as_text=True)
    page = parsed(html)
    assert page.found[0] == ("a", {"class": "skip", "href": "#content"})
    assert re.search(r'<a class="skip" href="#content">Skip to content</a>', html)
    assert '<main id="content">' in html and page.ids.count("content") == 1


def chart_svg(html: str) -> str:
    return re.search(r'<svg class="chart".*?</svg>', html, re.S)[0]


def test_a_chart_is_one_image_with_no_tab_stop_in_it(client):
    """Each bar was a ``<g tabindex="0">`` inside ``svg role="img"``: a screen reader does not
    read into an image, so a keyboard user stopped on 30 unnamed parts of it."""
    html = client.get("/queries/overview", headers=HTML).get_data(as_text=True)
    svg = chart_svg(html)
    assert 'role="img" aria-label="Clusters by Country name and Theme name"' in svg
    assert parsed(svg).found == []
    assert "tabindex" not in svg and "<a " not in svg
    # Each bar keeps its tooltip; its value is in the table below (the chart's data).
    tips = re.findall(r"<g [^>]*><title>([^<]*)</title>", svg)
    assert len(tips) == svg.count("<rect ") >= 6
    assert tips[0].startswith("Albania · ") and re.search(r": \d+$", tips[0])
    assert html.index('id="chart"') < html.index('id="result-table"')


def test_a_map_is_a_group_of_named_links_not_an_image(client):
    """Map markers were links inside an ``svg role="img"``; on the home page they are the way
    to the regions' pages, so the map is a group whose links are named by their title."""
    html = client.get("/queries/clusters", headers=HTML).get_data(as_text=True)
    svg = re.search(r'<svg class="map".*?</svg>', html, re.S)[0]
    assert 'role="group" aria-label="map of ' in svg and 'role="img"' not in svg
    marker = re.search(r'<a href="/id/region/RO21" class="marker"[^>]*><title>([^<]+)</title>', svg)
    assert marker and marker[1].startswith("Nord-Est")
    # The grey dots are decoration: hidden from assistive technology.
    assert re.search(r'<g aria-hidden="true"><rect [^>]*/>\s*<circle ', svg)


MARCHE = "/id/partner/marche-region"


def test_an_italian_label_on_a_resource_page_is_marked_italian(client):
    html = client.get(MARCHE, headers=HTML).get_data(as_text=True)
    assert (
        '<span class="lit" lang="it">Regione Marche</span> <small class="note">it</small>' in html
    )
    # English, the page's language, is not marked: no lang attribute, no small "en".
    assert '<span class="lit">Marche Region, European Policies Department</span></dd>' in html
    assert '<small class="note">en</small>' not in html


def test_a_result_cell_in_italian_is_marked_italian(client):
    query = (
        'SELECT ?name ?en WHERE { BIND("Distretto Marche"@it AS ?name) BIND("District"@en AS ?en) }'
    )
    r = client.get("/sparql", query_string={"query": query, "format": "html"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert '<td><span class="lit" lang="it">Distretto Marche</span>' in html
    assert '<td><span class="lit">District</span>' in html


def test_a_link_named_in_the_readers_language_is_marked_with_it(client):
    """An Italian reader gets the partners' Italian names: each link says it is Italian."""
    html = client.get(
        "/id/region/ITI3", headers={**HTML, "Accept-Language": "it,en;q=0.5"}
    ).get_data(as_text=True)
    assert re.search(rf'<a href="{MARCHE}" title="[^"]+" lang="it">Regione Marche</a>', html)
    english = client.get("/id/region/ITI3", headers=HTML).get_data(as_text=True)
    assert re.search(rf'<a href="{MARCHE}" title="[^"]+">Marche Region, European', english)


DISTRICT = "https://w3id.org/clusterpolisee/id/partner/marche-region/cluster/district"


@pytest.mark.parametrize(
    ("term", "labels", "html"),
    [
        (
            ox.Literal("Distretto Marche", language="it"),
            None,
            '<span class="lit" lang="it">Distretto Marche</span> <small class="note">it</small>',
        ),
        (  # a region's subtag is kept; English in any region is the page's language
            ox.Literal("Univerzitet u Novom Sadu", language="sr-Latn"),
            None,
            '<span class="lit" lang="sr-latn">Univerzitet u Novom Sadu</span>'
            ' <small class="note">sr-latn</small>',
        ),
        (  # English of a region is the page's language: no mark either
            ox.Literal("District", language="en-GB"),
            None,
            '<span class="lit">District</span>',
        ),
        (ox.Literal("plain"), None, '<span class="lit">plain</span>'),
        (  # an IRI named by its only label, in Italian
            ox.NamedNode(DISTRICT),
            {DISTRICT: {"it": "Distretto <Marche>"}},
            '<a href="/id/partner/marche-region/cluster/district" title="'
            + DISTRICT
            + '" lang="it">Distretto &lt;Marche&gt;</a>',
        ),
        (  # the English label is picked: nothing to mark
            ox.NamedNode(DISTRICT),
            {DISTRICT: {"it": "Distretto Marche", "en": "Marche district"}},
            f'<a href="/id/partner/marche-region/cluster/district" title="{DISTRICT}">'
            "Marche district</a>",
        ),
        (  # no label: its address, in no language
            ox.NamedNode(DISTRICT),
            {},
            f'<a href="/id/partner/marche-region/cluster/district">{DISTRICT}</a>',
        ),
    ],
)
def test_a_label_in_another_language_than_the_page_carries_its_lang(app, term, labels, html):
    """ "Distretto Marche"@it was shown in the English page with no ``lang``: a screen reader
    read it with English sounds."""
    with app.test_request_context():
        assert str(term_html(term, labels)) == html


def test_the_ontologys_other_labels_are_marked_with_their_language(client):
    html = client.get("/ontology", headers=HTML).get_data(as_text=True)
    section = re.search(r'<section class="term" id="ThematicPriority">.*?</section>', html, re.S)[0]
    assert (
        '<dd><span lang="de">thematische Priorität</span> <small class="note">de</small></dd>'
        in section
    )
    assert (
        '<dd><span lang="it">priorità tematica</span> <small class="note">it</small></dd>'
        in section
    )


def test_a_drop_down_option_in_another_language_carries_its_lang(store_path, tmp_path):
    """A country known only by an Italian name is offered with lang="it"; English ones
    are not marked (the options lost their language tags in ``Param.options``)."""
    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)
    made_up = ox.NamedNode("https://w3id.org/clusterpolisee/id/country/ZZ")
    with OxigraphStore(copy) as store:
        store.commit(
            replace={
                graph_iri("partner/zz"): [
                    ox.Triple(made_up, RDF_TYPE, ox.NamedNode(CPO + "Country")),
                    ox.Triple(made_up, RDFS_LABEL, ox.Literal("Paese", language="it")),
                ]
            }
        )
    app = make_app(copy, tmp_path, WORKERS=1)
    try:
        html = app.test_client().get("/queries/clusters", headers=HTML).get_data(as_text=True)
    finally:
        close_app(app)
    assert f'<option value="{made_up.value}" lang="it">Paese</option>' in html
    italy = "https://w3id.org/clusterpolisee/id/country/ITA"
    assert f'<option value="{italy}">Italy</option>' in html


def test_a_resource_heading_in_another_language_carries_its_lang(client):
    """An Italian reader gets the partner's Italian name as the heading, marked Italian."""
    italian = {**HTML, "Accept-Language": "it,en;q=0.5"}
    html = client.get(MARCHE, headers=italian).get_data(as_text=True)
    assert '<h1 lang="it">Regione Marche</h1>' in html
    html = client.get(MARCHE, headers=HTML).get_data(as_text=True)
    assert "<h1>Marche Region, European Policies Department</h1>" in html
