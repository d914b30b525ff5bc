"""Name lists: a resource's concepts under one property, named in one literal at write time.

The instruments question showed five lists of names per instrument (types, themes, barrier
categories, funding sources, target groups), each grouped from a join of every instrument
with its concepts and their names. An instrument is one row per combination of its values
until the grouping, so at 10M triples the question held 2,356 MiB and took 26.7-27.6 s;
reading one literal per list, 399 MiB and 19.4-20.2 s (raw pyoxigraph, the two texts paired
on one store: BENCHMARKS.md, "Name lists at write time").

Which lists exist is read from the ontology (``cpo:namesOf`` and ``rdfs:domain`` of the list
property), as the other rules are. Each member of the domain class gets, per list, the
English ``skos:prefLabel`` of each of its objects, sorted case-insensitively and joined with
"; ", as one @en literal; no literal where none of its objects has an English name.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

import pyoxigraph as ox

from ..namespaces import CPO
from ..store.termtext import TextTriple, literal_parts

PREF_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
SEPARATOR = "; "
#: (list property, listed property, domain class) as IRIs, from graph/ontology.
SCHEMA = f"""SELECT ?list ?listed ?domain WHERE {{ GRAPH ?g {{
    ?list <{CPO}namesOf> ?listed ; <http://www.w3.org/2000/01/rdf-schema#domain> ?domain .
    FILTER(isIRI(?list) && isIRI(?listed) && isIRI(?domain)) }} }}"""

Facts = Callable[[str], set[tuple[str, str]]]


def english_names(facts: Facts) -> dict[str, str]:
    """Concept (N-Triples text) -> its English preferred label (the first, in text order,
    should a concept break SKOS's one per language)."""
    names: dict[str, str] = {}
    for concept, label in sorted(facts(PREF_LABEL)):
        parts = literal_parts(label)
        if parts is not None and parts[1] == "en":
            names.setdefault(concept, parts[0])
    return names


def joined(names: Iterable[str]) -> str:
    """One list's literal, as N-Triples text: sorted without regard to case, then as is."""
    text = SEPARATOR.join(sorted(set(names), key=lambda n: (n.casefold(), n)))
    return str(ox.Literal(text, language="en"))


def name_lists(
    lists: Iterable[tuple[str, str, str]], facts: Facts, members: Mapping[str, set[str]]
) -> Iterable[TextTriple]:
    """Every list's triples: ``lists`` as (list property, listed property, domain class)
    IRIs, ``members`` class (N-Triples text) -> its resources, asserted and inferred."""
    names = english_names(facts)
    # One literal per distinct set of names, made once: at 10M triples 792,958 lists hold
    # 111 distinct literals, and making each anew took most of 13 s (now 1.5 s).
    literals: dict[str | frozenset[str], str] = {}
    for list_prop, listed, domain in lists:
        subjects = members.get(f"<{domain}>", set())
        found: dict[str, list[str]] = defaultdict(list)
        for s, o in facts(listed):
            name = names.get(o)
            if name is not None and s in subjects:
                found[s].append(name)
        predicate = f"<{list_prop}>"
        for s, listed_names in found.items():
            key = listed_names[0] if len(listed_names) == 1 else frozenset(listed_names)
            literal = literals.get(key)
            if literal is None:
                literal = literals[key] = joined(listed_names)
            yield s, predicate, literal
