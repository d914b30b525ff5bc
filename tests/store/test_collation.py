"""Strings sorted for their readers (store/ordering.py): letters with marks among their base
letter, case not counting, Serbian and Macedonian Cyrillic in their alphabets' order, ties
by code point; through the embedded store, its halves, the web worker and the CLI. Where
Oxigraph sorts (``sort: store``, a known long answer) strings stay in its code-point order."""

import csv
import io
import random
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

import webapp.worker as worker
from clusterpolisee.store import OxigraphStore
from clusterpolisee.store import halves as halves_module
from clusterpolisee.store.halves import Halves
from clusterpolisee.store.ordering import order_key, sort_rows, text_key

from ..conftest import run_cli

EX = "http://example.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"

#: Each list in the order a reader expects it (and this module gives).
ORDERS = {
    "latin": ["Čačak", "Cluj", "Craiova", "Zagreb"],
    # ş (cedilla, U+015F) and ș (comma below, U+0219) are one letter: the code point decides
    "romanian": ["Sibiu", "Ştei", "Ștei", "Suceava", "Țara Bârsei", "Târgu Mureș", "Timișoara"],
    "hungarian": ["Őriszentpéter", "Örkény", "Orosháza", "Oroszlány", "Ózd", "Zalaegerszeg"],
    # upper case first among texts that differ only in case
    "case": ["de Gasperi", "Debrecen", "DELTA", "Delta", "delta", "Zagreb", "zagreb"],
    # đ has no decomposition: with d, as the search folds it
    "croatian": ["Dakovo", "Đakovo", "Dalj", "Dubrovnik", "Ečka"],
    "greek": ["Αθήνα", "Άρτα", "Έδεσσα", "Ελασσόνα", "Ηράκλειο", "Ιωάννινα", "Ωραιόκαστρο"],
    # the Serbian Cyrillic alphabet: ... Д Ђ Е ... И Ј К Л Љ М Н Њ О ... Т Ћ У ... Ч Џ Ш
    "serbian": [
        "Дечани",
        "Ђурђево",
        "Ердевик",
        "Ивањица",
        "Јагодина",
        "Кикинда",
        "Лесковац",
        "Љиг",
        "Мионица",
        "Нови Сад",
        "Његошево",
        "Обреновац",
        "Тутин",
        "Ћуприја",
        "Ужице",
        "Чачак",
        "Џеп",
        "Шабац",
    ],
    # Bulgarian: every И before Й (NFD would make Й an И)
    "bulgarian": ["Иваново", "Ихтиман", "Йовково", "Казанлък"],
    # Macedonian: ... Г Д Ѓ Е ... З Ѕ И ... Т Ќ У
    "macedonian": ["Гевгелија", "Дебар", "Ѓорче Петров", "Евла", "Зрновци", "Ѕвегор", "Илинден"]
    + ["Тетово", "Ќафасан", "Урвич"],
}


def lit(value: str, dtype: str | None = None, lang: str | None = None) -> ox.Literal:
    if lang:
        return ox.Literal(value, language=lang)
    return ox.Literal(value, datatype=ox.NamedNode(XSD + dtype)) if dtype else ox.Literal(value)


def shuffled(values: list, seed: int = 7) -> list:
    values = list(values)
    random.Random(seed).shuffle(values)
    return values


def ranked(terms: list) -> list[str]:
    """The texts of ``terms`` as sort_rows puts them (a column of one kind: its fast path)."""
    got = sort_rows(terms, [(lambda t: t, False)])
    assert got is not None
    return [t.value for t in got]


@pytest.mark.parametrize("name", sorted(ORDERS))
def test_names_sort_as_their_readers_expect(name):
    expected = ORDERS[name]
    assert ranked([lit(v) for v in shuffled(expected)]) == expected
    assert ranked([lit(v, lang="sr") for v in shuffled(expected)]) == expected
    assert ranked([lit(v, "string") for v in reversed(expected)]) == expected
    assert sorted(expected, key=text_key) == expected  # the key order_key uses


@pytest.mark.parametrize("name", ["latin", "romanian", "hungarian", "case", "greek", "serbian"])
def test_code_points_put_them_elsewhere(name):
    """What the lists above are for: in code-point order (SPARQL's) each is out of place."""
    assert sorted(ORDERS[name]) != ORDERS[name]


def test_descending_is_the_reverse():
    got = sort_rows([lit(v) for v in shuffled(ORDERS["romanian"])], [(lambda t: t, True)])
    assert [t.value for t in got] == ORDERS["romanian"][::-1]


def test_strings_and_a_language_s_strings_by_key_then_plain_first():
    column = [lit("Zagreb"), lit("Čačak", lang="en"), lit("čačak"), lit("Cluj", lang="en")]
    column += [lit("Čačak"), lit("cluj")]
    got = sort_rows(column, [(lambda t: t, False)])
    assert [str(t) for t in got] == [
        '"Čačak"',
        '"Čačak"@en',
        '"čačak"',
        '"Cluj"@en',
        '"cluj"',
        '"Zagreb"',
    ]


