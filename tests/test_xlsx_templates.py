"""Excel workbook templates (clusterpolisee/xlsx_template.py): written from the same source as
the CSV templates, read back into the same rows, and refused when unsafe, through the real
CLI on a built store and through /submit."""

import csv
import datetime as dt
import io
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pyoxigraph as ox
import pytest

from clusterpolisee import rdfio as rdfio_errors
from clusterpolisee import xlsx_template
from clusterpolisee.store import open_store
from clusterpolisee.templates import _allowed, _hint, classes, find_class, template, template_csv
from clusterpolisee.xlsx_template import LISTS_SHEET, MAX_UNCOMPRESSED, template_xlsx

from .conftest import CLI, built_with_archive, cli_on, dataset, run_cli

PARTNER = "ipe"
GRAPH = "https://w3id.org/clusterpolisee/graph/partner/"
PRACTICE = "https://w3id.org/clusterpolisee/id/partner/marche-region/practice/vouchers"
CLASS_NAMES = sorted({str(c).rsplit("#", 1)[-1] for c in classes().values()})

# The same data twice: as UTF-8 CSV templates, and typed into the workbook templates.
CLUSTER_CSV = (
    "cluster id,name,description,region,thematic priority,sector,life-cycle stage,"
    "number of members,number of employees,founding year,excellence label,"
    "managing organisation,web address\n"
    "mobilni-klaster,Mobile cluster|Мобилни кластер@sr,Кластер мобилних технологија@sr,"
    "București-Ilfov,innovation,C29.10,growth,42,1250,2011,gold,,https://example.org/x\n"
)
TRANSFER_CSV = (
    "knowledge transfer id,name,description,good practice transferred,source region,"
    "receiving region,thematic priority,date,outcome,barriers addressed\n"
    f"vouchers-to-bucharest,Voucher transfer|Пренос ваучера@sr,Vouchers from Marche,{PRACTICE},"
    "ITI3,București-Ilfov,innovation|financing,2013-05-14,Two firms,\n"
)
#: Typed values: numbers as numbers, the date as a date, the rest as the CSV's text.
TYPED = {"number of members": 42, "number of employees": 1250.0, "founding year": 2011,
         "date": dt.date(2013, 5, 14)}  # fmt: skip


def filled(cls_name: str, csv_text: str, typed: dict | None = None) -> bytes:
    """The workbook template of ``cls_name`` filled with the CSV's data rows in openpyxl."""
    typed = TYPED if typed is None else typed
    book = openpyxl.load_workbook(io.BytesIO(template_xlsx(cls_name)))
    ws = book[cls_name]
    rows = list(csv.reader(io.StringIO(csv_text)))
    assert [c.value for c in ws[1]] == rows[0]
    for r, row in enumerate(rows[1:], start=2):
        for c, (name, value) in enumerate(zip(rows[0], row, strict=True), start=1):
            if value:
                ws.cell(r, c, typed.get(name, value))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_header(cls_name: str) -> list[str]:
    return next(csv.reader(io.StringIO(template_csv(cls_name))))


def column(ws, index: int):
    """The column dimension covering column ``index`` (XlsxWriter joins equal neighbours)."""
    return next(d for d in ws.column_dimensions.values() if d.min <= index <= d.max)


