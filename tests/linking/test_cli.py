"""`clusterpolisee link` and `clusterpolisee links review` end to end on a real store."""

import csv
import os
import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee.linking import CANDIDATES_GRAPH, LINKS_GRAPH, Candidate, load, save_proposals
from clusterpolisee.store import open_store

from ..conftest import CLI, run_cli
from .conftest import EVAL, EVAL_OPTIONS

SKOS_EXACT = "http://www.w3.org/2004/02/skos/core#exactMatch"
PROV = "http://www.w3.org/ns/prov#"
ID = "https://w3id.org/clusterpolisee/id/"
PBN = "https://w3id.org/clusterpolisee/id/partner/pbn"
O001 = "https://example.org/cluster-db/profile/O001"


def link(store: Path, *extra: str):
    return run_cli(
        "link", "--store", str(store), "--source", str(EVAL / "organisations.csv"),
        "--type", "organisation", *EVAL_OPTIONS, *extra,
    )  # fmt: skip


def test_link_writes_csv_and_rdf_and_proposes_only(writable_store: Path, tmp_path: Path):
    out_csv, out_rdf = tmp_path / "c.csv", tmp_path / "c.ttl"
    proc = link(writable_store, "--output-csv", str(out_csv), "--output-rdf", str(out_rdf))
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert len(rows) == 15
    assert {r["status"] for r in rows} == {"proposed"}
    pbn = next(r for r in rows if r["external_iri"] == O001)
    assert pbn["our_iri"] == PBN
    assert pbn["evidence"].split("; ") == ["acronym 0.90", "country", "region", "url"]
    triples = list(ox.parse(path=str(out_rdf), format=ox.RdfFormat.TURTLE))
    assert sum(1 for t in triples if t.predicate.value.endswith("#entity1")) == 15
    with open_store(str(writable_store), read_only=True) as store:
        assert len(load(store)) == 15
        assert store.graph_sizes().get(LINKS_GRAPH, 0) == 0


