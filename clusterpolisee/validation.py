"""SHACL validation of partner submissions.

``validate(triples, partner)`` checks a submission against ``shapes/`` together with the
ontology, its schemes and the reference data (so ``sh:class cpo:Region`` resolves only for
known regions). The shapes run on clusterpolisee.shaclfast (compiled once, seconds faster
than pyshacl); pyshacl, the reference implementation, runs with ``engine="pyshacl"``. The
rules that depend on who submits (ownership, "nothing to import", untyped resources) run here
in Python, with their messages read from the shapes file (cps:OwnershipShape and friends), so
every message lives in ``shapes/``.

Submission shapes are the files ``shapes/*.shapes.ttl``; ``shapes_version`` hashes them.

Safety: pyshacl gets rdflib Graph objects only (never strings, which it would fetch or open),
``shacl_graph`` explicitly, no owl:imports, no inference.
"""

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from typing import TypeVar

import pyoxigraph as ox
import pyshacl
from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from . import paths, shaclfast
from .names import main_script
from .namespaces import ID

SH = Namespace("http://www.w3.org/ns/shacl#")
XSD_STRING = URIRef("http://www.w3.org/2001/XMLSchema#string")
CPS = Namespace("https://w3id.org/clusterpolisee/shapes#")
PARTNER_SPACE = f"{ID}partner/"
T = TypeVar("T")
_SLUG = "[a-z0-9]+(?:-[a-z0-9]+)*"
_RESOURCE = re.compile(f"^{re.escape(PARTNER_SPACE)}{_SLUG}/[a-z]+/{_SLUG}$")


@dataclass(frozen=True)
class ValidationResult:
    """One finding. Terms are N-Triples strings for values, plain IRIs for focus/path/shape."""

    focus: str
    message: str
    severity: str = "Violation"  # "Violation" | "Warning" | "Info"
    path: str | None = None
    value: str | None = None
    shape: str | None = None
    component: str | None = None
    name: str | None = None  # sh:name of the property shape, in words
    #: What the rule's message cannot say of this case (which language has two texts): not
    #: part of the rule, so the report still counts the rule's results together.
    detail: str | None = None

    def to_dict(self) -> dict:
        return {
            "focus": self.focus,
            "severity": self.severity,
            "message": self.message,
            "path": self.path,
            "property": self.name,
            "value": self.value,
            "shape": self.shape,
            "component": self.component,
            "detail": self.detail,
        }


DETAIL_LIMIT = 1_000  # entries listed in full; the others are only counted, per rule
# A submission under the upload limit can produce 200,000 results: listing them all made
# reports of 86 MB and took minutes to serialise, and nobody reads past the first screens.
Rule = tuple[str, str | None, str | None, str]  # severity, shape, component, message
Problem = tuple[str, str | None, str]  # severity, shape, message: a rule as a person reads it


def _rule(r: ValidationResult) -> Rule:
    return (r.severity, r.shape, r.component, r.message)


def _problem(r: ValidationResult) -> Problem:
    return (r.severity, r.shape, r.message)


def _entry_key(r: ValidationResult) -> tuple:
    """What makes two results one problem for a person: sh:datatype, sh:minInclusive and
    sh:maxInclusive of one property shape share its message and all reject "high". Two
    repeated languages are two problems (their details differ)."""
    return (r.focus, r.path, r.value, r.shape, r.severity, r.message, r.detail)


def _sortable(rule: tuple) -> tuple[str, ...]:
    return tuple(x or "" for x in rule)


def _pick(items: list[ValidationResult], limit: int | None, kind: Callable) -> list:
    """The first ``limit`` items in report order, but with at least one of each ``kind``, so
    that every kind of problem has an example."""
    if limit is None or len(items) <= limit:
        return items
    first: dict[tuple, int] = {}
    for i, r in enumerate(items):
        first.setdefault(kind(r), i)
    keep = set(sorted(first.values())[:limit])
    i = 0
    while len(keep) < limit:
        keep.add(i)
        i += 1
    return [items[i] for i in sorted(keep)]


