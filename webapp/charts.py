"""A horizontal bar chart as server-side SVG, when a result has a label and a number column.

Which column: the one a stored question's header names (``chart: {value: VAR, label: VAR,
max: N}``, catalog.ChartSpec), else the first numeric column worth drawing. A column with fewer
than two values, or only 0 and 1 (a flag), is not: every bar would be the same length, or say
yes/no, which the table says better. The scale runs from 0 to the declared max, else to the
largest value drawn, and is drawn under the bars with both ends written out; the caption uses
the page's column headings; when rows are left out the chart says how many.

Drawn on the server so it needs no script (the page's CSP allows none inline) and works
without JavaScript; app.js only adds hover read-outs.

The chart has no viewBox: it is as wide as the page allows, its text keeps its size in CSS
pixels and bars are drawn in percent of its width. Each label stands on its own line above its
bar, so a phone's 342 px hold it (in a 760-unit viewBox scaled to 342 px, labels were 5 px).
"""

import re
from dataclasses import dataclass

import pyoxigraph as ox

from .present import heading

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
# The scale under the bars: a line and the values at its ends, AXIS px below the last bar.
AXIS = 24
WHOLE = {"integer", "int", "long", "short", "nonNegativeInteger", "positiveInteger"}
CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class Bar:
    label: str  # the full label, for the tooltip
    short: str  # what fits on the line above its bar
    value: float
    shown: str  # the value as written: thousands separated, with its currency if any
    y: int  # the top of its row, px
    width: float  # percent of the chart's width
    inside: bool  # the value is written inside the bar's end


@dataclass(frozen=True)
class Tick:
    x: float  # percent of the chart's width
    text: str
    anchor: str  # SVG text-anchor


@dataclass(frozen=True)
class Chart:
    label_vars: tuple[str, ...]  # the text columns a bar's label joins
    value_var: str
    bars: list[Bar]
    height: int  # px, the scale included
    max_value: float  # the top of the scale: the declared max, else the largest value drawn
    total: int  # rows in the result; only the first MAX_BARS are drawn
    caption: str = ""  # in the page's column headings
    note: str = ""  # which rows have no bar, when some have none
    ticks: tuple[Tick, ...] = ()
    axis_y: int = 0  # px, the scale's line


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


def _worth_drawing(rows: list[tuple], i: int) -> bool:
    """Whether column ``i`` tells rows apart: two values at least, and not only 0 and 1."""
    values = {float(r[i].value) for r in rows if r[i] is not None}
    return len(values) >= 2 and not values <= {0.0, 1.0}


def number_text(t: ox.Literal) -> str:
    """A number as written, with thousands separators: 171659000 as "171,659,000",
    "1234.50" as "1,234.50" (its decimals kept); a double in exponent form as a plain number."""
    text = t.value.strip()
    kind = t.datatype.value[len(XSD) :] if t.datatype.value.startswith(XSD) else ""
    try:
        if kind in WHOLE:
            return f"{int(text):,}"
        if re.fullmatch(r"[+-]?\d+(\.\d*)?", text):
            whole, dot, frac = text.lstrip("+-").partition(".")
            return "-" * text.startswith("-") + f"{int(whole):,}" + dot + frac
        x = float(text)
        return f"{int(x):,}" if x.is_integer() and abs(x) < 1e15 else f"{x:,.6g}"
    except ValueError:
        return text


def _currency_column(vars_: list[str], rows: list[tuple], vi: int) -> int | None:
    """A text column beside the value column naming its currency: called so (currencyCode)
    or holding three-letter codes (EUR) only."""
    for i in (vi - 1, vi + 1):
        if not 0 <= i < len(vars_):
            continue
        cells = [r[i] for r in rows if r[i] is not None]
        if not cells or not all(_text(c) for c in cells):
            continue
        if "currency" in vars_[i].lower() or all(CURRENCY.fullmatch(c.value) for c in cells):
            return i
    return None


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


def bar_chart(vars_: list[str], rows: list[tuple], spec: object = None) -> Chart | None:
    """A chart of one numeric column, each bar labelled by the text columns that tell its
    row from the others (``_label_columns``), or None when no column is worth drawing.

    ``spec`` is the question's ``chart`` setting: a catalog.ChartSpec names the column, its
    labels and the scale's top; True or None leaves them to be found."""
    if not rows:
        return None
    value = getattr(spec, "value", None)
    declared = getattr(spec, "max", None)
    named = [v for v in getattr(spec, "label", ()) if v in vars_]
    number = _columns(rows, _numeric)
    if value is not None:
        number = [i for i in number if vars_[i] == value]
    number = [i for i in number if _worth_drawing(rows, i)][:1]
    text = [vars_.index(v) for v in named] or _columns(rows, _text, True)
    if not text or not number:
        return None
    ti, vi = text[0], number[0]
    shown_rows = rows[:MAX_BARS]
    drawn = [r for r in shown_rows if r[ti] is not None and r[vi] is not None]
    if not drawn:
        return None
    if named:
        at = text
    else:
        # Further label columns need to be text only in the rows drawn.
        later = [i for i in _columns(drawn, _text) if i > ti]
        at = _label_columns([ti, *later], drawn)
    largest = max(float(r[vi].value) for r in drawn)
    top = max(declared or 0.0, largest) or 1.0
    ci = _currency_column(vars_, drawn, vi)
    bars = []
    for n, r in enumerate(drawn):
        parts = [p for p in (_cell(r[i]) for i in at) if p]
        amount = float(r[vi].value)
        width = min(max(amount, 0) / top, 1.0) * LONGEST_BAR
        label, short = SEPARATOR.join(parts), _fit(parts, LABEL_CHARS)
        shown = number_text(r[vi])
        if ci is not None and r[ci] is not None:
            shown += " " + r[ci].value
        bars.append(Bar(label, short, amount, shown, 4 + n * ROW, width, width > VALUE_INSIDE))
    names = tuple(vars_[i] for i in at)
    caption = heading(vars_[vi], vars_)
    if declared:
        caption += f" (out of {number_text(_decimal(top))})"
    caption += " by " + " and ".join(heading(v, vars_) for v in names)
    notes = []
    if len(rows) > len(shown_rows):
        notes.append(f"The chart shows the first {len(shown_rows)} of {len(rows)} rows")
    if len(drawn) < len(shown_rows):
        missing = len(shown_rows) - len(drawn)
        notes.append(f"{missing} row{'' if missing == 1 else 's'} with no value have no bar")
    note = "; ".join(notes) + ("; the table has them all." if notes else "")
    axis_y = 4 + ROW * len(bars) + 4
    end = number_text(_decimal(top))
    units = {r[ci].value for r in drawn if r[ci] is not None} if ci is not None else set()
    if len(units) == 1:  # one currency in every bar: the scale is in it too
        end += " " + units.pop()
    ticks = (Tick(0.0, "0", "start"), Tick(LONGEST_BAR, end, "end"))
    return Chart(
        names, vars_[vi], bars, axis_y + AXIS, top, len(rows), caption, note, ticks, axis_y
    )


def _decimal(x: float) -> ox.Literal:
    return ox.Literal(
        str(int(x)) if float(x).is_integer() else repr(x), datatype=ox.NamedNode(XSD + "decimal")
    )
