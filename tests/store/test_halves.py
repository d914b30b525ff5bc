"""Long stored listings cut in two halves, one per core (store/halves.py)."""

import json
import shutil
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee.catalog import CatalogError, load_catalog, load_query
from clusterpolisee.store import OxigraphStore
from clusterpolisee.store.halves import MIN_ROWS, Cut, Halves, in_two, locate
from clusterpolisee.store.ordering import text_key

from ..conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
ID = "https://w3id.org/clusterpolisee/id/"
PROLOGUE = "PREFIX cpo: <https://w3id.org/clusterpolisee/ontology#>\n"
SUB = """  {
    SELECT DISTINCT ?t WHERE { ?t a cpo:KnowledgeTransfer }
    # split here
  }
"""
GOOD = PROLOGUE + "SELECT ?t ?d WHERE {\n" + SUB + "  ?t cpo:date ?d .\n}\nORDER BY ?d"


def test_a_marked_listing_is_located_and_its_halves_and_count_written():
    cut = locate(GOOD)
    assert isinstance(cut, Cut)
    first, second = cut.halves(GOOD, 2377)
    assert "    LIMIT 2377\n  }" in first and "OFFSET" not in first
    assert "    OFFSET 2377\n  }" in second and "LIMIT" not in second
    assert first.replace("LIMIT 2377", "# split here") == GOOD
    counted = PROLOGUE + "SELECT (COUNT(*) AS ?n) WHERE {\n" + SUB.rstrip("\n") + "}"
    assert cut.count_query(GOOD) == counted
    # what stands before the sub-select in the WHERE clause is counted with it
    lead = "  VALUES ?t { cpo:x }\n"
    bound = GOOD.replace("WHERE {\n", "WHERE {\n" + lead, 1)
    assert locate(bound).count_query(bound) == counted.replace("{\n", "{\n" + lead, 1)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (GOOD.replace("# split here", "# split here\n    # split here"), "must stand once"),
        (GOOD.replace("    # split here", "  } # split here {"), "must stand once"),
        (GOOD.replace(SUB, "  ?t a cpo:KnowledgeTransfer .\n  # split here\n"), "must follow"),
        (GOOD.replace("?t cpo:date ?d .\n}", "?t cpo:date ?d .\n"), "do not balance"),
        (GOOD.replace("WHERE {\n", "WHERE { } }\n{", 1), "do not balance"),
        (PROLOGUE + "SELECT ?t WHERE { ?t a cpo:X }\n# split here\n} }", "do not balance"),
        (GOOD.replace("SELECT DISTINCT ?t", "SELECT ?t"), "SELECT DISTINCT of plain variables"),
        (
            GOOD.replace("SELECT DISTINCT ?t WHERE", "SELECT DISTINCT ?t (1 AS ?one) WHERE"),
            "SELECT DISTINCT of plain variables",
        ),
        (GOOD.replace("SELECT ?t ?d", "SELECT DISTINCT ?t ?d"), "cannot be DISTINCT"),
        (GOOD + " LIMIT 10", "cannot end with LIMIT"),
        (GOOD + "\nLIMIT3", "cannot end with LIMIT"),  # Oxigraph reads it as LIMIT 3
        (GOOD.replace("ORDER BY ?d", "LIMIT 2 VALUES ?z { 1 }"), "cannot end with LIMIT"),
        (
            GOOD.replace(
                "SELECT DISTINCT ?t WHERE { ?t a cpo:KnowledgeTransfer }",
                "SELECT DISTINCT ?t WHERE { ?t a cpo:KnowledgeTransfer } VALUES ?t { cpo:x }",
            ),
            "must follow the WHERE group",
        ),
        (
            GOOD.replace("SELECT ?t ?d", "SELECT ?d (COUNT(*) AS ?n)").replace(
                "ORDER BY ?d", "GROUP BY ?d (isIRI(?t))"
            ),
            "must be a GROUP BY key: ?t is not",
        ),
        (
            GOOD.replace("SELECT ?t ?d", "SELECT (COUNT(*) AS ?n)").replace(
                "ORDER BY ?d", "GROUP BY (?d AS ?t)"
            ),
            "must be a GROUP BY key: ?t is not",
        ),
        (
            GOOD.replace("WHERE {\n" + SUB, "WHERE {\n  SERVICE cpo:elsewhere {\n" + SUB + "  }\n"),
            "cannot stand inside SERVICE",
        ),
        (
            GOOD.replace("WHERE {\n" + SUB, "WHERE {\n  SERVICE SILENT ?e {\n" + SUB + "  }\n"),
            "cannot stand inside SERVICE",
        ),
        (GOOD.replace("ORDER BY ?d", "ORDER BY STR(?d)"), "sort by projected variables"),
        (
            GOOD.replace("SELECT ?t ?d", "SELECT ?d (COUNT(?t) AS ?n)").replace(
                "ORDER BY ?d", "GROUP BY ?d ORDER BY ?d"
            ),
            "must be a GROUP BY key: ?t is not",
        ),
        (
            GOOD.replace("SELECT ?t ?d", "SELECT (COUNT(?t) AS ?n)").replace("ORDER BY ?d", ""),
            "cannot aggregate without GROUP BY",
        ),
        (GOOD.replace("SELECT ?t ?d WHERE", "ASK WHERE").replace("ORDER BY ?d", ""), "only a"),
    ],
)
def test_a_mark_where_the_halves_could_differ_from_the_whole_is_refused(text, reason):
    assert reason in locate(text)


