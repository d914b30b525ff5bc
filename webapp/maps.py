"""A map of regions as server-side SVG: markers at NUTS-2 label points, no tiles, no script.

Points come from data/reference/nuts2-label-points.csv (Eurostat / GISCO label points, cited
there). A NUTS-1 region is drawn at the mean of its NUTS-2 points.
"""

import csv
import math
from dataclasses import dataclass
from functools import lru_cache

import pyoxigraph as ox

from clusterpolisee import paths

POINTS_FILE = paths.REFERENCE_DIR / "nuts2-label-points.csv"
WEST, EAST, SOUTH, NORTH = 6.5, 29.5, 34.5, 49.5
SCALE = 40.0  # pixels per degree of latitude
COS = math.cos(math.radians((SOUTH + NORTH) / 2))


@dataclass(frozen=True)
class Marker:
    code: str
    label: str
    x: float
    y: float
    info: str
    iri: str


@dataclass(frozen=True)
class Map:
    width: int
    height: int
    background: list[tuple[str, float, float]]
    markers: list[Marker]


@lru_cache(maxsize=1)
def points() -> dict[str, tuple[float, float]]:
    if not POINTS_FILE.exists():
        return {}
    with POINTS_FILE.open(encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {r["code"]: (float(r["lon"]), float(r["lat"])) for r in rows}


def project(lon: float, lat: float) -> tuple[float, float]:
    return round((lon - WEST) * SCALE * COS, 1), round((NORTH - lat) * SCALE, 1)


def point_for(code: str) -> tuple[float, float] | None:
    pts = points()
    if code in pts:
        return pts[code]
    children = [p for c, p in pts.items() if c.startswith(code) and len(code) >= 3]
    if not children:
        return None
    return (
        sum(p[0] for p in children) / len(children),
        sum(p[1] for p in children) / len(children),
    )


def region_code(iri: str, region_prefix: str) -> str | None:
    return iri[len(region_prefix) :] if iri.startswith(region_prefix) else None


def build(regions: list[tuple[str, str, str]], region_prefix: str) -> Map | None:
    """A map with one marker per (iri, label, info); None when no region can be placed."""
    markers, seen = [], set()
    for iri, label, info in regions:
        code = region_code(iri, region_prefix)
        pt = point_for(code) if code else None
        if pt is None or iri in seen:
            continue
        seen.add(iri)
        x, y = project(*pt)
        markers.append(Marker(code, label, x, y, info, iri))
    if not markers:
        return None
    width, height = project(EAST, SOUTH)
    background = [(c, *project(*p)) for c, p in sorted(points().items())]
    return Map(int(width), int(height), background, markers)


def from_result(
    vars_: list[str], rows: list[tuple], labels: dict, region_prefix: str, pick
) -> Map | None:
    """Markers for every region IRI in a SELECT result. A region of one row shows that row's
    numbers; a region of several rows says how many, as no one row speaks for it (the
    clusters of a region showed the first cluster's members as the region's)."""
    found: dict[str, list] = {}  # region IRI -> [rows, the first row's numbers]
    for row in rows:
        numbers = [
            f"{v}: {t.value}"
            for v, t in zip(vars_, row, strict=True)
            if isinstance(t, ox.Literal) and _is_number(t)
        ]
        for iri in dict.fromkeys(
            t.value
            for t in row
            if isinstance(t, ox.NamedNode) and t.value.startswith(region_prefix)
        ):
            found.setdefault(iri, [0, ", ".join(numbers)])[0] += 1
    regions = [
        (iri, pick(labels.get(iri)) or iri.rsplit("/", 1)[-1], info if n == 1 else f"{n} rows")
        for iri, (n, info) in found.items()
    ]
    return build(regions, region_prefix)


def _is_number(t: ox.Literal) -> bool:
    return t.datatype.value.rsplit("#", 1)[-1] in {"integer", "decimal", "double", "float"}