def test_a_mixed_column_places_strings_by_the_same_key():
    """Numbers first, then strings by key and language (order_key, the slow path)."""
    column = [lit("Zala"), lit("Ózd", lang="hu"), lit("3", "integer"), lit("ozd"), None]
    column += [lit("Örkény", lang="hu"), lit("2.5", "decimal")]
    got = sort_rows(column, [(lambda t: t, False)])
    assert [None if t is None else str(t) for t in got] == [
        None,
        '"2.5"^^<http://www.w3.org/2001/XMLSchema#decimal>',
        '"3"^^<http://www.w3.org/2001/XMLSchema#integer>',
        '"Örkény"@hu',
        '"ozd"',
        '"Ózd"@hu',
        '"Zala"',
    ]


def test_iris_stay_in_code_point_order():
    iris = [ox.NamedNode(f"{EX}{n}") for n in ("Zagreb", "a", "Čačak", "Cluj")]
    assert ranked(iris) == [f"{EX}{n}" for n in ("Cluj", "Zagreb", "a", "Čačak")]


def test_texts_holding_nul_keep_a_total_order():
    """NUL ends the fold inside a key: a text's own NUL sorts as U+0001 would, ties by text."""
    assert ranked([lit(v) for v in ["ab", "a\0b", "A\0", "a"]]) == ["a", "A\0", "a\0b", "ab"]
    assert ranked([lit(v) for v in ["é\0", "e", "E"]]) == ["E", "e", "é\0"]


ALPHABET = "aAeEéÉěcČćčCsSșşŞȘzZ ő-ΆαάΑдДђЂјиЙй\0"


@pytest.mark.parametrize("seed", range(30))
def test_every_path_gives_one_total_order(seed):
    """Columns of ASCII texts (folded all at once), of others (once per distinct text), with
    a language or mixed with numbers (order_key per value): one order, a key per text."""
    rng = random.Random(seed)
    pool = ALPHABET if seed % 3 else "aAbB -z\0"  # every third: ASCII only
    texts = ["".join(rng.choices(pool, k=rng.randint(0, 4))) for _ in range(rng.randint(1, 40))]
    expected = sorted(texts, key=text_key)
    assert len({text_key(t) for t in set(texts)}) == len(set(texts))  # no two texts tie
    assert ranked([lit(t) for t in texts]) == expected
    assert ranked([lit(t, lang="hr") for t in texts]) == expected
    mixed = sort_rows([*map(lit, texts), lit("1", "integer")], [(lambda t: t, False)])
    assert [t.value for t in mixed][1:] == expected
    by_order_key = sorted(texts, key=lambda t: order_key(lit(t)))
    assert by_order_key == expected


def test_code_points_where_the_caller_asks():
    """``collate=False``: the order Oxigraph gives (to merge halves it sorted)."""
    terms = [lit(v) for v in ORDERS["latin"]]
    got = sort_rows(terms, [(lambda t: t, False)], collate=False)
    assert [t.value for t in got] == ["Cluj", "Craiova", "Zagreb", "Čačak"]
    assert order_key(lit("Čačak"), collate=False) == (3, 1, "Čačak", "")


# -- through stores --------------------------------------------------------------------------

#: Names of several lists in one column ("Zagreb" twice), and that column in our order.
NAMES = [
    name for key in ("latin", "romanian", "hungarian", "case", "greek") for name in ORDERS[key]
]
OURS = sorted(NAMES, key=text_key)
SUB = f"""  {{
    SELECT DISTINCT ?s WHERE {{ ?s <{EX}in> <{EX}names> }}
    # split here
  }}
"""
LISTING = f"SELECT ?s ?name WHERE {{\n{SUB}  ?s <{EX}name> ?name .\n}}\nORDER BY ?name"


@pytest.fixture(scope="module")
def names_store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("collation") / "store"
    raw = ox.Store(str(path))
    for i, name in enumerate(shuffled(NAMES, 3)):
        node = ox.NamedNode(f"{EX}r{i}")
        raw.add(ox.Quad(node, ox.NamedNode(f"{EX}in"), ox.NamedNode(f"{EX}names")))
        raw.add(ox.Quad(node, ox.NamedNode(f"{EX}name"), lit(name, lang="en")))
    raw.flush()
    del raw
    return path


def oxigraphs_names(path: Path) -> list[str]:
    raw = ox.Store.read_only(str(path))
    return [row["name"].value for row in raw.query(LISTING, use_default_graph_as_union=True)]


def test_the_expected_orders_differ_from_oxigraphs(names_store):
    assert oxigraphs_names(names_store) == sorted(NAMES) != OURS


