"""A horizontal bar chart as server-side SVG, when a result has a label and a number column.

Drawn on the server so it needs no script (the page's CSP allows none inline) and works
without JavaScript; app.js only adds hover read-outs.

The chart has no viewBox: it is as wide as the page allows, its text keeps its size in CSS
pixels and bars are drawn in percent of its width. Each label stands on its own line above its
bar, so a phone's 342 px hold it (in a 760-unit viewBox scaled to 342 px, labels were 5 px).
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
# Bars are in percent of the chart's width. A bar longer than VALUE_INSIDE carries its value
# inside its end, a shorter one after it: either way the value has 40 % of the width, 135 px on
# a 390 px phone, where funding's 171659000.00 (12 characters at 12 px) takes about 90 px.
LONGEST_BAR = 100.0
VALUE_INSIDE = 60.0
# Each bar takes ROW px: its label (13 px) on one line, the bar (14 px) under it.
ROW = 38
# A bar's label, at 13 px on the width of a phone's chart (342 px at 390): about 42 characters.
LABEL_CHARS = 42
# The most of one cell a label keeps (its full text is in the bar's tooltip).
PART_CHARS = 120
SEPARATOR = " · "


@dataclass(frozen=True)
class Bar:
    label: str  # the full label, for the tooltip
    short: str  # what fits on the line above its bar
    value: float
    shown: str
    y: int  # the top of its row, px
    width: float  # percent of the chart's width
    inside: bool  # the value is written inside the bar's end


@dataclass(frozen=True)
class Chart:
    label_vars: tuple[str, ...]  # the text columns a bar's label joins
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


def _columns(rows: list[tuple], test, first_only: bool = False) -> list[int]:
    """The columns whose every cell (left-out cells aside) passes ``test``, in order; only
    the first with ``first_only`` (10,000 rows are read column by column)."""
    found = []
    for i in range(len(rows[0])):
        cells = [r[i] for r in rows if r[i] is not None]
        if cells and all(test(c) for c in cells):
            found.append(i)
            if first_only:
                break
    return found


def _cell(t: object) -> str:
    return t.value[:PART_CHARS] if isinstance(t, ox.Literal) else ""


def _label_columns(text_columns: list[int], rows: list[tuple]) -> list[int]:
    """The text columns that tell the bars apart: the first, then each later one that
    varies, until every row's label is its own (`overview`'s six bars were all "Albania":
    its first text column is the country; the theme tells them apart)."""
    chosen: list[int] = []
    for i in text_columns:
        if chosen and len({_cell(r[i]) for r in rows}) < 2:
            continue  # the same in every row: it tells nothing apart
        chosen.append(i)
        if len({tuple(_cell(r[j]) for j in chosen) for r in rows}) == len(rows):
            break
    return chosen


def _fit(parts: list[str], width: int) -> str:
    """The parts joined in ``width`` characters: shorter parts whole where they fit, what
    they leave shared by the longer ones, each cut with "…", so a long first part cannot
    push out the part that tells two bars apart."""
    room = width - len(SEPARATOR) * (len(parts) - 1)
    keep = [0] * len(parts)
    for n, i in enumerate(sorted(range(len(parts)), key=lambda i: len(parts[i]))):
        keep[i] = min(len(parts[i]), max(room // (len(parts) - n), 2))
        room -= keep[i]
    return SEPARATOR.join(
        p if len(p) <= k else p[: k - 1] + "…" for p, k in zip(parts, keep, strict=True)
    )


def bar_chart(vars_: list[str], rows: list[tuple]) -> Chart | None:
    """A chart of the first numeric column, each bar labelled by the text columns that tell
    its row from the others (``_label_columns``), or None."""
    if not rows:
        return None
    text, number = _columns(rows, _text, True), _columns(rows, _numeric, True)
    if not text or not number:
        return None
    ti, vi = text[0], number[0]
    drawn = [r for r in rows[:MAX_BARS] if r[ti] is not None and r[vi] is not None]
    # Further label columns need to be text only in the rows drawn.
    later = [i for i in _columns(drawn, _text) if i > ti] if drawn else []
    at = _label_columns([ti, *later], drawn)
    top = max((float(r[vi].value) for r in drawn), default=0.0) or 1.0
    bars = []
    for n, r in enumerate(drawn):
        parts = [p for p in (_cell(r[i]) for i in at) if p]
        value = float(r[vi].value)
        width = max(value, 0) / top * LONGEST_BAR
        label, short = SEPARATOR.join(parts), _fit(parts, LABEL_CHARS)
        inside = width > VALUE_INSIDE
        bars.append(Bar(label, short, value, r[vi].value, 4 + n * ROW, width, inside))
    names = tuple(vars_[i] for i in at)
    return Chart(names, vars_[vi], bars, 4 + ROW * len(bars), top, len(rows))
