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
  at query time (a link decision adds those of its labels itself, ``search_keys``);
- tallies (``reasoning/tallies.py``): counts and sums per region, theme, partner, barrier
  category and instrument type, which the aggregate questions read instead of every resource;
- name lists (``reasoning/namelists.py``): a policy instrument's types, themes, barrier
  categories, funding sources and target groups, each named in one literal (the properties
  with ``cpo:namesOf`` in the ontology).

Facts are read with plain SPARQL SELECTs over every graph except ``graph/inferred`` itself (so
an inference disappears with the data that caused it), and the small fixed-point steps run in
Python, which behaves the same on every backend (Virtuoso refuses some property paths).
"""

from collections import defaultdict
from collections.abc import Callable, Iterable

import pyoxigraph as ox

from ..catalog import fold_text
from ..gcpause import paused_collection
from ..namespaces import CPO, graph_iri
from ..store.base import Store
from ..store.termtext import TextTriple, literal_parts, to_triples
from .namelists import PREF_LABEL, name_lists
from .namelists import SCHEMA as NAME_LISTS
from .tallies import FACTS as TALLY_FACTS
from .tallies import tallies

INFERRED = graph_iri("inferred")
ONTOLOGY = graph_iri("ontology")
OWL = "http://www.w3.org/2002/07/owl#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SEARCH_KEY = f"<{CPO}searchKey>"
SKOS = "http://www.w3.org/2004/02/skos/core#"
#: SKOS's own axioms (the SKOS RDF schema is not loaded): broader is a sub-property of the
#: transitive broaderTransitive.
SKOS_SUBPROPERTIES = {(SKOS + "broader", SKOS + "broaderTransitive")}
SKOS_TRANSITIVE = {SKOS + "broaderTransitive"}

#: (subject, object) as N-Triples text (store/termtext.py): plain strings hash once, where
#: pyoxigraph terms hash their whole text at every set operation.
Pair = tuple[str, str]
Facts = Callable[[str], set[Pair]]

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
    "namelists": NAME_LISTS,
}


def _schema(store: Store, name: str) -> list[tuple[str, ...]]:
    """Rows of one schema query, read from graph/ontology only: IRIs as plain strings, the
    hasValue value as N-Triples text."""
    query = SCHEMA[name].replace("GRAPH ?g", f"GRAPH {ox.NamedNode(ONTOLOGY)}", 1)
    rows = store.select(query)
    return [tuple(str(t) if k == "v" else t.value for k, t in row.items()) for row in rows]


def _iri(value: str) -> str:
    return f"<{value}>"


def closure(pairs: set[tuple]) -> set[tuple]:
    """Transitive closure of a relation given as (subject, object) pairs."""
    succ: dict = defaultdict(set)
    for s, o in pairs:
        succ[s].add(o)
    out: set[tuple] = set()
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
    """Class (N-Triples text) -> its named superclasses (text)."""
    pairs = {(_iri(a), _iri(b)) for a, b in _schema(store, "subclass")}
    supers: dict[str, set[str]] = defaultdict(set)
    for a, b in closure(pairs):
        if a != b:
            supers[a].add(b)
    return supers


class _Rules:
    """The ontology's property and hasValue rules, and the predicates whose facts they read."""

    def __init__(self, store: Store) -> None:
        self.subprops = {
            (a, b) for a, b in _schema(store, "subproperty") if b.startswith(str(CPO))
        } | SKOS_SUBPROPERTIES
        self.transitive = {a for (a,) in _schema(store, "transitive")} | SKOS_TRANSITIVE
        self.inverses = _schema(store, "inverse")
        self.hasvalue = _schema(store, "hasvalue")
        self.name_lists = _schema(store, "namelists")
        props = {p for pair in self.subprops for p in pair} | self.transitive
        self.properties = props | {p for pair in self.inverses for p in pair}

    def predicates(self) -> set[str]:
        hasvalue = {prop for _c, _base, prop, _v in self.hasvalue}
        listed = {prop for _list, prop, _domain in self.name_lists}
        named = hasvalue | listed | {RDF_TYPE, RDFS_LABEL, PREF_LABEL}
        return self.properties | named | set(TALLY_FACTS)