def test_review_accepts_with_provenance_and_remembers_rejections(writable_store: Path):
    assert link(writable_store).returncode == 0
    with open_store(str(writable_store), read_only=True) as store:
        cands = {c.external: c for c in load(store).values()}
    accept = cands[O001].id
    reject = cands["https://example.org/cluster-db/profile/O006"].id
    proc = run_cli(
        "links", "review", "--store", str(writable_store), "--accept", accept,
        "--reject", reject, "--reviewer", "Ana Curator", "--no-interactive",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "accepted 1, rejected 1" in proc.stdout
    with open_store(str(writable_store), read_only=True) as store:
        links = store.graph_triples(LINKS_GRAPH)
        by_pred = {}
        for t in links:
            by_pred.setdefault(t.predicate.value, []).append(t)
        assert [(t.subject.value, t.object.value) for t in by_pred[SKOS_EXACT]] == [(PBN, O001)]
        assert [t.object.value for t in by_pred[PROV + "wasAssociatedWith"]] == [
            ID + "agent/ana-curator_55caab9f0c8fc675"
        ]
        assert [t.object.value for t in by_pred[PROV + "endedAtTime"]][0].startswith("20")
        score = by_pred["http://knowledgeweb.semanticweb.org/heterogeneity/alignment#measure"]
        assert float(score[0].object.value) == 1.0
    # the decided pairs are not proposed again
    assert link(writable_store).returncode == 0
    with open_store(str(writable_store), read_only=True) as store:
        statuses = {c.id: c.status for c in load(store).values()}
        assert statuses[accept] == "accepted" and statuses[reject] == "rejected"
        assert len(statuses) == 15
        assert len(store.graph_triples(LINKS_GRAPH)) == len(links)
    listing = run_cli("links", "review", "--store", str(writable_store), "--no-interactive")
    assert accept not in listing.stdout and reject not in listing.stdout
    assert listing.stdout.count("proposed") == 13


def test_accept_above_accepts_only_high_scores(writable_store: Path):
    proc = link(writable_store, "--accept-above", "0.99")
    assert proc.returncode == 0, proc.stderr
    with open_store(str(writable_store), read_only=True) as store:
        cands = load(store).values()
        accepted = {c.external for c in cands if c.status == "accepted"}
        assert accepted == {c.external for c in cands if c.score >= 0.99}
        assert 0 < len(accepted) < 15
        exact = [t for t in store.graph_triples(LINKS_GRAPH) if t.predicate.value == SKOS_EXACT]
        assert len(exact) == len(accepted)
        assert CANDIDATES_GRAPH in store.graph_sizes()


def test_bad_input_gives_a_clear_error(partner_store: Path, tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Name;Land\nX;AT\n", encoding="utf-8")
    proc = run_cli("link", "--store", str(partner_store), "--source", str(bad), "--type",
                   "cluster", "--dry-run")  # fmt: skip
    assert proc.returncode == 2
    assert "no column for the id" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("link", "--store", str(partner_store), "--type", "cluster")
    assert (
        proc.returncode == 2 and "exactly one of --source FILE or --source-endpoint" in proc.stderr
    )
    proc = run_cli(
        "links", "review", "--store", str(partner_store), "--accept", "c000", "--no-interactive"
    )
    assert proc.returncode == 2 and "no link candidate 'c000'" in proc.stderr


def test_interactive_review_asks_about_each_candidate(writable_store: Path):
    assert link(writable_store).returncode == 0
    proc = run_cli(
        "links", "review", "--store", str(writable_store), "--interactive", "--reviewer", "cur",
        input="a\nr\ns\nq\n",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("accept, reject, skip or quit") == 4
    assert "accepted 1, rejected 1" in proc.stdout
    with open_store(str(writable_store), read_only=True) as store:
        statuses = sorted(c.status for c in load(store).values())
        assert statuses.count("accepted") == 1 and statuses.count("rejected") == 1


@pytest.mark.parametrize("delimiter", ["", ";;", '"'])
def test_a_delimiter_that_is_not_one_character_is_refused(
    partner_store: Path, tmp_path: Path, delimiter: str
):
    """Python's csv module raised a TypeError traceback for an empty or two-character one."""
    source = tmp_path / "ext.csv"
    source.write_text("id;name\nx;Foo cluster\n", encoding="utf-8")
    proc = run_cli("link", "--store", str(partner_store), "--source", str(source), "--type",
                   "cluster", "--dry-run", "--delimiter", delimiter)  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines()[-1] == (
        f"Error: Invalid value for '--delimiter': {delimiter!r} is not a delimiter: give one "
        "character other than a line break or '\"', e.g. ';' or '\\t' for a tab"
    )


@pytest.mark.parametrize(("delimiter", "text"), [(";", "id;name\n"), ("\\t", "id\tname\n")])
def test_one_character_or_a_typed_tab_is_a_delimiter(
    partner_store: Path, tmp_path: Path, delimiter: str, text: str
):
    source = tmp_path / "ext.csv"
    source.write_text(text + text.replace("id", "x").replace("name", "Foo"), encoding="utf-8")
    proc = run_cli("link", "--store", str(partner_store), "--source", str(source), "--type",
                   "cluster", "--dry-run", "--delimiter", delimiter,
                   "--id-base", "https://example.org/db/")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("1 external records, ")


# -- what the exploratory test found (December) -------------------------------------------------

OURS = "https://w3id.org/clusterpolisee/id/partner/aws/cluster/vienna-ict-cluster"
LIFE = "https://w3id.org/clusterpolisee/id/partner/aws/cluster/vienna-life-sciences-cluster"


def link_csv(store: Path, source: Path, *extra: str):
    return run_cli("link", "--store", str(store), "--source", str(source), "--type", "cluster",
                   *extra)  # fmt: skip


def test_records_with_our_own_iris_are_skipped_and_counted(writable_store: Path, tmp_path: Path):
    """Our own IRIs were proposed as external matches (a cluster matched to itself) and
    --accept-above accepted them."""
    source = tmp_path / "self.csv"
    source.write_text(
        f"id,name,country\n{OURS},Vienna ICT Cluster,AT\n"
        f"http://w3id.org/clusterpolisee/id/x,Vienna life sciences cluster,AT\n"
        "https://example.org/db/E1,Vienna ICT Cluster,AT\n",
        encoding="utf-8",
    )
    proc = link_csv(writable_store, source, "--accept-above", "0.5")
    assert proc.returncode == 0, proc.stderr
    with open_store(str(writable_store), read_only=True) as store:
        assert [(c.local, c.external, c.status) for c in load(store).values()] == [
            (OURS, "https://example.org/db/E1", "accepted")
        ]
        exact = [t for t in store.graph_triples(LINKS_GRAPH) if t.predicate.value == SKOS_EXACT]
        assert [t.object.value for t in exact] == ["https://example.org/db/E1"]
    assert proc.stderr.splitlines() == [
        "3 external records, 1 candidates (1 accepted automatically)",
        "skipped 2 external records whose id is one of our own IRIs (under "
        "https://w3id.org/clusterpolisee/): they are our data, not another database's",
    ]


@pytest.mark.parametrize(
    ("rows", "extra", "message"),
    [
        (
            "http://ex.org/a b,Vienna ICT Cluster\n",
            [],
            "error: row 2: the id 'http://ex.org/a b' is not a valid IRI (invalid IRI code "
            "point ' '); percent-encode such characters in the file (a space is %20)",
        ),
        (
            "E1,Vienna ICT Cluster\nE2," + "x" * 140_000 + "\nE3,Foo\n",
            ["--id-base", "https://ex.org/"],
            "error: ext.csv: row 3 (from line 3) has a field longer than 131,072 characters, "
            "more than any name or code; check the row (an unclosed quote makes the rest of "
            "the file one field)",
        ),
        (
            "E1,Vienna ICT Cluster\n",
            ["--id-base", "https://ex.org/", "--column", "bogus=name"],
            "error: --column bogus=name: there is no field 'bogus'; the fields are: id, name, "
            "alt_name, country, region, sector, url",
        ),
    ],
)
def test_unreadable_records_are_named_not_a_traceback(
    writable_store: Path, tmp_path: Path, rows: str, extra: list[str], message: str
):
    """An invalid IRI and a field past the csv module's limit ended in tracebacks; an unknown
    --column field was ignored."""
    source = tmp_path / "ext.csv"
    source.write_text("id,name\n" + rows, encoding="utf-8")
    proc = link_csv(writable_store, source, *extra)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", message + "\n")
    with open_store(str(writable_store), read_only=True) as store:
        assert load(store) == {}


@pytest.mark.parametrize(
    ("name", "extra", "message"),
    [
        (
            "ext.ttl",
            ["--column", "name=Title", "--delimiter", ";"],
            "--column, --delimiter only apply to a CSV file; RDF and endpoint data are mapped "
            "by --query (a SELECT giving ?id ?name ...), and their ids must be IRIs",
        ),
        (
            "ext.ttl",
            ["--id-base", "https://ex.org/"],
            "--id-base only applies to a CSV file; RDF and endpoint data are mapped by --query "
            "(a SELECT giving ?id ?name ...), and their ids must be IRIs",
        ),
        (
            "ext.csv",
            ["--query", "QUERY"],
            "--query maps RDF or endpoint data; a CSV file is mapped with --column",
        ),
    ],
)
def test_options_for_the_other_kind_of_source_are_refused(
    writable_store: Path, tmp_path: Path, name: str, extra: list[str], message: str
):
    """They were ignored without a word: a --column for a Turtle list, a --query for a CSV."""
    source = tmp_path / name
    source.write_text(
        "id,name\nhttps://ex.org/E1,Vienna ICT Cluster\n"
        if name.endswith(".csv")
        else '<https://ex.org/E1> <http://www.w3.org/2000/01/rdf-schema#label> "Vienna ICT" .\n',
        encoding="utf-8",
    )
    query = tmp_path / "map.rq"
    query.write_text("SELECT ?id ?name WHERE { ?id ?p ?name }", encoding="utf-8")
    extra = [str(query) if x == "QUERY" else x for x in extra]
    proc = link_csv(writable_store, source, *extra)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"error: {message}\n")


NOT_HTTP = (
    "is not an http(s) IRI prefix; links go to http(s) IRIs, so give the external "
    "database's, e.g. https://example.org/cluster/"
)


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("not a base", f"'not a base' {NOT_HTTP}"),
        ("urn:x:", f"'urn:x:' {NOT_HTTP}"),
        (
            "http://ex.org/a b/",
            "'http://ex.org/a b/' is not an http(s) IRI prefix (invalid IRI code point ' ')",
        ),
    ],
)
def test_id_base_must_be_an_http_iri_prefix(
    partner_store: Path, tmp_path: Path, base: str, message: str
):
    """'not a base' ended in a traceback when a link was written; 'urn:x:' was taken."""
    source = tmp_path / "ext.csv"
    source.write_text("id,name\nE1,Vienna ICT Cluster\n", encoding="utf-8")
    proc = link_csv(partner_store, source, "--dry-run", "--id-base", base)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines()[-1] == f"Error: Invalid value for '--id-base': {message}"


