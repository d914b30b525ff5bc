"""Search as partners type their names (catalog.fold_text): case and accents ignored, dashes
as spaces, curly quotes as straight ones, invisible characters dropped; scripts are not
transliterated. Also the order of the drop-downs Python sorts."""

import sys
import unicodedata
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee import paths
from clusterpolisee.catalog import fold_text, load_catalog
from clusterpolisee.namespaces import CPO
from clusterpolisee.reasoning.materialise import INFERRED, RDFS_LABEL
from clusterpolisee.store import OxigraphStore, open_store

from .conftest import built_store, run_cli

ID = "https://w3id.org/clusterpolisee/id/"
CLUSTER = ID + "partner/nerda/cluster/"
SEARCH_KEY = ox.NamedNode(f"{CPO}searchKey")
#: Clusters added to nerda's demo file: slug -> names (Turtle literals).
NAMES = {
    "tm-comma": ['"Timișoara automotive cluster"@en'],  # s with comma below (U+0219)
    "tm-cedilla": ['"Timişoara ICT cluster"@en', '"Clusterul TIC Timişoara"@ro'],  # U+015F
    "cluj": ['"Cluj-Napoca IT cluster"@en'],
    "brasov": ['"Bra\u00adșov wood cluster"@en'],  # a soft hyphen, as pasted from a web page
    "dakovo": ['"Đakovo food cluster"@en', '"Đakovački prehrambeni klaster"@hr'],
    "cacak": ['"Čačak fruit cluster"@en'],
    "strasse": ['"Road building cluster"@en', '"Straßenbau-Cluster Köln"@de'],
    "thess": ['"Thessaloniki ICT cluster"@en', '"Σύμπλεγμα ΤΠΕ Θεσσαλονίκης"@el'],
    "plovdiv": ['"Plovdiv mechatronics cluster"@en', '"Мехатроника клъстер Пловдив"@bg'],
    "izmir": ['"Izmir textile cluster"@en', '"İzmir Tekstil Kümesi Işık"@tr'],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """The demo store with nerda's file plus the clusters of NAMES, submitted by the CLI."""
    path = built_store(tmp_path_factory, "folding")
    text = (paths.PARTNERS_DIR / "nerda.ttl").read_text(encoding="utf-8")
    for slug, names in NAMES.items():
        text += (
            f"\ncluster:t-{slug} a cpo:Cluster ;\n    rdfs:label {' , '.join(names)} ;\n"
            "    cpo:partner partner:nerda ; cpo:region region:RO21 ; cpo:theme theme:innovation ;"
            "\n    cpo:sector nace:62 ; cpo:lifeCycleStage stage:growth ;\n"
            '    cpo:numberOfMembers "46"^^xsd:nonNegativeInteger .\n'
        )
    data = path.parent / "nerda.ttl"
    data.write_text(text, encoding="utf-8")
    proc = run_cli("submit", str(data), "--partner", "nerda", "--store", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return path


def found(store: Path, text: str) -> set[str]:
    """The labels the stored question `search` answers for ``text``."""
    with open_store(str(store), read_only=True) as s:
        rows = load_catalog().get("search").run(s, {"text": text}).rows
    return {r["label"].value for r in rows}


@pytest.mark.parametrize(
    ("typed", "labels"),
    [
        ("Cluj Napoca", {"Cluj-Napoca IT cluster"}),
        ("cluj napoca it", {"Cluj-Napoca IT cluster"}),
        ("Brasov", {"Bra\u00adșov wood cluster"}),
        # Reference data: the NUTS label has a curly apostrophe (U+2019), people type '.
        ("Valle d'Aosta", {"Valle d’Aosta/Vallée d’Aoste"}),
        # partners.ttl writes an en dash; people type a hyphen.
        ("MAG - Magyar", {"MAG – Magyar Gazdaságfejlesztési Központ Zrt."}),
        ("Strassenbau Cluster", {"Straßenbau-Cluster Köln"}),
    ],
)
def test_search_finds_dashes_quotes_and_pasted_names_as_typed(store, typed, labels):
    assert found(store, typed) == labels


@pytest.mark.parametrize(
    ("typed", "labels"),
    [
        *[
            (
                t,
                {
                    "Timișoara automotive cluster",
                    "Timişoara ICT cluster",
                    "Clusterul TIC Timişoara",
                },
            )
            for t in ("Timisoara", "Timișoara", "Timişoara", "TIMIȘOARA", "timişoara")
        ],
        *[(t, {"Đakovo food cluster"}) for t in ("Dakovo", "Đakovo", "ĐAKOVO", "dakovo ")],
        ("Cacak", {"Čačak fruit cluster"}),
        ("Köln", {"Straßenbau-Cluster Köln"}),
        ("KOLN", {"Straßenbau-Cluster Köln"}),
        *[
            (t, {"Σύμπλεγμα ΤΠΕ Θεσσαλονίκης"})
            for t in ("Θεσσαλονίκης", "ΘΕΣΣΑΛΟΝΙΚΗΣ", "θεσσαλονικης", "θεσσαλονικησ")
        ],
        *[(t, {"Мехатроника клъстер Пловдив"}) for t in ("Пловдив", "ПЛОВДИВ", "пловдив")],
        *[
            (t, {"İzmir Tekstil Kümesi Işık", "Izmir textile cluster"})
            for t in ("İzmir", "IZMIR", "izmir")
        ],
        *[(t, {"İzmir Tekstil Kümesi Işık"}) for t in ("ISIK", "ışık", "Işık")],
        ("Plovdiv mechatronics", {"Plovdiv mechatronics cluster"}),  # no transliteration:
        ("Пловдив mechatronics", set()),  # the English name is found by its English words
    ],
)
def test_search_ignores_case_and_accents_in_every_script(store, typed, labels):
    """What already held before dashes and quotes were folded, kept."""
    assert found(store, typed) == labels


def test_the_cli_search_finds_a_hyphenated_name_typed_with_a_space(store):
    proc = run_cli("query", "search", "-p", "text=CLUJ NAPOCA", "--store", str(store),
                   "--format", "csv")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # run_cli reads text: the CSV's CRLF line ends arrive as "\n"
    row = f"{CLUSTER}t-cluj,Cluj-Napoca IT cluster,cluster"
    assert proc.stdout == f"resource,label,types\n{row}\n"


@pytest.mark.parametrize("typed", ["-", "\u2014 \u2013", "\u00ad", "\u200b\u00ad"])
def test_a_search_for_nothing_but_dashes_or_invisible_characters_is_refused(store, typed):
    """Folded to nothing, such a text was contained in every key: 500 rows of everything."""
    proc = run_cli("query", "search", "-p", f"text={typed}", "--store", str(store))
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "error: parameter 'text' has nothing to compare once dashes, quotes and invisible "
        f"characters are set aside, got {typed!r}\n"
    )


def test_fold_text_maps_what_people_type():
    assert fold_text("  Cluj \u2013  Napoca\u00ad ") == "cluj napoca"
    assert fold_text("Valle d’Aosta „Vallée“") == 'valle d\'aosta "vallee"'
    assert fold_text("ÆØ Œ Ħ Ł Đ ı İ ẞ") == "aeo oe h l d i i ss"
    assert fold_text("Ǿresund") == fold_text("Øresund") == "oresund"
    assert fold_text("Србија Ђурђевдан Пловдив") == "србија ђурђевдан пловдив"  # no Latin
    assert fold_text("\u202eevil\u200b") == "evil"


def test_fold_text_of_a_folded_text_is_that_text():
    """The key of a label and the folded search text must meet: folding once more changes
    nothing, for every character (the old order left "Ǿ" as "ø", whose own key is "o", so
    "Øresund" did not find "Ǿresund")."""
    changed = [
        hex(cp)
        for cp in range(sys.maxunicode + 1)
        if not 0xD800 <= cp <= 0xDFFF and fold_text(k := fold_text(chr(cp))) != k
    ]
    assert changed == []


def _keys(store: OxigraphStore) -> dict[str, set[str]]:
    """Resource -> its search keys in graph/inferred."""
    out: dict[str, set[str]] = {}
    for t in store.graph_triples(INFERRED):
        if t.predicate == SEARCH_KEY:
            out.setdefault(t.subject.value, set()).add(t.object.value)
    return out


def test_materialise_replaces_the_keys_an_older_version_wrote(tmp_path_factory):
    """A store built before dashes and quotes were folded keeps its keys (written when the
    labels were), and finds nothing by the new folding until `materialise` runs once;
    then every label has exactly the key fold_text gives it."""
    path = built_store(tmp_path_factory, "old-keys")
    aosta, mag = ID + "region/ITC2", ID + "partner/mag"
    old = {
        aosta: "valle d’aosta/vallee d’aoste",
        mag: "mag – magyar gazdasagfejlesztesi kozpont zrt.",
    }
    with OxigraphStore(str(path)) as s:
        stale = [
            t
            for t in s.graph_triples(INFERRED)
            if t.predicate != SEARCH_KEY or t.subject.value not in old
        ]
        stale += [
            ox.Triple(
                ox.NamedNode(r), SEARCH_KEY, ox.Literal(k, language=None if r == aosta else "hu")
            )
            for r, k in old.items()
        ]
        s.commit(replace={INFERRED: stale})
    assert found(path, "Valle d'Aosta") == set()
    proc = run_cli("materialise", "--store", str(path))
    assert proc.returncode == 0, proc.stderr
    assert found(path, "Valle d'Aosta") == {"Valle d’Aosta/Vallée d’Aoste"}
    with open_store(str(path), read_only=True) as s:
        keys = _keys(s)
        labels = s.select(f"SELECT ?r ?l WHERE {{ ?r <{RDFS_LABEL}> ?l }}")
    assert keys[aosta] == {"valle d'aosta/vallee d'aoste"}
    assert "mag magyar gazdasagfejlesztesi kozpont zrt." in keys[mag]
    want: dict[str, set[str]] = {}
    for row in labels:
        want.setdefault(row["r"].value, set()).add(fold_text(row["l"].value))
    assert keys == want


def test_a_drop_down_sorts_accented_names_among_their_letters(demo_store):
    """The regions of region-has-instrument, sorted in Python: "Észak-Alföld" came after
    "Západné Slovensko" (code points), now among the E's."""
    region = load_catalog().get("region-has-instrument").param("region")
    with open_store(str(demo_store), read_only=True) as s:
        labels = [o.label for o in region.options(s)]
    at = labels.index("Emilia-Romagna")
    assert labels[at : at + 3] == ["Emilia-Romagna", "Észak-Alföld", "Észak-Magyarország"]
    assert labels[-2:] == ["Zahodna Slovenija", "Západné Slovensko"]
    assert labels == sorted(labels, key=lambda x: (fold_text(x), x))
    assert not any(unicodedata.combining(c) for c in "".join(labels))  # NFC, as written
