"""What a chart and a map tell a reader (webapp/charts.py, templates/chart.html, maps.py).

A policy officer read transfer candidates' severities 4 and 3 as a full bar and three
quarters of one, on a 1-5 scale the page never stated; policy gaps drew a bar of 1 per row;
cluster partners charted a 0/1 flag; funding's 171659000 had no separators and 17 of 47 rows
were left out without a word; map tooltips read "Lazio (maxSeverity: 4, transferability: 5)".
"""

import re
import xml.etree.ElementTree as ET

import pyoxigraph as ox
import pytest
from flask import render_template_string

from clusterpolisee.catalog import CatalogError, ChartSpec, load_query
from webapp.charts import MAX_BARS, bar_chart
from webapp.maps import from_result

from .test_browser import SHOTS, browser  # noqa: F401 (the fixture: headless Chromium)

XSD = "http://www.w3.org/2001/XMLSchema#"
REGION = "https://w3id.org/clusterpolisee/id/region/"
CHART = '{% from "chart.html" import bar_chart as draw %}{{ draw(c) }}'
MAP = '{% from "map.html" import region_map as draw_map %}{{ draw_map(m, "t-map") }}'


def num(v: str, kind: str = "integer") -> ox.Literal:
    return ox.Literal(v, datatype=ox.NamedNode(XSD + kind))


def text(v: str) -> ox.Literal:
    return ox.Literal(v, language="en")


def render(app, template: str, **values) -> str:
    with app.test_request_context("/"):
        return render_template_string(template, **values)


def svg(html: str, cls: str) -> ET.Element:
    return ET.fromstring(re.search(rf'<svg class="{cls}".*?</svg>', html, re.S)[0])


def test_a_column_of_one_value_or_a_flag_gets_no_chart():
    """policy-gaps: every bar was 1; cluster-partners: a 0/1 "Sector matches" flag."""
    gaps = [(text(f"Theme {i}"), num("1")) for i in range(4)]
    assert bar_chart(["themeLabel", "barriers"], gaps) is None
    flags = [(text(f"Cluster {i}"), num(str(i % 2))) for i in range(4)]
    assert bar_chart(["otherLabel", "sectorMatches"], flags) is None
    # A later column that varies is drawn instead of the flag before it.
    rows = [(text(f"Cluster {i}"), num(str(i % 2)), num(str(i + 2))) for i in range(4)]
    chart = bar_chart(["otherLabel", "sectorMatches", "themeMatches"], rows)
    assert chart.value_var == "themeMatches"
    # Named in the header, a constant column is still no chart.
    assert bar_chart(["themeLabel", "barriers"], gaps, ChartSpec("barriers")) is None


def test_a_declared_max_is_the_scale_and_is_drawn(app):
    """Severity 4 of 5 is 80 % of the width, not all of it; the scale says 0 and 5."""
    rows = [(text("Vouchers"), num("4")), (text("Awards"), num("3"))]
    spec = ChartSpec("maxSeverity", ("practiceLabel",), 5.0)
    chart = bar_chart(["practiceLabel", "maxSeverity"], rows, spec)
    drawn = svg(render(app, CHART, c=chart), "chart")
    widths = [float(r.get("width").rstrip("%")) for r in drawn.iter("rect")]
    assert [w / 100 for w in widths] == [4 / 5, 3 / 5]
    ticks = [t.text for t in drawn.find("g[@class='axis']").iter("text")]
    assert ticks == ["0", "5"]
    # Without a declared max the scale ends at the largest value, and says so.
    auto = svg(render(app, CHART, c=bar_chart(["practiceLabel", "maxSeverity"], rows)), "chart")
    assert [t.text for t in auto.find("g[@class='axis']").iter("text")] == ["0", "4"]


def test_the_caption_uses_the_column_headings(app):
    rows = [(text("Vouchers"), num("4")), (text("Awards"), num("3"))]
    spec = ChartSpec("maxSeverity", ("practiceLabel",), 5.0)
    chart = bar_chart(
        ["practice", "practiceLabel", "maxSeverity"], [(None, *r) for r in rows], spec
    )
    assert chart.caption == "Max severity (out of 5) by Practice name"
    html = render(app, CHART, c=chart)
    assert "<figcaption>Max severity (out of 5) by Practice name" in html
    assert 'aria-label="Max severity (out of 5) by Practice name"' in html
    assert "maxSeverity" not in html


def test_a_chart_of_some_rows_says_so_under_it(app):
    rows = [(text(f"Row {i}"), num(str(i + 1))) for i in range(47)]
    chart = bar_chart(["name", "amount"], rows)
    assert len(chart.bars) == MAX_BARS
    html = render(app, CHART, c=chart)
    caption = re.search(r"<figcaption>(.*?)</figcaption>", html, re.S)[1]
    assert "The chart shows the first 30 of 47 rows" in caption
    assert '<span class="chart-note">' in caption
    # All rows drawn: nothing to say.
    assert bar_chart(["name", "amount"], rows[:5]).note == ""


