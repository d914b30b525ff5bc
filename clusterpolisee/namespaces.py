"""IRIs of the knowledge graph: the ontology namespace, instance space and named graphs."""

import os

from rdflib import Namespace

CPO = Namespace("https://w3id.org/clusterpolisee/ontology#")
ONTOLOGY_IRI = "https://w3id.org/clusterpolisee/ontology"
#: Base of every instance and graph IRI; configurable so a deployment can mint its own.
BASE = os.environ.get("CLUSTERPOLISEE_BASE", "https://w3id.org/clusterpolisee/")
ID = Namespace(BASE + "id/")
GRAPH = Namespace(BASE + "graph/")

SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
ORG = Namespace("http://www.w3.org/ns/org#")
PROV = Namespace("http://www.w3.org/ns/prov#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
NUTS = Namespace("http://data.europa.eu/nuts/code/")
EU_COUNTRY = Namespace("http://publications.europa.eu/resource/authority/country/")
WIKIDATA = Namespace("http://www.wikidata.org/entity/")


def graph_iri(name: str) -> str:
    """IRI of a named graph, e.g. ``graph_iri('ontology')``."""
    return f"{GRAPH}{name}"
