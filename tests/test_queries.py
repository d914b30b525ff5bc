"""Every stored question, answered on the demo data: specific rows and counts."""

import json
from collections import Counter

import pytest

from clusterpolisee.catalog import load_catalog
from clusterpolisee.store import open_store

from .conftest import run_cli

ID = "https://w3id.org/clusterpolisee/id/"
THEME = ID + "theme/"


@pytest.fixture(scope="module")
def run(demo_store):
    catalog = load_catalog()
    store = open_store(str(demo_store), read_only=True)

    def _run(name: str, **params: str):
        return catalog.get(name).run(store, params)

    yield _run
    store.close()


def values(result, var: str) -> list[str]:
    return [row[var].value for row in result.rows if var in row]


def row_where(result, var: str, value: str) -> dict[str, str]:
    rows = [r for r in result.rows if r.get(var) is not None and r[var].value == value]
    assert len(rows) == 1, f"{len(rows)} rows with {var}={value}"
    return {k: v.value for k, v in rows[0].items()}


def test_overview_counts_per_country_and_theme(run):
    r = run("overview")
    assert len(r.rows) == 66  # 11 countries x 6 themes
    clusters = sum(int(v) for v in values(r, "clusters"))
    assert clusters >= 90  # a cluster with several themes counts under each
    romania = run("overview", country=ID + "country/ROU")
    innovation = row_where(romania, "theme", THEME + "innovation")
    assert innovation == {
        **innovation,
        "clusters": "5",
        "barriers": "6",
        "instruments": "4",
        "goodPractices": "0",
    }


def test_clusters_filtered_by_region_and_sector(run):
    assert len(run("clusters").rows) == 90
    marche = run("clusters", region=ID + "region/ITI3")
    assert values(marche, "clusterLabel") == [
        "Fermo-Macerata footwear cluster",
        "Marche furniture cluster",
        "Marche home appliances cluster",
        "Marche smart home technology cluster",
    ]
    assert (
        row_where(marche, "clusterLabel", "Marche smart home technology cluster")["members"] == "63"
    )
    ict = run("clusters", sector="http://data.europa.eu/ux2/nace2/62")
    assert len(ict.rows) == 14
    assert all("62" in s.split(", ") for s in values(ict, "sectors"))
    # A link made before 2026-12-07, with the former form of the sector's IRI, still works.
    former = run("clusters", sector="http://data.europa.eu/ux2/nace2/J62")
    assert former.rows == ict.rows
    assert (
        len(run("clusters", country=ID + "country/AUT").rows)
        + len(run("clusters", country=ID + "country/ITA").rows)
        < 90
    )


def test_region_barriers_most_severe_first(run):
    r = run("region-barriers")  # default: Nord-Est (RO21)
    severities = [int(v) for v in values(r, "severity")]
    assert len(severities) == 7 and severities == sorted(severities, reverse=True)
    assert severities[:3] == [4, 4, 4]
    assert values(r, "categoryLabel")[0] == "Emigration of skilled workers"
    # Each barrier keeps its own evidence (joined as a table, not looked up per barrier)
    assert len(values(r, "evidence")) == 7
    equity = row_where(r, "barrier", ID + "partner/nerda/barrier/lack-of-equity-capital")
    assert equity["evidence"] == "Regional statistics on business R&D and employment, 2011"
    skills = run("region-barriers", theme=THEME + "skills")
    assert len(skills.rows) == 2


def test_shared_barrier_categories_of_emerging_regions(run):
    r = run("shared-barrier-categories")
    assert len(r.rows) == 24
    top = {k: v.value for k, v in r.rows[0].items()}
    assert top["categoryLabel"] == "Difficult access to bank finance"
    assert top["regions"] == "7" and top["averageSeverity"] == "3.4"
    assert len(run("shared-barrier-categories", minRegions="6").rows) == 4
    # A theme keeps exactly that theme's rows (the parameters join after the sub-query)
    labels = {
        "financing": "Financial framework improvement (cluster financing)",
        "skills": "New skills and jobs creation",
    }
    for theme, label in labels.items():
        got = run("shared-barrier-categories", theme=THEME + theme, minRegions="3")
        wanted = run("shared-barrier-categories", minRegions="3")
        assert got.rows and [str(r) for r in got.rows] == [
            str(r) for r in wanted.rows if r["themeLabel"].value == label
        ]


