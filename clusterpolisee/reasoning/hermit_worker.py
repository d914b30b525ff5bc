"""Subprocess body: load a cleaned N-Triples file in owlready2 and classify it with HermiT.

Runs in its own process (see ``hermit.py``) because the reasoner call has no timeout and needs
Java; the parent kills us when the time limit passes. Prints one JSON object on stdout.
Only ever call this with a file written by ``owlclean.write_clean_ntriples``.
"""

import json
import sys

import owlready2 as owl

OWL_THING = "http://www.w3.org/2002/07/owl#Thing"
OWL_NOTHING = "http://www.w3.org/2002/07/owl#Nothing"


def _named_parents(cls) -> set[str]:
    return {p.iri for p in cls.is_a if isinstance(p, owl.ThingClass)}


def _types(ind) -> set[str]:
    return {t.iri for t in ind.is_a if isinstance(t, owl.ThingClass)}


def classify(nt_path: str, memory_mb: int) -> dict:
    owl.reasoning.JAVA_MEMORY = memory_mb
    world = owl.World()
    onto = world.get_ontology("file://" + nt_path).load(format="ntriples")
    classes = list(world.classes())
    before = {c.iri: _named_parents(c) for c in classes}
    types_before = {i.iri: _types(i) for i in world.individuals()}
    try:
        with onto:
            # xsd:date (used for dates, as SPARQL and SHACL expect) is not in the OWL 2
            # datatype map; HermiT then treats its values as opaque instead of failing.
            owl.sync_reasoner_hermit(
                world, infer_property_values=False, debug=0, ignore_unsupported_datatypes=True
            )
    except owl.OwlReadyInconsistentOntologyError:
        return {
            "consistent": False,
            "unsatisfiable": [],
            "new_superclasses": {},
            "reclassified_individuals": {},
            "classes": len(classes),
        }
    unsat = sorted(c.iri for c in world.inconsistent_classes() if c.iri != OWL_NOTHING)
    changes = {}
    for c in classes:
        added = _named_parents(c) - before.get(c.iri, set()) - {OWL_THING}
        if added:
            changes[c.iri] = sorted(added)
    reclassified = {}
    for ind in world.individuals():
        added = _types(ind) - types_before.get(ind.iri, set())
        if added:
            reclassified[ind.iri] = sorted(added)
    return {
        "consistent": True,
        "unsatisfiable": unsat,
        "new_superclasses": changes,
        "reclassified_individuals": reclassified,
        "classes": len(classes),
    }


if __name__ == "__main__":
    print(json.dumps(classify(sys.argv[1], int(sys.argv[2]))))
