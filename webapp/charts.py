"""A horizontal bar chart as server-side SVG, when a result has a label and a number column.

Drawn on the server so it needs no script (the page's CSP allows none inline) and works
without JavaScript; app.js only adds hover read-outs.
"""

from dataclasses import dataclass

import pyoxigraph as ox

NUMERIC = {
    "integer",
    "decimal",
    "double",
    "float",
    "int",
    "long",
    "short",
    "nonNegativeInteger",
    "positiveInteger",
}
XSD = "http://www.w3.org/2001/XMLSchema#"
MAX_BARS = 30
# The longest bar, in the 760 px of the chart, which starts bars at 300 px and writes the
# value after the bar: 350 leaves about 100 px for it, twelve digits and signs at 12 px
# (at 400 the longest value, 171659000 in funding, ran past the edge).
LONGEST_BAR = 350


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str
    y: int
    width: float


@dataclass(frozen=True)
class Chart:
    label_var: str
    value_var: str
    bars: list[Bar]
    height: int
    max_value: float
    total: int  # rows in the result; only the first MAX_BARS are drawn


def _numeric(t: object) -> bool:
    return (
        isinstance(t, ox.Literal)
        and t.datatype.value.startswith(XSD)
        and t.datatype.value[len(XSD) :] in NUMERIC
    )


def _text(t: object) -> bool:
    return isinstance(t, ox.Literal) and not _numeric(t)


def _column(vars_: list[str], rows: list[tuple], test) -> str | None:
    for i, v in enumerate(vars_):
        cells = [r[i] for r in rows if r[i] is not None]
        if cells and all(test(c) for c in cells):
            return v
    return None


def bar_chart(vars_: list[str], rows: list[tuple]) -> Chart | None:
    """A chart of the first text column against the first numeric column, or None."""
    if not rows:
        return None
    label_var = _column(vars_, rows, _text)
    value_var = _column(vars_, rows, _numeric)
    if label_var is None or value_var is None:
        return None
    li, vi = vars_.index(label_var), vars_.index(value_var)
    pairs = [  # (label, number, number as written)
        (r[li].value, float(r[vi].value), r[vi].value)
        for r in rows[:MAX_BARS]
        if r[li] is not None and r[vi] is not None
    ]
    top = max((v for _, v, _ in pairs), default=0.0) or 1.0
    bars = [
        Bar(label[:60], value, shown, 10 + i * 24, max(value, 0) / top * LONGEST_BAR)
        for i, (label, value, shown) in enumerate(pairs)
    ]
    return Chart(label_var, value_var, bars, 20 + 24 * len(bars), top, len(rows))