def test_transfer_candidates_for_an_emerging_region(run):
    r = run("transfer-candidates")  # default: Nord-Est (RO21)
    assert len(r.rows) == 17
    first = {k: v.value for k, v in r.rows[0].items()}
    assert first["practiceLabel"] == "Industry-led competence centres of Emilia-Romagna"
    assert first["partnerLabel"] == "Emilia-Romagna Region"
    ranking = [(int(row["maxSeverity"].value), int(row["transferability"].value)) for row in r.rows]
    assert ranking == sorted(ranking, reverse=True)
    # practices come only from mature regions
    mature = {
        ID + f"region/{c}"
        for c in ("ITI3", "ITH5", "ITH3", "ITI4", "AT13", "AT12", "EL30", "HU11", "HU22")
    }
    assert set(values(r, "fromRegion")) <= mature
    financing = run("transfer-candidates", theme=THEME + "financing")
    assert 0 < len(financing.rows) < 17
    assert values(financing, "partnerLabel")[0] == "aws Austria Wirtschaftsservice"


def test_practices_for_a_barrier_category(run):
    r = run("practices-for-category")  # default: difficult access to bank finance
    assert sorted(values(r, "regionLabel")) == ["Attiki", "Marche"]
    assert "Loan guarantees with cluster endorsement in Marche" in values(r, "practiceLabel")


def test_policy_mix_for_a_theme(run):
    r = run("policy-mix")  # default: innovation
    assert len(r.rows) == 30
    assert sum(int(v) for v in values(r, "instruments")) >= 30
    assert "Direct financial support" in values(r, "categoryLabel")


def test_policy_gaps_of_a_region(run):
    r = run("policy-gaps")  # default: Nord-Est
    assert sorted(values(r, "theme")) == [
        THEME + "financing",
        THEME + "internationalisation",
        THEME + "sustainability",
    ]


def test_knowledge_transfers(run):
    r = run("knowledge-transfers")
    assert len(r.rows) == 28
    dates = values(r, "date")
    assert dates == sorted(dates) and dates[0] == "2013-06-09"
    nord_est = run("knowledge-transfers", toRegion=ID + "region/RO21")
    assert values(nord_est, "fromRegionLabel") == ["Niederösterreich", "Nyugat-Dunántúl"]


def test_transnational_partners_for_a_cluster(run):
    r = run("cluster-partners")  # default: Iași software cluster
    assert len(r.rows) == 29
    assert "Romania" not in values(r, "countryLabel")
    budapest = row_where(r, "otherLabel", "Budapest ICT cluster")
    assert budapest["sharedSectors"] == "62"
    assert budapest["sharedThemes"] == "Innovation and R&D driven cluster development"


def test_funding_per_theme_and_country_in_one_currency(run):
    eur = run("funding")
    assert len(eur.rows) == 47
    italy = [
        r
        for r in eur.rows
        if r["countryLabel"].value == "Italy"
        and r["themeLabel"].value.startswith("Clusters and regional")
    ][0]
    assert italy["totalBudget"].value == "28718000" and italy["instruments"].value == "6"
    ron = run("funding", currency="RON")
    assert values(ron, "countryLabel") == ["Romania"] * 3
    assert sum(int(v) for v in values(ron, "totalBudget")) == 199000 + 22524000 + 42428000


def test_pilot_actions_and_mechanisms(run):
    r = run("pilot-actions")
    assert len(r.rows) == 14
    assert {int(v) for v in values(r, "startYear")} <= {2013, 2014}
    intl = run("pilot-actions", theme=THEME + "internationalisation")
    assert set(values(intl, "mechanismLabel")) == {values(intl, "mechanismLabel")[0]}


def test_data_gaps(run):
    r = run("data-gaps")
    pairs = {
        (row["partner"].value.rsplit("/", 1)[1], row["theme"].value.rsplit("/", 1)[1])
        for row in r.rows
    }
    assert pairs == {
        ("corallia", "sustainability"),
        ("mag", "sustainability"),
        ("mise-dps", "sustainability"),
        ("uhcci", "specialisation"),
        ("aws", "specialisation"),
    }


def test_regions_by_maturity(run):
    r = run("regions-by-maturity")
    assert len(r.rows) == 12
    total = {m: 0 for m in ("mature", "emerging")}
    for row in r.rows:
        total[row["maturity"].value.rsplit("/", 1)[1]] += int(row["regions"].value)
    assert total == {"mature": 9, "emerging": 10}


