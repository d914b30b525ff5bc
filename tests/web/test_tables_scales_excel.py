"""What a policy officer saw in result tables, resource pages and Excel downloads: every name
twice (``Practice`` and ``Practice name``) with a small "en" after each, severities as bare
numbers, and workbooks headed ``practiceLabel`` with parameters as IRIs."""

import csv
import io
import re

import pyoxigraph as ox
import pytest

from clusterpolisee import paths
from webapp.access import EngineStore
from webapp.present import heading, read_scales, scale_legend, scales, shown_columns
from webapp.views.queries import catalog, run_stored

from ..test_xlsx import about, cells, read

HTML = {"Accept": "text/html"}
OWN = {"page": "1"}  # a URL of its own: the page cache is shared with other tests
CPO = "https://w3id.org/clusterpolisee/ontology#"
SH = "http://www.w3.org/ns/shacl#"
ID = "https://w3id.org/clusterpolisee/id/"
BARRIER = "/id/partner/vojvodina-economy/barrier/fragmented-governance"  # cpo:severity 4


def shape_says(prop: str) -> tuple[int, int, str]:
    """(sh:minInclusive, sh:maxInclusive, sh:description) of the shapes' property shape of
    ``prop`` that bounds it, read here from the files, independently of present.scales."""
    triples = [
        q.triple
        for f in sorted(paths.SHAPES_DIR.glob("*.ttl"))
        for q in ox.parse(f.read_bytes(), format=ox.RdfFormat.TURTLE)
    ]
    shapes = {
        t.subject for t in triples if t.predicate.value == SH + "path" and t.object.value == prop
    }

    def one(shape, p):
        return next(
            (t.object.value for t in triples if t.subject == shape and t.predicate.value == p), None
        )

    shape = next(s for s in shapes if one(s, SH + "maxInclusive") is not None)
    return (
        int(one(shape, SH + "minInclusive")),
        int(one(shape, SH + "maxInclusive")),
        one(shape, SH + "description"),
    )


def headings_of(html: str, table_id: str | None = None) -> list[str]:
    table = html if table_id is None else html[html.index(f'id="{table_id}"') :]
    head = table[table.index("<thead>") : table.index("</thead>")]
    return [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<th[^>]*>(.*?)</th>", head)]


# -- A: each name once, no "en" after English labels -------------------------------------


def test_a_label_column_the_link_beside_it_shows_is_left_out(app):
    region = ox.NamedNode(ID + "region/RS12")
    labels = {region.value: {"": "Region Vojvodine"}}
    vars_ = ["region", "regionLabel", "n"]
    same = [region, ox.Literal("Region Vojvodine"), ox.Literal("1")]
    with app.test_request_context("/"):
        assert shown_columns(vars_, [same], labels) == [0, 2]
        # one row whose label is another text keeps the column: nothing shown is lost
        other = [region, ox.Literal("Vojvodina"), ox.Literal("2")]
        assert shown_columns(vars_, [same, other], labels) == [0, 1, 2]
        # a link shown by its IRI (no label known: the editor's tables) keeps it too
        assert shown_columns(vars_, [same], {}) == [0, 1, 2]
        # a label without its link is kept, and so is one with no ?region in the result
        assert shown_columns(vars_, [[None, same[1], None]], labels) == [0, 1, 2]
        assert shown_columns(["regionLabel", "n"], [same[1:]], labels) == [0, 1]


def test_the_stored_tables_macro_shows_each_name_once(app):
    """macros.html's select_table, which query.html's table is."""
    q = catalog().queries["practices-for-category"]
    with app.test_request_context("/queries/practices-for-category"):
        result = run_stored(q, q.bind({}, EngineStore()))
        shown = {t.value for row in result.rows for t in row if isinstance(t, ox.NamedNode)}
        labels = app.extensions["cpo.db"].labels(shown)
        template = app.jinja_env.from_string(
            '{% from "macros.html" import select_table, scale_notes %}'
            "{{ select_table(result, result.rows, labels, 'x') }}{{ scale_notes(text) }}"
        )
        html = template.render(result=result, labels=labels, text=q.text)
    assert result.rows and "practiceLabel" in result.vars
    assert headings_of(html) == [
        "Region",
        "Practice",
        "Instrument",
        "Transferability",
        "Partner",
        "Website",
    ]
    assert "?practice" in html and "?practiceLabel" not in html
    assert '<small class="note">en</small>' not in html
    low, high, meaning = shape_says(CPO + "transferability")
    assert f"<li><strong>Transferability</strong>: {low} to {high}. {meaning}</li>" in html
    assert "(hard)" in meaning and "(easy)" in meaning


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "practices-for-category",
            ["Region", "Practice", "Instrument", "Transferability", "Partner", "Website"],
        ),
        (
            "knowledge-transfers",
            [
                "Transfer",
                "Date",
                "From region",
                "To region",
                "Practice",
                "Barriers addressed",
                "Outcome",
            ],
        ),
    ],
)
def test_a_query_page_shows_each_name_once(client, name, expected):
    html = client.get(f"/queries/{name}", query_string=OWN, headers=HTML).text
    assert headings_of(html, "result-table") == expected
    assert '<small class="note">en</small>' not in html
    assert ">Excel (.xlsx)</a>" in html


