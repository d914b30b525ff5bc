"""Region markers of a result's map (webapp/maps.py) and its bar chart (webapp/charts.py)."""

import pyoxigraph as ox

from webapp.charts import AXIS, bar_chart
from webapp.maps import from_result

REGION = "https://w3id.org/clusterpolisee/id/region/"


def members(n: int) -> ox.Literal:
    return ox.Literal(str(n), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))


def test_a_region_of_several_rows_says_how_many_not_one_rows_numbers():
    rows = [
        (ox.NamedNode("https://example.org/c1"), ox.NamedNode(REGION + "AL01"), members(47)),
        (ox.NamedNode("https://example.org/c2"), ox.NamedNode(REGION + "AL01"), members(24)),
        (ox.NamedNode("https://example.org/c3"), ox.NamedNode(REGION + "ITI3"), members(13)),
    ]
    labels = {REGION + "AL01": {"en": "Veri"}}
    drawn = from_result(
        ["cluster", "region", "members"], rows, labels, REGION, lambda d: (d or {}).get("en")
    )
    assert [(m.code, m.label, m.info) for m in drawn.markers] == [
        ("AL01", "Veri", "2 results"),
        ("ITI3", "ITI3", "Members: 13"),
    ]


def test_each_value_fits_beside_or_inside_its_bar_on_a_phone():
    """On a 390 px phone the chart is 342 px wide; a value is written 4 px after its bar, or
    inside the end of a bar longer than 60 %, about 7.5 px a character at 12 px (funding's
    171659000 ran past the edge). Bars were 350 units of a 760-unit viewBox, 5 px text there."""
    euros = ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")
    rows = [
        (ox.Literal("Financial framework"), ox.Literal("171659000.00", datatype=euros)),
        (ox.Literal("Vouchers"), ox.Literal("99126000.50", datatype=euros)),
        (ox.Literal("Awards"), ox.Literal("1250000.50", datatype=euros)),
    ]
    chart = bar_chart(["programme", "budget"], rows)
    assert [(round(b.width, 1), b.inside) for b in chart.bars] == [
        (100.0, True),
        (57.7, False),
        (0.7, False),
    ]
    # The scale takes AXIS px under the bars.
    assert [b.y for b in chart.bars] == [4, 42, 80] and chart.height == 122 + AXIS
    for bar in chart.bars:
        bar_px, value_px = bar.width / 100 * 342, 4 + 7.5 * len(bar.shown)
        assert value_px <= bar_px if bar.inside else bar_px + value_px <= 342, bar


def text(value: str) -> ox.Literal:
    return ox.Literal(value, language="en")


def test_bars_are_told_apart_when_the_first_text_column_repeats():
    """`overview`: country, theme and a count per row; six bars read "Albania". The label
    adds the theme (the next text column that varies), and skips one that never varies."""
    rows = [
        (text("Albania"), text("Report"), text("Clusters and regional (smart) specialisation"),
         members(0)),
        (text("Albania"), text("Report"), text("New skills and jobs creation"), members(1)),
        (text("Austria"), text("Report"), text("New skills and jobs creation"), members(2)),
    ]  # fmt: skip
    chart = bar_chart(["countryLabel", "source", "themeLabel", "clusters"], rows)
    assert chart.label_vars == ("countryLabel", "themeLabel")
    assert [b.label for b in chart.bars] == [
        "Albania · Clusters and regional (smart) specialisation",
        "Albania · New skills and jobs creation",
        "Austria · New skills and jobs creation",
    ]
    # What fits left of the bars (42 characters): each part keeps its share.
    assert [b.short for b in chart.bars] == [
        "Albania · Clusters and regional (smart) s…",
        "Albania · New skills and jobs creation",
        "Austria · New skills and jobs creation",
    ]


def test_a_unique_first_text_column_labels_the_bars_alone():
    rows = [
        (text("Veri"), text("Albania"), members(3)),
        (text("Qender"), text("Albania"), members(4)),
    ]
    chart = bar_chart(["regionLabel", "countryLabel", "clusters"], rows)
    assert chart.label_vars == ("regionLabel",)
    assert [(b.label, b.short) for b in chart.bars] == [("Veri", "Veri"), ("Qender", "Qender")]


def test_two_long_parts_share_the_label_width():
    """A long first part cannot push out the part that tells two bars apart."""
    first = "A very long name of a country that goes on and on"
    rows = [
        (text(first), text("Theme one"), members(1)),
        (text(first), text("Theme two"), members(2)),
    ]
    shorts = [b.short for b in bar_chart(["a", "b", "n"], rows).bars]
    assert shorts == ["A very long name of a country… · Theme one",
                      "A very long name of a country… · Theme two"]  # fmt: skip
    assert {len(s) for s in shorts} == {42}