# The cut inside a sub-select that groups, as in `transfer-candidates`: each half groups its
# own practices, and the query around it only joins.
NESTED = (
    PROLOGUE
    + "SELECT ?p ?n ?label WHERE {\n  {\n    SELECT ?p (COUNT(?i) AS ?n) WHERE {\n"
    + "      {\n        SELECT DISTINCT ?p WHERE { ?p cpo:basedOnInstrument [] }\n"
    + "        # split here\n      }\n      ?p cpo:basedOnInstrument ?i .\n    }\n"
    + "    GROUP BY ?p\n  }\n  ?p cpo:label ?label .\n}\nORDER BY DESC(?n) ?label"
)


def test_a_mark_inside_a_sub_select_that_groups_by_its_variables_is_located():
    cut = locate(NESTED)
    assert isinstance(cut, Cut)
    assert NESTED[cut.form :].startswith("SELECT ?p ?n ?label")
    first, _ = cut.halves(NESTED, 10)
    assert "{ ?p cpo:basedOnInstrument [] }\n        LIMIT 10\n      }" in first
    # nested deeper than the WHERE clause, the sub-select is counted alone
    assert cut.count_query(NESTED) == (
        PROLOGUE + "SELECT (COUNT(*) AS ?n) WHERE {{\n        SELECT DISTINCT ?p WHERE "
        "{ ?p cpo:basedOnInstrument [] }\n        # split here\n      }}"
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            NESTED.replace("GROUP BY ?p\n", "GROUP BY ?i\n"),
            "must be a GROUP BY key: ?p is not",
        ),
        (
            NESTED.replace("    GROUP BY ?p\n", ""),
            "a sub-select around the cut cannot aggregate without GROUP BY",
        ),
        (
            NESTED.replace("SELECT ?p (COUNT(?i) AS ?n)", "SELECT DISTINCT ?i"),
            "a sub-select around the cut cannot be DISTINCT",
        ),
        (
            NESTED.replace("SELECT ?p (COUNT(?i) AS ?n)", "SELECT ?i (COUNT(?p) AS ?n)"),
            "must keep the cut's variables: ?p is dropped",
        ),
        (NESTED.replace("GROUP BY ?p\n", "GROUP BY ?p LIMIT 5\n"), "cannot end with LIMIT"),
        (
            NESTED.replace(
                "      {\n        SELECT DISTINCT", "      OPTIONAL {\n        SELECT DISTINCT"
            ),
            "cannot stand inside OPTIONAL",
        ),
        (
            NESTED.replace(
                "      {\n        SELECT DISTINCT",
                "      FILTER EXISTS { {\n        SELECT DISTINCT",
            ).replace("# split here\n      }", "# split here\n      } }"),
            "cannot stand inside EXISTS",
        ),
        (
            GOOD.replace(SUB, "  { ?t cpo:x ?d } UNION\n" + SUB),
            "in a UNION: the other branch would be read by both halves",
        ),
        (  # a CONSTRUCT keeps each triple once, but a count under the UNION differs
            PROLOGUE
            + "CONSTRUCT { ?t cpo:n ?n } WHERE {\n  {\n    SELECT ?t (COUNT(?o) AS ?n) WHERE {\n"
            + "      {\n"
            + SUB.replace("  ", "    ", 1)
            + "        ?t cpo:o ?o .\n      }\n"
            + "      UNION { ?t cpo:w ?o }\n    }\n    GROUP BY ?t\n  }\n}",
            "in a UNION: the other branch would be read by both halves",
        ),
    ],
)
def test_a_mark_in_a_group_where_the_halves_could_meet_is_refused(text, reason):
    assert reason in locate(text)