def test_an_english_query_page_has_no_en_marks(client):
    html = client.get("/queries/knowledge-transfers", query_string=OWN, headers=HTML).text
    table = html[html.index('id="result-table"') :]
    assert "<tbody><tr>" in table  # rows, of English labels
    assert '<small class="note">en</small>' not in html


def test_a_language_is_marked_only_where_it_is_not_the_readers(client):
    query = 'SELECT ?it ?en WHERE { BIND("Distretto Marche"@it AS ?it) BIND("District"@en AS ?en) }'
    args = {"query": query, "format": "html"}
    english = client.get("/sparql", query_string=args).text
    assert (
        '<td><span class="lit" lang="it">Distretto Marche</span> <small class="note">it</small>'
        in english
    )
    assert '<td><span class="lit">District</span></td>' in english  # no "en" mark
    italian = client.get("/sparql", query_string=args, headers={"Accept-Language": "it"}).text
    # the lang attribute stays for screen readers; the mark an Italian reader needs not, goes
    assert '<td><span class="lit" lang="it">Distretto Marche</span></td>' in italian


# -- B: scales from the shapes --------------------------------------------------------------


def test_the_scales_are_the_shapes_bounded_properties():
    found = scales()
    for prop in ("severity", "transferability"):
        low, high, meaning = shape_says(CPO + prop)
        assert (found[CPO + prop].low, found[CPO + prop].high) == (low, high) == (1, 5)
        assert found[CPO + prop].meaning == meaning
    assert CPO + "foundingYear" not in found  # 1900 to 2100: a year, no scale
    assert CPO + "numberOfMembers" not in found  # one bound only
    # shapes that disagree on a property's bounds give it no scale
    p, s1, s2 = ox.NamedNode(CPO + "x"), ox.BlankNode(), ox.BlankNode()
    one = ox.Literal("1", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))

    def shape(s, high):
        high_lit = ox.Literal(str(high), datatype=one.datatype)
        return [
            ox.Triple(s, ox.NamedNode(SH + "path"), p),
            ox.Triple(s, ox.NamedNode(SH + "minInclusive"), one),
            ox.Triple(s, ox.NamedNode(SH + "maxInclusive"), high_lit),
        ]

    assert CPO + "x" in read_scales(shape(s1, 5), [])
    assert read_scales(shape(s1, 5) + shape(s2, 7), []) == {}


def test_the_legend_lists_the_scales_a_question_uses():
    names = {q.name: [s.name for s in scale_legend(q.text)] for q in catalog().queries.values()}
    assert names["practices-for-category"] == ["transferability"]
    assert names["region-barriers"] == ["severity"]
    assert names["transfer-candidates"] == ["severity", "transferability"]
    assert names["clusters"] == []
    assert [s.name for s in scale_legend(f"SELECT * {{ ?b <{CPO}severity> ?s }}")] == ["severity"]
    assert scale_legend("SELECT * { ?b ex:severity ?s }") == []  # not the ontology's


def test_a_barrier_page_shows_its_severity_on_its_scale(client):
    low, high, meaning = shape_says(CPO + "severity")
    html = client.get(BARRIER, headers=HTML).text
    dd = re.search(r'<dd><span class="lit scale" title="([^"]+)">4 / 5</span>', html)
    assert dd, html[html.index('id="properties"') :][:2000]
    assert dd[1] == f"severity, {low} to {high}: {meaning}"
    assert "from 1 (minor) to 5 (critical)" in dd[1]
    # said in the text too, for screen readers that do not read titles
    assert f'<span class="visually-hidden"> (severity, {low} to {high}: {meaning})</span>' in html
    # the data itself is unchanged
    assert '"4"^^<http://www.w3.org/2001/XMLSchema#integer>' in client.get(BARRIER + ".nt").text


# -- C: Excel headings and parameters, CSV as before -----------------------------------------


def test_the_workbook_is_headed_as_the_page_with_the_names_as_comments(client):
    data = client.get("/queries/practices-for-category.xlsx").data
    as_csv = list(csv.reader(io.StringIO(client.get("/queries/practices-for-category.csv").text)))
    names = [
        "region",
        "regionLabel",
        "practice",
        "practiceLabel",
        "instrument",
        "instrumentLabel",
        "transferability",
        "partner",
        "partnerLabel",
        "website",
    ]
    assert as_csv[0] == names  # the CSV keeps the variable names, and every column
    table = cells(data)
    assert table[0] == [
        "Region",
        "Region name",
        "Practice",
        "Practice name",
        "Instrument",
        "Instrument name",
        "Transferability",
        "Partner",
        "Partner name",
        "Website",
    ]
    assert table[0] == [heading(n, names) for n in names]
    assert [c.comment.text for c in read(data)["Results"][1]] == names
    assert len(table) == len(as_csv)  # every row, every column


def test_the_about_sheet_names_parameters_and_their_values(client):
    r = client.get(
        "/queries/knowledge-transfers.xlsx", query_string={"toRegion": ID + "region/RS12"}
    )
    said = about(r.data)
    assert said["Receiving region"] == f"Region Vojvodine ({ID}region/RS12)"
    assert not any(k.startswith("Parameter") for k in said)
    default = about(client.get("/queries/practices-for-category.xlsx").data)
    category = ID + "barrier-category/difficult-bank-finance"
    assert re.fullmatch(rf".+ \({re.escape(category)}\)", default["Barrier category"])
