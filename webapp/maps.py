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

from .charts import number_text
from .present import heading

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
    # Where its code is written (placed by `place_labels`): the text's anchor point and
    # text-anchor, and a leader line (x1, y1, x2, y2) when the label sits away from the marker.
    # tx is None when no place was free: the marker's title still names the region.
    tx: float | None = None
    ty: float | None = None
    anchor: str = "start"
    leader: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class Map:
    width: int
    height: int
    background: list[tuple[str, float, float]]
    markers: list[Marker]
    # The part of the map drawn (x, y, width, height): the markers, their labels and some room
    # around them, so a phone's scrolling box starts on them, not on empty sea west of Italy.
    view: tuple[float, float, float, float] | None = None
    # What a marker stands for, under the map.
    legend: str = (
        "Each red dot is a region in this list, labelled with its NUTS code; point at it or"
        " focus it (Tab) to read its name and values."
    )


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
    placed = place_labels(markers, width, height)
    return Map(int(width), int(height), background, placed, view_of(placed, width, height))


# The view: the markers' and labels' extent with MARGIN around, at least VIEW_MIN wide and high
# (one marker is not blown up to the page's width), inside the map.
MARGIN = 24.0
VIEW_MIN = (360.0, 240.0)


def view_of(markers: list[Marker], width: float, height: float) -> tuple[float, ...]:
    boxes = [(m.x - RADIUS, m.y - RADIUS, m.x + RADIUS, m.y + RADIUS) for m in markers]
    boxes += [label_box(m.code, m.tx, m.ty, m.anchor) for m in markers if m.tx is not None]
    extent = []
    for lo, hi, least, most in ((0, 2, VIEW_MIN[0], width), (1, 3, VIEW_MIN[1], height)):
        a = min(b[lo] for b in boxes) - MARGIN
        z = max(b[hi] for b in boxes) + MARGIN
        if z - a < least:
            a, z = (a + z - least) / 2, (a + z + least) / 2
        a, z = max(a, 0.0), min(z, most)
        if z - a < least:  # pushed against an edge: grow the other way
            a, z = max(min(a, z - least), 0.0), min(max(z, a + least), most)
        extent.append((round(a, 1), round(z - a, 1)))
    return (extent[0][0], extent[1][0], extent[0][1], extent[1][1])


# Labels: a marker's code goes in the first free place of a few around it, nearest first, then
# further out with a leader line; free means its box overlaps no marker, no label or leader
# placed before and stays inside the map. Boxes are measured at BOX_FONT, the largest size
# style.css gives map labels (narrow screens), around the text's anchor point and baseline, so
# a label drawn at FONT lies inside its box. Neighbouring label points (AT12 beside AT13, a
# NUTS-1 mean among its regions) made markers cover each other's labels.
RADIUS = 7.0  # a marker's circle
HALO = 1.0  # its white stroke and a pixel of air
FONT = 11  # drawn font size of a label
BOX_FONT = 14  # the size labels are measured at
# Widths in em, a little over DejaVu Sans's (the widest usual sans-serif face): a digit, M, W,
# and any other character as wide as an O. ASCENT and DESCENT bound the text's box (its
# getBBox in Chromium) above and below the baseline.
DIGIT, WIDE, OTHER = 0.64, {"M": 0.87, "W": 1.0}, 0.8
ASCENT, DESCENT = 0.95, 0.27
MIDDLE = 4.0  # baseline below the marker's centre for a label beside it (centred at 11 px)
REACH = (RADIUS + 2, RADIUS + 17, RADIUS + 31)  # near edge of a label from the centre
_D = math.sqrt(0.5)
DIRECTIONS = (  # right, left, the diagonals, above, below
    (1.0, 0.0),
    (-1.0, 0.0),
    (_D, -_D),
    (_D, _D),
    (-_D, -_D),
    (-_D, _D),
    (0.0, -1.0),
    (0.0, 1.0),
)
SIDE = 9.5  # a diagonal label's box clears a label beside its marker, 9.3 above and 7.8 below
CELL = 48.0  # side of a cell of the grid that finds nearby obstacles

Box = tuple[float, float, float, float]


def text_width(text: str, font: float = BOX_FONT) -> float:
    return font * sum(DIGIT if ch.isdigit() else WIDE.get(ch, OTHER) for ch in text)


def label_box(text: str, x: float, y: float, anchor: str, font: float = BOX_FONT) -> Box:
    """The box (x0, y0, x1, y1) of ``text`` anchored at x with its baseline at y."""
    w = text_width(text, font)
    x0 = x if anchor == "start" else x - w if anchor == "end" else x - w / 2
    return (x0, y - ASCENT * font, x0 + w, y + DESCENT * font)


def _candidate(mk: Marker, ux: float, uy: float, reach: float):
    """The text's anchor point, text-anchor, box and leader line for one place."""
    px, py = mk.x + ux * reach, mk.y + uy * reach
    if ux and uy:
        py = mk.y + math.copysign(max(abs(uy) * reach, SIDE), uy)
    anchor = "start" if ux > 0.3 else "end" if ux < -0.3 else "middle"
    if uy < -0.3:
        y = py - DESCENT * BOX_FONT
    elif uy > 0.3:
        y = py + ASCENT * BOX_FONT
    else:
        y = py + MIDDLE
    x, y = round(px, 1), round(y, 1)
    leader = None
    if reach > REACH[0]:
        r0, r1 = RADIUS + 1, reach - 1
        leader = tuple(
            round(v, 1) for v in (mk.x + ux * r0, mk.y + uy * r0, mk.x + ux * r1, mk.y + uy * r1)
        )
    return x, y, anchor, label_box(mk.code, x, y, anchor), leader


