"""The tallies the reasoning step writes agree with counting the resources themselves.

The aggregate questions (overview, funding, policy gaps, data gaps, shared barrier categories,
policy mix) read tallies instead of resources, so a wrong tally is a wrong answer. Each test
counts the slow way with one GROUP BY over the data and compares every key and number.
"""

import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee.reasoning.materialise import INFERRED, materialise
from clusterpolisee.reasoning.tallies import TALLY_BASE
from clusterpolisee.store.oxigraph import OxigraphStore
from webapp.views import home

from .conftest import run_cli

PREFIXES = """PREFIX cpo: <https://w3id.org/clusterpolisee/ontology#>
"""
ROOT = Path(__file__).resolve().parent.parent


def table(store: OxigraphStore, query: str) -> dict[tuple, tuple]:
    """key columns -> value columns of a SELECT whose value columns start with ``n``; each
    key once (two tallies of one key would be a wrong answer, not one row)."""
    result = store.run_query(PREFIXES + query)
    values = result.variables[result.variables.index("n") :]
    keys = [v for v in result.variables if v not in values]

    def cell(row, name):
        term = row.get(name)
        return None if term is None else term.value

    out = {tuple(cell(r, k) for k in keys): tuple(cell(r, v) for v in values) for r in result.rows}
    assert len(out) == len(result.rows), f"a key appears twice in {query[:60]}"
    return out


THEME_DIRECT = """SELECT ?class ?region ?theme ?currency (COUNT(DISTINCT ?r) AS ?n)
       (MAX(?severity) AS ?max)
       # SUM of nothing is 0, but a tally without instruments has no budget: leave it unbound.
       (IF(BOUND(?currency), SUM(?amount), COALESCE()) AS ?budget) WHERE {
  VALUES ?class { cpo:Cluster cpo:Barrier cpo:PolicyInstrument cpo:GoodPractice cpo:PilotAction
                  cpo:KnowledgeTransfer cpo:PolicyLearningMechanism }
  ?r a ?class ; cpo:partner ?p ; cpo:theme ?theme .
  OPTIONAL { ?r cpo:region ?region }
  OPTIONAL { ?r cpo:budgetCurrency ?currency }
  OPTIONAL { ?r cpo:severity ?severity }
  OPTIONAL { ?r cpo:budgetAmount ?amount }
} GROUP BY ?class ?region ?theme ?currency"""

THEME_TALLIES = """SELECT ?class ?region ?theme ?currency ?n ?max ?budget WHERE {
  VALUES ?class { cpo:Cluster cpo:Barrier cpo:PolicyInstrument cpo:GoodPractice cpo:PilotAction
                  cpo:KnowledgeTransfer cpo:PolicyLearningMechanism }
  ?t a cpo:ThemeTally ; cpo:tallyClass ?class ; cpo:tallyTheme ?theme ; cpo:tallyCount ?n .
  OPTIONAL { ?t cpo:tallyRegion ?region }
  OPTIONAL { ?t cpo:tallyCurrency ?currency }
  OPTIONAL { ?t cpo:tallyMaxSeverity ?max }
  OPTIONAL { ?t cpo:tallyBudget ?budget }
}"""

PARTNER_DIRECT = """SELECT ?partner ?theme (COUNT(DISTINCT ?r) AS ?n) WHERE {
  ?r a ?class ; cpo:partner ?partner ; cpo:theme ?theme .
  FILTER(STRSTARTS(STR(?class), STR(cpo:)))
} GROUP BY ?partner ?theme"""

PARTNER_TALLIES = """SELECT ?partner ?theme ?n WHERE {
  ?t a cpo:PartnerTally ; cpo:tallyPartner ?partner ; cpo:tallyTheme ?theme ; cpo:tallyCount ?n
}"""

CATEGORY_DIRECT = """SELECT ?region ?category (COUNT(?b) AS ?n) (SUM(?s) AS ?sum) (MAX(?s) AS ?max)
WHERE {
  ?b a cpo:Barrier ; cpo:region ?region ; cpo:barrierCategory ?category ; cpo:severity ?s .
  FILTER EXISTS { ?b cpo:partner ?p ; cpo:theme ?t }
} GROUP BY ?region ?category"""