def _totals(items: list[ValidationResult], kind: Callable) -> list[tuple[int, tuple]]:
    """(count, kind) for every kind that occurs, most frequent first."""
    counts: dict[tuple, int] = {}
    for r in items:
        key = kind(r)
        counts[key] = counts.get(key, 0) + 1
    return sorted(((n, k) for k, n in counts.items()), key=lambda t: (-t[0], _sortable(t[1])))


def _count(items: list[ValidationResult], severity: str) -> int:
    return sum(1 for r in items if r.severity == severity)


def _listed_note(listed: int, total: int) -> str:
    return f"the first {listed:,} of {total:,} results are listed, {total - listed:,} are left out"


@dataclass
class ValidationReport:
    """Every SHACL result is kept in ``results``, and the JSON and Turtle forms are made of
    them (one per constraint that failed, as SHACL reports them). People read ``entries``:
    the text report (also the web page's) merges the results of one shape with the same
    message on the same focus, path and value, and counts entries. Each form lists at most
    ``limit`` of its items in full (None: all) and gives exact totals per rule. Computed
    once: change ``results`` and ``limit`` before reading them."""

    results: list[ValidationResult] = field(default_factory=list)
    shapes_version: str = ""
    partner: str | None = None
    labels: dict[str, str] = field(default_factory=dict)  # focus IRI -> rdfs:label, for text
    limit: int | None = DETAIL_LIMIT

    @property
    def conforms(self) -> bool:
        """True when there is no violation (warnings are allowed)."""
        return not any(r.severity == "Violation" for r in self.results)

    @cached_property
    def entries(self) -> list[ValidationResult]:
        """The results as a person reads them, in report order: the first of each group of
        results that say the same thing about the same value stands for the group."""
        merged: dict[tuple, ValidationResult] = {}
        for r in self.results:
            merged.setdefault(_entry_key(r), r)
        return list(merged.values())

    def count(self, severity: str) -> int:
        """Entries of this severity ("Violation", "Warning"), as the text report counts them."""
        return _count(self.entries, severity)

    @cached_property
    def listed(self) -> list[ValidationResult]:
        """The entries the text report shows in full (see ``_pick``)."""
        return _pick(self.entries, self.limit, _problem)

    @property
    def left_out(self) -> int:
        """How many entries the text report does not list."""
        return len(self.entries) - len(self.listed)

    def totals(self) -> list[tuple[int, Problem]]:
        """(count of entries, (severity, shape, message)) for every rule that fired."""
        return _totals(self.entries, _problem)

    @cached_property
    def listed_results(self) -> list[ValidationResult]:
        """The SHACL results the JSON and Turtle forms list in full (see ``_pick``)."""
        return _pick(self.results, self.limit, _rule)

    def to_dict(self) -> dict:
        """The JSON form; its schema is documented in ``to_json``."""
        listed = self.listed_results
        return {
            "conforms": self.conforms,
            "partner": self.partner,
            "shapes_version": self.shapes_version,
            "violations": _count(self.results, "Violation"),
            "warnings": _count(self.results, "Warning"),
            "results_total": len(self.results),
            "results_listed": len(listed),
            "totals": [
                {"count": n, "severity": sev, "shape": shape, "component": comp, "message": msg}
                for n, (sev, shape, comp, msg) in _totals(self.results, _rule)
            ],
            "results": [r.to_dict() for r in listed],
        }

    def to_json(self) -> str:
        """Stable JSON: ``{"conforms": bool, "partner": str|null, "shapes_version": str,
        "violations": int, "warnings": int, "results_total": int, "results_listed": int,
        "totals": [{"count", "severity", "shape", "component", "message"}], "results":
        [{"focus", "severity", "message", "path", "property", "value", "shape",
        "component"}]}``. ``violations``, ``warnings``, ``results_total`` and ``totals``
        count every SHACL result (one per failed constraint: a value that fails three
        constraints of one property shape counts three times, unlike in the text report);
        ``results`` lists ``results_listed`` of them (see ``listed_results``).
        ``focus``, ``path``, ``shape`` and ``component`` are IRIs (null when not
        applicable); ``value`` is the offending term in N-Triples syntax; results are sorted
        by focus, path, message."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_text(self) -> str:
        """Human report of the entries, grouped by resource; totals per rule when some are
        left out."""
        lines: list[str] = []
        by_focus: dict[str, list[ValidationResult]] = {}
        for r in self.listed:
            by_focus.setdefault(r.focus, []).append(r)
        for focus, results in by_focus.items():
            label = self.labels.get(focus)
            lines.append(f"{focus}" + (f'  "{label}"' if label else ""))
            for r in results:
                lines.extend(_result_lines(r))
            lines.append("")
        if self.left_out:
            lines.extend(self._summary_lines())
        lines.append(self._verdict() + (f"; {self.listed_note()}." if self.left_out else "."))
        return "\n".join(lines) + "\n"

    def _verdict(self) -> str:
        """The last line's verdict. A clean report says so in words: "0 violation(s), 0
        warning(s) in 0 resource(s)" read as if nothing had been checked."""
        problems = [r for r in self.results if r.severity != "Info"]
        if not problems:  # notes alone (e.g. https schema.org IRIs read as http) are no problem
            notes = len(self.results)
            return "The submission conforms: no violation, no warning" + (
                f" ({notes:,} note(s) above)" if notes else ""
            )
        verdict = "conforms" if self.conforms else "does NOT conform"
        resources = len({r.focus for r in problems})
        return (
            f"The submission {verdict}: {self.count('Violation'):,} violation(s), "
            f"{self.count('Warning'):,} warning(s) in {resources:,} resource(s)"
        )

    def listed_note(self) -> str:
        """One line saying how much of the text report is listed, e.g. for the web page."""
        return _listed_note(len(self.listed), len(self.entries))

    def _summary_lines(self) -> list[str]:
        lines = [
            f"Only {len(self.listed):,} of {len(self.entries):,} results are listed above "
            f"(the first ones, with an example of each rule); {self.left_out:,} are left out.",
            "Totals per rule:",
        ]
        for n, (severity, shape, message) in self.totals():
            lines.append(f"  {n:>9,}  {severity}  {_short(shape or '')}: {message}")
        lines.append(
            "The same mistake usually repeats: fixing the listed ones (and what their rule "
            "says) usually fixes the rest. Validate again after fixing them."
        )
        lines.append("")
        return lines

    def to_turtle(
        self,
        origins: Mapping[str, Sequence[ox.NamedNode]] | None = None,
        about: Iterable[ox.Triple] = (),
    ) -> str:
        """The standard sh:ValidationReport in Turtle, with the listed SHACL results.
        Serialised by pyoxigraph: rdflib took minutes on 200,000 results.

        ``origins`` maps a focus node to the files that describe it (a submission of several
        files): each of its results is prov:wasDerivedFrom them, a standard property that a
        SHACL report may carry beside its own; ``about`` are triples describing those files."""
        report = ox.BlankNode()
        listed = self.listed_results
        nodes = [ox.BlankNode() for _ in listed]
        triples = self._report_triples(report)
        triples += [ox.Triple(report, _sh("result"), node) for node in nodes]
        for node, r in zip(nodes, listed, strict=True):
            triples.extend(_result_triples(node, r))
            for origin in (origins or {}).get(r.focus, ()):
                triples.append(ox.Triple(node, _DERIVED_FROM, origin))
        triples.extend(about)
        prefixes = {"sh": str(SH), "cps": str(CPS), "rdfs": str(RDFS), "xsd": _XSD}
        if origins:
            prefixes |= {"prov": _PROV, "dcterms": _DCT}
        return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=prefixes).decode()

    def _report_triples(self, report: ox.BlankNode) -> list[ox.Triple]:
        triples = [
            ox.Triple(report, _OX_TYPE, _sh("ValidationReport")),
            ox.Triple(report, _sh("conforms"), ox.Literal(self.conforms)),
        ]
        listed, total = len(self.listed_results), len(self.results)
        if listed < total:
            # Not every result is listed: say so, in words and as numbers.
            note = _sentence(_listed_note(listed, total))
            triples += [
                ox.Triple(report, _OX_COMMENT, ox.Literal(note, language="en")),
                ox.Triple(report, _cps("resultCount"), ox.Literal(total)),
                ox.Triple(report, _cps("listedResultCount"), ox.Literal(listed)),
            ]
        return triples


