"""Demo partner data (data/partners/*.ttl), the partners and the maturity assessment.

The submissions are illustrative (see data/partners/README.md); these tests pin down that they
follow the partner data contract, use only terms of the ontology, schemes and reference data,
and are rich enough for the analysts' questions.
"""

import re
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef, namespace

from clusterpolisee import paths
from clusterpolisee.namespaces import CPO, ID, SKOS

PARTNER = str(ID) + "partner/"
THEME = Namespace(str(ID) + "theme/")
# The EU's form: a section letter, or a division's two digits (no letter before them)
NACE = re.compile(r"^http://data\.europa\.eu/ux2/nace2/([A-U]|[0-9]{2})$")
SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
OWNED = re.compile(rf"^{re.escape(PARTNER)}(?P<pid>{SLUG})/(?P<kind>[a-z]+)/(?P<slug>{SLUG})$")
KIND = {
    "cluster": CPO.Cluster,
    "organisation": CPO.ClusterOrganisation,
    "barrier": CPO.Barrier,
    "instrument": CPO.PolicyInstrument,
    "practice": CPO.GoodPractice,
    "mechanism": CPO.PolicyLearningMechanism,
    "pilot": CPO.PilotAction,
    "transfer": CPO.KnowledgeTransfer,
}
SIX_THEMES = {
    "innovation",
    "sustainability",
    "internationalisation",
    "financing",
    "specialisation",
    "skills",
}
HEADER = (
    "# Illustrative demo data for ClusterPoliSEE partner {name}; the partner, its country and "
    "region are real (see data/reference/partners.ttl), the content is invented."
)


def key(iri) -> str:
    return str(iri).rsplit("/", 1)[1]


def parse(files) -> Graph:
    g = Graph()
    for f in files:
        g.parse(f, format="turtle")
    return g


@pytest.fixture(scope="module")
def files() -> dict:
    return {f.stem: f for f in sorted(paths.PARTNERS_DIR.glob("*.ttl"))}


@pytest.fixture(scope="module")
def submissions(files) -> dict:
    return {pid: parse([f]) for pid, f in files.items()}


@pytest.fixture(scope="module")
def ref() -> Graph:
    """Ontology, schemes and reference data (countries, regions, partners, maturity)."""
    return parse(paths.ontology_files() + paths.reference_files())


@pytest.fixture(scope="module")
def kg(ref, submissions) -> Graph:
    g = Graph()
    g += ref
    for s in submissions.values():
        g += s
    return g


@pytest.fixture(scope="module")
def maturity(ref) -> dict:
    return {key(r): key(m) for r, m in ref.subject_objects(CPO.policyMaturity)}


@pytest.fixture(scope="module")
def partners(ref) -> dict:
    """pid -> NUTS-2 code of the partner's seat."""
    return {
        key(p): key(ref.value(p, CPO.region)) for p in ref.subjects(RDF.type, CPO.ProjectPartner)
    }


def of_class(g, cls):
    return set(g.subjects(RDF.type, cls))


# ---------------------------------------------------------------------------------------------
# Partners and maturity (reference data)


def test_24_partners_with_lead_role_country_and_nuts2_region(ref, partners):
    assert len(partners) == 24
    org_classes = {
        CPO.PublicAuthority,
        CPO.RegionalDevelopmentAgency,
        CPO.ResearchOrganisation,
        CPO.BusinessSupportAgency,
        CPO.ClusterOrganisation,
    }
    roles = Counter()
    for p in ref.subjects(RDF.type, CPO.ProjectPartner):
        assert re.fullmatch(rf"{re.escape(PARTNER)}{SLUG}", str(p))
        assert set(ref.objects(p, RDF.type)) & org_classes, p
        assert any(lbl.language == "en" for lbl in ref.objects(p, RDFS.label)), p
        roles[key(ref.value(p, CPO.partnerRole))] += 1
        region = ref.value(p, CPO.region)
        assert int(ref.value(region, CPO.nutsLevel)) == 2, p
        assert ref.value(region, CPO.country) == ref.value(p, CPO.country), p
        for url in ref.objects(p, URIRef("http://schema.org/url")):
            assert isinstance(url, URIRef) and str(url).startswith("https://")
    assert roles == {"lead": 1, "project": 23}
    lead = ref.value(predicate=CPO.partnerRole, object=ID["partner-role/lead"])
    assert lead == ID["partner/marche-region"]


