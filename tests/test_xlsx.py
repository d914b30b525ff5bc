"""Excel workbooks of SELECT and ASK answers (clusterpolisee/xlsx.py), read back with openpyxl
and as the sheets' XML; and `query` / `sparql --format xlsx` as a user runs them."""

import io
import os
import pty
import subprocess
import warnings
import zipfile
from datetime import date, datetime
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pyoxigraph as ox
import pytest

from clusterpolisee.xlsx import CUT_MARK, MAX_CELL, MAX_LINKS, About, utf16_len, workbook

from .conftest import CLI, run_cli

XSD = "http://www.w3.org/2001/XMLSchema#"
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
DAY = date(2026, 3, 4)


def typed(text: str, datatype: str) -> ox.Literal:
    return ox.Literal(text, datatype=ox.NamedNode(XSD + datatype))


def book(variables, rows, about: About | None = None, boolean=None) -> bytes:
    return workbook(variables, rows, about or About(day=DAY), boolean)


def read(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def cells(data: bytes, sheet: str = "Results") -> list[list]:
    return [list(r) for r in read(data)[sheet].iter_rows(values_only=True)]


def about(data: bytes) -> dict[str, str]:
    return {k: v for k, v in cells(data, "About") if k}


def link(cell) -> str | None:
    """Where a cell's hyperlink goes (Excel keeps a fragment apart, as its "location")."""
    h = cell.hyperlink
    if h is None:
        return None
    return h.target + (f"#{h.location}" if h.location else "")


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_values_keep_their_types_and_no_text_is_a_formula():
    """Numbers are numbers, yes/no booleans, an xsd:date a date; every text is a string,
    whatever it begins with: the sheet's XML holds no formula (<f>) at all."""
    risky = ["=1+2", '=HYPERLINK("http://evil.example/")', "+41 22", "-3", "@SUM(A1)"]
    row = [
        ox.NamedNode("https://w3id.org/clusterpolisee/id/region/HU32"),
        ox.Literal("Észak-Alföld", language="hu"),
        typed("40", "integer"),
        typed("2.50", "decimal"),
        typed("1.5E3", "double"),
        typed("7", "nonNegativeInteger"),
        typed("true", "boolean"),
        typed("0", "boolean"),
        typed("2013-05-01", "date"),
        None,
        ox.BlankNode("b1"),
        *[ox.Literal(t) for t in risky],
    ]
    names = [f"v{i}" for i in range(len(row))]
    data = book(names, [row])
    ws = read(data)["Results"]
    header, values = [c.value for c in ws[1]], [c.value for c in ws[2]]
    assert header == names
    assert all(c.font.b for c in ws[1]) and ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{ws.cell(2, len(names)).column_letter}2"
    assert values[:11] == [
        "https://w3id.org/clusterpolisee/id/region/HU32",
        "Észak-Alföld",
        40,
        2.5,
        1500,
        7,
        True,
        False,
        datetime(2013, 5, 1),
        None,
        "_:b1",
    ]
    assert values[11:] == risky
    assert [c.data_type for c in ws[2]][:9] == ["s", "s", "n", "n", "n", "n", "b", "b", "d"]
    assert ws["I2"].number_format == "yyyy-mm-dd"
    assert all(ws.cell(2, 12 + i).data_type == "s" for i in range(len(risky)))
    sheet = parts(data)["xl/worksheets/sheet1.xml"]
    assert b"<f>" not in sheet and b"<f " not in sheet


def test_values_excel_would_change_or_cannot_hold_stay_text():
    """More than 15 significant digits (Excel rounds them), not-a-number, infinities, a
    lexical form that is no number, a date with a time zone or before 1900: their text."""
    kept = [
        typed("12345678901234567890", "integer"),
        typed("0.1234567890123456789", "decimal"),
        typed("NaN", "double"),
        typed("INF", "double"),
        typed("1e400", "double"),
        typed("forty", "integer"),
        typed("1_000", "integer"),
        typed("2013-05-01Z", "date"),
        typed("1850-01-01", "date"),
        typed("2013-02-30", "date"),
        typed("yes", "boolean"),
        typed("2013-05-01T10:00:00", "dateTime"),
    ]
    numbers = [typed("123456789012345", "integer"), typed("-0.000120", "decimal")]
    data = book([f"v{i}" for i in range(len(kept) + 2)], [kept + numbers])
    assert cells(data)[1] == [t.value for t in kept] + [123456789012345, -0.00012]


def test_only_http_iris_within_excels_limit_are_links():
    long_iri = "https://example.org/" + "a" * 2100
    row = [
        ox.NamedNode("https://example.org/a#b"),
        ox.NamedNode("http://example.org/x"),
        ox.NamedNode("javascript:alert(1)"),
        ox.NamedNode("urn:isbn:0451450523"),
        ox.NamedNode("mailto:ana@example.org"),
        ox.NamedNode("file:///etc/passwd"),
        ox.NamedNode(long_iri),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # XlsxWriter warns when it refuses a link
        data = book([f"v{i}" for i in range(len(row))], [row])
    ws = read(data)["Results"]
    assert [c.value for c in ws[2]] == [t.value for t in row]
    links = [link(c) for c in ws[2]]
    assert links == ["https://example.org/a#b", "http://example.org/x", *[None] * 5]


def test_links_past_excels_limit_a_sheet_are_text():
    """Excel holds 65,530 hyperlinks a sheet; XlsxWriter ignores the rest with a warning
    and writes nothing in their cells. They are text."""
    rows = [[ox.NamedNode(f"https://example.org/r/{i}")] for i in range(MAX_LINKS + 2)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = book(["r"], rows)
    # The sheet's XML, as openpyxl binds hyperlinks to cells in quadratic time (a minute)
    sheet = ElementTree.fromstring(parts(data)["xl/worksheets/sheet1.xml"])
    linked = {h.get("ref") for h in sheet.iter(MAIN + "hyperlink")}
    assert len(linked) == MAX_LINKS and f"A{MAX_LINKS + 1}" in linked
    last = f"A{MAX_LINKS + 3}"
    assert last not in linked and f"A{MAX_LINKS + 2}" not in linked
    read_only = openpyxl.load_workbook(io.BytesIO(data), read_only=True)["Results"]
    assert read_only[last].value == f"https://example.org/r/{MAX_LINKS + 1}"


def test_a_text_longer_than_a_cell_is_cut_with_a_visible_mark():
    """Excel counts UTF-16 units: 20,000 emoji are 40,000 of them."""
    short = "é" * MAX_CELL
    texts = ["é" * 40_000, "😀" * 20_000, short]
    data = book(["a", "b", "c"], [[ox.Literal(t) for t in texts]])
    got = cells(data)[1]
    for cut in got[:2]:
        assert cut.endswith(CUT_MARK) and utf16_len(cut) <= MAX_CELL
    assert got[0] == "é" * (MAX_CELL - len(CUT_MARK)) + CUT_MARK
    assert got[1] == "😀" * ((MAX_CELL - len(CUT_MARK)) // 2) + CUT_MARK
    assert got[2] == short
    assert "(2 cells cut here)" in cells(data, "About")[-1][1]


def test_control_characters_keep_the_file_valid_xml():
    """XML 1.0 has no U+0001; XlsxWriter writes it as _x0001_ (which Excel reads back as
    the character) and a literal "_x0041_" as _x005F_x0041_, so both keep their value."""
    data = book(["t"], [[ox.Literal("a\x01b\x0bc\x1f _x0041_ \ufffe")]])
    for name, xml in parts(data).items():
        if name.endswith((".xml", ".rels")):
            ElementTree.fromstring(xml)  # raises on a character XML forbids
    strings = ElementTree.fromstring(parts(data)["xl/sharedStrings.xml"])
    texts = [t.text for t in strings.iter(MAIN + "t")]
    assert "a_x0001_b_x000B_c_x001F_ _x005F_x0041_ _xFFFE_" in texts


def test_an_ask_answer_is_one_boolean_column():
    assert cells(book([], [], boolean=True)) == [["boolean"], [True]]
    assert cells(book([], [], boolean=False)) == [["boolean"], [False]]


def test_an_empty_answer_has_its_header_and_no_rows():
    assert cells(book(["a", "b"], [])) == [["a", "b"]]


def test_the_about_sheet_says_what_was_run():
    info = About(
        what="Stored question search: Search resources by label",
        parameters=[("text", "=cmd|' /C calc'!A0")],
        page="http://localhost/queries/search?text=%3Dcmd",
        data_version="v42",
        cut="yes: the first 5 rows (--limit)",
        day=DAY,
    )
    data = book(["a"], [[ox.Literal("x")]], info)
    said = about(data)
    assert said["What"] == info.what
    assert said["Parameter text"] == "=cmd|' /C calc'!A0"
    assert said["Rows"] == "1"
    assert said["Cut at a row limit"] == "yes: the first 5 rows (--limit)"
    assert said["Data version"] == "v42"
    assert said["Written"] == "2026-03-04 (UTC)"
    assert said["Page"] == info.page
    assert "without their language tag" in said["Texts"]
    assert b"<f>" not in parts(data)["xl/worksheets/sheet2.xml"]
    whole = about(book(["a"], [], About(query="SELECT ?a {}", day=DAY)))
    assert whole["What"] == "SPARQL query" and whole["Query"] == "SELECT ?a {}"
    assert whole["Cut at a row limit"] == "no: every row of the answer is here"


def test_one_answer_on_one_day_is_the_same_bytes():
    rows = [[ox.NamedNode("https://example.org/a"), typed("1", "integer")]]
    assert book(["a", "n"], rows) == book(["a", "n"], rows)
    assert read(book(["a", "n"], rows)).properties.created == datetime(2026, 3, 4)


# -- the command line ----------------------------------------------------------------------


def test_query_writes_a_workbook_to_output(demo_store: Path, tmp_path: Path):
    out = tmp_path / "links.xlsx"
    args = ["query", "external-links", "--store", str(demo_store)]
    proc = run_cli(*args, "--format", "xlsx", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    table = cells(out.read_bytes())
    csv_lines = run_cli(*args, "--format", "csv").stdout.splitlines()
    assert table[0] == ["resource", "label", "kind", "link", "target"] == csv_lines[0].split(",")
    assert len(table) == len(csv_lines)
    hu32 = next(r for r in table if r[0].endswith("/region/HU32"))
    assert hu32[1] == "Észak-Alföld" and hu32[3] == "http://data.europa.eu/nuts/code/HU32"
    said = about(out.read_bytes())
    assert said["What"].startswith("Stored question external-links: ")
    assert said["Rows"] == f"{len(table) - 1:,}"
    assert not list(tmp_path.glob(".*.part"))


def test_query_writes_a_workbook_to_a_pipe_and_notes_its_limit(demo_store: Path):
    proc = subprocess.run(
        [str(CLI), "query", "clusters", "--format", "xlsx", "--limit", "3"]
        + ["--store", str(demo_store)],
        capture_output=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    table = cells(proc.stdout)
    assert len(table) == 4 and isinstance(table[1][-1], int)  # members: a number
    assert about(proc.stdout)["Cut at a row limit"] == "yes: the first 3 rows (--limit)"


def test_sparql_writes_a_yes_or_no_workbook(demo_store: Path, tmp_path: Path):
    out = tmp_path / "ask.xlsx"
    ask = "ASK { ?c a <https://w3id.org/clusterpolisee/ontology#Cluster> }"
    proc = run_cli(
        "sparql", ask, "--format", "xlsx", "--output", str(out), "--store", str(demo_store)
    )
    assert proc.returncode == 0, proc.stderr
    assert cells(out.read_bytes()) == [["boolean"], [True]]
    assert about(out.read_bytes())["Query"] == ask


def test_a_workbook_to_a_terminal_is_refused(demo_store: Path):
    """Binary bytes on a terminal help nobody: exit 1, before the query runs, nothing
    written there; --output or a redirection is the way."""
    main, terminal = pty.openpty()
    try:
        proc = subprocess.run(
            [str(CLI), "query", "clusters", "--format", "xlsx", "--store", str(demo_store)],
            stdout=terminal,
            stderr=subprocess.PIPE,
            text=True,
            timeout=600,
        )
        os.set_blocking(main, False)
        try:
            shown = os.read(main, 4096)
        except BlockingIOError:
            shown = b""
    finally:
        os.close(terminal)
        os.close(main)
    assert proc.returncode == 1
    assert "xlsx workbook is a binary file" in proc.stderr and "--output FILE" in proc.stderr
    assert shown == b""


@pytest.mark.parametrize("command", [["query", "region-profile"], ["sparql", "DESCRIBE <x:y>"]])
def test_a_graph_has_no_workbook(demo_store: Path, tmp_path: Path, command: list[str]):
    out = tmp_path / "g.xlsx"
    proc = run_cli(*command, "--format", "xlsx", "--output", str(out), "--store", str(demo_store))
    assert proc.returncode == 1
    assert "cannot be shown as xlsx; use one of: jsonld, ntriples, rdfxml, turtle" in proc.stderr
    assert not out.exists()


def test_output_takes_the_text_formats_too(demo_store: Path, tmp_path: Path):
    out = tmp_path / "overview.csv"
    args = ["query", "overview", "--format", "csv", "--store", str(demo_store)]
    proc = run_cli(*args, "--output", str(out))
    assert proc.returncode == 0 and proc.stdout == ""
    piped = subprocess.run([str(CLI), *args], capture_output=True, timeout=600)
    assert out.read_bytes() == piped.stdout and piped.stdout.startswith(b"country,")


def test_a_value_given_as_a_code_is_labelled_by_the_resource_it_names():
    """A region given as RO21 named no label on the "About" sheet: labels are by IRI."""
    from clusterpolisee.xlsx import parameter_lines

    iri = "https://w3id.org/clusterpolisee/id/region/RO21"
    (line,) = parameter_lines(
        {"region": "RO21"}, {"region": ox.NamedNode(iri)}, {"region": "Region"}, {iri: "Nord-Est"}
    )
    assert (line.value, line.value_label) == ("RO21", "Nord-Est")
