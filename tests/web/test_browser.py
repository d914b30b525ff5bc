"""Headless Chromium (Debian's /usr/bin/chromium driven by Playwright) against a real server.

Screenshots go to test-output/web/. A missing chromium is a failure (make test installs it).
"""

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from clusterpolisee import paths

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = paths.ROOT / "test-output" / "web"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert shutil.which("chromium") == CHROMIUM, (
        "chromium is not installed; run 'make test' (scripts/install-system-deps.sh test)"
    )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    pg.problems = []  # console errors (CSP violations included) and failed requests
    pg.on("console", lambda m: m.type == "error" and pg.problems.append(m.text))
    pg.on("pageerror", lambda e: pg.problems.append(str(e)))
    pg.on("requestfailed", lambda r: pg.problems.append(f"failed: {r.url}"))
    yield pg
    context.close()


def shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5000
    return path


def test_home_with_map(page: Page, server: str):
    page.goto(server + "/")
    assert page.locator("h1").inner_text() == "Cluster policies in South East Europe"
    markers = page.locator("#partner-map a.marker")
    assert markers.count() >= 10
    box = page.locator("#partner-map").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 250
    markers.first.hover()
    assert page.locator(".map-box .chart-status").inner_text() != ""  # app.js ran
    shot(page, "home")
    assert page.problems == []


def test_stored_query_form_chart_and_link(page: Page, server: str):
    page.goto(server + "/queries")
    page.click("text=Overview per country and theme")
    page.select_option("#p-country", label="Romania")
    page.click("#params button[type=submit]")
    page.wait_for_selector("#result-table")
    assert "country=https%3A%2F%2Fw3id.org%2Fclusterpolisee%2Fid%2Fcountry%2FROU" in page.url
    cells = page.locator("#result-table tbody tr").first.locator("td")
    assert cells.nth(1).inner_text().startswith("Romania")
    chart = page.locator("#chart")
    assert chart.is_visible() and chart.locator("rect").count() >= 1
    shot(page, "query-overview")
    page.click("#result-table tbody tr >> nth=0 >> td >> nth=0 >> a")
    page.wait_for_selector("h1")
    assert page.url.endswith("/id/country/ROU")
    assert page.locator("h1").inner_text() == "Romania"
    assert page.locator("#properties").is_visible()
    shot(page, "resource-romania")
    assert page.problems == []


def test_query_map_and_hostile_label(page: Page, server: str):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server + "/queries/clusters")
    assert page.locator("#result-map a.marker").count() >= 2
    page.click("#result-table a[href='/id/partner/evil/cluster/x'] >> nth=0")
    page.wait_for_selector("h1")
    assert page.locator("h1").inner_text().startswith("<script>alert")
    link = page.locator("#links-out")
    assert link.count() == 0 or "javascript:" not in (link.inner_html())
    shot(page, "hostile-resource")
    assert dialogs == []


def test_sparql_editor(page: Page, server: str):
    page.goto(server + "/sparql")
    page.fill(
        "#query",
        "PREFIX cpo: <https://w3id.org/clusterpolisee/ontology#>\n"
        "SELECT (COUNT(?r) AS ?n) WHERE { ?r a cpo:Region }",
    )
    page.click("#sparql-form button[type=submit]")
    page.wait_for_selector("#results table")
    assert page.locator("#results tbody td").first.inner_text().startswith("109")
    shot(page, "sparql")
    page.goto(server + "/sparql")
    page.fill("#query", "SELECT * WHERE { ?s ?p }")
    page.locator("#query").press("Control+Enter")
    page.wait_for_selector(".error")
    assert re.search(r"line 1, column \d+", page.locator(".error").inner_text())
    assert page.problems == [] or all("400" in p for p in page.problems)


def test_ontology_page(page: Page, server: str):
    page.goto(server + "/ontology")
    assert page.locator("#Cluster h3").is_visible()
    shot(page, "ontology")
    assert page.problems == []


@pytest.fixture(scope="module")
def phone(browser: Browser) -> Iterator[Page]:
    """A page 390 px wide, as a phone shows it."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    yield context.new_page()
    context.close()


#: What is wider than the page: each element whose right edge passes the window's, outside
#: a box that scrolls on its own (a result table's).
WIDER = """() => [...document.querySelectorAll('main *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5
               && !e.closest('.table-wrap, pre'))
  .slice(0, 5).map(e => e.tagName + ' ' + (e.textContent || '').trim().slice(0, 60))"""


@pytest.mark.parametrize(
    "path",
    [
        "/shapes",  # a four-column table of long descriptions
        "/queries",  # an address in a description, a row of tags
        "/queries/overview",  # the theme drop-down's longest option
        "/queries/clusters",
        "/ontology",  # addresses of other vocabularies
        "/sparql",
        "/id/partner/nerda/cluster/textile",  # the page's own long address
        "/id/region/ITI3",
        "/",
        "/submit",
        "/queries/federated-cluster-profiles",
    ],
)
def test_pages_fit_a_390_px_screen(phone: Page, server: str, path: str):
    phone.goto(server + path)
    width = phone.evaluate("document.documentElement.scrollWidth")
    inner = phone.evaluate("window.innerWidth")
    assert inner == 390
    assert width <= inner, (width, phone.evaluate(WIDER))


def test_each_review_choice_stays_with_its_word(browser: Browser, store_path: Path, tmp_path):
    """On /links/review the decision cell wrapped between a radio and its word, so the
    chosen radio stood next to the other word ("accept ◉ / reject")."""
    from webapp import close_app

    from .conftest import make_app, waitress_serving
    from .test_links import with_candidates

    app = make_app(with_candidates(store_path, tmp_path), tmp_path, WORKERS=1)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        with waitress_serving(app, threads=2) as url:
            pg = context.new_page()
            pg.goto(url + "/links/review")
            lines = pg.eval_on_selector_all(
                "td.decision label", "els => els.map(e => e.getClientRects().length)"
            )
            assert lines and set(lines) == {1}, lines
            tops = pg.eval_on_selector_all(
                "td.decision label",
                "els => els.map(e => [e.querySelector('input').getBoundingClientRect().top,"
                " e.getBoundingClientRect().top, e.getBoundingClientRect().bottom])",
            )
            assert all(top <= radio <= bottom for radio, top, bottom in tops), tops
    finally:
        context.close()
        close_app(app)
