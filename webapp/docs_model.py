"""Human-readable documentation of the ontology and the shapes, read from their files."""

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

from clusterpolisee import paths
from clusterpolisee.namespaces import ONTOLOGY_IRI

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
SH = "http://www.w3.org/ns/shacl#"
CPO = "https://w3id.org/clusterpolisee/ontology#"


class Graph:
    """An index over triples: objects of (subject, predicate) and subjects of a type."""

    def __init__(self, triples: list[ox.Triple]) -> None:
        self.triples = triples
        self.index: dict[tuple, list] = defaultdict(list)
        for t in triples:
            self.index[(t.subject, t.predicate.value)].append(t.object)

    def objects(self, s: object, p: str) -> list:
        return self.index.get((s, p), [])

    def of_type(self, cls: str) -> list[ox.NamedNode]:
        return sorted(
            {
                t.subject
                for t in self.triples
                if t.predicate.value == RDF + "type"
                and t.object.value == cls
                and isinstance(t.subject, ox.NamedNode)
            },
            key=lambda n: n.value,
        )

    def text(self, s: object, p: str, lang: str = "en") -> str:
        values = [o for o in self.objects(s, p) if isinstance(o, ox.Literal)]
        for o in values:
            if o.language == lang:
                return o.value
        return values[0].value if values else ""


def read(files: list[Path]) -> list[ox.Triple]:
    out: list[ox.Triple] = []
    for f in files:
        with f.open("rb") as fh:
            out.extend(q.triple for q in ox.parse(fh, format=ox.RdfFormat.TURTLE))
    return out


@dataclass
class Term:
    iri: str
    local: str
    label: str
    definition: str
    note: str
    labels: dict[str, str]
    related: dict[str, list[str]] = field(default_factory=dict)


def _term(g: Graph, node: ox.NamedNode, related: dict[str, str]) -> Term:
    labels = {
        o.language or "": o.value
        for o in g.objects(node, RDFS + "label")
        if isinstance(o, ox.Literal)
    }
    rel = {
        name: [o.value for o in g.objects(node, pred) if isinstance(o, ox.NamedNode)]
        for name, pred in related.items()
    }
    return Term(
        node.value,
        node.value.rsplit("#", 1)[-1].rsplit("/", 1)[-1],
        g.text(node, RDFS + "label") or g.text(node, SKOS + "prefLabel"),
        g.text(node, SKOS + "definition"),
        g.text(node, SKOS + "scopeNote"),
        labels,
        {k: v for k, v in rel.items() if v},
    )


@dataclass
class OntologyDoc:
    title: str
    description: str
    version: str
    version_iri: str | None
    classes: list[Term]
    object_properties: list[Term]
    datatype_properties: list[Term]
    schemes: list[tuple[Term, list[Term]]]


@lru_cache(maxsize=1)
def ontology_triples() -> tuple[ox.Triple, ...]:
    return tuple(read(paths.ontology_files()))


@lru_cache(maxsize=1)
def version_iri() -> str | None:
    """The ontology's ``owl:versionIRI``, read from the ontology file (None without one)."""
    g = Graph(list(ontology_triples()))
    found = g.objects(ox.NamedNode(ONTOLOGY_IRI), OWL + "versionIRI")
    return next((o.value for o in found if isinstance(o, ox.NamedNode)), None)


@lru_cache(maxsize=1)
def ontology_doc() -> OntologyDoc:
    g = Graph(list(ontology_triples()))
    onto = ox.NamedNode(ONTOLOGY_IRI)
    dc = "http://purl.org/dc/terms/"
    cls_rel = {"subclass of": RDFS + "subClassOf", "disjoint with": OWL + "disjointWith"}
    prop_rel = {
        "domain": RDFS + "domain",
        "range": RDFS + "range",
        "subproperty of": RDFS + "subPropertyOf",
        "inverse of": OWL + "inverseOf",
    }

    def ours(kind: str, rel: dict[str, str]) -> list[Term]:
        return [_term(g, n, rel) for n in g.of_type(OWL + kind) if n.value.startswith(CPO)]

    schemes = []
    for s in g.of_type(SKOS + "ConceptScheme"):
        concepts = sorted(
            {
                t.subject
                for t in g.triples
                if t.predicate.value == SKOS + "inScheme" and t.object == s
            },
            key=lambda n: n.value,
        )
        schemes.append(
            (_term(g, s, {}), [_term(g, c, {"broader": SKOS + "broader"}) for c in concepts])
        )
    return OntologyDoc(
        g.text(onto, dc + "title"),
        g.text(onto, dc + "description"),
        g.text(onto, OWL + "versionInfo"),
        version_iri(),
        ours("Class", cls_rel),
        ours("ObjectProperty", prop_rel),
        ours("DatatypeProperty", prop_rel),
        schemes,
    )


