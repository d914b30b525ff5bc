"""The ontology and its SKOS schemes: metadata, labels, definitions, the six themes."""

from rdflib import OWL, RDF, RDFS, Literal, URIRef

from clusterpolisee.namespaces import CPO, DCTERMS, SKOS

ONTOLOGY = URIRef("https://w3id.org/clusterpolisee/ontology")
THEME = "https://w3id.org/clusterpolisee/id/theme/"
TERM_TYPES = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)


def own_terms(g):
    return sorted(
        {
            s
            for t in TERM_TYPES
            for s in g.subjects(RDF.type, t)
            if isinstance(s, URIRef) and str(s).startswith(str(CPO))
        }
    )


def test_ontology_header(ontology):
    assert (ONTOLOGY, RDF.type, OWL.Ontology) in ontology
    assert ontology.value(ONTOLOGY, OWL.versionIRI) == URIRef(
        "https://w3id.org/clusterpolisee/ontology/0.1.0"
    )
    assert str(ontology.value(ONTOLOGY, OWL.versionInfo)) == "0.1.0"
    for prop in (DCTERMS.creator, DCTERMS.license, DCTERMS.description, DCTERMS.title):
        assert ontology.value(ONTOLOGY, prop) is not None, prop
    assert not list(ontology.objects(ONTOLOGY, OWL.imports)), "the ontology must import nothing"


def test_required_classes_exist(ontology):
    required = [
        "Country",
        "Region",
        "MatureRegion",
        "EmergingRegion",
        "Organisation",
        "ProjectPartner",
        "LeadPartner",
        "PublicAuthority",
        "RegionalDevelopmentAgency",
        "ResearchOrganisation",
        "BusinessSupportAgency",
        "ClusterOrganisation",
        "Cluster",
        "ThematicPriority",
        "Barrier",
        "BarrierCategory",
        "PolicyInstrument",
        "InstrumentType",
        "GoodPractice",
        "PolicyLearningMechanism",
        "PilotAction",
        "KnowledgeTransfer",
        "LifeCycleStage",
        "MaturityLevel",
        "ExcellenceLabel",
    ]
    missing = [c for c in required if (CPO[c], RDF.type, OWL.Class) not in ontology]
    assert missing == []


def test_every_term_has_english_label_and_definition(ontology):
    terms = own_terms(ontology)
    assert len(terms) > 60
    no_label = [
        t
        for t in terms
        if not any(
            isinstance(o, Literal) and o.language == "en" for o in ontology.objects(t, RDFS.label)
        )
    ]
    no_def = [
        t
        for t in terms
        if not any(
            isinstance(o, Literal) and o.language == "en"
            for p in (SKOS.definition, RDFS.comment)
            for o in ontology.objects(t, p)
        )
    ]
    assert no_label == [] and no_def == []


def test_classes_are_labelled_in_german_and_italian(ontology):
    classes = [t for t in own_terms(ontology) if (t, RDF.type, OWL.Class) in ontology]
    for lang in ("de", "it"):
        missing = [
            c
            for c in classes
            if not any(o.language == lang for o in ontology.objects(c, RDFS.label))
        ]
        assert missing == [], lang


def test_reuse_by_subclassing(ontology):
    org = URIRef("http://www.w3.org/ns/org#FormalOrganization")
    assert (CPO.Organisation, RDFS.subClassOf, org) in ontology
    assert (
        CPO.KnowledgeTransfer,
        RDFS.subClassOf,
        URIRef("http://www.w3.org/ns/prov#Activity"),
    ) in ontology
    assert (CPO.ThematicPriority, RDFS.subClassOf, SKOS.Concept) in ontology


def test_six_themes_with_labels_in_three_languages(vocab):
    themes = sorted(vocab.subjects(RDF.type, CPO.ThematicPriority))
    assert len(themes) == 6
    labels = {
        str(t).removeprefix(THEME): {o.language: str(o) for o in vocab.objects(t, SKOS.prefLabel)}
        for t in themes
    }
    assert labels["innovation"]["en"] == "Innovation and R&D driven cluster development"
    assert labels["sustainability"]["en"] == (
        "Sustainability through cluster development (eco-innovation)"
    )
    assert labels["internationalisation"]["en"] == (
        "International cluster cooperation and networking"
    )
    assert labels["financing"]["en"] == "Financial framework improvement (cluster financing)"
    assert labels["specialisation"]["en"] == "Clusters and regional (smart) specialisation"
    assert labels["skills"]["en"] == "New skills and jobs creation"
    assert all({"en", "de", "it"} <= set(v) for v in labels.values())
    notations = sorted(str(vocab.value(t, SKOS.notation)) for t in themes)
    assert notations == ["WG1", "WG2", "WG3", "WG4", "WG5", "WG6"]


def test_every_concept_is_labelled_defined_and_in_a_scheme(vocab):
    concepts = {s for s in vocab.subjects(SKOS.inScheme, None)}
    assert len(concepts) > 70
    for c in concepts:
        assert any(o.language == "en" for o in vocab.objects(c, SKOS.prefLabel)), c
        assert vocab.value(c, SKOS.definition) is not None, c
        scheme = vocab.value(c, SKOS.inScheme)
        assert (scheme, RDF.type, SKOS.ConceptScheme) in vocab, c


def test_barrier_categories_grouped_by_every_theme(vocab):
    cats = list(vocab.subjects(RDF.type, CPO.BarrierCategory))
    assert len(cats) == 24
    per_theme: dict = {}
    for c in cats:
        theme = vocab.value(c, CPO.theme)
        assert (theme, RDF.type, CPO.ThematicPriority) in vocab, c
        per_theme[theme] = per_theme.get(theme, 0) + 1
    assert sorted(per_theme.values()) == [4] * 6


def test_instrument_types_follow_stip_compass_hierarchy(vocab):
    types = set(vocab.subjects(RDF.type, CPO.InstrumentType))
    tops = {t for t in types if vocab.value(t, SKOS.broader) is None}
    assert {str(t).rsplit("/", 1)[1] for t in tops} == {
        "governance",
        "direct-financial-support",
        "indirect-financial-support",
        "collaborative-infrastructures",
        "guidance-regulation-incentives",
    }
    for t in types - tops:
        assert vocab.value(t, SKOS.broader) in tops, t


def test_other_schemes_have_expected_members(vocab):
    def keys(cls):
        return sorted(str(s).rsplit("/", 1)[1] for s in vocab.subjects(RDF.type, cls))

    assert keys(CPO.MaturityLevel) == ["emerging", "mature"]
    assert keys(CPO.PartnerRole) == ["associated", "lead", "project"]
    assert keys(CPO.ExcellenceLabel) == ["bronze", "gold", "silver"]
    assert keys(CPO.LifeCycleStage) == ["emergence", "growth", "maturity", "renewal"]
    assert keys(CPO.CountryStatus) == ["eu-member-state", "ipa-country"]
