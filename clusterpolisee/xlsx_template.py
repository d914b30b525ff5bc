"""Templates as Excel workbooks (.xlsx), and filled workbooks read back, for partners who work
in Excel: a CSV file makes them fight encodings (Excel on Central/Eastern European Windows
saves cp1250/cp1251; a UTF-8 CSV opened and saved again comes back garbled). A workbook's text
is Unicode by definition.

Everything comes from the CSV template's source (``templates.template``: the shapes and the
ontology). The workbook has one sheet named after the class, with the CSV's header row (so a
filled workbook maps 1:1), bold and frozen; each header cell carries the column's hint
(``templates._hint``, the text of the CSV's hint row) as a note. A column whose values come
from a closed list (``templates._allowed``) has a drop-down fed from the hidden sheet "lists";
its error alert stops other values unless the reader takes them (several values joined by
"|"). Text columns are text-formatted, so Excel keeps "0100" and "2013-05" as typed; a date
column is a date column. The bytes are the same for the same shapes (fixed properties).

A filled workbook is read by :func:`xlsx_to_triples`: checked before openpyxl opens it (a zip
archive, at most MAX_ENTRIES entries and MAX_UNCOMPRESSED bytes inflated, no macros, no XML
document type declarations), then its sheet is read with openpyxl (read-only, cached values;
defusedxml guards its XML parsers when installed) into the rows the CSV reader gives, so the
conversion (``templates.rows_to_triples``) is shared.
"""

import datetime as dt
import io
import zipfile
import zlib

import pyoxigraph as ox

from . import rdfio
from .templates import (
    SEPARATOR,
    Column,
    Template,
    _allowed,
    _hint,
    _kind_of,
    check_partner_id,
    classes,
    find_class,
    rows_to_triples,
    template,
)
from .xlsx import MEDIA_TYPE

__all__ = ["MEDIA_TYPE", "template_xlsx", "xlsx_rows", "xlsx_to_triples"]

XLSX_EXTENSION = ".xlsx"
#: Excel workbooks with macros (and their templates): refused, whatever they hold.
MACRO_EXTENSIONS = (".xlsm", ".xltm", ".xlsb", ".xlam")
#: Bounds checked before the workbook is opened: a zip bomb of a few kilobytes may inflate to
#: gigabytes. A filled template is far below both (a 10,000-row sheet: about 5 MB inflated).
MAX_UNCOMPRESSED = 50_000_000
MAX_ENTRIES = 1_000
#: The document properties of every template: its bytes depend on the shapes alone.
CREATED = dt.datetime(2024, 1, 1)
LISTS_SHEET = "lists"
#: The rows a drop-down covers (Excel's last row).
LAST_ROW = 1_048_575
ID_HINT = (
    "Short name for the address: lower-case letters, digits and hyphens. Required. "
    "A row whose first cell starts with # is ignored."
)


def is_workbook_name(name: str) -> bool:
    """Whether a file of this name is read as a workbook (an .xlsx, or one with macros, which
    is refused with a message rather than handed to the RDF reader)."""
    return name.lower().endswith((XLSX_EXTENSION, *MACRO_EXTENSIONS))


# -- writing a template --------------------------------------------------------------------------


def sheet_name(t: Template) -> str:
    """The class's local name ("PolicyInstrument"), as the CLI and the upload page name it."""
    return str(t.cls).rsplit("#", 1)[-1][:31]


def _closed(col: Column) -> list[str]:
    return _allowed(col.cls) if col.cls is not None else []


def _alert(col: Column) -> tuple[str, str]:
    """The drop-down's error alert: "stop" where the reader takes nothing else, "warning"
    (Excel asks, Yes keeps the value) where it does: several values joined by "|", or the
    partner's own ids of the class."""
    if not col.single:
        return "warning", (
            f"Not one value of the list. Several values are allowed, separated by {SEPARATOR}: "
            "choose Yes to keep it if that is what you wrote."
        )
    if _kind_of(col.cls) is not None:
        return "warning", "Not a value of the list: choose Yes to keep your own id."
    return "stop", "Choose a value of the list (the note on the header lists them)."


