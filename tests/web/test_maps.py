"""Region markers of a result's map (webapp/maps.py)."""

import pyoxigraph as ox

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