def test_search_ignores_case_and_accents(run):
    r = run("search", text="IASI")
    assert values(r, "label") == ["Iași software cluster", "Iași software cluster association"]
    assert values(r, "types") == ["cluster", "cluster organisation"]


def test_external_links(run):
    r = run("external-links", dataset="Wikidata")
    assert len(r.rows) == 11
    assert row_where(r, "label", "Austria")["link"] == "http://www.wikidata.org/entity/Q40"
    nuts = run("external-links", dataset="NUTS")
    assert "http://data.europa.eu/nuts/code/ITI3" in values(nuts, "link")


def test_external_links_name_each_link_s_dataset_by_its_namespace(run):
    prefixes = {
        "http://data.europa.eu/nuts/": "NUTS",
        "http://publications.europa.eu/resource/authority/": "EU authority table",
        "http://data.europa.eu/ux2/nace2/": "NACE Rev.2",
        "http://www.wikidata.org/entity/": "Wikidata",
    }
    r = run("external-links")
    targets = Counter(values(r, "target"))
    assert set(targets) == {*prefixes.values(), "Web page"}
    for link, target in zip(values(r, "link"), values(r, "target"), strict=True):
        named = [name for prefix, name in prefixes.items() if link.startswith(prefix)]
        assert target == (named[0] if named else "Web page"), link
    # One parameter keeps exactly the rows of its dataset.
    assert len(run("external-links", dataset="NACE Rev.2").rows) == targets["NACE Rev.2"]


def test_region_profile_is_a_graph(run):
    r = run("region-profile")  # default: Marche
    assert r.kind == "construct" and len(r.triples) == 256
    subjects = {t.subject.value for t in r.triples}
    assert ID + "region/ITI3" in subjects
    assert ID + "partner/marche-region/cluster/marche-furniture-cluster" in subjects


def test_region_has_instrument_for_theme(run):
    assert run("region-has-instrument").boolean is True
    assert (
        run(
            "region-has-instrument", region=ID + "region/AL02", theme=THEME + "sustainability"
        ).boolean
        is False
    )


#: Listings that leave rows with equal sort keys in the store's order (an IRI tie-breaker
#: cost up to 0.4 s at 1M), with those keys.
TIED = {
    "clusters": ("countryLabel", "regionLabel", "clusterLabel"),
    "knowledge-transfers": ("date",),
    "external-links": ("kind", "label"),
}


def test_listings_without_tie_breakers_come_in_the_same_order_in_every_process(tied_store):
    """That order must not change between runs, or pages and downloads of one data version
    would disagree."""
    for name, keys in TIED.items():
        runs = [
            run_cli("query", name, "--store", str(tied_store), "--format", "json") for _ in range(3)
        ]
        assert all(r.returncode == 0 for r in runs), runs[0].stderr
        assert runs[0].stdout == runs[1].stdout == runs[2].stdout, name
        rows = json.loads(runs[0].stdout)["results"]["bindings"]
        sort_keys = [tuple(r.get(k, {}).get("value", "") for k in keys) for r in rows]
        ties = len(sort_keys) - len(set(sort_keys))
        assert ties >= 5, f"{name}: {ties} tied rows, too few to test the order"


def _partner_data():
    """The demo submissions read directly with rdflib, apart from the store and the query."""
    import rdflib

    from clusterpolisee import paths

    g = rdflib.Graph()
    for path in sorted(paths.PARTNERS_DIR.glob("*.ttl")):
        g.parse(path, format="turtle")
    return g


CPO = "https://w3id.org/clusterpolisee/ontology#"