def test_control_characters_are_not_stored(writable_store: Path, tmp_path: Path):
    """A NUL in a name reached dcterms:title (RDF/XML cannot carry it); a tab or line break
    in a name is one space."""
    source = tmp_path / "ext.csv"
    source.write_bytes(
        b'id,name,alt_name,country\nE1,"Vienna ICT\x00 Cluster\r\n\tWien\x1b",Vienna\x7f ICT,AT\n'
    )
    proc = link_csv(writable_store, source, "--id-base", "https://ex.org/")
    assert proc.returncode == 0, proc.stderr
    assert "Vienna ICT Cluster Wien  <https://ex.org/E1>" in proc.stdout
    with open_store(str(writable_store), read_only=True) as store:
        titles = [
            t.object.value
            for t in store.graph_triples(CANDIDATES_GRAPH)
            if t.predicate.value == "http://purl.org/dc/terms/title"
        ]
    assert titles == ["Vienna ICT Cluster Wien"]


DCT_SOURCE = "http://purl.org/dc/terms/source"


@pytest.mark.parametrize(
    ("file_name", "stored"),
    [
        # a line break, U+0001 and U+FFFE: none of them is XML 1.0
        ("Vienna\nlist\x01\ufffe.csv", "Vienna list.csv"),
        # the byte 0xFF, no UTF-8: Python names it by a lone surrogate, which RDF cannot hold
        ("Vienna\udcfflist.csv", "Vienna\ufffdlist.csv"),
    ],
)
def test_a_list_s_file_name_is_stored_and_told_on_one_line(
    writable_store: Path, tmp_path: Path, file_name: str, stored: str
):
    """The file name (any bytes but '/' and NUL on Linux) went into dcterms:source of the
    cells, the run and the links as it was, and into messages: control characters made
    /graph/link-candidates.rdf ill-formed, a byte that is no UTF-8 ended in a traceback."""
    source = tmp_path / file_name
    source.write_text("id,name,country\nE1,Vienna ICT Cluster,AT\n", encoding="utf-8")
    proc = link_csv(writable_store, source, "--id-base", "https://ex.org/",
                    "--threshold", "0.3", "--accept-above", "0.9")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with open_store(str(writable_store), read_only=True) as store:
        graphs = [store.graph_triples(g) for g in (CANDIDATES_GRAPH, LINKS_GRAPH)]
    sources = [{t.object.value for t in g if t.predicate.value == DCT_SOURCE} for g in graphs]
    assert sources == [{stored}, {stored}]  # the cell's and the run's; the link's
    labels = {t.object.value for t in graphs[0] if t.subject.value.startswith(ID + "link-run/")}
    assert any(v.endswith(f" against {stored}") for v in labels)
    # the same file again: the entity is linked to this list now, said on one line
    again = link_csv(writable_store, source, "--id-base", "https://ex.org/", "--threshold", "0.3")
    assert again.returncode == 0, again.stderr
    assert again.stderr.splitlines()[-1] == (
        "left out 1 external records already linked to one of ours and 1 of our clusters "
        f"already linked to {stored} (links are one-to-one)"
    )
    source.write_text("id,name\nE2,\n", encoding="utf-8")
    bad = link_csv(writable_store, source, "--id-base", "https://ex.org/")
    assert (bad.returncode, bad.stderr) == (2, f"error: {stored}: row 2 has no id or no name\n")