def _result_lines(r: ValidationResult) -> list[str]:
    lines = [f"  {r.severity}: {r.message}"]
    if r.path:
        lines.append(f"    property: {_property_words(r)}")
    if r.value is not None:
        lines.append(f"    value:    {r.value}")
    if r.detail:
        lines.append(f"    detail:   {r.detail}")
    if r.shape:
        lines.append(f"    shape:    {_short(r.shape)}")
    return lines


def _property_words(r: ValidationResult) -> str:
    """The property line: its name and short IRI, or why a property has no name here."""
    path = _short(r.path or "")
    if r.name:
        return f"{r.name} ({path})"
    kind = _shape_labels().get(URIRef(r.shape or ""))
    if r.component == _CLOSED and kind:
        article = "an" if kind[:1] in "aeiou" else "a"
        return f"{path} (not a property of {article} {kind})"
    return path


_CLOSED = str(SH.ClosedConstraintComponent)
_XSD = "http://www.w3.org/2001/XMLSchema#"
_OX_TYPE = ox.NamedNode(str(RDF.type))
_OX_COMMENT = ox.NamedNode(str(RDFS.comment))
_PROV = "http://www.w3.org/ns/prov#"
_DCT = "http://purl.org/dc/terms/"
_DERIVED_FROM = ox.NamedNode(f"{_PROV}wasDerivedFrom")
# The "nothing to import" finding is about the submission as a whole, which has no IRI.
_SUBMISSION = shaclfast.SUBMISSION