def test_instruments_listing_one_row_each_largest_budget_first(run):
    import rdflib

    g = _partner_data()
    cpo = rdflib.Namespace(CPO)
    instruments = set(g.subjects(rdflib.RDF.type, cpo.PolicyInstrument))
    r = run("instruments")
    assert len(r.rows) == len(instruments) == 113
    assert set(values(r, "instrument")) == {str(i) for i in instruments}
    budgets = [float(v) for v in values(r, "budgetAmount")]
    assert budgets == sorted(budgets, reverse=True)
    row = row_where(r, "instrument", ID + "partner/nerda/instrument/critical-mass")
    assert row == {
        **row,
        "instrumentLabel": "North-East Romania start-up grants for new cluster initiatives",
        "budgetAmount": "671000",
        "budgetCurrency": "EUR",
        "instrumentTypes": "Funding of cluster organisations",
        "regionLabel": "Nord-Est",
        "countryLabel": "Romania",
        "startYear": "2013",
        "endYear": "2020",
        "administrator": ID + "partner/nerda",
    }
    assert sorted(row["fundingSources"].split("; ")) == [
        "European Regional Development Fund",
        "Regional budget",
    ]
    assert sorted(row["targetGroups"].split("; ")) == [
        "Cluster organisations",
        "Small and medium-sized enterprises",
    ]
    # An instrument with no end year has none in its row
    open_ended = row_where(r, "instrument", ID + "partner/nerda/instrument/tech-transfer")
    assert open_ended["startYear"] == "2009" and "endYear" not in open_ended


def test_instruments_narrowed_by_each_parameter(run):
    import rdflib

    g = _partner_data()
    cpo = rdflib.Namespace(CPO)
    instruments = set(g.subjects(rdflib.RDF.type, cpo.PolicyInstrument))

    def having(prop, value) -> set[str]:
        return {str(i) for i in instruments if (i, prop, rdflib.URIRef(value)) in g}

    financing = run("instruments", theme=THEME + "financing")
    assert set(values(financing, "instrument")) == having(cpo.theme, THEME + "financing")
    assert all(
        "Financial framework improvement (cluster financing)" in t
        for t in values(financing, "themes")
    )
    erdf = ID + "funding-source/erdf"
    by_erdf = run("instruments", source=erdf)
    assert set(values(by_erdf, "instrument")) == having(cpo.fundingSource, erdf) != set()
    assert all("European Regional Development Fund" in s for s in values(by_erdf, "fundingSources"))
    loans = run("instruments", type=ID + "instrument-type/loans-and-credits")
    assert len(loans.rows) == 12
    # A STIP Compass category picks the instruments of each of its types
    direct = run("instruments", type=ID + "instrument-type/direct-financial-support")
    assert set(values(loans, "instrument")) < set(values(direct, "instrument"))
    romania = run("instruments", country=ID + "country/ROU")
    assert set(values(romania, "countryLabel")) == {"Romania"}
    assert len(romania.rows) == len(
        [r for r in run("instruments").rows if r["countryLabel"].value == "Romania"]
    )
    big = run("instruments", minBudget="10000000")
    assert big.rows and all(float(v) >= 10_000_000 for v in values(big, "budgetAmount"))
    assert len(big.rows) == len(
        [i for i in instruments if float(g.value(i, cpo.budgetAmount)) >= 1e7]
    )


def test_partners_with_country_status_and_submissions(run):
    import rdflib

    g = _partner_data()
    cpo = rdflib.Namespace(CPO)
    r = run("partners")
    assert len(r.rows) == 24
    marche = row_where(r, "partner", ID + "partner/marche-region")
    assert marche == {
        **marche,
        "roleLabel": "Lead partner",
        "organisationTypes": "public authority",
        "countryLabel": "Italy",
        "statusLabel": "EU member state",
        "regionLabel": "Marche",
    }
    assert row_where(r, "partner", ID + "partner/ida")["statusLabel"] == "IPA country"
    statuses = Counter((row["countryLabel"].value, row["statusLabel"].value) for row in r.rows)
    assert {s for _c, s in statuses} == {"EU member state", "IPA country"}
    assert {c for c, s in statuses if s == "IPA country"} == {"Albania", "Croatia", "Serbia"}
    # Resources counted once per theme: the partner's resources with each of their themes
    for row in r.rows:
        partner = rdflib.URIRef(row["partner"].value)
        submitted = set(g.subjects(cpo.partner, partner))
        per_theme = sum(len(set(g.objects(s, cpo.theme))) for s in submitted)
        themes = {t for s in submitted for t in g.objects(s, cpo.theme)}
        assert int(row["resourcesPerTheme"].value) == per_theme, partner
        assert int(row["themesCovered"].value) == len(themes), partner
    serbia = run("partners", country=ID + "country/SRB")
    assert values(serbia, "partnerLabel") == [
        "Provincial Secretariat for Economy, Autonomous Province of Vojvodina",
        "University of Novi Sad",
    ]
