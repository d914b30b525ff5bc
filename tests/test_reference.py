"""Reference data: the 11 partner countries and their NUTS 2021 level-1/2 regions."""

import re
from collections import Counter

from rdflib import RDF, RDFS, URIRef

from clusterpolisee.namespaces import CPO, EU_COUNTRY, NUTS, SKOS, WIKIDATA

# Level-1 and level-2 regions per country in NUTS 2021 (Eurostat / GISCO NUTS_AT_2021; AL and
# RS: Eurostat statistical regions), the source cited in data/reference/nuts-regions.ttl.
EXPECTED = {
    "AL": (1, 3),
    "AT": (3, 9),
    "BG": (2, 6),
    "HR": (1, 4),
    "EL": (4, 13),
    "HU": (3, 8),
    "IT": (5, 21),
    "RO": (4, 8),
    "RS": (2, 4),
    "SK": (1, 4),
    "SI": (1, 2),
}
PATTERN = {1: re.compile(r"^[A-Z]{2}[0-9A-Z]$"), 2: re.compile(r"^[A-Z]{2}[0-9A-Z][0-9A-Z]$")}


def regions(g):
    return list(g.subjects(RDF.type, CPO.Region))


def test_eleven_countries_with_codes_and_links(reference):
    countries = list(reference.subjects(RDF.type, CPO.Country))
    assert len(countries) == 11
    for c in countries:
        iso3 = str(reference.value(c, CPO.isoAlpha3))
        assert str(c).endswith(f"/id/country/{iso3}")
        assert re.fullmatch(r"[A-Z]{2}", str(reference.value(c, CPO.isoAlpha2)))
        links = set(reference.objects(c, SKOS.exactMatch))
        assert EU_COUNTRY[iso3] in links
        assert any(str(u).startswith(str(WIKIDATA)) for u in links)
        assert reference.value(c, RDFS.label) is not None
    codes = sorted(str(reference.value(c, CPO.isoAlpha3)) for c in countries)
    assert codes == ["ALB", "AUT", "BGR", "GRC", "HRV", "HUN", "ITA", "ROU", "SRB", "SVK", "SVN"]


def test_greece_is_el_in_nuts_and_grc_in_iso(reference):
    greece = URIRef("https://w3id.org/clusterpolisee/id/country/GRC")
    assert str(reference.value(greece, CPO.nutsCode)) == "EL"
    assert str(reference.value(greece, CPO.isoAlpha2)) == "GR"


def test_eu_and_ipa_status_at_project_start(reference):
    status = Counter(str(o).rsplit("/", 1)[1] for o in reference.objects(None, CPO.countryStatus))
    assert status == {"eu-member-state": 8, "ipa-country": 3}
    croatia = URIRef("https://w3id.org/clusterpolisee/id/country/HRV")
    assert str(reference.value(croatia, CPO.euAccessionDate)) == "2013-07-01"


def test_every_region_has_valid_code_parent_and_country(reference):
    nuts_of_country = {
        reference.value(c, CPO.nutsCode): c for c in reference.subjects(RDF.type, CPO.Country)
    }
    for r in regions(reference):
        code = str(reference.value(r, CPO.nutsCode))
        level = int(reference.value(r, CPO.nutsLevel))
        assert PATTERN[level].match(code), code
        assert str(r).endswith(f"/id/region/{code}")
        assert NUTS[code] in set(reference.objects(r, SKOS.exactMatch))
        assert reference.value(r, RDFS.label) is not None
        country = reference.value(r, CPO.country)
        assert country == nuts_of_country[next(k for k in nuts_of_country if str(k) == code[:2])]
        parent = reference.value(r, CPO.partOf)
        if level == 1:
            assert parent == country, code
        else:
            assert str(reference.value(parent, CPO.nutsCode)) == code[:-1], code
            assert int(reference.value(parent, CPO.nutsLevel)) == 1


def test_region_counts_per_country_match_the_source(reference):
    counts: Counter = Counter()
    for r in regions(reference):
        code = str(reference.value(r, CPO.nutsCode))
        counts[(code[:2], int(reference.value(r, CPO.nutsLevel)))] += 1
    actual = {cc: (counts[(cc, 1)], counts[(cc, 2)]) for cc in EXPECTED}
    assert actual == EXPECTED
    assert sum(counts.values()) == 27 + 82


def test_partner_regions_have_their_official_names(reference):
    names = {
        str(reference.value(r, CPO.nutsCode)): str(reference.value(r, RDFS.label))
        for r in regions(reference)
    }
    assert names["ITI3"] == "Marche"
    assert names["ITH5"] == "Emilia-Romagna"
    assert names["AT12"] == "Niederösterreich"
    assert names["EL52"] == "Kentriki Makedonia"
    assert names["RO21"] == "Nord-Est"
    assert names["SK02"] == "Západné Slovensko"
    assert names["HR03"] == "Jadranska Hrvatska"
    assert names["RS12"] == "Region Vojvodine"
    assert names["SI04"] == "Zahodna Slovenija"