def test_links_stay_one_to_one_across_runs(writable_store: Path, tmp_path: Path):
    """A second run proposed another record for a cluster already linked to that source, and
    the accepted record for another cluster."""
    source = tmp_path / "ext.csv"
    source.write_text("id,name,country\nE1,Vienna ICT Cluster,AT\n", encoding="utf-8")
    base = ["--id-base", "https://ex.org/", "--threshold", "0.3"]
    assert link_csv(writable_store, source, *base, "--accept-above", "0.9").returncode == 0
    source.write_text(
        "id,name,country\nE1,Vienna ICT Cluster,AT\nE2,ICT Cluster Vienna,AT\n", encoding="utf-8"
    )
    proc = link_csv(writable_store, source, *base)
    assert proc.returncode == 0, proc.stderr
    with open_store(str(writable_store), read_only=True) as store:
        pairs = sorted((c.local, c.external, c.status) for c in load(store).values())
    assert pairs == [
        (OURS, "https://ex.org/E1", "accepted"),
        (LIFE, "https://ex.org/E2", "proposed"),
    ]
    assert proc.stderr.splitlines()[-1] == (
        "left out 1 external records already linked to one of ours and 1 of our clusters "
        "already linked to ext.csv (links are one-to-one)"
    )


def _o001(store_path: Path) -> str:
    with open_store(str(store_path), read_only=True) as store:
        return next(c.id for c in load(store).values() if c.external == O001)


