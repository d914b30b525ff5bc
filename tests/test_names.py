"""Untagged names read as English (clusterpolisee/names.py)."""

import pyoxigraph as ox

from clusterpolisee import paths
from clusterpolisee.names import LABEL, english_by_default

from .conftest import built_store, dataset, listed_clusters, run_cli

ID = "https://w3id.org/clusterpolisee/id/partner/marche-region/cluster/"
AIDA_CLUSTER = (
    "https://w3id.org/clusterpolisee/id/partner/aida/cluster/albanian-garment-and-footwear-cluster"
)


def name(subject: str, text: str, language: str | None = None) -> ox.Triple:
    return ox.Triple(ox.NamedNode(ID + subject), LABEL, ox.Literal(text, language=language))


def test_a_lone_untagged_name_becomes_english_and_nothing_else_changes():
    other = ox.Triple(
        ox.NamedNode(ID + "a"),
        ox.NamedNode("http://purl.org/dc/terms/description"),
        ox.Literal("x"),
    )
    triples = [
        name("a", "Alpha"),  # alone: English
        other,  # not a name: as it was
        name("b", "Beta", "en"),
        name("b", "Beta plain"),  # has an English name already: as it was
        name("c", "Gamma one"),
        name("c", "Gamma two"),  # two untagged: which is English is not guessed
        name("d", "Delta", "it"),
        name("d", "Delta plain"),  # the one untagged beside another language: English
        ox.Triple(ox.NamedNode(ID + "e"), LABEL, ox.Literal("5", datatype=ox.NamedNode(
            "http://www.w3.org/2001/XMLSchema#integer"))),  # typed: as it was
    ]  # fmt: skip
    assert english_by_default(triples) == [
        name("a", "Alpha", "en"),
        other,
        name("b", "Beta", "en"),
        name("b", "Beta plain"),
        name("c", "Gamma one"),
        name("c", "Gamma two"),
        name("d", "Delta", "it"),
        name("d", "Delta plain", "en"),
        triples[-1],
    ]


def test_nothing_to_change_gives_the_same_list():
    triples = [name("a", "Alpha", "en")]
    assert english_by_default(triples) is triples


def test_a_turtle_name_without_language_is_in_the_listings(tmp_path_factory):
    """The partner's file with one cluster's name untagged: accepted as before, and the
    cluster is still in its region's listing, under that name."""
    store = built_store(tmp_path_factory, "names")
    text = (paths.PARTNERS_DIR / "aida.ttl").read_text(encoding="utf-8")
    tagged = '"Albanian garment and footwear cluster"@en'
    assert text.count(tagged) == 1
    data = store.parent / "aida.ttl"
    data.write_text(text.replace(tagged, '"Albanian garment and footwear cluster"'))
    names = listed_clusters(store, data, "aida", "AL02")
    assert ox.Literal("Albanian garment and footwear cluster", language="en") in names


def test_two_names_without_language_and_none_english_are_refused(tmp_path_factory):
    """Two untagged names and no English one: accepted before, and the cluster then left
    every English listing. Which name is English cannot be told, so the submission is
    refused with a message saying so, and the store keeps the cluster under its name."""
    store = built_store(tmp_path_factory, "two-names")
    text = (paths.PARTNERS_DIR / "aida.ttl").read_text(encoding="utf-8")
    tagged = '"Albanian garment and footwear cluster"@en'
    data = store.parent / "aida.ttl"
    data.write_text(text.replace(tagged, '"Albanian garment cluster", "Klasteri i veshjeve"'))
    before = dataset(store)
    proc = run_cli("submit", str(data), "--partner", "aida", "--store", str(store))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "REJECTED: the store is unchanged" in proc.stderr
    assert proc.stdout == (
        f'{AIDA_CLUSTER}  "Klasteri i veshjeve"\n'
        "  Violation: This cluster has several names without a language and none tagged @en: "
        "a name without a language is read as the English name, and a cluster has one name "
        "per language, so it is unclear which one is English. Tag the English name @en and "
        "each other name with its language (e.g. @it).\n"
        "    property: name (rdfs:label)\n"
        f"    value:    <{AIDA_CLUSTER}>\n"
        "    shape:    cps:ClusterShape\n"
        "\n"
        "The submission does NOT conform: 1 violation(s), 0 warning(s) in 1 resource(s).\n\n"
    )
    assert dataset(store) == before