def _sh(name: str) -> ox.NamedNode:
    return ox.NamedNode(f"{SH}{name}")


def _cps(name: str) -> ox.NamedNode:
    return ox.NamedNode(f"{CPS}{name}")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _result_triples(node: ox.BlankNode, r: ValidationResult) -> list[ox.Triple]:
    triples = [
        ox.Triple(node, _OX_TYPE, _sh("ValidationResult")),
        ox.Triple(node, _sh("focusNode"), _ox_from_text(r.focus)),
        ox.Triple(node, _sh("resultSeverity"), _sh(r.severity)),
        ox.Triple(node, _sh("resultMessage"), ox.Literal(r.message, language="en")),
    ]
    optional = (
        ("resultPath", r.path, ox.NamedNode),
        ("value", r.value, _ox_from_nt),
        ("sourceShape", r.shape, ox.NamedNode),
        ("sourceConstraintComponent", r.component, ox.NamedNode),
    )
    for name, text, make in optional:
        if text is not None and text != "":
            triples.append(ox.Triple(node, _sh(name), make(text)))
    return triples


# -- loading the sources of truth --------------------------------------------------------------


def shapes_files() -> list:
    """The submission shapes: ``shapes/*.shapes.ttl`` (other files in shapes/, such as the
    DCAT-AP checks of the published catalogue, are not about partner submissions)."""
    return sorted(paths.SHAPES_DIR.glob("*.shapes.ttl"))


@cache
def shapes_version() -> str:
    """SHA-256 (first 16 hex digits) of the shapes files, for provenance."""
    digest = hashlib.sha256()
    for path in shapes_files():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@cache
def shapes_graph() -> Graph:
    g = Graph()
    for path in shapes_files():
        g.parse(path, format="turtle")
    return g


@cache
def _background() -> tuple[tuple, ...]:
    """Ontology, schemes and reference data as rdflib triples (loaded once)."""
    g = Graph()
    for path in paths.ontology_files() + paths.reference_files():
        g.parse(path, format="turtle")
    return tuple(g)