def test_listing_opens_the_store_read_only(writable_store: Path):
    """Listing opened the store read-write, refused while a server held it."""
    assert link(writable_store).returncode == 0
    chosen = _o001(writable_store)
    with open_store(str(writable_store)):  # a server holds the store read-write
        listing = run_cli("links", "review", "--store", str(writable_store), "--no-interactive")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.count(" proposed ") == 15 and chosen in listing.stdout


def test_an_id_given_twice_is_one_decision(writable_store: Path):
    """--accept X --accept X counted two."""
    assert link(writable_store).returncode == 0
    chosen = _o001(writable_store)
    proc = run_cli("links", "review", "--store", str(writable_store), "--no-interactive",
                   "--accept", chosen, "--accept", chosen)  # fmt: skip
    assert (proc.returncode, proc.stdout) == (0, "accepted 1, rejected 0\n"), proc.stderr
    with open_store(str(writable_store), read_only=True) as store:
        links = store.graph_triples(LINKS_GRAPH)
    exact = [(t.subject.value, t.object.value) for t in links if t.predicate.value == SKOS_EXACT]
    assert exact == [(PBN, O001)]
    assert sum(t.predicate.value == PROV + "wasAssociatedWith" for t in links) == 1


def test_review_keeps_links_one_to_one(writable_store: Path):
    """Two proposals of one entity to two records of one source (older runs could make them)
    could both be accepted."""
    first, second = (
        Candidate(PBN, f"https://ex.org/r/{n}", 0.9, ["name 0.9"], external_name=n, source="s")
        for n in ("R1", "R2")
    )
    with open_store(str(writable_store)) as store:
        save_proposals(store, [first, second])

    def decide(*ids: str):
        args = [x for cid in ids for x in ("--accept", cid)]
        return run_cli("links", "review", "--store", str(writable_store), "--no-interactive",
                       *args)  # fmt: skip

    both = decide(first.id, second.id)
    assert (both.returncode, both.stdout) == (2, "")
    assert both.stderr == (
        f"error: candidate {second.id}: {PBN} is already linked to https://ex.org/r/R1 of s; "
        "links are one-to-one, so reject one of the two\n"
    )
    with open_store(str(writable_store), read_only=True) as store:
        assert store.graph_triples(LINKS_GRAPH) == []
    assert decide(first.id).returncode == 0
    later = decide(second.id)
    assert later.returncode == 2 and "is already linked to https://ex.org/r/R1" in later.stderr