def test_the_embedded_store_sorts_names_for_readers_whole_and_in_halves(names_store, monkeypatch):
    """A stored question (``split``) sorted here, whole or cut in two (store/halves.py): our
    order. Any other text sorted here: by code point, as SPARQL orders strings. Where
    Oxigraph sorts (``sort: store``), whole or in halves that are merged here: its order,
    strings by code point, not re-sorted in ours."""
    monkeypatch.setattr(halves_module, "MIN_ROWS", 2)
    with OxigraphStore(str(names_store), read_only=True) as store:
        whole = store.run_query(LISTING).rows
        cut = store.run_query(LISTING, split=True).rows
        by_oxigraph = store.run_query(LISTING, store_sorts=True).rows
        by_oxigraph_cut = store.run_query(LISTING, store_sorts=True, split=True).rows
        assert store._halves is not None and store._halves.of(LISTING) is not None  # cut
    assert [r["name"].value for r in whole] == sorted(NAMES)  # no stored question
    assert [r["name"].value for r in cut] == OURS
    assert [r["name"].value for r in by_oxigraph] == sorted(NAMES)
    assert [r["name"].value for r in by_oxigraph_cut] == sorted(NAMES)


def worker_names(raw: ox.Store, job: dict, halves: Halves | None = None) -> list[str]:
    answer = worker.run_query(raw, {"allowlist": None, **job}, halves)
    at = answer["vars"].index("name")
    return [row[at].value for row in answer["rows"]]


@pytest.mark.parametrize("batch", [3, 50_000])
def test_the_web_worker_sorts_names_for_readers_in_batches_and_halves(
    names_store, monkeypatch, batch
):
    """The worker's capped sort (SORT_CAP rows at a time) and its halves: our order, cut at
    the page's row limit, for a stored question (``collate``); any other text (/sparql) by
    code point. A long answer left to Oxigraph (engine_sort), whole or in halves whose first
    rows are merged: Oxigraph's first rows, in its order."""
    monkeypatch.setattr(worker, "SORT_CAP", batch)
    monkeypatch.setattr(halves_module, "MIN_ROWS", 2)
    raw = ox.Store.read_only(str(names_store))
    job = {"text": LISTING, "limit": 8}
    assert worker_names(raw, job) == sorted(NAMES)[:8]
    stored = {**job, "split": True, "collate": True}
    assert worker_names(raw, stored) == OURS[:8]  # whole
    assert worker_names(raw, stored, Halves(raw)) == OURS[:8]
    # Run whole after a run in halves lost its worker (webapp/database.py): still ours.
    assert worker_names(raw, {**stored, "split": False}, Halves(raw)) == OURS[:8]
    engine = {**job, "engine_sort": True}
    assert worker_names(raw, engine) == sorted(NAMES)[:8]
    assert worker_names(raw, {**engine, "split": True}, Halves(raw)) == sorted(NAMES)[:8]


#: Clusters added to a copy of the demo store in Nord-Est (RO21), with English names.
ADDED = ["Ştei wood cluster", "Suceava furniture cluster", "Țara Hăngului agrifood cluster"]
ADDED += ["Zimbru textile cluster", "Ștei tourism cluster", "Câmpulung water cluster"]
ADDED += ["Cugir metal cluster"]
RO21 = "https://w3id.org/clusterpolisee/id/region/RO21"


def test_the_clusters_question_lists_names_with_marks_among_their_letters(demo_store, tmp_path):
    """`clusterpolisee query clusters` for one region: the clusters in our order of their
    names: "Câmpulung ..." before "Cugir ...", "Ștei ..." among the S's and "Țara ..." among
    the T's, not after "Zimbru ..."."""
    copy = tmp_path / "store"
    shutil.copytree(demo_store, copy)
    raw = ox.Store(str(copy))
    graph = ox.NamedNode(f"{EX}graph/collation")
    for i, name in enumerate(ADDED):
        node = ox.NamedNode(f"{EX}cluster/{i}")
        raw.add(ox.Quad(node, ox.NamedNode(RDF_TYPE), ox.NamedNode(f"{CPO}Cluster"), graph))
        raw.add(ox.Quad(node, ox.NamedNode(RDFS_LABEL), lit(name, lang="en"), graph))
        raw.add(ox.Quad(node, ox.NamedNode(f"{CPO}region"), ox.NamedNode(RO21), graph))
    raw.flush()
    del raw
    args = ["query", "clusters", "-p", f"region={RO21}", "--store", str(copy)]
    out = run_cli(*args, "--format", "csv")
    assert out.returncode == 0, out.stderr
    listed = [row["clusterLabel"] for row in csv.DictReader(io.StringIO(out.stdout))]
    assert [name for name in listed if name in ADDED] == [
        "Câmpulung water cluster",
        "Cugir metal cluster",
        "Ștei tourism cluster",
        "Ştei wood cluster",
        "Suceava furniture cluster",
        "Țara Hăngului agrifood cluster",
        "Zimbru textile cluster",
    ]
    assert listed == sorted(listed, key=text_key) and len(listed) > len(ADDED)


CPO = "https://w3id.org/clusterpolisee/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