CATEGORY_TALLIES = """SELECT ?region ?category ?n ?sum ?max WHERE {
  ?t a cpo:CategoryTally ; cpo:tallyRegion ?region ; cpo:tallyCategory ?category ;
     cpo:tallyCount ?n ; cpo:tallySeveritySum ?sum ; cpo:tallyMaxSeverity ?max
}"""

TYPE_DIRECT = """SELECT ?region ?theme ?type (COUNT(DISTINCT ?i) AS ?n) WHERE {
  ?i a cpo:PolicyInstrument ; cpo:partner ?p ; cpo:region ?region ; cpo:theme ?theme ;
     cpo:instrumentType ?type
} GROUP BY ?region ?theme ?type"""

TYPE_TALLIES = """SELECT ?region ?theme ?type ?n WHERE {
  ?t a cpo:InstrumentTypeTally ; cpo:tallyRegion ?region ; cpo:tallyTheme ?theme ;
     cpo:tallyInstrumentType ?type ; cpo:tallyCount ?n
}"""

# The four counts of each country and theme, from one GROUP BY per class pivoted to columns.
COUNTRY_THEME_DIRECT = """SELECT ?country ?theme
       (SUM(IF(?class = cpo:Cluster, ?k, 0)) AS ?n) (SUM(IF(?class = cpo:Barrier, ?k, 0)) AS ?b)
       (SUM(IF(?class = cpo:PolicyInstrument, ?k, 0)) AS ?i)
       (SUM(IF(?class = cpo:GoodPractice, ?k, 0)) AS ?g) WHERE {
  {
    SELECT ?class ?country ?theme (COUNT(DISTINCT ?r) AS ?k) WHERE {
      VALUES ?class { cpo:Cluster cpo:Barrier cpo:PolicyInstrument cpo:GoodPractice }
      ?r a ?class ; cpo:partner ?p ; cpo:theme ?theme ; cpo:region/cpo:country ?country .
    } GROUP BY ?class ?country ?theme
  }
} GROUP BY ?country ?theme"""

COUNTRY_THEME_TALLIES = """SELECT ?country ?theme ?n ?b ?i ?g WHERE {
  ?t a cpo:CountryThemeTally ; cpo:tallyCountry ?country ; cpo:tallyTheme ?theme ;
     cpo:clusterCount ?n ; cpo:barrierCount ?b ; cpo:instrumentCount ?i ; cpo:goodPracticeCount ?g
}"""

# Barriers of emerging regions per category: the regions, their number, the barriers.
EMERGING_BARRIERS = """?b a cpo:Barrier ; cpo:region ?region ; cpo:barrierCategory ?category ;
     cpo:severity ?s .
  ?region a cpo:EmergingRegion .
  FILTER EXISTS { ?b cpo:partner ?p ; cpo:theme ?t }"""

EMERGING_DIRECT = f"""SELECT ?category (COUNT(DISTINCT ?region) AS ?n) (COUNT(?b) AS ?barriers)
       (SUM(?s) AS ?sum) (MAX(?s) AS ?max) WHERE {{
  {EMERGING_BARRIERS}
}} GROUP BY ?category"""

EMERGING_TALLIES = """SELECT ?category ?n ?barriers ?sum ?max WHERE {
  ?t a cpo:EmergingCategoryTally ; cpo:tallyCategory ?category ; cpo:tallyRegionCount ?n ;
     cpo:tallyCount ?barriers ; cpo:tallySeveritySum ?sum ; cpo:tallyMaxSeverity ?max
}"""

EMERGING_REGIONS_DIRECT = f"""SELECT ?category ?region (1 AS ?n) WHERE {{
  {{ SELECT DISTINCT ?category ?region WHERE {{ {EMERGING_BARRIERS} }} }}
}}"""

EMERGING_REGIONS_TALLIES = """SELECT ?category ?region (1 AS ?n) WHERE {
  ?t a cpo:EmergingCategoryTally ; cpo:tallyCategory ?category ; cpo:tallyRegion ?region
}"""

GAP_DIRECT = """SELECT ?region ?theme (COUNT(DISTINCT ?b) AS ?n) (SUM(?s) AS ?sum) (MAX(?s) AS ?max)
WHERE {
  ?b a cpo:Barrier ; cpo:partner ?p ; cpo:region ?region ; cpo:theme ?theme ; cpo:severity ?s .
  FILTER NOT EXISTS {
    ?i a cpo:PolicyInstrument ; cpo:partner ?q ; cpo:region ?region ; cpo:theme ?theme
  }
} GROUP BY ?region ?theme"""

