"""Materialise the inferences the stored queries rely on into ``graph/inferred``.

The rules are read from the ontology graph (``graph/ontology``) at run time, so a new inverse
property, transitive property, subclass or ``owl:hasValue`` class in the ontology is picked
up without code changes:

- ``owl:inverseOf``: both directions of every inverse pair;
- ``rdfs:subPropertyOf`` towards our own properties (``cpo:partOf`` -> ``cpo:within``) and
  SKOS's ``skos:broader`` -> ``skos:broaderTransitive``;
- ``owl:TransitiveProperty``: transitive closure (region -> NUTS-1 -> country for
  ``cpo:within``; ``skos:broaderTransitive``);
- classes defined as ``C owl:equivalentClass [ owl:intersectionOf ( B [ owl:onProperty p ;
  owl:hasValue v ] ) ]``: members of B with ``p v`` get type C (cpo:MatureRegion,
  cpo:EmergingRegion, cpo:LeadPartner);
- ``rdfs:subClassOf`` between named classes: every typed resource gets the superclasses of its
  types, so a query for cpo:Organisation finds every subclass's members;
- ``cpo:searchKey``: every ``rdfs:label`` folded for search (``catalog.fold_text``, in the
  label's language), so the search question compares strings instead of folding every label
  at query time;
- tallies (``reasoning/tallies.py``): counts and sums per region, theme, partner, barrier
  category and instrument type, which the aggregate questions read instead of every resource.

Facts are read with plain SPARQL SELECTs over every graph except ``graph/inferred`` itself (so
an inference disappears with the data that caused it), and the small fixed-point steps run in
Python, which behaves the same on every backend (Virtuoso refuses some property paths).
"""

from collections import defaultdict
from collections.abc import Iterable

import pyoxigraph as ox

from ..catalog import fold_text
from ..gcpause import paused_collection
from ..namespaces import CPO, graph_iri
from ..store.base import Store
from .tallies import tallies

INFERRED = graph_iri("inferred")
ONTOLOGY = graph_iri("ontology")
OWL = "http://www.w3.org/2002/07/owl#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SEARCH_KEY = ox.NamedNode(f"{CPO}searchKey")
SKOS = "http://www.w3.org/2004/02/skos/core#"
#: SKOS's own axioms (the SKOS RDF schema is not loaded): broader is a sub-property of the
#: transitive broaderTransitive.
SKOS_SUBPROPERTIES = {(SKOS + "broader", SKOS + "broaderTransitive")}
SKOS_TRANSITIVE = {SKOS + "broaderTransitive"}

Pair = tuple[ox.NamedNode | ox.BlankNode, ox.NamedNode | ox.BlankNode | ox.Literal]

SCHEMA = {
    "inverse": f"SELECT ?a ?b WHERE {{ GRAPH ?g {{ ?a <{OWL}inverseOf> ?b }} "
    "FILTER(isIRI(?a) && isIRI(?b)) }",
    "subproperty": "SELECT ?a ?b WHERE { GRAPH ?g { ?a "
    "<http://www.w3.org/2000/01/rdf-schema#subPropertyOf> ?b } FILTER(isIRI(?a) && isIRI(?b)) }",
    "transitive": f"SELECT ?a WHERE {{ GRAPH ?g {{ ?a a <{OWL}TransitiveProperty> }} }}",
    "subclass": "SELECT ?a ?b WHERE { GRAPH ?g { ?a "
    "<http://www.w3.org/2000/01/rdf-schema#subClassOf> ?b } FILTER(isIRI(?a) && isIRI(?b)) }",
    "hasvalue": f"""SELECT ?c ?base ?p ?v WHERE {{ GRAPH ?g {{
        ?c <{OWL}equivalentClass> ?x . ?x <{OWL}intersectionOf> ?list .
        ?list <http://www.w3.org/1999/02/22-rdf-syntax-ns#rest>*/
              <http://www.w3.org/1999/02/22-rdf-syntax-ns#first> ?base .
        ?list <http://www.w3.org/1999/02/22-rdf-syntax-ns#rest>*/
              <http://www.w3.org/1999/02/22-rdf-syntax-ns#first> ?r .
        ?r <{OWL}onProperty> ?p ; <{OWL}hasValue> ?v .
        FILTER(isIRI(?c) && isIRI(?base)) }} }}""",
}


def _schema(store: Store, name: str) -> list[tuple[str, ...]]:
    """Rows of one schema query, read from graph/ontology only."""
    query = SCHEMA[name].replace("GRAPH ?g", f"GRAPH {ox.NamedNode(ONTOLOGY)}", 1)
    rows = store.select(query)
    return [tuple(t.value for t in row.values()) for row in rows]


def _facts(store: Store, prop: str) -> set[Pair]:
    """Asserted ``?s prop ?o`` in every graph but graph/inferred."""
    return store.pairs(prop, INFERRED)


def closure(pairs: set[Pair]) -> set[Pair]:
    """Transitive closure of a relation given as (subject, object) pairs."""
    succ: dict = defaultdict(set)
    for s, o in pairs:
        succ[s].add(o)
    out: set[Pair] = set()
    for start in list(succ):
        seen, todo = set(), list(succ[start])
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            todo.extend(succ.get(node, ()))
        out.update((start, o) for o in seen)
    return out