def test_partner_seats_are_their_real_nuts2_regions(partners):
    assert partners == {
        "marche-region": "ITI3",
        "emilia-romagna-region": "ITH5",
        "veneto-region": "ITH3",
        "mise-dps": "ITI4",
        "aws": "AT13",
        "ecoplus": "AT12",
        "bsmepa": "BG41",
        "uhcci": "EL30",
        "central-macedonia": "EL52",
        "corallia": "EL30",
        "mag": "HU11",
        "pbn": "HU22",
        "nerda": "RO21",
        "ipe": "RO32",
        "ancs": "RO32",
        "mecma": "RO32",
        "uksk": "SK02",
        "trnava-region": "SK02",
        "upr": "SI04",
        "mra": "SI03",
        "aida": "AL02",
        "uns": "RS12",
        "vojvodina-economy": "RS12",
        "ida": "HR03",
    }


def test_every_partner_region_has_one_maturity(ref, partners, maturity):
    assert set(maturity) == set(partners.values())
    for code in maturity:
        assert len(list(ref.objects(ID[f"region/{code}"], CPO.policyMaturity))) == 1
    counts = Counter(maturity.values())
    assert counts == {"mature": 9, "emerging": 10}
    assert {r for r, m in maturity.items() if m == "mature"} == {
        "ITI3", "ITH5", "ITH3", "ITI4", "AT13", "AT12", "EL30", "HU11", "HU22"
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The contract: one file per partner, ownership, labels, header


def test_one_file_per_partner(files, partners):
    assert set(files) == set(partners)


def test_every_file_starts_with_the_illustrative_header(files, ref):
    for pid, f in files.items():
        name = next(
            str(lbl)
            for lbl in ref.objects(ID[f"partner/{pid}"], RDFS.label)
            if lbl.language == "en"
        )
        assert f.read_text(encoding="utf-8").splitlines()[0] == HEADER.format(name=name), pid


def test_every_subject_lies_in_its_own_partner_space_and_kind(submissions):
    for pid, g in submissions.items():
        for s in set(g.subjects()):
            m = OWNED.match(str(s))
            assert m, f"{pid}: {s}"
            assert m["pid"] == pid, f"{pid}: {s}"
            kind = m["kind"]
            assert KIND[kind] in set(g.objects(s, RDF.type)), f"{pid}: {s}"


def test_every_resource_has_an_english_label_and_its_partner(submissions):
    for pid, g in submissions.items():
        for s in set(g.subjects()):
            assert any(
                isinstance(lbl, Literal) and lbl.language == "en"
                for lbl in g.objects(s, RDFS.label)
            ), s
            assert list(g.objects(s, CPO.partner)) == [ID[f"partner/{pid}"]], s


# ---------------------------------------------------------------------------------------------
# Terms, concepts and references exist


def test_every_cpo_term_used_exists_in_the_ontology(kg, ref, submissions):
    declared = set(ref.subjects(RDF.type, namespace.OWL.ObjectProperty)) | set(
        ref.subjects(RDF.type, namespace.OWL.DatatypeProperty)
    )
    classes = set(ref.subjects(RDF.type, namespace.OWL.Class))
    for g in submissions.values():
        for _, p, o in g:
            if str(p).startswith(str(CPO)):
                assert p in declared, p
            if p == RDF.type:
                assert o in classes, o


def test_every_referenced_iri_exists(kg, submissions):
    for pid, g in submissions.items():
        for s, p, o in g:
            if p == RDF.type or not isinstance(o, URIRef):
                continue
            if str(o).startswith("http://data.europa.eu/ux2/nace2/"):
                assert p == CPO.sector and NACE.match(str(o)), o
                assert (o, RDF.type, SKOS.Concept) in kg, f"{o} is not in data/reference/nace.ttl"
                continue
            assert str(o).startswith(str(ID)), o
            assert (o, RDF.type, None) in kg, f"{pid}: {s} {p} {o}"


CONCEPT_SCHEME = {
    CPO.theme: "themes",
    CPO.barrierCategory: "barrier-categories",
    CPO.addressesBarrierCategory: "barrier-categories",
    CPO.instrumentType: "instrument-types",
    CPO.lifeCycleStage: "lifecycle-stages",
    CPO.excellenceLabel: "excellence-labels",
    CPO.fundingSource: "funding-sources",
    CPO.targetGroup: "target-groups",
}


def test_concepts_come_from_their_schemes(kg, submissions):
    for g in submissions.values():
        for prop, scheme in CONCEPT_SCHEME.items():
            for s, o in g.subject_objects(prop):
                assert (o, SKOS.inScheme, ID[f"scheme/{scheme}"]) in kg, (s, prop, o)
        for s, o in g.subject_objects(CPO.instrumentType):
            assert kg.value(o, SKOS.broader) is not None, f"{s}: {o} is not a narrower type"
        for s, o in g.subject_objects(CPO.theme):
            if (s, RDF.type, CPO.PolicyLearningMechanism) not in g:
                assert key(o) in SIX_THEMES, (s, o)


def test_regions_are_nuts2_regions_of_the_reference_data(kg, partners, submissions):
    for pid, g in submissions.items():
        for prop in (CPO.region, CPO.fromRegion, CPO.toRegion):
            for s, r in g.subject_objects(prop):
                assert (r, RDF.type, CPO.Region) in kg, (s, r)
                assert int(kg.value(r, CPO.nutsLevel)) == 2, (s, r)
        for s, r in g.subject_objects(CPO.region):
            if (s, RDF.type, CPO.KnowledgeTransfer) not in g:
                assert key(r) == partners[pid], (s, r)


# ---------------------------------------------------------------------------------------------
# Values and datatypes


def values(g, prop):
    return list(g.objects(None, prop))


def test_datatypes_and_ranges(kg):
    for v in values(kg, CPO.severity) + values(kg, CPO.transferability):
        assert v.datatype == namespace.XSD.integer and 1 <= v.toPython() <= 5
    for v in values(kg, CPO.numberOfMembers) + values(kg, CPO.numberOfEmployees):
        assert v.datatype == namespace.XSD.nonNegativeInteger and v.toPython() >= 0
    for prop in (CPO.startYear, CPO.endYear, CPO.foundingYear):
        for v in values(kg, prop):
            assert v.datatype == namespace.XSD.integer and 1990 <= v.toPython() <= 2025
    for s in kg.subjects(CPO.endYear, None):
        assert kg.value(s, CPO.endYear).toPython() >= kg.value(s, CPO.startYear).toPython()
    for v in values(kg, CPO.budgetAmount):
        assert v.datatype == namespace.XSD.decimal and v.toPython() >= Decimal(0)
    for v in values(kg, CPO.date):
        assert v.datatype == namespace.XSD.date
    for prop in (CPO.evidence, CPO.successFactor, CPO.result, CPO.outcome, CPO.budgetCurrency):
        for v in values(kg, prop):
            assert v.datatype is None and v.language is None, (prop, v)


def test_every_resource_has_the_contract_properties(kg):
    required = {
        CPO.Cluster: [CPO.region, CPO.theme, CPO.sector, CPO.lifeCycleStage, CPO.numberOfMembers],
        CPO.ClusterOrganisation: [CPO.region, CPO.country],
        CPO.Barrier: [CPO.barrierCategory, CPO.theme, CPO.region, CPO.severity],
        CPO.PolicyInstrument: [
            CPO.instrumentType,
            CPO.theme,
            CPO.addressesBarrierCategory,
            CPO.region,
            CPO.budgetAmount,
            CPO.budgetCurrency,
            CPO.startYear,
            CPO.administeredBy,
            CPO.fundingSource,
            CPO.targetGroup,
        ],
        CPO.GoodPractice: [
            CPO.basedOnInstrument,
            CPO.theme,
            CPO.region,
            CPO.transferability,
            CPO.successFactor,
            CPO.result,
        ],
        CPO.PolicyLearningMechanism: [CPO.theme],
        CPO.PilotAction: [CPO.testsMechanism, CPO.theme, CPO.region, CPO.startYear, CPO.endYear],
        CPO.KnowledgeTransfer: [
            CPO.fromRegion,
            CPO.toRegion,
            CPO.aboutPractice,
            CPO.addressesBarrier,
            CPO.date,
            CPO.outcome,
            CPO.theme,
        ],
    }
    for cls, props in required.items():
        for s in kg.subjects(RDF.type, cls):
            if (s, RDF.type, CPO.ProjectPartner) in kg:
                continue
            for prop in props:
                assert kg.value(s, prop) is not None, f"{s} lacks {prop}"


def test_barrier_theme_is_its_category_theme(kg):
    for b in of_class(kg, CPO.Barrier):
        assert kg.value(b, CPO.theme) == kg.value(kg.value(b, CPO.barrierCategory), CPO.theme), b


def test_links_inside_a_submission_resolve(submissions, kg):
    for pid, g in submissions.items():
        for c, o in g.subject_objects(CPO.managedBy):
            assert (o, RDF.type, CPO.ClusterOrganisation) in g or o == ID[f"partner/{pid}"], c
        for p, i in g.subject_objects(CPO.basedOnInstrument):
            assert (i, RDF.type, CPO.PolicyInstrument) in g, p
        for s, b in g.subject_objects(CPO.addressesBarrier):
            assert (b, RDF.type, CPO.Barrier) in g, (s, b)
        for s, m in g.subject_objects(CPO.testsMechanism):
            assert (m, RDF.type, CPO.PolicyLearningMechanism) in kg, (s, m)
        for i, a in g.subject_objects(CPO.administeredBy):
            assert (a, RDF.type, CPO.ProjectPartner) in kg, i


# ---------------------------------------------------------------------------------------------
# Size and richness for the analysts' questions


def test_counts(kg):
    counts = {cls: len(of_class(kg, cls)) for cls in KIND.values()}
    # cpo:ClusterOrganisation also holds the partners pbn and corallia (reference data)
    assert counts == {
        CPO.Cluster: 90,
        CPO.ClusterOrganisation: 81 + 2,
        CPO.Barrier: 130,
        CPO.PolicyInstrument: 113,
        CPO.GoodPractice: 40,
        CPO.PolicyLearningMechanism: 7,
        CPO.PilotAction: 14,
        CPO.KnowledgeTransfer: 28,
    }
    assert counts[CPO.Cluster] >= 80 and counts[CPO.Barrier] >= 120
    assert counts[CPO.PolicyInstrument] >= 100 and counts[CPO.GoodPractice] >= 30
    assert counts[CPO.PilotAction] >= 12 and counts[CPO.KnowledgeTransfer] >= 20


def test_every_cluster_is_managed_and_has_nace_sectors(kg):
    for c in of_class(kg, CPO.Cluster):
        assert kg.value(c, CPO.managedBy) is not None, c
        assert all(NACE.match(str(s)) for s in kg.objects(c, CPO.sector)), c


def test_one_mechanism_per_theme_and_the_horizontal_issue(kg):
    themes = Counter(key(kg.value(m, CPO.theme)) for m in of_class(kg, CPO.PolicyLearningMechanism))
    assert themes == dict.fromkeys(SIX_THEMES | {"multilevel-governance"}, 1)


def regions_with(kg, cls, theme, maturity, level):
    return {
        key(kg.value(s, CPO.region))
        for s in of_class(kg, cls)
        if (s, CPO.theme, THEME[theme]) in kg and maturity[key(kg.value(s, CPO.region))] == level
    }


def test_every_theme_has_barriers_in_3_emerging_and_practices_in_3_mature_regions(kg, maturity):
    for theme in SIX_THEMES:
        assert len(regions_with(kg, CPO.Barrier, theme, maturity, "emerging")) >= 3, theme
        assert len(regions_with(kg, CPO.GoodPractice, theme, maturity, "mature")) >= 3, theme


def test_barrier_categories_shared_by_emerging_regions(kg, maturity):
    regions = defaultdict(set)
    for b in of_class(kg, CPO.Barrier):
        r = key(kg.value(b, CPO.region))
        if maturity[r] == "emerging":
            regions[key(kg.value(b, CPO.barrierCategory))].add(r)
    shared = {c for c, rs in regions.items() if len(rs) >= 3}
    assert len(shared) >= 10
    assert len(regions["difficult-bank-finance"]) == 7
    # every category reported in two or more emerging regions is addressed by an instrument
    # of a mature region, so the transfer-candidates question always has an answer
    addressed = {
        key(c)
        for i in of_class(kg, CPO.PolicyInstrument)
        if maturity[key(kg.value(i, CPO.region))] == "mature"
        for c in kg.objects(i, CPO.addressesBarrierCategory)
    }
    assert {c for c, rs in regions.items() if len(rs) >= 2} <= addressed


def test_knowledge_transfers_go_from_mature_to_emerging_regions(submissions, kg, maturity):
    for pid, g in submissions.items():
        for t in of_class(g, CPO.KnowledgeTransfer):
            src, dst = key(g.value(t, CPO.fromRegion)), key(g.value(t, CPO.toRegion))
            assert maturity[src] == "mature" and maturity[dst] == "emerging", t
            assert dst == key(kg.value(ID[f"partner/{pid}"], CPO.region)), t
            practice = g.value(t, CPO.aboutPractice)
            assert (practice, RDF.type, CPO.GoodPractice) in kg, t
            assert key(kg.value(practice, CPO.region)) == src, t
            owner = kg.value(practice, CPO.partner)
            assert owner != ID[f"partner/{pid}"], t
            assert maturity[key(kg.value(owner, CPO.region))] == "mature", t
            assert kg.value(practice, CPO.theme) == g.value(t, CPO.theme), t
            cats = set(
                kg.objects(kg.value(practice, CPO.basedOnInstrument), CPO.addressesBarrierCategory)
            )
            for b in g.objects(t, CPO.addressesBarrier):
                assert (b, RDF.type, CPO.Barrier) in g, t
                assert g.value(b, CPO.barrierCategory) in cats, (t, b)


def test_budgets_mostly_in_euro_some_in_national_currencies(kg):
    currencies = Counter(str(v) for v in values(kg, CPO.budgetCurrency))
    assert set(currencies) == {"EUR", "BGN", "HUF", "RON", "RSD", "ALL", "HRK"}
    assert currencies["EUR"] == 102
    assert sum(currencies.values()) - currencies["EUR"] == 11
    for i in kg.subjects(CPO.budgetCurrency, Literal("HRK")):
        # the kuna was Croatia's currency until 2022; these instruments ran 2012-2014
        assert kg.value(i, CPO.startYear).toPython() >= 2012
        assert kg.value(i, CPO.endYear).toPython() <= 2014
