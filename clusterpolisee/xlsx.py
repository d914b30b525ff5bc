"""A SELECT or ASK answer as an Excel workbook (.xlsx), for people who open downloads in Excel.

The CSV download is the W3C SPARQL CSV format: UTF-8 without a byte-order mark, which Excel
opened by double-click reads as cp1252 ("Észak-Alföld" came out garbled), and where a cell
beginning with "=", "+", "-" or "@" is run as a formula. A workbook has neither problem: its
text is Unicode by definition, and every text here is written as a string, never a formula.

Sheet "Results": a bold, frozen header row with a filter, one row per solution. The header
names the columns as the question's page does ("Practice name", ``About.heading``) where one
is given, each with its variable name (``practiceLabel``) as the cell's comment, which the
CSV download has as its header; else it is the variable names. Sheet "About": what was run,
its parameters by their labels ("Receiving region: Region Vojvodine (https://...)"), and how
the values were written (``NOTES``).
XlsxWriter itself escapes the control characters XML 1.0 forbids (as ``_x0001_``, which Excel
reads back as the character), so such a text keeps its value and the file stays valid.
"""

import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pyoxigraph as ox

from .store.termtext import term_nt

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Excel's limits: characters a cell (UTF-16 units), rows a sheet, characters a hyperlink
#: (XlsxWriter refuses longer ones) and hyperlinks a sheet.
MAX_CELL = 32_767
MAX_ROWS = 1_048_576
MAX_URL = 2_079
MAX_LINKS = 65_530
#: Ends a text cut to MAX_CELL, so a reader sees it is not whole.
CUT_MARK = " [… cut: Excel holds at most 32,767 characters a cell]"
#: Integers and decimals of more digits stay text: Excel keeps 15 significant digits and
#: would show another number.
EXCEL_DIGITS = 15

XSD = "http://www.w3.org/2001/XMLSchema#"
INTEGER_TYPES = {
    XSD + n
    for n in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
}
FLOAT_TYPES = {XSD + "double", XSD + "float"}
INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
DOUBLE_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}

NOTES = [
    (
        "Texts",
        "Texts are written without their language tag (@en, @it ...); the JSON, XML and TSV "
        "downloads keep every term whole. Every text is a text, never a formula, whatever it "
        "begins with.",
    ),
    (
        "Numbers, yes/no, dates",
        "xsd numbers are Excel numbers (an integer or decimal of more than 15 digits stays "
        "text, which Excel would round), xsd:boolean is TRUE or FALSE, xsd:date from 1900 on "
        "(without a time zone) is a date; other values are text.",
    ),
    (
        "Links",
        "http(s) IRIs are links (up to 2,079 characters, and 65,530 links a sheet, as Excel "
        "allows); other IRIs and blank nodes (_:b1) are text. Empty cells are unbound.",
    ),
    ("Long texts", "A text longer than Excel's 32,767 characters a cell is cut, ending in:"),
]


@dataclass(frozen=True)
class Parameter:
    """A stored question's parameter as the "About" sheet says it."""

    name: str  # as in the page's URL ("toRegion")
    value: str  # as given, or its default's text: an IRI's is the IRI
    label: str = ""  # the form's label ("Receiving region")
    value_label: str = ""  # the label of the resource the value names ("Region Vojvodine")

    def line(self) -> tuple[str, str]:
        """("Receiving region", "Region Vojvodine (https://w3id.org/...)"); without labels
        ("Parameter toRegion", "https://w3id.org/...")."""
        value = f"{self.value_label} ({self.value})" if self.value_label else self.value
        return (self.label or f"Parameter {self.name}", value)


@dataclass(frozen=True)
class About:
    """What the "About" sheet says besides the answer's own counts."""

    what: str = "SPARQL query"
    #: The text run, for an ad-hoc query (a stored question is named by ``what``).
    query: str | None = None
    #: Parameters, or (name, value) pairs written as "Parameter name".
    parameters: Sequence[Parameter | tuple[str, str]] = ()
    page: str | None = None
    data_version: str | None = None
    #: Why the answer has more rows than the workbook holds (a row limit); None: it is whole.
    cut: str | None = None
    #: The date written; None: today (UTC). One day's downloads of one answer are the same
    #: bytes: the file's creation time is that day's midnight.
    day: date | None = None
    #: The column heading of a variable among all of them, as the page shows it
    #: (``webapp.present.heading``: "Practice name"); None: the variable names. A module's
    #: function, as the workbook is written in a worker process.
    heading: Callable[[str, Sequence[str]], str] | None = None