# -- the template ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_every_class_has_a_workbook_like_its_csv(name):
    data = template_xlsx(name)
    assert data == template_xlsx(name)  # the same shapes give the same bytes
    t = template(find_class(name))
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == [name, LISTS_SHEET]
    assert book[LISTS_SHEET].sheet_state == "hidden"
    assert book.properties.created == xlsx_template.CREATED
    ws = book[name]
    header = [c.value for c in ws[1]]
    assert header == csv_header(name)
    assert ws.freeze_panes == "A2" and all(c.font.b for c in ws[1])
    hints = list(csv.reader(io.StringIO(template_csv(name))))[1]
    assert [c.comment.text for c in ws[1]][1:] == hints[1:] == [_hint(c) for c in t.columns]
    lists = book[LISTS_SHEET]
    validations = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    closed = [(i, c) for i, c in enumerate(t.columns, start=2) if c.cls and _allowed(c.cls)]
    assert len(validations) == len(closed)
    for index, col in closed:
        letter = openpyxl.utils.get_column_letter(index)
        dv = validations[f"{letter}2:{letter}1048576"]
        assert dv.type == "list"
        sheet, cells = dv.formula1.split("!")
        first, last = cells.replace("$", "").split(":")
        assert sheet == LISTS_SHEET and first[1:] == "1"
        values = [row[0].value for row in lists[f"{first}:{last}"]]
        assert values == _allowed(col.cls)  # exactly the values the CSV hint lists
        assert (dv.errorStyle or "stop") == ("stop" if col.single else "warning")
        assert column(ws, index).width >= max(map(len, values))
    # Text columns keep what is typed ("0100"); the date column is a date.
    for index, col in enumerate(t.columns, start=2):
        fmt = column(ws, index).number_format
        if str(col.datatype).endswith("#date"):
            assert fmt == "yyyy-mm-dd"
        elif col.datatype is None:
            assert fmt == "@"


def test_the_cli_writes_a_workbook_but_not_to_a_terminal(tmp_path):
    out = tmp_path / "Barrier.xlsx"
    proc = run_cli("template", "Barrier", "--format", "xlsx", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == template_xlsx("Barrier")
    piped = subprocess.run(
        [str(CLI), "template", "Barrier", "--format", "xlsx"], capture_output=True, timeout=120
    )
    assert piped.returncode == 0 and piped.stdout == template_xlsx("Barrier")
    proc = run_cli("template", "Barrier")
    assert proc.stdout == template_csv("Barrier")
    script = f"import pty, sys; sys.exit(pty.spawn([{str(CLI)!r}, "
    script += "'template', 'Barrier', '--format', 'xlsx']) >> 8)"
    tty = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert tty.returncode == 1
    assert b"an xlsx workbook is a binary file for Excel" in tty.stdout


def test_cells_read_back_as_typed():
    text = xlsx_template._text
    assert text(250000.0) == "250000" and text(0.1 + 0.2) == "0.3" and text(12.5) == "12.5"
    assert text(dt.datetime(2013, 5, 14)) == "2013-05-14" and text(True) == "true"
    assert text(7) == "7" and text(None) == ""


# -- submissions -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    return built_with_archive(tmp_path_factory, "xlsx")


def partner_graph(store: Path) -> set[ox.Triple]:
    with open_store(str(store), read_only=True) as s:
        return set(s.graph_triples(f"{GRAPH}{PARTNER}"))


def test_a_filled_workbook_is_the_csv_it_stands_for(built, tmp_path):
    store, archive = built
    csvs = [tmp_path / "clusters.csv", tmp_path / "transfers.csv"]
    csvs[0].write_text(CLUSTER_CSV, encoding="utf-8")
    csvs[1].write_text(TRANSFER_CSV, encoding="utf-8")
    proc = cli_on(built, "submit", *map(str, csvs), "--partner", PARTNER)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    from_csv = partner_graph(store)
    labels = {t.object for t in from_csv if t.predicate.value.endswith("#label")}
    assert ox.Literal("Мобилни кластер", language="sr") in labels
    assert any(t.object.value.endswith("/region/RO32") for t in from_csv)

    books = [tmp_path / "clusters.xlsx", tmp_path / "transfers.xlsx"]
    books[0].write_bytes(filled("Cluster", CLUSTER_CSV))
    books[1].write_bytes(filled("KnowledgeTransfer", TRANSFER_CSV))
    proc = cli_on(built, "submit", *map(str, books), "--partner", PARTNER)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert partner_graph(store) == from_csv
    entry = max((archive / PARTNER).iterdir(), key=lambda p: p.stat().st_mtime)
    assert (entry / "original-1.xlsx").read_bytes() == books[0].read_bytes()
    # validate reads workbooks too, and says nothing else
    proc = run_cli("validate", *map(str, books), "--partner", PARTNER)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    one = tmp_path / "one" / "clusters.xlsx"
    one.parent.mkdir()
    shutil.copy(books[0], one)
    proc = cli_on(built, "submit", str(one), "--partner", PARTNER)
    latest = max((archive / PARTNER).iterdir(), key=lambda p: p.stat().st_mtime)
    assert (latest / "original.xlsx").read_bytes() == one.read_bytes()


def test_a_bad_value_is_named_by_sheet_and_cell(tmp_path):
    bad = CLUSTER_CSV.replace(",growth,", ",teenage,")
    path = tmp_path / "clusters.xlsx"
    path.write_bytes(filled("Cluster", bad))
    proc = run_cli("validate", str(path), "--partner", PARTNER)
    assert proc.returncode == 2
    assert "sheet 'Cluster', cell G2 ('life-cycle stage'): 'teenage' is not a known" in proc.stderr


def zip_with(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in parts.items():
            zf.writestr(name, body)
    return buf.getvalue()


def parts_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def bomb() -> bytes:
    parts = parts_of(filled("Cluster", CLUSTER_CSV))
    parts["xl/media/padding.xml"] = b" " * (MAX_UNCOMPRESSED + 1)
    data = zip_with(parts)
    assert len(data) < 200_000
    return data


def formula() -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(filled("Cluster", CLUSTER_CSV)))
    book["Cluster"]["H2"] = "=40+2"  # openpyxl keeps no value with it, as Excel would
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
)