GAP_TALLIES = """SELECT ?region ?theme ?n ?sum ?max WHERE {
  ?t a cpo:PolicyGapTally ; cpo:tallyRegion ?region ; cpo:tallyTheme ?theme ;
     cpo:tallyCount ?n ; cpo:tallySeveritySum ?sum ; cpo:tallyMaxSeverity ?max
}"""

# The home page's counts (webapp/views/home.py) read tallies; these count the resources.
CLASS_DIRECT = f"""SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE {{
  ?s a ?class . FILTER(STRSTARTS(STR(?class), STR(cpo:)) && !STRSTARTS(STR(?s), "{TALLY_BASE}"))
}} GROUP BY ?class"""

COUNTRY_DIRECT = """SELECT ?country (COUNT(DISTINCT ?s) AS ?n) WHERE {
  ?country a cpo:Country .
  OPTIONAL { { ?s cpo:country ?country } UNION { ?s cpo:region/cpo:country ?country }
             ?s cpo:partner ?p }
} GROUP BY ?country"""

THEME_TOTAL_DIRECT = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?theme ?notation (COUNT(DISTINCT ?s) AS ?n) WHERE {
  ?theme a cpo:ThematicPriority .
  OPTIONAL { ?theme skos:notation ?notation }
  OPTIONAL { ?s cpo:theme ?theme ; cpo:partner ?p }
} GROUP BY ?theme ?notation"""

PAIRS = {
    "theme": (THEME_DIRECT, THEME_TALLIES),
    "partner": (PARTNER_DIRECT, PARTNER_TALLIES),
    "category": (CATEGORY_DIRECT, CATEGORY_TALLIES),
    "instrument type": (TYPE_DIRECT, TYPE_TALLIES),
    "country and theme": (COUNTRY_THEME_DIRECT, COUNTRY_THEME_TALLIES),
    "policy gap": (GAP_DIRECT, GAP_TALLIES),
    "emerging category": (EMERGING_DIRECT, EMERGING_TALLIES),
    "emerging category: regions": (EMERGING_REGIONS_DIRECT, EMERGING_REGIONS_TALLIES),
    "home: class": (CLASS_DIRECT, home.PER_CLASS),
    "home: country": (COUNTRY_DIRECT, home.PER_COUNTRY),
    "home: theme": (THEME_TOTAL_DIRECT, home.PER_THEME),
}


def _normalise(rows: dict[tuple, tuple]) -> dict[tuple, tuple]:
    """Numbers compared as numbers (a decimal sum may be written 10 or 10.0)."""

    def num(v):
        if v is None:
            return None
        try:
            return float(v)
        except ValueError:
            return v

    return {k: tuple(num(x) for x in v) for k, v in rows.items()}


def assert_tallies_agree(store: OxigraphStore) -> dict[str, int]:
    sizes = {}
    for name, (direct, tallied) in PAIRS.items():
        expected, actual = table(store, direct), table(store, tallied)
        assert _normalise(actual) == _normalise(expected), name
        sizes[name] = len(actual)
    return sizes


def test_demo_tallies_agree_with_counting(demo_store):
    store = OxigraphStore(demo_store, read_only=True)
    sizes = assert_tallies_agree(store)
    # The demo data: 4 kinds of tally, each with real keys (not an empty comparison).
    assert sizes["theme"] > 100 and sizes["partner"] > 50
    assert sizes["category"] > 50 and sizes["instrument type"] > 50
    assert sizes["country and theme"] == 66 and sizes["policy gap"] >= 3
    assert sizes["emerging category"] >= 20 and sizes["emerging category: regions"] > 60
    assert sizes["home: class"] > 20 and sizes["home: country"] >= 8
    assert sizes["home: theme"] == 6
    per_country = table(store, home.PER_COUNTRY)
    assert sum(1 for (n,) in per_country.values() if int(n) > 0) >= 8  # not all zero
    total = table(store, THEME_TALLIES)
    clusters = sum(int(v[0]) for k, v in total.items() if k[0].endswith("#Cluster"))
    # 90 demo clusters, one or more themes each: every cluster counted under each theme.
    assert clusters >= 90


@pytest.fixture(scope="module")
def writable(demo_store, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tallies") / "store"
    shutil.copytree(demo_store, path)
    return path


def test_tallies_follow_an_accepted_submission(writable, tmp_path):
    """A partner who withdraws all but one theme's clusters: overview and data gaps change."""
    store = OxigraphStore(writable)
    before = table(store, PARTNER_TALLIES)
    store.close()
    proc = run_cli(
        "submit",
        "--store",
        str(writable),
        "--partner",
        "marche-region",
        str(ROOT / "tests/submissions/valid/complete.ttl"),
    )
    assert proc.returncode == 0, proc.stderr
    store = OxigraphStore(writable)
    after = table(store, PARTNER_TALLIES)
    marche = "https://w3id.org/clusterpolisee/id/partner/marche-region"
    assert {k for k in before if k[0] == marche} != {k for k in after if k[0] == marche}
    assert_tallies_agree(store)
    # Recomputing with nothing changed writes nothing: same triples, same data version.
    version, inferred = store.data_version(), set(store.graph_triples(INFERRED))
    assert materialise(store) == len(inferred)
    assert store.data_version() == version and set(store.graph_triples(INFERRED)) == inferred
    store.close()