def template_xlsx(cls_name: str) -> bytes:
    """The workbook template for a class name such as 'Cluster' (see the module's text)."""
    import xlsxwriter

    t = template(find_class(cls_name))
    header = [t.id_header, *(c.name for c in t.columns)]
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    book.set_properties(
        {
            "title": f"ClusterPoliSEE template: {t.label}",
            "author": "ClusterPoliSEE",
            "created": CREATED,
            "comments": "Fill one row per resource; the note on each header cell says what "
            "the column takes. Upload the file as it is (.xlsx) on /submit.",
        }
    )
    bold = book.add_format({"bold": True, "num_format": "@"})
    text = book.add_format({"num_format": "@"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    ws = book.add_worksheet(sheet_name(t))
    lists = book.add_worksheet(LISTS_SHEET)
    lists.hide()
    ws.activate()
    ws.freeze_panes(1, 0)
    hints = [ID_HINT, *(_hint(c) for c in t.columns)]
    list_columns: dict[str, int] = {}
    for c, (name, hint) in enumerate(zip(header, hints, strict=True)):
        ws.write_string(0, c, name, bold)
        ws.write_comment(0, c, hint, {"author": "ClusterPoliSEE", "x_scale": 3, "y_scale": 3})
        col = t.columns[c - 1] if c else None
        allowed = _closed(col) if col is not None else []
        width = max(len(name) + 4, *(len(v) + 4 for v in allowed), 14)
        is_date = col is not None and str(col.datatype).endswith("#date")
        ws.set_column(c, c, min(width, 45), day if is_date else _cell_format(col, text))
        if allowed:
            key = str(col.cls)
            if key not in list_columns:
                list_columns[key] = len(list_columns)
                for r, value in enumerate(allowed):
                    lists.write_string(r, list_columns[key], value, text)
            letter = _letter(list_columns[key])
            kind, message = _alert(col)
            ws.data_validation(
                1,
                c,
                LAST_ROW,
                c,
                {
                    "validate": "list",
                    "source": f"={LISTS_SHEET}!${letter}$1:${letter}${len(allowed)}",
                    "error_type": kind,
                    "error_title": name[:32],
                    "error_message": message[:255],
                    "ignore_blank": True,
                },
            )
    book.close()
    return buf.getvalue()


def _cell_format(col: Column | None, text):
    """Text format for every column but numbers (Excel keeps "0100", "29.10", "2013-05")."""
    if col is not None and col.datatype is not None:
        local = str(col.datatype).rsplit("#", 1)[-1]
        if local in {"integer", "nonNegativeInteger", "positiveInteger", "decimal", "double"}:
            return None
    return text


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


# -- reading a filled workbook -------------------------------------------------------------------


def check_archive(data: bytes, what: str = "the workbook") -> None:
    """InputError unless ``data`` is a zip archive that inflates to at most MAX_UNCOMPRESSED
    bytes in at most MAX_ENTRIES entries, without macros and without XML document type
    declarations (the entities of a "billion laughs"). Every entry is inflated once here,
    counting what comes out, so a size the archive misstates is caught too."""
    if not data.startswith(b"PK") or not zipfile.is_zipfile(io.BytesIO(data)):
        raise rdfio.InputError(
            f"{what} is not an Excel workbook (.xlsx is a zip archive; this file is not one): "
            "save it from Excel as 'Excel Workbook (*.xlsx)', or send a CSV file"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            entries = zf.infolist()
            if len(entries) > MAX_ENTRIES:
                raise rdfio.InputError(
                    f"{what} holds {len(entries):,} parts; a workbook is refused past "
                    f"{MAX_ENTRIES:,}"
                )
            declared = sum(e.file_size for e in entries)
            if declared > MAX_UNCOMPRESSED:
                raise _too_large(what, declared)
            names = {e.filename.lower() for e in entries}
            if any(n.endswith("vbaproject.bin") for n in names):
                raise _macros(what)
            inflated = 0
            for entry in entries:
                tail = b""
                with zf.open(entry) as fh:
                    while chunk := fh.read(1 << 20):
                        inflated += len(chunk)
                        if inflated > MAX_UNCOMPRESSED:
                            raise _too_large(what, inflated)
                        if entry.filename.lower().endswith((".xml", ".rels", ".vml")):
                            window = tail + chunk
                            if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                                raise rdfio.InputError(
                                    f"{what}: its part {entry.filename} declares a document "
                                    "type or entities, which Excel never writes; refused"
                                )
                            tail = chunk[-16:]
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,  # a compression method zipfile cannot read
        EOFError,
        RuntimeError,  # an encrypted entry
        zlib.error,  # corrupt deflate data
    ) as exc:
        raise rdfio.InputError(f"{what} is a damaged zip archive: {exc}") from None


def _too_large(what: str, size: int) -> rdfio.InputError:
    return rdfio.InputError(
        f"{what} inflates to more than {size:,} bytes; a workbook is refused past "
        f"{MAX_UNCOMPRESSED:,} bytes uncompressed"
    )


def _macros(what: str) -> rdfio.InputError:
    return rdfio.InputError(
        f"{what} holds macros, which are refused: save it as 'Excel Workbook (*.xlsx)'"
    )


def _text(value: object) -> str:
    """A cell's value as the text a person typed: integers without ".0", decimals without
    float noise (15 significant digits, as Excel keeps them), dates as ISO dates, booleans as
    true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        number = float(f"{value:.15g}")
        if number.is_integer() and abs(number) < 1e16:
            return str(int(number))
        return repr(number)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def _pick_sheet(book) -> str:
    """The sheet named after a template class, else the first visible sheet."""
    known = classes()
    named = [n for n in book.sheetnames if n.strip().lower() in known]
    if named:
        return named[0]
    visible = [ws.title for ws in book.worksheets if ws.sheet_state == "visible"]
    return (visible or book.sheetnames)[0]


def xlsx_rows(data: bytes, what: str = "the workbook") -> tuple[str, list[list[str]]]:
    """The chosen sheet's name and its rows as text, as ``templates._read_rows`` gives a CSV
    file's: empty trailing rows and cells dropped. InputError for an unsafe or damaged file,
    a formula without a value kept with it, an error value (#N/A), naming the cell."""
    check_archive(data, what)
    import openpyxl
    from openpyxl.utils import get_column_letter

    def opened(data_only: bool):
        return openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=data_only, keep_links=False
        )

    try:
        formulas = opened(False)
        try:
            name = _pick_sheet(formulas)
            ws = formulas[name]
            ws.reset_dimensions()  # a sheet's stated size may be wrong (or huge): its cells
            formula_cells = {
                (cell.row, cell.column)
                for row in ws.iter_rows()
                for cell in row
                if getattr(cell, "data_type", None) == "f"
            }
        finally:
            formulas.close()
        book = opened(True)
        try:
            ws = book[name]
            ws.reset_dimensions()
            rows: list[list[str]] = []
            pending = 0  # empty rows not yet added: dropped if nothing follows them
            for r, row in enumerate(ws.iter_rows(), start=1):
                texts = []
                for c, cell in enumerate(row, start=1):
                    value = getattr(cell, "value", None)
                    where = f"{what}, sheet {name!r}, cell {get_column_letter(c)}{r}"
                    if value is None and (r, c) in formula_cells:
                        raise rdfio.InputError(
                            f"{where} holds a formula without its value; type its value"
                        )
                    if getattr(cell, "data_type", None) == "e":
                        raise rdfio.InputError(f"{where} holds the error {value}; type a value")
                    texts.append(_text(value))
                while texts and not texts[-1].strip():
                    texts.pop()
                if not texts:
                    pending += 1
                    continue
                rows.extend([] for _ in range(pending))
                pending = 0
                rows.append(texts)
        finally:
            book.close()
    except rdfio.InputError:
        raise
    except Exception as exc:  # openpyxl's many ways to say a part is malformed or unsafe
        raise rdfio.InputError(
            f"{what} cannot be read as a workbook: {type(exc).__name__}: {exc}"
        ) from None
    if not rows:
        raise rdfio.InputError(f"{what}: the sheet {name!r} is empty")
    return name, rows


def xlsx_to_triples(data: bytes, partner: str, filename: str = "the workbook") -> list[ox.Triple]:
    """Convert a filled workbook template to triples for ``partner``, as
    ``templates.csv_to_triples`` converts a CSV file; problems named by sheet and cell."""
    check_partner_id(partner, "a workbook")
    what = "the workbook"
    if filename.lower().endswith(MACRO_EXTENSIONS):
        raise _macros(what)
    if len(data) > rdfio.DEFAULT_MAX_BYTES:
        raise rdfio.InputError(
            f"the workbook has {len(data):,} bytes; the limit is {rdfio.DEFAULT_MAX_BYTES:,} bytes"
        )
    name, rows = xlsx_rows(data, what)
    from openpyxl.utils import get_column_letter

    def place(row: int, column: int, col_name: str | None) -> str:
        named = f" ({col_name!r})" if col_name is not None else ""
        return f"sheet {name!r}, cell {get_column_letter(column)}{row}{named}"

    try:
        return rows_to_triples(rows, None, partner, place, f"sheet {name!r}")
    except rdfio.InputError as exc:
        message = str(exc)
        if message.startswith("row 1:"):  # the header names no template
            message = f"sheet {name!r}, " + message
        raise rdfio.InputError(message) from None
