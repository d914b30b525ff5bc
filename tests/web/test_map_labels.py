"""Map labels (webapp/maps.py, templates/map.html) overlap no marker and no other label.

AT13 (Wien) sat on the label of AT12 (Niederösterreich), whose label points are 19 px apart;
every label was written 9 px right of its marker. Boxes are measured here as the placement
measures them (text_width at the largest font size style.css gives map labels, ASCENT above
and DESCENT below the baseline, from the text's anchor point), and in Chromium by getBBox."""

import math
import re
import xml.etree.ElementTree as ET

import pytest
from flask import render_template_string

from webapp import maps

from .test_browser import browser  # noqa: F401 (the fixture: headless Chromium)

MAPPED = ["/", "/queries/clusters", "/queries/external-links"]  # the last is the largest
TEMPLATE = '{% from "map.html" import region_map as draw_map %}{{ draw_map(m, "t-map") }}'


def svg_of(html: str) -> ET.Element:
    return ET.fromstring(re.search(r'<svg class="map".*?</svg>', html, re.S)[0])


def drawn(svg: ET.Element) -> list[dict]:
    """Each marker: its code, title, circle and label box (None when it has no label)."""
    out = []
    for a in svg.iter("a"):
        circle, text = a.find("circle"), a.find("text")
        box = None
        if text is not None:
            font = maps.BOX_FONT
            w = maps.text_width(text.text, font)
            x, y = float(text.get("x")), float(text.get("y"))
            anchor = text.get("text-anchor", "start")
            x0 = x if anchor == "start" else x - w if anchor == "end" else x - w / 2
            box = (x0, y - maps.ASCENT * font, x0 + w, y + maps.DESCENT * font)
        out.append(
            {
                "code": text.text if text is not None else None,
                "title": a.find("title").text,
                "c": (float(circle.get("cx")), float(circle.get("cy")), float(circle.get("r"))),
                "box": box,
            }
        )
    return out


def overlaps(markers: list[dict]) -> list[tuple[str, str]]:
    """Pairs (label, what it overlaps): another label, or any marker's circle."""
    bad = []
    for i, m in enumerate(markers):
        b = m["box"]
        if b is None:
            continue
        for j, o in enumerate(markers):
            cx, cy, r = o["c"]
            dx = cx - min(max(cx, b[0]), b[2])
            dy = cy - min(max(cy, b[1]), b[3])
            if math.hypot(dx, dy) < r:
                bad.append((m["code"], f"marker {o['title']}"))
            ob = o["box"]
            if j != i and ob and b[0] < ob[2] and ob[0] < b[2] and b[1] < ob[3] and ob[1] < b[3]:
                bad.append((m["code"], f"label {o['code']}"))
    return bad


@pytest.mark.parametrize("path", MAPPED)
def test_no_map_label_overlaps_a_marker_or_another_label(client, path):
    html = client.get(path).get_data(as_text=True)
    svg = svg_of(html)
    # The view is the part of the map around the markers (maps.view_of): labels stay inside it.
    x0, y0, width, height = (float(v) for v in svg.get("viewBox").split())
    markers = drawn(svg)
    assert len(markers) >= 5
    assert overlaps(markers) == []
    for m in markers:
        if m["box"]:
            b = m["box"]
            assert b[0] >= x0 and b[1] >= y0 and b[2] <= x0 + width and b[3] <= y0 + height, m
        assert m["title"]  # a marker without a label is still named
    # Most labels find a place, even on the crowded map (96 of its 109).
    assert sum(m["box"] is not None for m in markers) >= 0.85 * len(markers)
    # The same data draws the same bytes.
    again = client.get(path).get_data(as_text=True)
    assert re.search(r'<svg class="map".*?</svg>', again, re.S)[0] in html


def test_wien_does_not_cover_niederoesterreich(client):
    markers = {m["code"] or m["title"]: m for m in drawn(svg_of(client.get("/").text))}
    at12, at13 = markers["AT12"], markers["AT13"]
    assert at12["box"] and at13["box"]
    assert overlaps([at12, at13]) == []


def render(app, m) -> str:
    with app.test_request_context("/"):
        return render_template_string(TEMPLATE, m=m)


def test_markers_at_nearly_one_point_get_labels_apart(app):
    """Seven markers within 2 px of each other, one with a hostile code."""
    codes = ["AA11", "AA12", "AA13", "AA1", "AA", "AA14", "<b>&"]
    near = [
        maps.Marker(c, f"Region {c}", 300 + (i % 3) * 0.7, 200 + (i // 3) * 0.9, "", f"r/{i}")
        for i, c in enumerate(codes)
    ]
    m = maps.Map(683, 446, [], maps.place_labels(near, 683, 446))
    html = render(app, m)
    assert html == render(app, maps.Map(683, 446, [], maps.place_labels(near, 683, 446)))
    assert "<b>&" not in html and "&lt;b&gt;&amp;" in html
    markers = drawn(svg_of(html))
    assert [m["title"] for m in markers] == [f"Region {c}" for c in codes]
    assert overlaps(markers) == []
    assert sum(m["box"] is not None for m in markers) >= 6
    assert "<line" in html  # the ones further out point at their marker


def test_the_old_placement_is_caught():
    """The check itself: a label 9 px right of AT12's marker, AT13's 19 px away, overlaps."""
    at12 = {"code": "AT12", "title": "AT12", "c": (275.3, 49.6, 7), "box": None}
    at13 = {"code": "AT13", "title": "AT13", "c": (294.1, 51.9, 7), "box": None}
    w, y, f = maps.text_width("AT12"), 49.6 + 4, maps.BOX_FONT
    at12["box"] = (284.3, y - maps.ASCENT * f, 284.3 + w, y + maps.DESCENT * f)
    assert ("AT12", "marker AT13") in overlaps([at12, at13])


#: In the browser: each label's getBBox against every other label's and every marker's circle.
BBOX_OVERLAPS = """(sel) => {
  const ms = [...document.querySelectorAll(sel + ' a.marker')].map(a => {
    const c = a.querySelector('circle'), t = a.querySelector('text'), b = t && t.getBBox();
    return [t ? t.textContent : a.querySelector('title').textContent, +c.getAttribute('cx'),
            +c.getAttribute('cy'), +c.getAttribute('r'),
            b && [b.x, b.y, b.x + b.width, b.y + b.height]]; });
  const bad = [];
  ms.forEach(([code, , , , b], i) => b && ms.forEach(([other, cx, cy, r, o], j) => {
    const dx = cx - Math.min(Math.max(cx, b[0]), b[2]);
    const dy = cy - Math.min(Math.max(cy, b[1]), b[3]);
    if (Math.hypot(dx, dy) < r) bad.push(code + ' on marker ' + other);
    if (j !== i && o && b[0] < o[2] && o[0] < b[2] && b[1] < o[3] && o[1] < b[3])
      bad.push(code + ' on label ' + other); }));
  return [ms.filter(m => m[4]).length, bad]; }"""


@pytest.mark.parametrize("width", [1200, 390])  # 390: style.css writes map labels at 14 px
def test_no_label_overlaps_in_chromium(browser, server, width):  # noqa: F811 (fixture)
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        pg = context.new_page()
        for path, sel in [("/", "#partner-map"), ("/queries/external-links", "#result-map")]:
            pg.goto(server + path)
            shown, bad = pg.evaluate(BBOX_OVERLAPS, sel)
            assert shown >= 5 and bad == [], (path, bad)
    finally:
        context.close()
