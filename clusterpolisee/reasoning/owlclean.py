"""Turn RDF into N-Triples that owlready2 may load without side effects.

owlready2 fetches ``owl:imports`` (http and file) and imports any Python module named by its
``python_module`` annotation. We therefore never hand it a file we did not write ourselves:
the input is parsed by pyoxigraph (which fetches nothing and resolves no relative IRIs), every
import and every owlready-specific triple is dropped, and the rest is written as N-Triples.
"""

from pathlib import Path

import pyoxigraph as ox

OWL_IMPORTS = "http://www.w3.org/2002/07/owl#imports"
OWLREADY_NS = "http://www.lesfleursdunormal.fr/static/_downloads/owlready_ontology.owl#"
#: Only our own, text-based syntaxes: RDF/XML is refused here because its entity expansion is
#: unbounded in the parsers available (see notes/security.md).
FORMATS = {".ttl": ox.RdfFormat.TURTLE, ".nt": ox.RdfFormat.N_TRIPLES}


class UnsafeInput(ValueError):
    """The input cannot be handed to owlready2 (unknown format or unparsable)."""


def _is_dangerous(triple: ox.Triple) -> bool:
    if triple.predicate.value == OWL_IMPORTS:
        return True
    terms = (triple.subject, triple.predicate, triple.object)
    return any(isinstance(t, ox.NamedNode) and t.value.startswith(OWLREADY_NS) for t in terms)


def read_triples(paths: list[Path]) -> tuple[list[ox.Triple], int]:
    """Parse the files and return (kept triples, number of dropped triples)."""
    kept: list[ox.Triple] = []
    dropped = 0
    for path in paths:
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise UnsafeInput(f"{path}: only Turtle (.ttl) and N-Triples (.nt) are accepted here")
        try:
            with path.open("rb") as fh:
                for quad in ox.parse(fh, format=fmt):
                    if _is_dangerous(quad.triple):
                        dropped += 1
                    else:
                        kept.append(quad.triple)
        except SyntaxError as exc:
            raise UnsafeInput(f"{path}: {exc}") from exc
    return kept, dropped


def write_clean_ntriples(paths: list[Path], target: Path) -> int:
    """Write the cleaned union of ``paths`` to ``target``; return how many triples were dropped."""
    triples, dropped = read_triples(paths)
    with target.open("wb") as out:
        ox.serialize(triples, out, format=ox.RdfFormat.N_TRIPLES)
    return dropped