@dataclass
class ShapeDoc:
    iri: str
    label: str
    targets: list[str]
    message: str
    properties: list[dict[str, str]]


def shape_files() -> list[Path]:
    return sorted(paths.SHAPES_DIR.glob("*.ttl"))


@lru_cache(maxsize=1)
def shapes_triples() -> tuple[ox.Triple, ...]:
    return tuple(read(shape_files()))


def _class_definition(iri: str) -> str:
    """The ontology's skos:definition of a class, or ''."""
    return next((c.definition for c in ontology_doc().classes if c.iri == iri), "")


@lru_cache(maxsize=1)
def shapes_doc() -> list[ShapeDoc]:
    g = Graph(list(shapes_triples()))
    out = []
    for shape in g.of_type(SH + "NodeShape"):
        label = g.text(shape, RDFS + "label") or g.text(shape, SH + "name")
        # A node shape's sh:message is what its closed-shape check says ("... uses a property
        # that a barrier does not have"): no description. Its class's definition is.
        targets = [o for o in g.objects(shape, SH + "targetClass") if isinstance(o, ox.NamedNode)]
        note = (
            g.text(shape, RDFS + "comment")
            or g.text(shape, SH + "description")
            or next((d for t in targets if (d := _class_definition(t.value))), "")
        )
        out.append(
            ShapeDoc(
                shape.value,
                label or shape.value.rsplit("/", 1)[-1],
                [o.value for o in g.objects(shape, SH + "targetClass")],
                note,
                _properties(g, shape),
            )
        )
    return out


def _properties(g: Graph, shape: object) -> list[dict[str, str]]:
    """One row per path: the constraints of all property shapes on that path, merged."""
    rows: dict[str, dict] = {}
    for ps in g.objects(shape, SH + "property"):
        path = _node_text(g.objects(ps, SH + "path"))
        row = rows.setdefault(
            path,
            {
                "path": path,
                "name": "",
                "description": "",
                "min": [],
                "max": [],
                "type": [],
                "rule": [],
            },
        )
        row["name"] = row["name"] or g.text(ps, SH + "name")
        row["description"] = (
            row["description"] or g.text(ps, SH + "description") or g.text(ps, SH + "message")
        )
        row["min"] += [int(o.value) for o in g.objects(ps, SH + "minCount")]
        row["max"] += [int(o.value) for o in g.objects(ps, SH + "maxCount")]
        row["type"] += [
            o.value
            for o in g.objects(ps, SH + "datatype") + g.objects(ps, SH + "class")
            if isinstance(o, ox.NamedNode)
        ]
        for key, word in (("minInclusive", ">="), ("maxInclusive", "<="), ("pattern", "matches")):
            row["rule"] += [f"{word} {o.value}" for o in g.objects(ps, SH + key)]
    return [
        {
            "path": r["path"],
            "name": r["name"],
            "description": r["description"],
            "min": str(max(r["min"])) if r["min"] else "",
            "max": str(min(r["max"])) if r["max"] else "",
            "type": ", ".join(dict.fromkeys(r["type"])),
            "rule": "; ".join(r["rule"]),
        }
        for r in sorted(rows.values(), key=lambda r: r["path"])
    ]


def _node_text(nodes: list) -> str:
    shown = [n.value for n in nodes if isinstance(n, ox.NamedNode | ox.Literal)]
    if not shown and nodes:
        return "(path expression)"
    return ", ".join(shown)