def test_values_and_the_scale_have_thousands_separators_and_their_currency(app):
    """funding: theme, country, currency code, then the budget."""
    rows = [
        (text("Finance"), text("Italy"), ox.Literal("EUR"), num("171659000.00", "decimal")),
        (text("Finance"), text("Austria"), ox.Literal("EUR"), num("99126000", "decimal")),
    ]
    vars_ = ["themeLabel", "countryLabel", "currencyCode", "totalBudget"]
    chart = bar_chart(vars_, rows, ChartSpec("totalBudget", ("themeLabel", "countryLabel")))
    assert [b.shown for b in chart.bars] == ["171,659,000.00 EUR", "99,126,000 EUR"]
    assert [t.text for t in chart.ticks] == ["0", "171,659,000 EUR"]
    assert chart.caption == "Total budget by Theme and Country"
    assert "171,659,000.00 EUR" in render(app, CHART, c=chart)


def test_map_tooltips_use_headings_and_names_and_a_legend_says_what_a_dot_is(app):
    rows = [
        (ox.NamedNode(REGION + "ITI4"), num("4"), num("5")),
        *[(ox.NamedNode(REGION + "AT13"), num(str(i)), num("2")) for i in range(4)],
    ]
    labels = {REGION + "ITI4": {"en": "Lazio"}, REGION + "AT13": {"en": "Wien"}}
    vars_ = ["fromRegion", "maxSeverity", "transferability"]
    m = from_result(vars_, rows, labels, REGION, lambda d: (d or {}).get("en"))
    html = render(app, MAP, m=m)
    titles = [a.find("title").text for a in svg(html, "map").iter("a")]
    assert titles == ["Lazio — Max severity: 4, Transferability: 5", "Wien — 4 results"]
    assert 'data-info="Lazio — Max severity: 4, Transferability: 5"' in html
    caption = re.search(r"<figcaption>(.*?)</figcaption>", html, re.S)[1]
    assert caption.startswith("Each red dot is a region in this list")


def test_the_map_is_drawn_around_its_markers():
    """On a phone the scrolling box starts at the view's left edge: the westernmost marker,
    not the empty sea west of Italy (the whole map was drawn, markers off screen)."""
    rows = [(ox.NamedNode(REGION + c),) for c in ("AT13", "RO21", "HU11")]
    m = from_result(["region"], rows, {}, REGION, lambda d: None)
    x, y, w, h = m.view
    assert x > 100 and w < m.width and h <= m.height
    for mk in m.markers:
        assert x <= mk.x - 7 and mk.x + 7 <= x + w and y <= mk.y - 7 and mk.y + 7 <= y + h


@pytest.mark.parametrize(
    "setting, message",
    [
        ("yes please", r"'chart' must be true, false or a mapping"),
        ("{value: nosuch}", r"'chart' names \?nosuch, which the query does not use"),
        ("{value: n, max: -1}", r"'chart' max must be a number above 0"),
        ("{value: n, colour: red}", r"unknown key 'colour' in 'chart'"),
        ("{label: s}", r"'chart' must be true, false or a mapping"),
    ],
)
def test_the_catalog_refuses_a_malformed_chart_setting_with_file_and_line(
    tmp_path, setting, message
):
    path = tmp_path / "bad.rq"
    path.write_text(
        f"#+ summary: x\n#+ chart: {setting}\nSELECT ?s ?n WHERE {{ ?s ?p ?n }}\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match=rf"bad.rq, line 2: {message}"):
        load_query(path)


def test_the_catalog_reads_a_chart_setting(tmp_path):
    path = tmp_path / "good.rq"
    path.write_text(
        "#+ summary: x\n#+ chart: {value: n, label: s, max: 5}\nSELECT ?s ?n WHERE { ?s ?p ?n }\n",
        encoding="utf-8",
    )
    assert load_query(path).chart == ChartSpec("n", ("s",), 5.0)


VISIBLE = """sel => { const box = document.querySelector(sel).closest('.map-scroll')
  .getBoundingClientRect();
  return [...document.querySelectorAll(sel + ' a circle')].map(c => {
    const r = c.getBoundingClientRect();
    return r.left >= box.left && r.right <= box.right; }); }"""


def test_a_phone_opens_the_map_on_its_markers(browser, server):  # noqa: F811 (fixture)
    """At 390 px the map scrolls in its box; the box opened on the sea west of Italy, with
    the eastern partners (Romania, Serbia, Albania) out of sight."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(server + "/")
        seen = page.evaluate(VISIBLE, "#partner-map")
        assert len(seen) >= 10 and sum(seen) >= 0.6 * len(seen), seen
        page.locator("#partner-map").screenshot(path=str(SHOTS / "phone-map.png"))
    finally:
        context.close()


def test_question_pages_draw_the_declared_chart_or_none(client):
    """The headers' settings reach the pages: funding's bars by theme and country with its
    currency and what the chart leaves out; no chart where every bar would be the same
    (policy-gaps; the web store lacks cluster-partners' default cluster)."""
    html = client.get("/queries/funding", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'aria-label="Total budget by Theme and Country"' in html
    assert "171,659,000.00 EUR" in html or "171,659,000 EUR" in html
    assert '<span class="chart-note">The chart shows the first 30 of 47 rows' in html
    page = client.get("/queries/policy-gaps", headers={"Accept": "text/html"})
    assert page.status_code == 200 and 'id="chart"' not in page.get_data(as_text=True)