def test_the_catalog_refuses_a_misplaced_mark_with_its_line(tmp_path):
    bad = tmp_path / "bad.rq"
    bad.write_text("#+ summary: Transfers\n" + GOOD.replace("SELECT DISTINCT ?t", "SELECT ?t"))
    with pytest.raises(CatalogError) as exc:
        load_query(bad)
    assert str(exc.value) == (
        "bad.rq, line 6: the sub-select before '# split here' must be SELECT DISTINCT of "
        "plain variables"
    )


def test_the_second_half_s_error_reaches_the_caller():
    def fails() -> int:
        raise RuntimeError("the second half failed")

    assert in_two(lambda: 1, lambda: 2) == (1, 2)
    with pytest.raises(RuntimeError, match="the second half failed"):
        in_two(lambda: 1, fails)


def texts_evaluated(monkeypatch) -> list[str]:
    """The texts OxigraphStore hands to Oxigraph for answers, recorded on their way."""
    seen, answer = [], OxigraphStore._answer

    def recorded(self, text, listed=False):
        seen.append(text)
        return answer(self, text, listed)

    monkeypatch.setattr(OxigraphStore, "_answer", recorded)
    return seen


def key(rows: list[dict]) -> list[tuple]:
    return sorted(tuple(sorted((k, str(v)) for k, v in row.items())) for row in rows)


def counted(store: OxigraphStore, cls: str) -> int:
    rows = store.select(f"{PROLOGUE}SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a cpo:{cls} }}")
    return int(rows[0]["n"].value)


def by(*names: str) -> Callable[[dict], tuple]:
    """A row's place by the texts of ``names``, as strings are sorted here (not by code
    point: store/ordering.py)."""
    return lambda row: tuple(text_key(row[k].value) for k in names)


@pytest.mark.parametrize(
    ("name", "params", "cls", "place"),
    [
        ("knowledge-transfers", {}, "KnowledgeTransfer", by("date")),
        ("clusters", {}, "Cluster", by("countryLabel", "regionLabel")),
        # largest budget first
        ("instruments", {}, "PolicyInstrument", lambda r: -Decimal(r["budgetAmount"].value)),
    ],
)
def test_a_long_listing_is_answered_in_two_halves_with_the_whole_s_rows(
    tied_store, monkeypatch, name, params, cls, place
):
    q = load_catalog().get(name)
    with OxigraphStore(str(tied_store), read_only=True) as store:
        count = counted(store, cls)
        text = q.bound_text(q.bind(params, store))
        whole = store.run_query(text, q.store_sorts)
        seen = texts_evaluated(monkeypatch)
        halves = q.run(store, params)
        again = q.run(store, params)
    n = (count + 1) // 2
    assert count >= MIN_ROWS and len(seen) == 4
    first, second = sorted(seen[:2], key=lambda t: "OFFSET" in t)  # run side by side
    assert f"LIMIT {n}\n" in first and f"OFFSET {n}\n" in second
    assert sorted(seen[2:]) == sorted(seen[:2])  # cut alike on every run
    assert len(halves.rows) == len(whole.rows) > 100
    assert key(halves.rows) == key(whole.rows)
    assert halves.rows == again.rows  # the same order on every run
    places = [place(r) for r in halves.rows]
    assert places == sorted(places)