def _superclasses(store: Store) -> dict[str, set[str]]:
    pairs = {(ox.NamedNode(a), ox.NamedNode(b)) for a, b in _schema(store, "subclass")}
    supers: dict[str, set[str]] = defaultdict(set)
    for a, b in closure(pairs):
        if a != b:
            supers[a.value].add(b.value)
    return supers


def _property_triples(store: Store) -> tuple[set[ox.Triple], set[ox.Triple]]:
    """(asserted, derived) triples for the sub-property, transitive and inverse rules."""
    subprops = {
        (a, b) for a, b in _schema(store, "subproperty") if b.startswith(str(CPO))
    } | SKOS_SUBPROPERTIES
    transitive = {a for (a,) in _schema(store, "transitive")} | SKOS_TRANSITIVE
    inverses = _schema(store, "inverse")
    props = {p for pair in subprops for p in pair} | transitive
    props |= {p for pair in inverses for p in pair}
    facts = {p: _facts(store, p) for p in sorted(props)}
    asserted = {ox.Triple(s, ox.NamedNode(p), o) for p, ps in facts.items() for s, o in ps}
    derived: dict[str, set[Pair]] = {p: set(ps) for p, ps in facts.items()}
    for sub, sup in sorted(subprops):
        derived[sup] |= derived[sub]
    for p in sorted(transitive):
        derived[p] = closure(derived.get(p, set()))
    for a, b in inverses:
        inverted_a = {(o, s) for s, o in derived[a] if not isinstance(o, ox.Literal)}
        inverted_b = {(o, s) for s, o in derived[b] if not isinstance(o, ox.Literal)}
        derived[b] |= inverted_a
        derived[a] |= inverted_b
    out = {ox.Triple(s, ox.NamedNode(p), o) for p, ps in derived.items() for s, o in ps}
    return asserted, out


def _type_triples(store: Store) -> tuple[set[ox.Triple], set[ox.Triple]]:
    """(asserted, derived) rdf:type triples for the hasValue and subclass rules."""
    types = _facts(store, RDF_TYPE.value)
    asserted = {ox.Triple(s, RDF_TYPE, c) for s, c in types}
    supers = _superclasses(store)
    members: dict[str, set] = defaultdict(set)

    def add(subject, cls: str) -> None:
        for c in {cls} | supers.get(cls, set()):
            members[c].add(subject)

    for s, c in types:
        add(s, c.value)
    for c, base, prop, value in _schema(store, "hasvalue"):
        having = {s for s, o in _facts(store, prop) if o.value == value}
        for s in having & members.get(base, set()):
            add(s, c)
    out = {ox.Triple(s, RDF_TYPE, ox.NamedNode(c)) for c, ss in members.items() for s in ss}
    return asserted, out


def _search_keys(store: Store) -> set[ox.Triple]:
    """One cpo:searchKey per label: the folded text, in the label's language."""
    keys: dict[tuple[str, str | None], ox.Literal] = {}
    out = set()
    for s, label in _facts(store, RDFS_LABEL):
        if isinstance(label, ox.Literal):
            lang = label.language
            key = (label.value, lang)
            if key not in keys:
                keys[key] = ox.Literal(fold_text(label.value), language=lang)
            out.add(ox.Triple(s, SEARCH_KEY, keys[key]))
    return out


def inferences(store: Store) -> set[ox.Triple]:
    """Every inferred triple that is not already asserted somewhere."""
    result: set[ox.Triple] = set()
    types_asserted, types = _type_triples(store)
    for asserted, derived in (_property_triples(store), (types_asserted, types)):
        result |= derived - asserted
    result |= _search_keys(store)
    result.update(tallies(lambda prop: _facts(store, prop), types))
    return result


def materialise(store: Store) -> int:
    """Recompute graph/inferred from the current data; return its number of triples. Only
    the difference is written: after one partner's submission that is a small part."""
    # Millions of facts held in sets, no reference cycles: the collector's full passes
    # would walk them again and again (about 10% of the step at 1M triples).
    with paused_collection():
        triples: Iterable[ox.Triple] = inferences(store)
        return store.update_graph(INFERRED, triples)


def check_consistency(store: Store, timeout: float = 300.0):
    """Check the ontology with every asserted graph (not graph/inferred) with HermiT, in a
    child process with a time limit; return its OntologyCheck. Raises ReasonerUnavailable
    when Java is missing or the time runs out. Meant for a periodic or manual check, not for
    every write: it scales with the whole dataset."""
    import tempfile
    from pathlib import Path

    from .hermit import check

    with tempfile.TemporaryDirectory(prefix="cpo-consistency-") as tmp:
        data = Path(tmp) / "dataset.nt"
        graphs = [g for g in store.graph_sizes() if g != INFERRED]
        with data.open("wb") as fh:
            ox.serialize(
                (t for g in graphs for t in store.graph_triples(g)), fh, ox.RdfFormat.N_TRIPLES
            )
        return check([data], timeout=timeout)