def _property_triples(rules: _Rules, facts: Facts) -> tuple[set[TextTriple], set[TextTriple]]:
    """(asserted, derived) triples for the sub-property, transitive and inverse rules."""
    found = {p: facts(p) for p in sorted(rules.properties)}
    asserted = {(s, _iri(p), o) for p, ps in found.items() for s, o in ps}
    derived: dict[str, set[Pair]] = {p: set(ps) for p, ps in found.items()}
    for sub, sup in sorted(rules.subprops):
        derived[sup] |= derived[sub]
    for p in sorted(rules.transitive):
        derived[p] = closure(derived.get(p, set()))
    for a, b in rules.inverses:
        inverted_a = {(o, s) for s, o in derived[a] if not o.startswith('"')}
        inverted_b = {(o, s) for s, o in derived[b] if not o.startswith('"')}
        derived[b] |= inverted_a
        derived[a] |= inverted_b
    out = {(s, _iri(p), o) for p, ps in derived.items() for s, o in ps}
    return asserted, out


def _type_members(
    store: Store, rules: _Rules, facts: Facts
) -> tuple[set[Pair], dict[str, set[str]]]:
    """The asserted (resource, class) pairs, and every class's members under the hasValue and
    subclass rules, asserted or inferred."""
    types = facts(RDF_TYPE)
    supers = _superclasses(store)
    members: dict[str, set] = defaultdict(set)

    def add(subject: str, cls: str) -> None:
        members[cls].add(subject)
        for c in supers.get(cls, ()):
            members[c].add(subject)

    for s, c in types:
        add(s, c)
    for c, base, prop, value in rules.hasvalue:
        having = {s for s, o in facts(prop) if o == value}
        for s in having & members.get(_iri(base), set()):
            add(s, _iri(c))
    return types, members


def _search_keys(facts: Facts) -> set[TextTriple]:
    """One cpo:searchKey per label: the folded text, in the label's language."""
    keys: dict[str, str] = {}
    out = set()
    for s, label in facts(RDFS_LABEL):
        key = keys.get(label)
        if key is None:
            parts = literal_parts(label)
            if parts is None:
                continue
            value, lang = parts
            key = keys[label] = str(ox.Literal(fold_text(value), language=lang))
        out.add((s, SEARCH_KEY, key))
    return out


def search_keys(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    """The cpo:searchKey triples a full run gives the labels among ``triples``, for a write
    that only adds labels and runs no full step (a link decision: see linking/candidates)."""
    labels = {(str(t.subject), str(t.object)) for t in triples if t.predicate.value == RDFS_LABEL}
    return to_triples(_search_keys(lambda _predicate: labels))


def inferences(store: Store) -> set[TextTriple]:
    """Every inferred triple that is not already asserted somewhere, as N-Triples text."""
    rules = _Rules(store)
    # Every fact the rules and tallies read, fetched at once (two reads at a time).
    known = store.pairs_of(sorted(rules.predicates()), INFERRED)

    def facts(prop: str) -> set[Pair]:
        if prop not in known:
            known[prop] = store.pairs(prop, INFERRED)
        return known[prop]

    asserted, derived = _property_triples(rules, facts)
    result = derived - asserted
    asserted_types, members = _type_members(store, rules, facts)
    type_iri = _iri(RDF_TYPE)
    result.update(
        (s, type_iri, c) for c, ss in members.items() for s in ss if (s, c) not in asserted_types
    )
    result |= _search_keys(facts)
    result.update(tallies(facts, members))
    result.update(name_lists(rules.name_lists, facts, members))
    return result


def materialise(store: Store) -> int:
    """Recompute graph/inferred from the current data; return its number of triples. Only
    the difference is written: after one partner's submission that is a small part."""
    # Millions of facts held in sets, no reference cycles: the collector's full passes
    # would walk them again and again (about 10% of the step at 1M triples).
    with paused_collection():
        return store.update_graph_text(INFERRED, inferences(store))


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