@pytest.mark.parametrize(
    ("name", "param", "value"),
    [
        # bound inside the cut sub-select
        ("knowledge-transfers", "toRegion", ID + "region/RO21"),
        # bound before it, with a `narrows` pattern that the count includes
        ("clusters", "country", ID + "country/ITA"),
        ("clusters", "region", ID + "region/RO21"),
    ],
)
def test_a_short_answer_runs_whole(tied_store, monkeypatch, name, param, value):
    q = load_catalog().get(name)
    with OxigraphStore(str(tied_store), read_only=True) as store:
        seen = texts_evaluated(monkeypatch)
        narrowed = q.run(store, {param: value})
    assert len(seen) == 1 and "LIMIT" not in seen[0] and 0 < len(narrowed.rows) < MIN_ROWS
    assert {r[param].value for r in narrowed.rows} == {value}


def test_transfer_candidates_are_grouped_in_two_halves_each_practice_once(tied_store, monkeypatch):
    """`transfer-candidates` is cut at the practices, inside the sub-select that groups them:
    the halves give the whole's rows, each practice in one row, in the question's order."""
    q = load_catalog().get("transfer-candidates")
    with OxigraphStore(str(tied_store), read_only=True) as store:
        count = int(
            store.select(
                PROLOGUE + "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p cpo:basedOnInstrument [] }"
            )[0]["n"].value
        )
        text = q.bound_text(q.bind({}, store))
        whole = store.run_query(text, q.store_sorts)
        seen = texts_evaluated(monkeypatch)
        halves = q.run(store, {})
    n = (count + 1) // 2
    first, second = sorted(seen, key=lambda t: "OFFSET" in t)  # run side by side
    assert count >= MIN_ROWS and len(seen) == 2
    assert f"LIMIT {n}\n" in first and f"OFFSET {n}\n" in second
    assert len(halves.rows) == len(whole.rows) > 1000
    assert key(halves.rows) == key(whole.rows)
    practices = [r["practice"].value for r in halves.rows]
    assert len(practices) == len(set(practices))
    places = [
        (-int(r["maxSeverity"].value), -int(r["transferability"].value), r["practiceLabel"].value)
        for r in halves.rows
    ]
    assert places == sorted(places)


def test_a_writable_store_runs_a_long_listing_whole(tmp_path, tied_store, monkeypatch):
    """Another thread could write between the halves: only a read-only snapshot is cut."""
    copy = tmp_path / "store"
    shutil.copytree(tied_store, copy)
    q = load_catalog().get("clusters")
    with OxigraphStore(str(copy)) as store:
        seen = texts_evaluated(monkeypatch)
        result = q.run(store, {})
        count = counted(store, "Cluster")
    assert len(seen) == 1 and "LIMIT" not in seen[0] and len(result.rows) == count


CONSTRUCT = (
    PROLOGUE
    + "CONSTRUCT { cpo:Listing cpo:lists ?class . ?c cpo:kind ?class }\nWHERE {\n"
    + SUB.replace("?t", "?c").replace("cpo:KnowledgeTransfer", "cpo:Cluster")
    + "  ?c a ?class .\n}"
)