@cache
def target_classes() -> frozenset[URIRef]:
    """Every class partners submit: sh:targetClass of the shapes and their subclasses."""
    targets = set(shapes_graph().objects(None, SH.targetClass))
    onto = Graph()
    for t in _background():
        if t[1] == RDFS.subClassOf:
            onto.add(t)
    grown = True
    while grown:
        more = {s for t in targets for s in onto.subjects(RDFS.subClassOf, t)} - targets
        grown = bool(more)
        targets |= more
    return frozenset(targets)


@cache
def rule_message(shape: str) -> str:
    """The sh:message of a Python-run rule (cps:OwnershipShape ...) from the shapes (cached:
    it is asked once per resource, and rdflib's lookup made 200,000 of them take 15 s)."""
    return str(shapes_graph().value(CPS[shape], SH.message))


@cache
def _shape_names() -> dict[Node, str]:
    return {s: str(o) for s, o in shapes_graph().subject_objects(SH.name)}


@cache
def _names_by_path() -> dict[tuple[Node, Node], str]:
    """(node shape, path) -> sh:name of its property shape for that path, for results of a
    node shape that name a path (a SPARQL constraint's ?path)."""
    g = shapes_graph()
    names: dict[tuple[Node, Node], str] = {}
    for shape, ps in g.subject_objects(SH.property):
        name = g.value(ps, SH.name)
        if name is not None:
            names.setdefault((shape, g.value(ps, SH.path)), str(name))
    return names


def _property_name(shape: Node | None, path: str | None) -> str | None:
    """sh:name of the property a result is about, in words; None if it has none."""
    if shape is None:
        return None
    return _shape_names().get(shape) or _names_by_path().get((shape, URIRef(path or "")))


@cache
def _shape_labels() -> dict[Node, str]:
    """rdfs:label of each node shape: the kind of resource in words ("barrier")."""
    g = shapes_graph()
    return {s: str(g.value(s, RDFS.label)) for s in g.subjects(RDF.type, SH.NodeShape)}


# -- term conversion ---------------------------------------------------------------------------


def to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def _nt(term: Node) -> str:
    """N-Triples form, the same as pyoxigraph's (xsd:string left implicit)."""
    if isinstance(term, URIRef):
        return str(ox.NamedNode(str(term)))
    if isinstance(term, BNode):
        return f"_:{term}"
    if term.language:
        return str(ox.Literal(str(term), language=term.language))
    dt = term.datatype or XSD_STRING
    return str(ox.Literal(str(term), datatype=ox.NamedNode(str(dt))))


def _ox_from_text(text: str) -> ox.NamedNode | ox.BlankNode:
    if text.startswith("_:"):
        return ox.BlankNode(text[2:])
    return ox.NamedNode(text) if text else _SUBMISSION


def _ox_from_nt(text: str) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """The term of one term in N-Triples syntax, parsed by pyoxigraph (rdflib's N-Triples
    parser is quadratic on long escaped literals: a 4 MB value took minutes)."""
    (quad,) = ox.parse(f"<urn:x:s> <urn:x:p> {text} .".encode(), format=ox.RdfFormat.N_TRIPLES)
    return quad.object


def _short(iri: str) -> str:
    for prefix, ns in (
        ("cpo:", "https://w3id.org/clusterpolisee/ontology#"),
        ("cps:", str(CPS)),
        ("rdfs:", str(RDFS)),
        ("dcterms:", "http://purl.org/dc/terms/"),
        ("schema:", "http://schema.org/"),
        ("sh:", str(SH)),
        ("rdf:", str(RDF)),
    ):
        if iri.startswith(ns):
            return prefix + iri[len(ns) :]
    return iri


# -- validation --------------------------------------------------------------------------------


