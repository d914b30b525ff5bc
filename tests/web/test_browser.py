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
    # The country's name is its link's text (the name column beside it is left out).
    assert cells.nth(0).inner_text().startswith("Romania")
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
#: a box that scrolls on its own (a result table's, a map's).
WIDER = """() => [...document.querySelectorAll('main *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5
               && !e.closest('.table-wrap, .map-scroll, pre'))
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


@pytest.mark.parametrize("path", ["/", "/queries/overview", "/id/region/ITI3"])
def test_the_first_tab_stops_on_a_visible_skip_link_to_the_content(page: Page, server, path):
    """Keyboard users tabbed through the seven header links on every page to reach it."""
    page.goto(server + path)
    skip = page.locator("a.skip")
    assert skip.bounding_box()["y"] + skip.bounding_box()["height"] <= 0  # hidden until focused
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "[document.activeElement.className, document.activeElement.textContent]"
    )
    assert focused == ["skip", "Skip to content"]
    box = skip.bounding_box()
    assert box["y"] >= 0 and box["width"] > 50 and box["height"] > 15
    page.keyboard.press("Enter")
    assert page.url.endswith("#content")
    page.keyboard.press("Tab")  # the next stop is the content's first, past the header
    assert page.evaluate("!!document.activeElement.closest('main#content')")


#: Where the focus is: the element, whether it is inside an image or a chart, and its text.
FOCUS = """() => { const e = document.activeElement;
  return [e.tagName, !!e.closest('svg[role=img], svg.chart'),
          (e.textContent || '').slice(0, 40)]; }"""


def test_tabbing_through_a_query_page_never_stops_inside_its_chart(page: Page, server: str):
    """Each chart bar was a tab stop inside ``svg role="img"``: 30 stops a screen reader
    could not name. /queries/clusters has a chart, a map and a table of links."""
    page.goto(server + "/queries/clusters")
    assert page.locator("#chart rect").count() >= 2
    stops = page.evaluate(
        "document.querySelectorAll('a[href], button, input, select, summary, [tabindex]').length"
    )
    seen = []
    for _ in range(stops + 5):
        page.keyboard.press("Tab")
        seen.append(page.evaluate(FOCUS))
        if seen[-1][0] == "BODY":
            break
    assert [s for s in seen if s[1]] == []
    assert seen[0] == ["A", False, "Skip to content"]
    # the page's last stop, then the footer's six data links (VoID, dumps, ...), then out
    footer = [s[2] for s in seen[-7:-1]]
    assert seen[-8] == ["SUMMARY", False, "SPARQL"], seen[-9:]
    assert footer == ["DCAT catalogue", "VoID", "dataset", "N-Quads", "TriG", "SPARQL endpoint"]
    assert seen[-1][0] == "BODY"
    # The map's markers are links (an svg <a>'s tagName is lowercase), named by their title.
    assert sum(s[0] == "a" and s[2].startswith("Nord-Est") for s in seen) == 1


#: Each label of a chart or map: its height on screen, its font size times the svg's scale,
#: and whether it stays inside the chart's box (a map's box scrolls).
LABELS = """(sel) => [...document.querySelectorAll(sel + ' text')].map(t => {
  const svg = t.closest('svg'), r = t.getBoundingClientRect(), s = svg.getBoundingClientRect();
  const scale = svg.viewBox.baseVal && svg.viewBox.baseVal.width
    ? s.width / svg.viewBox.baseVal.width : 1;
  return [r.height, parseFloat(getComputedStyle(t).fontSize) * scale,
          r.left >= s.left - 0.5 && r.right <= s.right + 0.5, t.textContent]; })"""


@pytest.mark.parametrize(
    ("path", "selector"),
    [
        ("/queries/funding", "#chart"),  # the longest values, 171659000
        ("/queries/overview", "#chart"),  # two-part labels
        ("/queries/clusters", "#result-map"),
        ("/", "#partner-map"),
    ],
)
def test_chart_and_map_labels_are_readable_on_a_390_px_phone(phone: Page, server, path, selector):
    """Charts and maps were drawn in a 760 (683) unit viewBox shrunk to 342 px: labels were
    6-7 px high (5.4 px type). A chart now keeps its 13 px type, a map keeps 34rem in a box
    of its own that scrolls; the page itself never scrolls sideways."""
    phone.goto(server + path)
    labels = phone.evaluate(LABELS, selector)
    assert len(labels) >= 5
    small = [(h, size, text) for h, size, _, text in labels if h < 10 or size < 11]
    assert small == []
    if selector == "#chart":
        assert [text for _, _, inside, text in labels if not inside] == []
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_chart_labels_stay_inside_the_chart_on_a_320_px_phone(browser: Browser, server: str):
    """At 320 px, 26 of the 60 texts of funding's chart ran past its edge at 13 px."""
    context = browser.new_context(viewport={"width": 320, "height": 700})
    try:
        pg = context.new_page()
        pg.goto(server + "/queries/funding")
        labels = pg.evaluate(LABELS, "#chart")
        assert len(labels) >= 60  # 30 bars' labels and values, the scale's two ends
        assert [text for h, size, inside, text in labels if not inside or h < 10 or size < 11] == []
        assert pg.evaluate("document.documentElement.scrollWidth") <= 320
    finally:
        context.close()