def entity() -> bytes:
    """The Cluster template (XlsxWriter keeps its texts in sharedStrings.xml) whose header
    cell "region" holds an entity of a "billion laughs"."""
    parts = parts_of(template_xlsx("Cluster"))
    strings = parts["xl/sharedStrings.xml"]
    body = strings.split(b"?>", 1)[1]
    parts["xl/sharedStrings.xml"] = ENTITY + body.replace(b"<t>region</t>", b"<t>&b;</t>", 1)
    assert b"&b;" in parts["xl/sharedStrings.xml"]
    return zip_with(parts)


def macros() -> bytes:
    parts = parts_of(filled("Cluster", CLUSTER_CSV))
    parts["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0" + b"\0" * 100
    return zip_with(parts)


REFUSED = {
    "bomb.xlsx": (bomb, "a workbook is refused past 50,000,000 bytes uncompressed"),
    "not-a-zip.xlsx": (
        lambda: CLUSTER_CSV.encode(),
        "is not an Excel workbook (.xlsx is a zip archive; this file is not one)",
    ),
    "formula.xlsx": (
        formula,
        "sheet 'Cluster', cell H2 holds a formula without its value; type its value",
    ),
    "macros.xlsm": (lambda: filled("Cluster", CLUSTER_CSV), "holds macros, which are refused"),
    "vba.xlsx": (macros, "holds macros, which are refused"),
    "entity.xlsx": (entity, "xl/sharedStrings.xml declares a document type or entities"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unsafe_workbooks_are_refused_and_nothing_is_stored(built, tmp_path, name):
    make, message = REFUSED[name]
    path = tmp_path / name
    path.write_bytes(make())
    store, _archive = built
    before = dataset(store)
    proc = cli_on(built, "submit", str(path), "--partner", PARTNER)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{name}: the workbook" in proc.stderr and message in proc.stderr, proc.stderr
    assert dataset(store) == before
    proc = run_cli("validate", str(path), "--partner", PARTNER)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr


def test_openpyxl_parses_with_defusedxml():
    """The second guard, behind the pre-scan: openpyxl's parsers are defusedxml's, which
    refuse entity declarations."""
    from defusedxml import EntitiesForbidden

    assert openpyxl.DEFUSEDXML
    with pytest.raises(ValueError) as refused:
        openpyxl.load_workbook(io.BytesIO(entity()), read_only=True)
    assert isinstance(refused.value.__cause__, EntitiesForbidden)


# -- the web ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def web_app(tmp_path_factory) -> Iterator:
    from webapp import close_app

    from .web.conftest import make_app

    tmp = tmp_path_factory.mktemp("xlsx-web")
    proc = run_cli("build", "--store", str(tmp / "store"))
    assert proc.returncode == 0, proc.stderr
    app = make_app(tmp / "store", tmp, ARCHIVE=str(tmp / "archive"))
    yield app
    close_app(app)


def test_the_upload_page_offers_workbooks_and_takes_them(web_app):
    from webapp import tokens

    client = web_app.test_client()
    page = client.get("/submit").get_data(as_text=True)
    assert 'href="/submit/templates/Cluster.xlsx"' in page
    assert 'href="/submit/templates/Cluster.csv"' in page
    r = client.get("/submit/templates/Cluster.xlsx")
    assert r.status_code == 200 and r.data == template_xlsx("Cluster")
    assert r.mimetype == xlsx_template.MEDIA_TYPE
    assert client.get("/submit/templates/Nope.xlsx").status_code == 404

    token = tokens.create(Path(web_app.config["TOKENS_FILE"]), PARTNER)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    files = [
        (io.BytesIO(filled("Cluster", CLUSTER_CSV)), "clusters.xlsx"),
        (io.BytesIO(filled("KnowledgeTransfer", TRANSFER_CSV)), "transfers.xlsx"),
    ]
    r = client.post("/submit", data={"csrf_token": csrf, "token": token, "file": files})
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html
    assert "Accepted for partner" in html
    r = client.post(
        "/submit",
        data={"csrf_token": csrf, "token": token, "file": (io.BytesIO(formula()), "f.xlsx")},
    )
    assert r.status_code == 422
    assert "cell H2 holds a formula without its value" in r.get_data(as_text=True)


def test_a_formula_with_its_value_counts_as_that_value():
    """Excel keeps a formula's last value with it: that value is read (never evaluated)."""
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = book.add_worksheet("Cluster")
    for c, value in enumerate(next(csv.reader(io.StringIO(CLUSTER_CSV)))):
        ws.write_string(0, c, value)
    for c, value in enumerate(list(csv.reader(io.StringIO(CLUSTER_CSV)))[1]):
        ws.write_string(1, c, value)
    ws.write_formula(1, 7, "=40+2", None, 42)
    book.close()
    name, rows = xlsx_template.xlsx_rows(buf.getvalue())
    assert name == "Cluster" and rows[1][7] == "42"
    assert rows == list(csv.reader(io.StringIO(CLUSTER_CSV)))


def corrupt_deflate() -> bytes:
    """A workbook whose sheet's compressed bytes are damaged (its header and sizes intact)."""
    data = bytearray(filled("Cluster", CLUSTER_CSV))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 2, start + 40):
        data[i] ^= 0xFF
    return bytes(data)


def test_a_damaged_or_encrypted_entry_is_a_damaged_archive():
    """zlib.error (damaged deflate data) and RuntimeError (an encrypted entry) escaped the
    archive check: a traceback on the CLI, a 500 on the web."""
    with pytest.raises(rdfio_errors.InputError, match="damaged zip archive"):
        xlsx_template.check_archive(corrupt_deflate())
    encrypted = bytearray(filled("Cluster", CLUSTER_CSV))
    with zipfile.ZipFile(io.BytesIO(bytes(encrypted))) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    encrypted[info.header_offset + 6] |= 0x01  # the local header's "encrypted" flag
    for offset in _central_entries(bytes(encrypted), info.filename):
        encrypted[offset + 8] |= 0x01  # and the central directory's
    with pytest.raises(rdfio_errors.InputError, match="damaged zip archive"):
        xlsx_template.check_archive(bytes(encrypted))


def _central_entries(data: bytes, name: str) -> list[int]:
    """Offsets of the central-directory headers of ``name``."""
    found, at = [], data.find(b"PK\x01\x02")
    while at != -1:
        length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + length] == name.encode():
            found.append(at)
        at = data.find(b"PK\x01\x02", at + 4)
    return found