def validate(
    triples: list[ox.Triple], partner: str | None = None, engine: str = "fast"
) -> ValidationReport:
    """Validate a submission; ``partner`` is the submitting partner's id (e.g. "marche-region")
    or None to check only that every resource lies in some partner's space.

    ``engine="fast"`` (default) runs the shapes compiled to SPARQL on Oxigraph
    (clusterpolisee.shaclfast); ``engine="pyshacl"`` runs the reference implementation.
    """

    read: list[shaclfast.Submission] = []

    def ownership_and_labels(
        data: shaclfast.Submission,
    ) -> tuple[list[ValidationResult], dict[str, str]]:
        read.append(data)
        return _ownership(data, partner), _labels(data)

    if engine == "fast":  # the shapes' SPARQL half runs in a thread beside ownership_and_labels()
        shape_results, (results, labels) = _run_fast(triples, ownership_and_labels)
    elif engine == "pyshacl":
        shape_results = _run_pyshacl(triples)
        results, labels = ownership_and_labels(shaclfast.Submission(triples))
    else:
        raise ValueError(f"unknown engine {engine!r}")
    results += shape_results
    results.sort(key=lambda r: (r.focus, r.path or "", r.message, r.value or ""))
    return ValidationReport(_name_languages(results, read[0]), shapes_version(), partner, labels)


_UNIQUE_LANG = str(SH.UniqueLangConstraintComponent)


def _name_languages(
    results: list[ValidationResult], data: shaclfast.Submission
) -> list[ValidationResult]:
    """Say which language has two texts, and the texts: SHACL gives a sh:uniqueLang result no
    value, so the report showed only "one per language" and the resource's name, which a
    Serbian partner read as the faulty text. One result per repeated language (as SHACL
    makes them); with two scripts of one language, the tags that tell them apart."""
    told: dict[tuple[str, str], int] = {}
    named = []
    for r in results:
        if r.component != _UNIQUE_LANG or r.path is None or r.detail:
            named.append(r)
            continue
        texts: dict[str, set[str]] = {}
        for v in data.props.get(r.focus, {}).get(r.path, ()):
            if type(v) is ox.Literal and v.language:
                texts.setdefault(v.language, set()).add(v.value)
        repeated = sorted(lang for lang, values in texts.items() if len(values) > 1)
        i = told[(r.focus, r.path)] = told.get((r.focus, r.path), -1) + 1
        if i < len(repeated):
            r = replace(r, detail=_two_texts(repeated[i], sorted(texts[repeated[i]])))
        named.append(r)
    return named


def _two_texts(lang: str, values: list[str]) -> str:
    shown = ", ".join(f"“{v[:80]}”" for v in values)
    said = f"@{lang} is given {len(values)} texts: {shown}; keep one"
    scripts = {_script(v) for v in values} - {None}
    if len(scripts) > 1 and "-" not in lang:
        tags = " and ".join(f"@{lang}-{code}" for code in sorted(scripts))
        said += f", or tell the scripts apart with {tags}"
    return said


#: ISO 15924 codes of the scripts partners write (BCP 47 script subtags).
_SCRIPTS = {"CYRILLIC": "Cyrl", "GREEK": "Grek", "LATIN": "Latn"}


def _script(text: str) -> str | None:
    return _SCRIPTS.get(main_script(text) or "")


def _labels(data: shaclfast.Submission) -> dict[str, str]:
    """rdfs:label of each resource, English where there is one (for the text report)."""
    labels: dict[str, str] = {}
    for key, props in data.props.items():
        for value in props.get(_RDFS_LABEL.value, ()):
            name = data.terms[key].value
            if type(value) is ox.Literal and (value.language in ("en", None) or name not in labels):
                labels[name] = value.value
    return labels


_RDFS_LABEL = ox.NamedNode(str(RDFS.label))
_RDF_TYPE = ox.NamedNode(str(RDF.type))


