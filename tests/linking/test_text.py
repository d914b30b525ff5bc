"""Name and web-address normalisation."""

import pytest

from clusterpolisee.linking.text import acronyms, initials, normal_url, strip_legal_forms, tokens


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Klaster drvo i namještaj Istre d.o.o.", ["furniture", "istria", "wood"]),
        ("Vienna ICT Cluster GmbH", ["ict", "vienna"]),
        ("ICT Cluster Vienna e.V.", ["ict", "vienna"]),
        ("Wiener IKT-Cluster", ["ict", "vienna"]),
        ("Marche Furniture Cluster S.p.A.", ["furniture", "marche"]),
        ("Budapest ICT Cluster Kft.", ["budapest", "ict"]),
        ("Veneto Wine Cluster S.r.l.", ["veneto", "wine"]),
        ("Piešťany Spa & Tourism Cluster o.z.", ["piestany", "spa", "tourism"]),
        ("Trnava Automotive Cluster a.s.", ["automotive", "trnava"]),
        ("Софийски софтуерен клъстер", ["sofia", "software"]),
        ("Σύμπλεγμα Αγροτροφίμων Κεντρικής Μακεδονίας", ["agri", "central", "food", "macedonia"]),
        ("Vojvodina printing cluster association", ["printing", "vojvodina"]),
    ],
)
def test_tokens_survive_language_legal_form_script_and_order(name, expected):
    assert tokens(name) == expected


def test_spa_the_word_is_kept_but_spa_the_legal_form_goes():
    assert tokens("Piestany SPA cluster") == ["piestany", "spa"]
    assert strip_legal_forms("Marche Furniture S.p.A.").split() == ["marche", "furniture"]


def test_places_can_be_dropped():
    assert tokens("Istria ICT cluster", drop_places=True) == ["ict"]


def test_acronyms_and_initials():
    assert "pbn" in initials("Pannon Business Network Association")
    assert "uks" in initials("Únia klastrov Slovenska")
    assert acronyms("MAG – Magyar Gazdaságfejlesztési Központ Zrt.") == {"mag"}


@pytest.mark.parametrize(
    "url", ["https://www.pbn.hu/", "http://pbn.hu", "pbn.hu/", "WWW.PBN.HU", "https://pbn.hu:443"]
)
def test_web_addresses_differing_by_scheme_www_slash_are_equal(url):
    assert normal_url(url) == "pbn.hu"


def test_different_paths_stay_different():
    assert normal_url("https://www.ida.hr/index.php?id=577") == "ida.hr?id=577"
    assert normal_url("https://ida.hr/a") != normal_url("https://ida.hr/b")
    assert normal_url("https://ida.hr/") != normal_url("https://ida.com/")