def test_a_construct_cut_in_two_gives_each_triple_once(tied_store, monkeypatch):
    """Both halves build ``cpo:Listing cpo:lists cpo:Cluster``; the answer has it once, as
    Oxigraph's own answer to the whole query does."""
    with OxigraphStore(str(tied_store), read_only=True) as store:
        whole = store.run_query(CONSTRUCT)
        seen = texts_evaluated(monkeypatch)
        halves = store.run_query(CONSTRUCT, split=True)
    first, second = sorted(seen, key=lambda t: "OFFSET" in t)  # run side by side
    assert len(seen) == 2 and "LIMIT" in first and "OFFSET" in second
    listing = ox.NamedNode("https://w3id.org/clusterpolisee/ontology#Listing")
    lists = [t for t in halves.triples if t.subject == listing]
    assert (
        len(lists)
        == len({t.object for t in lists})
        == sum(t.subject == listing for t in whole.triples)
    )
    assert len(halves.triples) == len(set(halves.triples)) == len(whole.triples) > 4000
    assert set(halves.triples) == set(whole.triples)


def test_a_region_s_profile_is_cut_at_its_resources_and_keeps_each_triple_once(
    tied_store, monkeypatch
):
    """`region-profile` cuts the region's resources in two (4,218 of ITI3's at 1M; fewer
    here, so the threshold is lowered). Both halves build the region's own statements."""
    from clusterpolisee.store import halves as module

    monkeypatch.setattr(module, "MIN_ROWS", 100)
    q = load_catalog().get("region-profile")
    with OxigraphStore(str(tied_store), read_only=True) as store:
        text = q.bound_text(q.bind({}, store))
        whole = store.run_query(text)
        seen = texts_evaluated(monkeypatch)
        cut = q.run(store, {})
    first, second = sorted(seen, key=lambda t: "OFFSET" in t)  # run side by side
    assert len(seen) == 2 and "LIMIT" in first and "OFFSET" in second
    region = ox.NamedNode(q.params[0].default)
    own = [t for t in cut.triples if t.subject == region]
    assert own and len(own) == sum(t.subject == region for t in whole.triples)
    assert len(cut.triples) == len(set(cut.triples)) == len(whole.triples) > 5000
    assert set(cut.triples) == set(whole.triples)


def test_the_web_worker_reads_a_graph_answer_whole_to_its_row_limit(tied_store, monkeypatch):
    """Cut in two, each half of `region-profile` would run to its end, where read whole the
    answer stops at the page's row limit (at 1M: 250 against 91 ms for 10,000 triples)."""
    sys.path.insert(0, str(ROOT))
    import webapp.worker as worker
    from clusterpolisee.store import halves as module

    monkeypatch.setattr(module, "MIN_ROWS", 100)
    q = load_catalog().get("region-profile")
    raw = ox.Store.read_only(str(tied_store))
    with OxigraphStore(str(tied_store), read_only=True) as store:
        text = q.bound_text(q.bind({}, store))
    seen: list[str] = []

    class Recorded:  # the store as the worker sees it, each text recorded
        def query(self, text: str, **options):
            seen.append(text)
            return raw.query(text, **options)

    job = {"text": text, "limit": 1000, "allowlist": None, "split": True}
    answer = worker.run_query(Recorded(), job, Halves(raw))
    assert Halves(raw).of(text) is not None  # the embedded store would cut it
    assert len(seen) == 1 and "LIMIT" not in seen[0] and "OFFSET" not in seen[0]
    assert answer["truncated"] and len(answer["triples"]) == 1000