def test_region_page_does_not_list_tallies(demo_store):
    """Tallies point at regions by the dozen; the resource view leaves them out."""
    from webapp.worker import describe

    store = ox.Store.read_only(str(demo_store))
    about = describe(store, {"iri": "https://w3id.org/clusterpolisee/id/region/RO21", "limit": 500})
    assert about["in"], "the region has incoming statements from partner data"
    assert not [t for t in about["in"] if t.subject.value.startswith(TALLY_BASE)]
    # ... while the store does hold tallies about this region.
    region = ox.NamedNode("https://w3id.org/clusterpolisee/id/region/RO21")
    tallies = [q for q in store.quads_for_pattern(None, None, region) if "/tally/" in str(q)]
    assert len(tallies) > 5


NEW_INSTRUMENT = """
instrument:export-guarantees a cpo:PolicyInstrument ;
    rdfs:label "North-East Romania export credit guarantees"@en ;
    cpo:partner partner:nerda ;
    cpo:instrumentType itype:business-advisory-services ;
    cpo:theme theme:financing ;
    cpo:addressesBarrierCategory bcat:difficult-bank-finance ;
    cpo:region region:RO21 ;
    cpo:budgetAmount 250000.00 ;
    cpo:budgetCurrency "EUR" ;
    cpo:startYear 2014 ;
    cpo:administeredBy partner:nerda ;
    cpo:fundingSource fund:regional-budget ;
    cpo:targetGroup tgroup:smes .
"""


def test_an_instrument_closes_a_policy_gap(writable, tmp_path):
    """Nord-Est's financing gap (barriers, no instrument) goes once it reports one."""
    from clusterpolisee.catalog import load_catalog

    gaps = load_catalog().queries["policy-gaps"]
    theme = "https://w3id.org/clusterpolisee/id/theme/"

    def themes() -> list[str]:
        with OxigraphStore(writable, read_only=True) as store:
            return sorted(r["theme"].value for r in gaps.run(store, {}).rows)

    assert themes() == [theme + t for t in ("financing", "internationalisation", "sustainability")]
    data = tmp_path / "nerda.ttl"
    data.write_text((ROOT / "data/partners/nerda.ttl").read_text() + NEW_INSTRUMENT)
    proc = run_cli("submit", "--store", str(writable), "--partner", "nerda", str(data))
    assert proc.returncode == 0, proc.stderr
    assert themes() == [theme + t for t in ("internationalisation", "sustainability")]
    with OxigraphStore(writable, read_only=True) as store:
        assert_tallies_agree(store)


def _edited_copy(demo_store: Path, tmp_path: Path, edit) -> OxigraphStore:
    """A copy of the demo store, changed by ``edit(pyoxigraph.Store)`` and recomputed."""
    path = tmp_path / "store"
    shutil.copytree(demo_store, path)
    raw = ox.Store(str(path))
    edit(raw)
    del raw
    store = OxigraphStore(path)
    materialise(store)
    return store


RO21 = ox.NamedNode("https://w3id.org/clusterpolisee/id/region/RO21")  # emerging in the demo


