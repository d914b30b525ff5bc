"""`clusterpolisee link` and `clusterpolisee links review` end to end on a real store."""

import csv
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee.linking import CANDIDATES_GRAPH, LINKS_GRAPH, load
from clusterpolisee.store import open_store

from ..conftest import run_cli
from .conftest import EVAL, EVAL_OPTIONS

SKOS_EXACT = "http://www.w3.org/2004/02/skos/core#exactMatch"
PROV = "http://www.w3.org/ns/prov#"
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
            "https://w3id.org/clusterpolisee/id/agent/ana-curator"
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
