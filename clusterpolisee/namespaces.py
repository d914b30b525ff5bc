"""IRIs of the knowledge graph: the ontology namespace, instance space and named graphs."""

import os
from urllib.parse import urlsplit

import pyoxigraph as ox
from rdflib import Namespace

from .paths import ConfigError

CPO = Namespace("https://w3id.org/clusterpolisee/ontology#")
ONTOLOGY_IRI = "https://w3id.org/clusterpolisee/ontology"
DEFAULT_BASE = "https://w3id.org/clusterpolisee/"
#: The prefixes written in Turtle, RDF/XML and TriG and shown as CURIEs (webapp.renderer,
#: webapp.present), and that name VoID link-sets (publish.linkset_names).
PREFIXES = {
    "cpo": "https://w3id.org/clusterpolisee/ontology#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "org": "http://www.w3.org/ns/org#",
    "prov": "http://www.w3.org/ns/prov#",
    "schema": "http://schema.org/",
    "sh": "http://www.w3.org/ns/shacl#",
    "geo": "http://www.opengis.net/ont/geosparql#",
    "m8g": "http://data.europa.eu/m8g/",
    # the link candidates' vocabularies (graph/link-candidates)
    "align": "http://knowledgeweb.semanticweb.org/heterogeneity/alignment#",
    "adms": "http://www.w3.org/ns/adms#",
}


def base_problem(text: str) -> str | None:
    """Why ``text`` cannot be the base of the instance and graph IRIs, or None. They are
    minted as ``{BASE}id/...`` and ``{BASE}graph/...``, so it must be an absolute http(s) IRI
    with a host, ending in '/', with no query or fragment. Unchecked, 'notanIRI' ended every
    command, --help included, in a traceback ("No scheme found in an absolute IRI")."""
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # e.g. "Invalid IPv6 URL" for 'http://[x/'
        return f"it is not an absolute http(s) IRI ({exc})"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "it is not an absolute http(s) IRI"
    if parts.query or parts.fragment or "?" in text or "#" in text:
        return "it has a query or fragment ('?' or '#')"
    if not text.endswith("/"):
        return "it does not end in '/'"
    try:
        ox.NamedNode(text + "id/x")  # spaces, '<', '"', bad %-escapes, ...
    except ValueError as exc:
        return str(exc).replace("Invalid IRI", "invalid IRI", 1)
    return None


def _base() -> str:
    text = os.environ.get("CLUSTERPOLISEE_BASE") or DEFAULT_BASE  # empty: unset
    problem = base_problem(text)
    if problem:
        raise ConfigError(
            "CLUSTERPOLISEE_BASE must be an absolute http(s) IRI ending in '/', without "
            f"spaces, query or fragment, e.g. {DEFAULT_BASE}; {problem} (got {text!r})"
        )
    return text


#: Base of every instance and graph IRI; configurable so a deployment can mint its own.
#: Checked when read: a bad value is a ConfigError, which the CLI reports (exit 2).
BASE = _base()
ID = Namespace(BASE + "id/")
GRAPH = Namespace(BASE + "graph/")

SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
ORG = Namespace("http://www.w3.org/ns/org#")
PROV = Namespace("http://www.w3.org/ns/prov#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
NUTS = Namespace("http://data.europa.eu/nuts/code/")
EU_COUNTRY = Namespace("http://publications.europa.eu/resource/authority/country/")
WIKIDATA = Namespace("http://www.wikidata.org/entity/")
#: schema.org terms as the ontology and shapes use them. schema.org also names them with
#: https (its own pages do, and it accepts both), so submissions are read with that form
#: mapped onto this one (rdfio): one form stored, which the shapes and queries match.
SCHEMA = Namespace("http://schema.org/")
SCHEMA_HTTPS = "https://" + SCHEMA.removeprefix("http://")


def graph_iri(name: str) -> str:
    """IRI of a named graph, e.g. ``graph_iri('ontology')``."""
    return f"{GRAPH}{name}"