def _ownership(data: shaclfast.Submission, partner: str | None) -> list[ValidationResult]:
    """Rules that depend on who submits: own space, typed resources, nothing to import."""
    results: list[ValidationResult] = []
    own = f"{PARTNER_SPACE}{partner}/" if partner else None
    targets = {str(c) for c in target_classes()}
    typed = {key for key, types in data.types.items() if not targets.isdisjoint(types)}
    for text, subject in data.terms.items():  # keyed by _ox_text(subject)
        inside = text.startswith(own) if own else bool(_RESOURCE.match(text))
        if not isinstance(subject, ox.NamedNode) or not inside:
            shape = "OwnershipShape" if own else "PartnerSpaceShape"
            message = rule_message(shape).replace("{partner}", partner or "")
            results.append(ValidationResult(text, message, shape=f"{CPS}{shape}"))
        elif text not in typed:
            shape = "UntypedResourceShape"
            results.append(
                ValidationResult(
                    text, rule_message(shape), path=_RDF_TYPE.value, shape=f"{CPS}{shape}"
                )
            )
    if not typed:
        shape = "NothingToImportShape"
        results.append(ValidationResult("", rule_message(shape), shape=str(CPS[shape])))
    return results


def _ox_text(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> str:
    return f"_:{term.value}" if isinstance(term, ox.BlankNode) else term.value


def _ox_nt(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> str:
    return str(term)


@cache
def _compiled() -> tuple[list[shaclfast.Check], tuple[ox.Quad, ...]]:
    onto = Graph()
    for t in _background():
        onto.add(t)
    background: list[ox.Quad] = []
    for path in paths.ontology_files() + paths.reference_files():
        background.extend(ox.parse(path=path, format=ox.RdfFormat.TURTLE))
    return shaclfast.compile_shapes(shapes_graph(), onto), tuple(background)


def _run_fast(
    triples: list[ox.Triple], meanwhile: Callable[[shaclfast.Submission], T]
) -> tuple[list, T]:
    """shaclfast on the submission, with ``meanwhile(index)`` run beside its SPARQL thread."""
    checks, background = _compiled()
    findings, extra = shaclfast.run_beside(checks, background, triples, meanwhile)
    results = [
        ValidationResult(
            focus=_ox_text(f.focus),
            message=f.check.message if f.message is None else f.message,
            severity=f.check.severity,
            path=f.path,
            value=_ox_nt(f.value) if f.value is not None else None,
            shape=f.check.shape,
            component=f.check.component,
            name=_property_name(URIRef(f.check.shape), f.path),
        )
        for f in findings
    ]
    return results, extra


def _run_pyshacl(triples: list[ox.Triple]) -> list[ValidationResult]:
    data = Graph()
    for t in _background():
        data.add(t)
    focus_nodes = set()
    for t in triples:
        triple = (to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object))
        data.add(triple)
        focus_nodes.add(_node_text(triple[0]))
    _conforms, graph, _text = pyshacl.validate(
        data,
        shacl_graph=shapes_graph(),
        inference="none",
        abort_on_first=False,
        allow_warnings=True,
        do_owl_imports=False,
        advanced=False,
    )
    # Reference resources (partners in data/reference) are targets too: keep the submission's.
    return [r for r in _results_from_graph(graph) if r.focus in focus_nodes]


def _node_text(node: Node) -> str:
    return f"_:{node}" if isinstance(node, BNode) else str(node)


def _results_from_graph(graph: Graph) -> list[ValidationResult]:
    out: list[ValidationResult] = []
    for node in graph.subjects(RDF.type, SH.ValidationResult):
        focus = graph.value(node, SH.focusNode)
        path = graph.value(node, SH.resultPath)
        value = graph.value(node, SH.value)
        shape = graph.value(node, SH.sourceShape)
        severity = graph.value(node, SH.resultSeverity)
        out.append(
            ValidationResult(
                focus=_node_text(focus),
                message=str(graph.value(node, SH.resultMessage) or "constraint not met"),
                severity=str(severity).rsplit("#", 1)[-1],
                path=str(path) if isinstance(path, URIRef) else None,
                value=_nt(value) if value is not None else None,
                shape=str(shape) if isinstance(shape, URIRef) else None,
                component=str(graph.value(node, SH.sourceConstraintComponent)),
                name=_property_name(shape, str(path) if isinstance(path, URIRef) else None),
            )
        )
    return out