def parameter_lines(
    given: Mapping[str, str],
    bound: Mapping[str, object | None],
    labels: Mapping[str, str] | None = None,
    value_labels: Mapping[str, str] | None = None,
) -> list[Parameter]:
    """Each parameter of a stored question as given, or as its default bound it when not
    given (its term's text): a folded search text is bound as a key no one typed. ``labels``
    are the parameters' labels by name, ``value_labels`` the labels of the resources (IRIs)
    given."""
    lines = []
    for name, term in bound.items():
        value = given.get(name) or getattr(term, "value", "")
        if given.get(name) or term is not None:
            label = (labels or {}).get(name, "")
            named = getattr(term, "value", "") or value  # a code (RO21) resolved to an IRI
            lines.append(Parameter(name, value, label, (value_labels or {}).get(named, "")))
    return lines


@dataclass
class _Counts:
    rows: int = 0
    links: int = 0
    cut_cells: int = 0
    cut_rows: int = 0


def workbook(
    variables: Sequence[str],
    rows: Sequence[Sequence[object | None]],
    about: About,
    boolean: bool | None = None,
) -> bytes:
    """The workbook of a SELECT answer (``rows`` of terms aligned with ``variables``, None
    where unbound), or of an ASK answer (``boolean`` given: one column "boolean")."""
    import xlsxwriter  # 30 ms: only for those who ask for a workbook

    buf = io.BytesIO()
    day = about.day or datetime.now(UTC).date()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    book.set_properties({"created": datetime(day.year, day.month, day.day), "title": about.what})
    bold = book.add_format({"bold": True})
    sheet = _Results(book.add_worksheet("Results"), book.add_format({"num_format": "yyyy-mm-dd"}))
    if boolean is not None:
        sheet.header(["boolean"], bold)
        sheet.ws.write_boolean(1, 0, boolean)
        sheet.counts.rows = 1
    else:
        sheet.header(variables, bold, about.heading)
        sheet.rows(rows, len(variables))
    _about(book.add_worksheet("About"), about, sheet.counts, day, bold)
    book.close()
    return buf.getvalue()


class _Results:
    """Writes the "Results" sheet, counting what the "About" sheet reports."""

    def __init__(self, ws, date_format) -> None:
        self.ws = ws
        self.date_format = date_format
        self.counts = _Counts()

    def header(self, names: Sequence[str], bold, heading=None) -> None:
        """The header row: ``heading(name, names)`` of each variable, with the name as the
        cell's comment (a script reading by name finds it there, and in the CSV), or the
        names themselves without ``heading``."""
        for col, name in enumerate(names):
            shown = heading(name, names) if heading else name
            self.ws.write_string(0, col, shown, bold)
            if shown != name:
                self.ws.write_comment(0, col, name, {"author": "ClusterPoliSEE"})
        self.ws.freeze_panes(1, 0)

    def rows(self, rows: Sequence[Sequence[object | None]], width: int) -> None:
        kept = rows[: MAX_ROWS - 1]
        self.counts.cut_rows = len(rows) - len(kept)
        _widths(self.ws, rows, width)
        for r, row in enumerate(kept, start=1):
            for c, term in enumerate(row):
                if term is not None:
                    self.term(r, c, term)
        self.counts.rows = len(kept)
        if width:
            self.ws.autofilter(0, 0, len(kept), width - 1)

    def term(self, r: int, c: int, t: object) -> None:
        if isinstance(t, ox.NamedNode):
            self.iri(r, c, t.value)
        elif isinstance(t, ox.BlankNode):
            self.text(r, c, "_:" + t.value)
        elif isinstance(t, ox.Literal):
            self.literal(r, c, t)
        else:  # a triple term (RDF 1.2): its N-Triples text
            self.text(r, c, term_nt(t))

    def literal(self, r: int, c: int, lit: ox.Literal) -> None:
        value = excel_value(lit)
        if isinstance(value, bool):
            self.ws.write_boolean(r, c, value)
        elif isinstance(value, float):
            self.ws.write_number(r, c, value)
        elif isinstance(value, date):
            self.ws.write_datetime(r, c, value, self.date_format)
        else:
            self.text(r, c, lit.value)

    def iri(self, r: int, c: int, iri: str) -> None:
        linkable = (
            iri.startswith(("http://", "https://"))
            and utf16_len(iri) <= MAX_URL
            and self.counts.links < MAX_LINKS
        )
        # write_url writes nothing when it refuses a link (its own limits): text then
        if linkable and self.ws.write_url(r, c, iri, string=iri) == 0:
            self.counts.links += 1
        else:
            self.text(r, c, iri)

    def text(self, r: int, c: int, text: str) -> None:
        fitted = fit(text)
        self.counts.cut_cells += fitted is not text
        self.ws.write_string(r, c, fitted)