def _box_hits_circle(b: Box, cx: float, cy: float, r: float) -> bool:
    dx = b[0] - cx if cx < b[0] else cx - b[2] if cx > b[2] else 0.0
    dy = b[1] - cy if cy < b[1] else cy - b[3] if cy > b[3] else 0.0
    return dx < r and dy < r and dx * dx + dy * dy < r * r


def _boxes_overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _segment_hits_box(seg, b: Box) -> bool:
    """Liang-Barsky: does the segment pass through the box?"""
    x1, y1, x2, y2 = seg
    t0, t1, dx, dy = 0.0, 1.0, x2 - x1, y2 - y1
    for p, q in ((-dx, x1 - b[0]), (dx, b[2] - x1), (-dy, y1 - b[1]), (dy, b[3] - y1)):
        if p == 0:
            if q < 0:
                return False
        else:
            t = q / p
            if p < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
            if t0 > t1:
                return False
    return True


def _cells(b: Box):
    for i in range(int(b[0] // CELL), int(b[2] // CELL) + 1):
        for j in range(int(b[1] // CELL), int(b[3] // CELL) + 1):
            yield i, j


def place_labels(markers: list[Marker], width: float, height: float) -> list[Marker]:
    """The markers with their labels placed, greedily and deterministically: the most crowded
    marker chooses first; a label with no free place is left out (the title names it)."""
    grid: dict[tuple[int, int], list] = {}

    def add(kind: str, shape, box: Box) -> None:
        for cell in _cells(box):
            grid.setdefault(cell, []).append((kind, shape))

    def near(box: Box):
        seen = set()
        for cell in _cells(box):
            for item in grid.get(cell, ()):
                if id(item) not in seen:
                    seen.add(id(item))
                    yield item

    r = RADIUS + HALO
    for mk in markers:
        add("circle", (mk.x, mk.y), (mk.x - r, mk.y - r, mk.x + r, mk.y + r))

    def crowd(i: int) -> int:
        mk = markers[i]
        box = (mk.x - CELL, mk.y - CELL, mk.x + CELL, mk.y + CELL)
        return sum(1 for kind, _ in near(box) if kind == "circle")

    order = sorted(range(len(markers)), key=lambda i: (-crowd(i), markers[i].y, markers[i].x))
    placed = list(markers)
    for i in order:
        mk = markers[i]
        for reach in REACH:
            for ux, uy in DIRECTIONS:
                x, y, anchor, box, leader = _candidate(mk, ux, uy, reach)
                if box[0] < 0 or box[1] < 0 or box[2] > width or box[3] > height:
                    continue
                area = box
                if leader:
                    area = (
                        min(box[0], leader[0], leader[2]),
                        min(box[1], leader[1], leader[3]),
                        max(box[2], leader[0], leader[2]),
                        max(box[3], leader[1], leader[3]),
                    )
                if any(_blocks(kind, shape, box, leader, mk) for kind, shape in near(area)):
                    continue
                placed[i] = Marker(
                    mk.code, mk.label, mk.x, mk.y, mk.info, mk.iri, x, y, anchor, leader
                )
                add("label", box, box)
                if leader:
                    add("leader", leader, area)
                break
            else:
                continue
            break
    return placed


def _blocks(kind: str, shape, box: Box, leader, mk: Marker) -> bool:
    if kind == "circle":
        cx, cy = shape
        if _box_hits_circle(box, cx, cy, RADIUS + HALO):
            return True
        if leader and math.hypot(cx - mk.x, cy - mk.y) >= 2 * RADIUS:
            # the leader passes no other marker (but starts inside those its own overlaps):
            # tested against the marker's square
            r = RADIUS + HALO
            return _segment_hits_box(leader, (cx - r, cy - r, cx + r, cy + r))
        return False
    if kind == "label":
        return _boxes_overlap(box, shape) or bool(leader and _segment_hits_box(leader, shape))
    return _segment_hits_box(shape, box)  # an earlier leader


def from_result(
    vars_: list[str], rows: list[tuple], labels: dict, region_prefix: str, pick
) -> Map | None:
    """Markers for every region IRI in a SELECT result. A region of one row shows that row's
    numbers under the page's column headings ("Max severity: 4"); a region of several rows
    says how many results, as no one row speaks for it (the clusters of a region showed the
    first cluster's members as the region's)."""
    found: dict[str, list] = {}  # region IRI -> [rows, the first row's numbers]
    for row in rows:
        numbers = [
            f"{heading(v, vars_)}: {number_text(t)}"
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
        (iri, pick(labels.get(iri)) or iri.rsplit("/", 1)[-1], info if n == 1 else f"{n} results")
        for iri, (n, info) in found.items()
    ]
    return build(regions, region_prefix)


def _is_number(t: ox.Literal) -> bool:
    return t.datatype.value.rsplit("#", 1)[-1] in {"integer", "decimal", "double", "float"}
