"""Our side of the matching: clusters or organisations in the store, and the reference data
(countries and regions in the store, NACE from clusterpolisee.nace) used to read the external
list's country, region and sector."""

import re
from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox

from .. import nace
from ..namespaces import CPO
from ..store import Store
from .text import fold

NACE = nace.NAMESPACE
TYPES = {"cluster": CPO.Cluster, "organisation": CPO.Organisation}

PREFIXES = """\
PREFIX cpo: <https://w3id.org/clusterpolisee/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX schema: <http://schema.org/>
"""
ENTITIES = (
    PREFIXES
    + """SELECT DISTINCT ?x ?label WHERE {
  ?cls rdfs:subClassOf* ?top . ?x a ?cls ; rdfs:label|skos:prefLabel|skos:altLabel ?label .
}"""
)
ATTRIBUTES = (
    PREFIXES
    + """SELECT DISTINCT ?x ?p ?v WHERE {
  ?cls rdfs:subClassOf* ?top . ?x a ?cls .
  { ?x cpo:region ?v . BIND("region" AS ?p) }
  UNION { ?x cpo:country ?v . BIND("country" AS ?p) }
  UNION { ?x cpo:region/cpo:country ?v . BIND("country" AS ?p) }
  UNION { ?x cpo:sector ?v . BIND("sector" AS ?p) }
  UNION { ?c cpo:managedBy ?x ; cpo:sector ?v . BIND("sector" AS ?p) }
  UNION { ?x schema:url ?v . BIND("url" AS ?p) }
}"""
)
PLACES = (
    PREFIXES
    + """SELECT DISTINCT ?place ?key WHERE {
  { ?place a cpo:Country } UNION { ?place a cpo:Region }
  { ?place rdfs:label|skos:prefLabel|skos:altLabel ?key }
  UNION { ?place cpo:isoAlpha2|cpo:isoAlpha3|cpo:nutsCode ?key }
  UNION { ?place skos:exactMatch ?key }
}"""
)


@dataclass
class LocalEntity:
    iri: str
    labels: list[str] = field(default_factory=list)
    region: str = ""
    country: str = ""
    sectors: set[str] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return self.labels[0] if self.labels else self.iri


def load_entities(store: Store, kind: str) -> list[LocalEntity]:
    """Every cluster (kind 'cluster') or organisation (any cpo:Organisation subclass)."""
    top = {"top": ox.NamedNode(str(TYPES[kind]))}
    found: dict[str, LocalEntity] = {}
    for row in store.select(ENTITIES, top):
        ent = found.setdefault(row["x"].value, LocalEntity(row["x"].value))
        label = row["label"]
        # English first, so messages show the English name
        ent.labels.insert(
            0 if getattr(label, "language", None) == "en" else len(ent.labels), label.value
        )
    for row in store.select(ATTRIBUTES, top):
        ent = found.get(row["x"].value)
        if ent is None:
            continue
        kind_, value = row["p"].value, row["v"].value
        if kind_ == "sector":
            # Read as the other side's codes are: a group or class as its division, and the
            # former .../nace2/C29 a store not rebuilt since 2026-12-07 may hold as 29.
            if code := Sectors.code(value):
                ent.sectors.add(code)
        elif kind_ == "url":
            ent.urls.add(value)
        elif kind_ == "region" and not ent.region:
            ent.region = value
        elif kind_ == "country" and not ent.country:
            ent.country = value
    return sorted(found.values(), key=lambda e: e.iri)


class Places:
    """Reads a country or region as written in an external list (IRI, ISO or NUTS code, name
    in English or the local language) into the IRI of our country or region."""

    def __init__(self, store: Store) -> None:
        self._by_key: dict[str, set[str]] = defaultdict(set)
        self._memo: dict[str, frozenset[str]] = {}
        self.parent: dict[str, str] = {}
        for row in store.select(PLACES):
            key, place = row["key"].value, row["place"].value
            self._by_key[self._norm(key)].add(place)
            self._by_key[self._norm(place)].add(place)
            if "(" in key:  # "България (Bulgaria)"
                for part in re.split(r"[()]", key):
                    if part.strip():
                        self._by_key[self._norm(part)].add(row["place"].value)

    @staticmethod
    def _norm(text: str) -> str:
        return re.sub(r"[^a-z0-9]+", " ", fold(text)).strip()

    def resolve(self, text: str) -> set[str]:
        """Our places the text can mean (empty when unknown). A NUTS code longer than ours
        (a NUTS 3 code) is read as its level-2 region."""
        if text not in self._memo:
            self._memo[text] = frozenset(self._resolve(text))
        return set(self._memo[text])

    def _resolve(self, text: str) -> set[str]:
        key = self._norm(text.rsplit("/", 1)[-1] if "://" in text else text)
        found = set(self._by_key.get(self._norm(text), set())) | self._by_key.get(key, set())
        code = key.replace(" ", "")
        while not found and len(code) > 2 and re.fullmatch(r"[a-z]{2}[0-9a-z]+", code):
            code = code[:-1]
            found = set(self._by_key.get(code, set()))
        return found


class Sectors:
    """Reads a NACE code as written in an external list ('C29', '29', '29.10', 'C', an IRI in
    the EU's form or our former one) as the local name of our IRIs for it ('29', 'C'), and
    tells a code's section from the regulation's table (clusterpolisee.nace)."""

    @staticmethod
    def code(text: str) -> str:
        """Our code ('29', 'F') for a written code, or '' when it is not one. A group or class
        ('29.10', .../nace2/2910) is read as its division: lists rarely agree below it."""
        raw = text.strip().removeprefix(NACE).upper().replace(" ", "")
        m = re.fullmatch(r"([A-U])?(?:([0-9]{2})(?:\.?[0-9]{1,2})?)?", raw)
        if not m or not raw:
            return ""
        return m.group(2) or m.group(1)

    def section(self, code: str) -> str:
        """The section letter of a code ('29', '291' -> 'C'; 'C' -> 'C')."""
        return nace.SECTION_OF.get(code[:2], code[:1])