def excel_value(lit: ox.Literal) -> float | bool | date | None:
    """The Excel number, boolean or date a typed literal stands for; None: write its text."""
    datatype, text = lit.datatype.value, lit.value
    if datatype in INTEGER_TYPES:
        return _exact_number(text, INTEGER_TEXT)
    if datatype == XSD + "decimal":
        return _exact_number(text, DECIMAL_TEXT)
    if datatype in FLOAT_TYPES:
        return _finite(float(text)) if DOUBLE_TEXT.fullmatch(text) else None
    if datatype == XSD + "boolean":
        return BOOLEANS.get(text)
    if datatype == XSD + "date":
        return _date(text)
    return None


def _exact_number(text: str, pattern: re.Pattern) -> float | None:
    if not pattern.fullmatch(text):
        return None
    digits = text.lstrip("+-").replace(".", "").strip("0")
    return _finite(float(text)) if len(digits) <= EXCEL_DIGITS else None


def _finite(number: float) -> float | None:
    return number if math.isfinite(number) else None


def _date(text: str) -> date | None:
    """A date Excel can hold (its calendar starts in 1900); a time zone keeps it text."""
    if not DATE_TEXT.fullmatch(text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:  # 2013-02-30
        return None
    return day if day.year >= 1900 else None


def utf16_len(text: str) -> int:
    """Length as Excel counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str) -> str:
    """``text`` itself when a cell holds it, else its start and CUT_MARK within MAX_CELL."""
    if len(text) <= MAX_CELL // 2 or utf16_len(text) <= MAX_CELL:
        return text
    room, units = MAX_CELL - len(CUT_MARK), 0
    for end, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1  # outside the BMP: a surrogate pair
        if units > room:
            return text[:end] + CUT_MARK
    return text  # not reached: the text is longer than MAX_CELL units


def _widths(ws, rows: Sequence[Sequence[object | None]], width: int) -> None:
    """Columns as wide as their first hundred values (10 to 60 characters)."""
    for c in range(width):
        longest = max((len(getattr(row[c], "value", "")) for row in rows[:100]), default=0)
        ws.set_column(c, c, min(60, max(10, longest + 2)))


def _about(ws, about: About, counts: _Counts, day: date, bold) -> None:
    lines = [("What", about.what)]
    if about.query is not None:
        lines.append(("Query", about.query))
    lines += [
        p.line() if isinstance(p, Parameter) else (f"Parameter {p[0]}", p[1])
        for p in about.parameters
    ]
    lines += [("Rows", f"{counts.rows:,}"), ("Cut at a row limit", _cut_note(about, counts))]
    if about.data_version:
        lines.append(("Data version", about.data_version))
    lines.append(("Written", f"{day.isoformat()} (UTC)"))
    if about.page:
        lines.append(("Page", about.page))
    lines += NOTES
    lines.append(("", CUT_MARK.strip() + f" ({counts.cut_cells:,} cells cut here)"))
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 100)
    for r, (key, value) in enumerate(lines):
        ws.write_string(r, 0, key, bold)
        ws.write_string(r, 1, fit(value))


def _cut_note(about: About, counts: _Counts) -> str:
    notes = [about.cut] if about.cut else []
    if counts.cut_rows:
        notes.append(
            f"yes: {counts.cut_rows:,} rows past Excel's limit of {MAX_ROWS - 1:,} a sheet "
            "are left out"
        )
    return "; ".join(notes) or "no: every row of the answer is here"