def test_an_emerging_region_without_a_label_is_named_by_its_iri(demo_store, tmp_path):
    """shared-barrier-categories counts regions from the tally and names them from their
    labels: a region without one is named by its IRI, so the names still match the count."""
    from clusterpolisee.catalog import load_catalog

    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")

    def unlabel(raw: ox.Store) -> None:
        for quad in list(raw.quads_for_pattern(RO21, label, None)):
            raw.remove(quad)

    store = _edited_copy(demo_store, tmp_path, unlabel)
    rows = load_catalog().queries["shared-barrier-categories"].run(store, {}).rows
    store.close()
    assert len(rows) == 24
    named = [r for r in rows if RO21.value in r["regionNames"].value]
    assert named, "RO21 reports barriers in shared categories"
    for r in rows:
        assert len(r["regionNames"].value.split(", ")) == int(r["regions"].value)


def test_a_region_that_turns_mature_leaves_the_emerging_tallies(demo_store, tmp_path):
    maturity = ox.NamedNode("https://w3id.org/clusterpolisee/ontology#policyMaturity")
    mature = ox.NamedNode("https://w3id.org/clusterpolisee/id/maturity/mature")

    def promote(raw: ox.Store) -> None:
        quads = list(raw.quads_for_pattern(RO21, maturity, None))
        assert quads, "the demo data gives RO21 a maturity"
        for quad in quads:
            raw.remove(quad)
            raw.add(ox.Quad(RO21, maturity, mature, quad.graph_name))

    before = OxigraphStore(demo_store, read_only=True)
    listed = table(before, EMERGING_REGIONS_TALLIES)
    before.close()
    assert any(region == RO21.value for _, region in listed)
    store = _edited_copy(demo_store, tmp_path, promote)
    assert not any(region == RO21.value for _, region in table(store, EMERGING_REGIONS_TALLIES))
    assert_tallies_agree(store)
    store.close()


def test_resources_with_several_values_count_under_each(demo_store, tmp_path):
    """The counting keeps the rare resource with several themes, instrument types or
    countries apart from the many with one (reasoning/tallies.py, ``Values``): each such
    value counts, in every kind of tally, as counting the resources directly does."""
    cpo, ids = "https://w3id.org/clusterpolisee/ontology#", "https://w3id.org/clusterpolisee/id/"
    added = {
        # An instrument with a second type and a second theme: 4 instrument-type keys.
        "PolicyInstrument": {
            "instrumentType": f"{ids}instrument-type/networking-platforms",
            "theme": f"{ids}theme/specialisation",
        },
        # An organisation in a region with a country of its own: counted in both countries.
        "ClusterOrganisation": {"country": f"{ids}country/AUT"},
    }
    edited = {}

    def add_values(raw: ox.Store) -> None:
        for cls, values in added.items():
            absent = " ".join(
                f"FILTER NOT EXISTS {{ ?r <{cpo}{p}> <{v}> }} "
                f"FILTER NOT EXISTS {{ ?reg <{cpo}{p}> <{v}> }}"
                for p, v in values.items()
            )
            # ... one that has a value of each property already (its own or its region's).
            having = " ".join(f"?r <{cpo}{p}>|<{cpo}region>/<{cpo}{p}> ?{p} ." for p in values)
            query = f"""SELECT ?r ?g WHERE {{ GRAPH ?g {{ ?r a <{cpo}{cls}> ;
                <{cpo}partner> ?p ; <{cpo}region> ?reg }} {having} {absent}
            }} LIMIT 1"""
            row = next(iter(raw.query(query, use_default_graph_as_union=True)))
            edited[cls] = row["r"]
            for prop, value in values.items():
                raw.add(ox.Quad(row["r"], ox.NamedNode(cpo + prop), ox.NamedNode(value), row["g"]))

    store = _edited_copy(demo_store, tmp_path, add_values)
    assert_tallies_agree(store)
    for cls, prop in (("PolicyInstrument", "instrumentType"), ("ClusterOrganisation", "country")):
        query = f"SELECT ?v WHERE {{ {edited[cls]} <{cpo}{prop}>|<{cpo}region>/<{cpo}{prop}> ?v }}"
        assert len({r["v"] for r in store.run_query(query).rows}) == 2, cls
    store.close()