def test_withdrawing_an_accepted_link_in_the_browser(page: Page, store_path, tmp_path):
    """The whole flow in Chromium: accept on /links/review, follow its link to the accepted
    links, try without a reason (the browser asks for one), withdraw with one, reload (no
    second withdrawal), and the resource page no longer lists the link under "Elsewhere"."""
    from webapp import close_app

    from .conftest import make_app, waitress_serving
    from .test_links import ECCP, ICT_ID, LIFE_ID, PBN_ID, stored, token_for, with_candidates

    app = make_app(with_candidates(store_path, tmp_path), tmp_path, WORKERS=1)
    try:
        curator = token_for(app, "curator")
        with waitress_serving(app, threads=2) as url:
            page.goto(url + "/links/review")
            for cid in (ICT_ID, LIFE_ID):
                page.check(f'input[name="decision-{cid}"][value="accept"]')
            page.fill("#token", curator)
            page.click("#review-form button[type=submit]")
            page.wait_for_selector("#outcome")
            page.click("#to-accepted a")
            page.wait_for_selector("#withdraw-form")
            assert page.url == url + "/links/accepted"
            rows = page.locator("#accepted tbody tr")
            assert sorted(rows.evaluate_all("rs => rs.map(r => r.id)")) == sorted(
                [f"link-{ICT_ID}", f"link-{LIFE_ID}"]
            )
            page.check(f'input[name="withdraw"][value="{ICT_ID}"]')
            page.fill("#token", curator)
            page.click("#withdraw-form button[type=submit]")  # no reason: not sent
            assert page.evaluate("document.querySelector('#reason').validity.valueMissing")
            assert page.locator("#outcome").count() == 0
            page.fill("#reason", "another cluster of the same name")
            page.click("#withdraw-form button[type=submit]")
            page.wait_for_selector("#outcome")
            assert page.url == url + "/links/accepted"
            assert page.inner_text("#outcome") == "Done: withdrawn 1."
            assert rows.evaluate_all("rs => rs.map(r => r.id)") == [f"link-{LIFE_ID}"]
            answer = page.reload()
            assert answer is not None and answer.status == 200
            assert page.locator("#outcome").count() == 0
            assert page.locator("#withdraw-error").count() == 0
            page.goto(url + "/id/partner/aws/cluster/vienna-ict-cluster")
            assert ECCP + "X001" not in page.inner_html("body")
            shot(page, "links-withdrawn")
        assert page.problems == []
        now = stored(app)
        assert (now[ICT_ID].status, now[ICT_ID].reason) == (
            "withdrawn",
            "another cluster of the same name",
        )
        assert (now[LIFE_ID].status, now[PBN_ID].status) == ("accepted", "proposed")
    finally:
        close_app(app)