def test_output_csv_neutralises_formulas(partner_store: Path, tmp_path: Path):
    """A name like =HYPERLINK(...) was written as it is: a spreadsheet runs it."""
    source, out = tmp_path / "ext.csv", tmp_path / "out.csv"
    source.write_text(
        'id,name,alt_name,country\nE1,"=HYPERLINK(""http://evil.example"",""x"")",'
        "Vienna ICT Cluster,AT\nE2,+Vienna life sciences cluster,,AT\n",
        encoding="utf-8",
    )
    proc = link_csv(partner_store, source, "--dry-run", "--id-base", "https://ex.org/",
                    "--output-csv", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = {r["external_iri"]: r["external_name"] for r in csv.DictReader(out.open())}
    assert rows == {
        "https://ex.org/E1": '\'=HYPERLINK("http://evil.example","x")',
        "https://ex.org/E2": "'+Vienna life sciences cluster",
    }
    help_text = run_cli("link", "--help").stdout
    assert "begins with = + - @ (a formula to a spreadsheet) is written with a" in " ".join(
        help_text.split()
    )


def test_withdraw_takes_an_accepted_link_back(writable_store: Path):
    assert link(writable_store).returncode == 0
    with open_store(str(writable_store), read_only=True) as store:
        cands = {c.external: c for c in load(store).values()}
        before = len(store.graph_triples(LINKS_GRAPH))
    o006 = "https://example.org/cluster-db/profile/O006"
    wrong, right = cands[O001].id, cands[o006].id
    review = ("links", "review", "--store", str(writable_store), "--no-interactive")
    assert run_cli(*review, "--accept", wrong, "--accept", right).returncode == 0
    with open_store(str(writable_store), read_only=True) as store:
        both = store.graph_triples(LINKS_GRAPH)
    withdraw = ("links", "withdraw", "--store", str(writable_store))
    reason = "  PBN is \x01 another\x02 body "  # control characters made RDF/XML ill-formed
    proc = run_cli(*withdraw, wrong, "--reason", reason, "--reviewer", "Ana C\x07")
    assert (proc.returncode, proc.stdout.strip()) == (0, "withdrawn 1")
    with open_store(str(writable_store), read_only=True) as store:
        now = store.graph_triples(LINKS_GRAPH)
        cell = load(store)[wrong]
        stmt = f"https://w3id.org/clusterpolisee/id/link/{wrong}"
        # only the link goes; its record stays, invalidated by the withdrawal
        gone = {(t.subject.value, t.predicate.value, t.object.value) for t in set(both) - set(now)}
        assert gone == {(PBN, SKOS_EXACT, O001)}
        assert {
            (t.subject.value, t.predicate.value, t.object.value) for t in set(now) - set(both)
        } == {
            (stmt, PROV + "invalidatedAtTime", cell.withdrawn),
            (stmt, PROV + "wasInvalidatedBy", f"{cell.node.value}/withdrawal"),
        }
        assert before < len(both)
        assert [t.object.value for t in now if t.predicate.value == SKOS_EXACT] == [o006]
        assert (cell.status, cell.reason, cell.withdrawn_by) == (
            "withdrawn",
            "PBN is another body",
            "Ana C",
        )
        act = f"{cell.node.value}/withdrawal"
        record = {
            (t.subject.value, t.predicate.value, t.object.value)
            for t in store.graph_triples(CANDIDATES_GRAPH)
        }
        assert {
            (cell.node.value, PROV + "wasInvalidatedBy", act),
            (act, PROV + "wasAssociatedWith", ID + "agent/ana-c_204d5ebe03bac0f1"),
            (act, PROV + "endedAtTime", cell.withdrawn),
        } <= record
        assert cell.withdrawn.startswith("20") and cell.withdrawn.endswith("Z")
    # not proposed again, and a second withdrawal or one of a proposed candidate is refused
    assert link(writable_store).returncode == 0
    with open_store(str(writable_store), read_only=True) as store:
        assert load(store)[wrong].status == "withdrawn"
    proposed = next(c.id for c in cands.values() if c.id not in (wrong, right))
    for cid, message in [
        (wrong, f"candidate {wrong} is withdrawn; only an accepted link can be withdrawn"),
        (proposed, f"candidate {proposed} is proposed; only an accepted link"),
        ("c000", "there is no link candidate 'c000'"),
    ]:
        proc = run_cli(*withdraw, cid, "--reason", "x")
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    for blank in (" ", "\x01\x07"):
        proc = run_cli(*withdraw, right, "--reason", blank)
        assert proc.returncode == 2 and "--reason must say why" in proc.stderr
    listing = run_cli(*review, "--all").stdout
    assert f"{wrong}  withdrawn" in listing
    assert f"withdrawn {cell.withdrawn} by Ana C: PBN is another body" in listing


def test_accepted_links_are_listed_as_links_to_another_database(writable_store: Path):
    """`external-links` called every match in a cluster database a "Web page"."""
    assert link(writable_store, "--accept-above", "0.99").returncode == 0
    with open_store(str(writable_store), read_only=True) as store:
        accepted = {c.external for c in load(store).values() if c.status == "accepted"}
    query = ("query", "external-links", "--store", str(writable_store), "--format", "csv")
    proc = run_cli(*query, "-p", "dataset=Other database")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(proc.stdout.splitlines()))
    assert len(accepted) > 0 and {r["link"] for r in rows} == accepted
    assert {r["target"] for r in rows} == {"Other database"}
    pages = list(csv.DictReader(run_cli(*query, "-p", "dataset=Web page").stdout.splitlines()))
    assert pages and not accepted & {r["link"] for r in pages}


@pytest.mark.skipif(os.geteuid() != 0, reason="running as a uid with no user needs root")
@pytest.mark.parametrize(
    "args",
    [["review", "--reject", "x", "--no-interactive"], ["withdraw", "x", "--reason", "wrong"]],
)
def test_a_decision_by_a_uid_with_no_user_asks_for_a_reviewer(args: list[str]):
    """getpass.getuser() raises for a uid with no passwd entry and no USER or LOGNAME: both
    commands ended in a traceback. The name is asked for before anything is read."""
    gone = ("USER", "LOGNAME", "LNAME", "USERNAME")
    env = {k: v for k, v in os.environ.items() if k not in gone}
    env["CLUSTERPOLISEE_MALLOC"] = "system"  # no restart: that uid may not run the venv's python
    # setpriv (util-linux) keeps root's capabilities, so the venv under /root still runs.
    setpriv = ["setpriv", "--reuid", "54321", "--regid", "54321", "--clear-groups"]
    proc = subprocess.run(
        [*setpriv, str(CLI), "links", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        timeout=120,
    )
    assert subprocess.run(["getent", "passwd", "54321"]).returncode == 2
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (
        "error: cannot tell who decides (this system gives no login name): give --reviewer NAME\n"
    )