def test_the_web_worker_and_the_cli_cut_and_order_a_listing_alike(tied_store):
    """A page (a query worker), a download and `clusterpolisee query` of one data version
    must list equal keys in one order, so every path cuts at the same place."""
    sys.path.insert(0, str(ROOT))
    from webapp.database import Database

    q = load_catalog().get("knowledge-transfers")
    with OxigraphStore(str(tied_store), read_only=True) as store:
        text = q.bound_text(q.bind({}, store))
        mine = [row["transfer"].value for row in q.run(store, {}).rows]
        whole = store.run_query(CONSTRUCT)
    db = Database(tied_store, lambda: "v", workers=1, timeout=60, row_limit=10**6)
    try:
        page = db.query(text, trusted=True, store_sorts=q.store_sorts, split=True)
        # Oxigraph sorts each half (``sort: store``): the worker reads 101 rows of each
        top = db.query(text, trusted=True, store_sorts=True, split=True, limit=100)
        python_sorted = db.query(text, trusted=True, split=True, use_cache=False)
        construct = db.query(CONSTRUCT, trusted=True, split=True, use_cache=False)
    finally:
        db.close()
    at = page.vars.index("transfer")
    assert [row[at].value for row in page.rows] == mine and len(mine) >= MIN_ROWS
    assert [row[at].value for row in top.rows] == mine[:100] and top.truncated
    dates = [row[page.vars.index("date")].value for row in python_sorted.rows]
    assert dates == sorted(dates) and len(dates) == len(mine)
    cli = run_cli("query", "knowledge-transfers", "--store", str(tied_store), "--format", "json")
    assert cli.returncode == 0, cli.stderr
    bindings = json.loads(cli.stdout)["results"]["bindings"]
    assert [b["transfer"]["value"] for b in bindings] == mine
    assert len(construct.triples) == len(set(construct.triples)) == len(whole.triples)
    assert set(construct.triples) == set(whole.triples)


FAILING = (
    PROLOGUE
    + "SELECT ?c ?o WHERE {\n"
    + SUB.replace("?t", "?c").replace("cpo:KnowledgeTransfer", "cpo:Cluster")
    + "  SERVICE <http://127.0.0.1:1/> { ?c ?p ?o }\n}"
)


def test_a_half_failing_while_read_raises_and_frees_its_answer_on_its_thread(tied_store):
    """pyo3 frees an Oxigraph answer only on the thread that made it (RELIABILITY.md): the
    helper thread's error must not carry its answer to the caller. Each half here fails
    while its rows are read (SERVICE to a port that refuses)."""
    import gc

    sys.path.insert(0, str(ROOT))
    from webapp import worker

    unraisable: list[str] = []
    hook, sys.unraisablehook = sys.unraisablehook, lambda u: unraisable.append(repr(u.exc_value))
    try:
        with OxigraphStore(str(tied_store), read_only=True) as store:
            with pytest.raises(OSError):
                store.run_query(FAILING, split=True)
            raw = ox.Store.read_only(str(tied_store))
            job = {"text": FAILING, "limit": 10, "allowlist": None, "split": True}
            for engine_sort in (False, True):
                with pytest.raises(OSError):
                    worker.run_query(raw, {**job, "engine_sort": engine_sort}, Halves(raw))
            del raw
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert unraisable == []


def test_solutions_listed_on_the_helper_thread_are_built_and_freed_on_the_caller_s(tied_store):
    """Both halves only list pyoxigraph's solutions; the caller builds the rows from them and
    frees them. pyo3 would refuse to free a solution made on another thread if pyoxigraph
    bound it to its thread, as it binds the answer that makes them (RELIABILITY.md)."""
    import gc

    sys.path.insert(0, str(ROOT))
    from webapp import worker

    q = load_catalog().get("clusters")
    unraisable: list[str] = []
    hook, sys.unraisablehook = sys.unraisablehook, lambda u: unraisable.append(repr(u.exc_value))
    try:
        with OxigraphStore(str(tied_store), read_only=True) as store:
            text = q.bound_text(q.bind({}, store))
            rows, count = store.run_query(text, split=True).rows, counted(store, "Cluster")
            raw = ox.Store.read_only(str(tied_store))
            job = {"text": text, "limit": 10**6, "allowlist": None, "split": True}
            answers = [
                worker.run_query(raw, {**job, "engine_sort": sort}, Halves(raw))
                for sort in (False, True)
            ]
            del raw
        assert len(rows) == count >= MIN_ROWS
        assert [len(a["rows"]) for a in answers] == [len(rows)] * 2
        del rows, answers
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert unraisable == []
