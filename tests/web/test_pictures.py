"""Region markers of a result's map (webapp/maps.py) and its bar chart (webapp/charts.py)."""

import pyoxigraph as ox

from webapp.charts import bar_chart
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
        ("AL01", "Veri", "2 rows"),
        ("ITI3", "ITI3", "members: 13"),
    ]


def test_the_longest_bar_leaves_room_for_its_value():
    """The chart is 760 px wide; bars start at 300 and the value is written 5 px after its
    bar, about 7.5 px a character at 12 px (funding's 171659000 ran past the edge)."""
    euros = ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")
    rows = [
        (ox.Literal("Financial framework"), ox.Literal("171659000.00", datatype=euros)),
        (ox.Literal("Vouchers"), ox.Literal("1250000.50", datatype=euros)),
    ]
    chart = bar_chart(["programme", "budget"], rows)
    for bar in chart.bars:
        assert 305 + bar.width + 7.5 * len(bar.shown) <= 760, bar
