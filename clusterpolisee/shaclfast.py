"""A fast SHACL engine for the subset of SHACL that shapes/ uses.

pyshacl evaluates every constraint per focus node in Python and SPARQL constraints through
rdflib's SPARQL engine: about 140 s for 6,000 triples here. This engine compiles each shape
once and evaluates a whole submission at a time:

- constraints that look at a focus node's own values (sh:minCount, sh:maxCount,
  sh:datatype, sh:nodeKind, sh:pattern, sh:minInclusive, sh:maxInclusive, sh:maxLength,
  sh:uniqueLang, sh:closed) and sh:class (with the types and rdfs:subClassOf links of the
  background and the submission) run in Python over the submitted triples grouped by
  subject. This also sees the datatypes as written: Oxigraph stores xsd:int or
  xsd:nonNegativeInteger as xsd:integer;
- sh:sparql and sh:lessThanOrEquals become one SPARQL query each over all focus nodes, on
  an in-memory Oxigraph store holding the background (ontology and reference data, default
  graph) and the submission (a named graph, from which focus nodes are taken). A SPARQL
  constraint's ?value and ?path become the result's value and path, and {?var} in its
  message takes the row's value of ?var.

Everything is read from the shapes graph; nothing about the shapes is typed here. Features
outside this set raise ``UnsupportedShape`` when the shapes are compiled, so a new shape
cannot be silently ignored. pyshacl stays the reference implementation
(``validate(..., engine="pyshacl")``); tests check that both agree on the invalid corpus.
Targets: sh:targetClass with subclasses from the ontology; paths: IRIs only.
"""

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from typing import TypeVar

import pyoxigraph as ox
from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

SH = Namespace("http://www.w3.org/ns/shacl#")
XSD = "http://www.w3.org/2001/XMLSchema#"
SUBMISSION = ox.NamedNode("urn:x-clusterpolisee:submission")
T = TypeVar("T")

# Lexical forms, so that an ill-formed literal ("abc"^^xsd:integer) fails sh:datatype.
# Checked in Python on the submitted triples: Oxigraph stores xsd:int, xsd:nonNegativeInteger
# ... as xsd:integer, so the datatype a partner wrote is only known before loading.
LEXICAL = {
    XSD + "integer": r"^[+-]?[0-9]+$",
    XSD + "nonNegativeInteger": r"^(\+?[0-9]+|-0+)$",
    XSD + "decimal": r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$",
    XSD
    + "date": r"^-?[0-9]{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(Z|[+-][0-9]{2}:[0-9]{2})?$",
}
_HANDLED = {
    SH.path, SH.name, SH.description, SH.order, SH.group, SH.message, SH.severity, RDF.type,
    SH.minCount, SH.maxCount, SH.datatype, SH["class"], SH.nodeKind, SH.pattern,
    SH.minInclusive, SH.maxInclusive, SH.maxLength, SH.uniqueLang, SH.lessThanOrEquals,
}  # fmt: skip


class UnsupportedShape(ValueError):
    """The shapes use a SHACL feature this engine does not compile."""


@dataclass(frozen=True)
class Check:
    """One compiled constraint: a query selecting ?this (and ?value, ?path) per violation."""

    query: str
    shape: str
    message: str
    severity: str
    path: str | None
    component: str
    classes: tuple[str, ...] = ()  # focus classes
    local: tuple = ()  # (kind, parameter): evaluated in Python on the submitted triples


@dataclass(frozen=True)
class Finding:
    focus: ox.NamedNode | ox.BlankNode
    value: ox.NamedNode | ox.BlankNode | ox.Literal | None
    path: str | None
    check: Check
    message: str | None = None  # the check's message with its {?var} filled in, if it has any


def _n(term: Node) -> str:
    """rdflib term in SPARQL syntax."""
    return term.n3()


def _focus(classes: list[str]) -> str:
    values = " ".join(f"<{c}>" for c in classes)
    return f"GRAPH <{SUBMISSION.value}> {{ ?this a ?focusClass }} VALUES ?focusClass {{ {values} }}"


def _severity(g: Graph, node: Node) -> str:
    sev = g.value(node, SH.severity)
    return str(sev).rsplit("#", 1)[-1] if sev is not None else "Violation"


def _property_checks(g: Graph, ps: Node, classes: list[str]) -> Iterator[Check]:
    unknown = {p for p in g.predicates(ps) if p not in _HANDLED}
    if unknown:
        raise UnsupportedShape(f"property shape {ps} uses {', '.join(map(str, unknown))}")
    path = g.value(ps, SH.path)
    if not isinstance(path, URIRef):
        raise UnsupportedShape(f"property shape {ps} has a complex path")
    focus, p = _focus(classes), _n(path)
    base = dict(
        shape=str(ps),
        message=str(g.value(ps, SH.message) or "constraint not met"),
        severity=_severity(g, ps),
        path=str(path),
    )

    def check(query: str, component: str) -> Check:
        return Check(
            query=f"PREFIX rdfs: <{RDFS}>\n{query}",
            component=str(SH[component]),
            classes=tuple(classes),
            **base,
        )

    def local(component: str, *spec) -> Check:
        return Check("", component=str(SH[component]), classes=tuple(classes), local=spec, **base)

    for n in g.objects(ps, SH.minCount):
        yield local("MinCountConstraintComponent", "min", int(n))
    for n in g.objects(ps, SH.maxCount):
        yield local("MaxCountConstraintComponent", "max", int(n))
    for dt in g.objects(ps, SH.datatype):
        yield local("DatatypeConstraintComponent", "datatype", str(dt))
    for kind in g.objects(ps, SH.nodeKind):
        if kind not in (SH.IRI, SH.Literal, SH.BlankNode):
            raise UnsupportedShape(f"sh:nodeKind {kind}")
        yield local("NodeKindConstraintComponent", "kind", NODE_KINDS[kind])
    for pattern in g.objects(ps, SH.pattern):
        if g.value(ps, SH.flags) is not None:
            raise UnsupportedShape("sh:flags")
        yield local("PatternConstraintComponent", "pattern", re.compile(str(pattern)))
    for low in g.objects(ps, SH.minInclusive):
        yield local("MinInclusiveConstraintComponent", "min>=", Decimal(str(low)))
    for high in g.objects(ps, SH.maxInclusive):
        yield local("MaxInclusiveConstraintComponent", "max<=", Decimal(str(high)))
    for length in g.objects(ps, SH.maxLength):
        yield local("MaxLengthConstraintComponent", "maxlength", int(length))
    if g.value(ps, SH.uniqueLang) == Literal(True):
        yield local("UniqueLangConstraintComponent", "uniquelang", None)
    for cls in g.objects(ps, SH["class"]):
        if not isinstance(cls, URIRef):
            raise UnsupportedShape(f"sh:class of {ps} is not an IRI")
        yield local("ClassConstraintComponent", "class", str(cls))
    for other in g.objects(ps, SH.lessThanOrEquals):
        yield check(
            f"SELECT DISTINCT ?this ?value WHERE {{ {focus} ?this {p} ?value . "
            f"?this {_n(other)} ?other FILTER (!COALESCE(?value <= ?other, false)) }}",
            "LessThanOrEqualsConstraintComponent",
        )


def _prefixes(g: Graph) -> str:
    lines = []
    for decl in g.objects(None, SH.declare):
        lines.append(f"PREFIX {g.value(decl, SH.prefix)}: <{g.value(decl, SH.namespace)}>")
    lines.append(f"PREFIX rdfs: <{RDFS}>")
    return "\n".join(sorted(set(lines))) + "\n"


def _sparql_checks(g: Graph, shape: Node, classes: list[str]) -> Iterator[Check]:
    prefixes = _prefixes(g)
    for constraint in g.objects(shape, SH.sparql):
        select = str(g.value(constraint, SH.select)).replace("$this", "?this")
        head, brace, body = select.partition("{")
        if not brace or "SELECT" not in head.upper():
            raise UnsupportedShape(f"sh:sparql of {shape} is not a SELECT")
        query = f"{prefixes}{head}{{ {_focus(classes)} {body}"
        yield Check(
            query=query,
            shape=str(shape),
            message=str(g.value(constraint, SH.message) or g.value(shape, SH.message)),
            severity=_severity(g, shape),  # SHACL: severity is a property of the shape
            path=None,
            component=str(SH.SPARQLConstraintComponent),
        )


def _closed_check(g: Graph, shape: Node, classes: list[str]) -> Iterator[Check]:
    if g.value(shape, SH.closed) != Literal(True):
        return
    allowed = {g.value(ps, SH.path) for ps in g.objects(shape, SH.property)}
    ignored = g.value(shape, SH.ignoredProperties)
    if ignored is not None:
        allowed |= set(Collection(g, ignored))
    yield Check(
        query="",
        shape=str(shape),
        message=str(g.value(shape, SH.message) or "property not allowed"),
        severity=_severity(g, shape),
        path=None,
        component=str(SH.ClosedConstraintComponent),
        classes=tuple(classes),
        local=("closed", frozenset(str(p) for p in allowed)),
    )


def compile_shapes(shapes: Graph, ontology: Graph) -> list[Check]:
    """Every check of every node shape with a sh:targetClass, in a stable order."""
    checks: list[Check] = []
    for shape in sorted(set(shapes.subjects(SH.targetClass, None)), key=str):
        classes = _with_subclasses(ontology, set(shapes.objects(shape, SH.targetClass)))
        for ps in sorted(shapes.objects(shape, SH.property), key=str):
            checks.extend(_property_checks(shapes, ps, classes))
        checks.extend(_sparql_checks(shapes, shape, classes))
        checks.extend(_closed_check(shapes, shape, classes))
    return checks


def _with_subclasses(ontology: Graph, classes: set) -> list[str]:
    found = set(classes)
    frontier = set(classes)
    while frontier:
        frontier = {s for c in frontier for s in ontology.subjects(RDFS.subClassOf, c)} - found
        found |= frontier
    return sorted(str(c) for c in found)


def run_beside(
    checks: list[Check],
    background: tuple,
    triples: list[ox.Triple],
    meanwhile: Callable[["Submission"], T],
) -> tuple[list[Finding], T]:
    """Run the compiled checks on the submission (a named graph) plus background (the default
    graph), and ``meanwhile(index)`` on the submission indexed by subject; return the findings
    and what ``meanwhile`` returned.

    The SPARQL checks run in a thread on their own in-memory store while this thread runs
    ``meanwhile`` and the Python checks: Oxigraph releases the GIL while it loads and
    evaluates, so the two halves share the two cores. The thread is always joined, also when
    this side fails.
    """
    queries = [c for c in checks if not c.local]
    rows: list[tuple[Check, ox.QuerySolution]] = []
    failure: list[BaseException] = []
    worker = threading.Thread(
        target=_query_checks, args=(queries, background, triples, rows, failure), daemon=True
    )
    if queries and _has_type(triples):
        worker.start()
    try:
        data = Submission(triples)
        extra = meanwhile(data)
        findings = _local([c for c in checks if c.local], data, _Classes(background, data))
    finally:
        if worker.ident is not None:
            worker.join()
    if failure:
        exc = failure.pop()
        try:
            raise exc
        finally:
            del exc  # a local holding it would keep this frame (and the data) alive
    for check, row in rows:
        findings.append(_query_finding(check, row, data))
    return findings, extra


_SPARQL_COMPONENT = str(SH.SPARQLConstraintComponent)
_PLACEHOLDER = re.compile(r"\{[?$](\w+)\}")


def _query_finding(check: Check, row: ox.QuerySolution, data: "Submission") -> Finding:
    """One answer row of a compiled query as a finding. A SPARQL constraint's ?path is the
    result path, and its message's {?var} / {$var} take the row's values (SHACL 5.3.2), so
    the message can name what the partner wrote and what was expected."""
    focus, value, path = row["this"], _get(row, "value"), check.path
    if check.component == _SPARQL_COMPONENT:
        bound = _get(row, "path")
        path = bound.value if type(bound) is ox.NamedNode else None
        if value is None:
            value = focus  # SHACL: without ?value, the value is the focus node
    if isinstance(value, ox.Literal) and path:
        value = data.as_submitted(focus, path, value)
    return Finding(focus, value, path, check, _filled(check.message, row))


def _filled(message: str, row: ox.QuerySolution) -> str | None:
    """``message`` with {?var} replaced by the lexical form of the row's ?var (as pyshacl
    does); None when it has no placeholder. An unbound variable is left as written."""
    if "{?" not in message and "{$" not in message:
        return None

    def lexical(match: re.Match) -> str:
        term = _get(row, match[1])
        return match[0] if term is None else term.value

    return _PLACEHOLDER.sub(lexical, message)


def run(checks: list[Check], background: tuple, triples: list[ox.Triple]) -> list[Finding]:
    """Run the compiled checks on the submission plus background (see :func:`run_beside`)."""
    return run_beside(checks, background, triples, lambda _index: None)[0]


def _has_type(triples: list[ox.Triple]) -> bool:
    """Whether any triple types a resource (without one, no SPARQL check has a focus node)."""
    rdf_type = ox.NamedNode(str(RDF.type))
    return any(t.predicate == rdf_type for t in triples)


def _query_checks(
    queries: list[Check],
    background: tuple,
    triples: list[ox.Triple],
    rows: list[tuple[Check, ox.QuerySolution]],
    failure: list[BaseException],
) -> None:
    """The SPARQL checks on an in-memory store; rows (or the exception) land in the lists."""
    store = solutions = None
    try:
        store = ox.Store()
        store.extend(background)
        # Serialising in Rust and loading is faster than building Quad objects in Python;
        # on a fresh in-memory store, load() is faster than bulk_load().
        store.load(
            ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES),
            format=ox.RdfFormat.N_TRIPLES,
            to_graph=SUBMISSION,
        )
        for check in queries:
            # A named local and no generator expression: the exception's traceback keeps
            # the frames it passed, and a generator's frame would keep the answer.
            solutions = store.query(check.query, use_default_graph_as_union=True)
            rows.extend(zip(repeat(check), solutions))
    except BaseException as exc:  # handed to the waiting thread, which raises it
        failure.append(exc)
    finally:
        # The exception's traceback keeps this frame: let the store go now, and the
        # answer too. pyo3 refuses to free an answer on another thread (it warns and
        # leaks it), and the waiting thread is where the traceback dies.
        store = solutions = None


def _key(term) -> str:
    """Dictionary key of a subject (hashing Python strings is much cheaper than terms)."""
    return term.value if type(term) is ox.NamedNode else "_:" + term.value


class Submission:
    """The submitted triples indexed by subject (in the order subjects first appear), for the
    checks run in Python."""

    def __init__(self, triples: list[ox.Triple]) -> None:
        rdf_type, sub_class = str(RDF.type), str(RDFS.subClassOf)
        self.props: dict[str, dict[str, list]] = {}
        self.terms: dict[str, ox.NamedNode | ox.BlankNode] = {}
        self.types: dict[str, set[str]] = {}  # keys of the rdf:type values (IRIs, blank nodes)
        self.sub_classes: list[tuple[str, str]] = []  # (subclass, class) keys
        last, key, props = None, "", {}
        for t in triples:
            subject = t.subject
            if subject != last:  # parsers give a subject's triples together: skip the lookups
                last, key = subject, _key(subject)
                props = self.props.get(key)
                if props is None:
                    props = self.props[key] = {}
                    self.terms[key] = subject
            path, value = t.predicate.value, t.object
            values = props.get(path)
            if values is None:
                props[path] = [value]
            else:
                values.append(value)
            if path == rdf_type and type(value) in _NODES:
                self.types.setdefault(key, set()).add(_key(value))
            elif path == sub_class and type(value) in _NODES:
                self.sub_classes.append((key, _key(value)))

    def focus(self, classes: tuple[str, ...]) -> list[str]:
        wanted = set(classes)
        return [key for key, types in self.types.items() if types & wanted]

    def as_submitted(self, focus, path: str, value: ox.Literal) -> ox.Literal:
        """The literal as the partner wrote it (Oxigraph normalises integer subtypes)."""
        written = self.props.get(_key(focus), {}).get(path, ())
        literals = [o for o in written if type(o) is ox.Literal]
        if len(literals) == 1:
            return literals[0]
        return next((o for o in literals if o.value == value.value), value)


class _Classes:
    """sh:class in Python: a value is an instance of C if one of its rdf:type values reaches C
    by rdfs:subClassOf* (SHACL 4.1.1). Types and subclass links come from the background
    (ontology, reference data) and the submission, and a focus node's values of the path
    include the background's, as they did when this was a SPARQL query over both."""

    def __init__(self, background: tuple, data: Submission) -> None:
        rdf_type, sub_class = ox.NamedNode(str(RDF.type)), ox.NamedNode(str(RDFS.subClassOf))
        self.data = data
        self.types: dict[str, set[str]] = {}
        self.values: dict[str, dict[str, list]] = {}  # background subject -> path -> values
        self.children: dict[str, set[str]] = {}
        links = list(data.sub_classes)
        for q in background:
            if type(q.subject) not in _NODES:
                continue
            key = _key(q.subject)
            self.values.setdefault(key, {}).setdefault(q.predicate.value, []).append(q.object)
            if type(q.object) not in _NODES:
                continue
            if q.predicate == rdf_type:
                self.types.setdefault(key, set()).add(_key(q.object))
            elif q.predicate == sub_class:
                links.append((key, _key(q.object)))
        for child, parent in links:
            self.children.setdefault(parent, set()).add(child)
        self._below: dict[str, frozenset[str]] = {}

    def below(self, cls: str) -> frozenset[str]:
        """The class and everything that reaches it by rdfs:subClassOf*."""
        if cls not in self._below:
            found, frontier = {cls}, {cls}
            while frontier:
                frontier = {c for p in frontier for c in self.children.get(p, ())} - found
                found |= frontier
            self._below[cls] = frozenset(found)
        return self._below[cls]

    def is_instance(self, value, cls: str) -> bool:
        if type(value) not in _NODES:
            return False
        key, accepted = _key(value), self.below(cls)
        for types in (self.data.types.get(key), self.types.get(key)):
            if types and not accepted.isdisjoint(types):
                return True
        return False


_TEXTUAL = (ox.NamedNode, ox.Literal)  # terms with a string form (not blank nodes, triples)
_NODES = (ox.NamedNode, ox.BlankNode)
NODE_KINDS = {SH.IRI: ox.NamedNode, SH.Literal: ox.Literal, SH.BlankNode: ox.BlankNode}
NUMERIC = {XSD + t for t in ("integer", "decimal", "nonNegativeInteger", "int", "long")}


def _number(value) -> Decimal | None:
    """The numeric value of a well-formed numeric literal, else None (not comparable)."""
    if type(value) is not ox.Literal or value.datatype.value not in NUMERIC:
        return None
    if not re.match(LEXICAL.get(value.datatype.value, LEXICAL[XSD + "decimal"]), value.value):
        return None
    return Decimal(value.value)


def _value_test(kind: str, param) -> Callable[[object], bool]:
    """A test that is true for a value the constraint rejects."""
    if kind == "datatype":
        lexical = re.compile(LEXICAL.get(param, ""))
        return lambda v: (
            not (type(v) is ox.Literal and v.datatype.value == param and lexical.match(v.value))
        )
    if kind == "kind":
        return lambda v: type(v) is not param
    if kind == "pattern":
        return lambda v: type(v) not in _TEXTUAL or not param.search(v.value)
    if kind == "maxlength":
        return lambda v: type(v) not in _TEXTUAL or len(v.value) > param
    if kind == "min>=":
        return lambda v: (n := _number(v)) is None or n < param
    if kind == "max<=":
        return lambda v: (n := _number(v)) is None or n > param
    raise UnsupportedShape(f"no test for {kind}")


FocusNode = tuple[ox.NamedNode | ox.BlankNode, dict[str, list], str]  # focus, its values, its key


def _local(checks: list[Check], data: Submission, classes: _Classes) -> list[Finding]:
    """Run the Python-evaluated checks: per node shape, each check in one loop over the focus
    nodes (one loop per check, not one call per check and node: this is the hot path)."""
    groups: dict[tuple, list[Check]] = {}
    for check in checks:
        groups.setdefault(check.classes, []).append(check)
    found: list[Finding] = []
    for focus_classes, group in groups.items():
        nodes = [(data.terms[key], data.props[key], key) for key in data.focus(focus_classes)]
        for check in group:
            found.extend(_one_check(check, nodes, classes))
    return found


_NONE: list = []  # shared default for the hot loops below; never mutated


def _distinct(values: list) -> list:
    return values if len(values) < 2 else list(dict.fromkeys(values))  # a triple twice: once


def _one_check(check: Check, nodes: list[FocusNode], classes: _Classes) -> Iterator[Finding]:
    kind, param = check.local
    path = check.path
    if kind == "closed":
        for focus, props, _ in nodes:
            for other in sorted(props.keys() - param):
                for value in props[other]:
                    yield Finding(focus, value, other, check)
    elif kind in ("min", "max"):
        for focus, props, _ in nodes:
            values = props.get(path, _NONE)
            count = len(values) if len(values) < 2 else len(set(values))
            if count < param if kind == "min" else count > param:
                yield Finding(focus, None, path, check)
    elif kind == "uniquelang":
        for focus, props, _ in nodes:
            langs = [v.language for v in _distinct(props.get(path, _NONE)) if type(v) is ox.Literal]
            for _repeated in {x for x in langs if x and langs.count(x) > 1}:
                yield Finding(focus, None, path, check)
    else:
        rejects = _class_test(classes, param) if kind == "class" else _value_test(kind, param)
        if kind != "kind":  # type(v) is cheaper than a lookup
            rejects = _remembered(rejects)
        for focus, props, key in nodes:
            values = props.get(path, _NONE)
            if kind == "class" and key in classes.values:
                values = values + classes.values[key].get(path, _NONE)
            for value in _distinct(values):
                if rejects(value):
                    yield Finding(focus, value, path, check)


def _class_test(classes: _Classes, cls: str) -> Callable[[object], bool]:
    return lambda v: not classes.is_instance(v, cls)


def _remembered(test: Callable[[object], bool]) -> Callable[[object], bool]:
    """``test`` with its answers kept per term: the same years, regions and themes recur in
    thousands of resources, and a dictionary lookup is cheaper than the test."""
    answers: dict = {}

    def remembered(value) -> bool:
        answer = answers.get(value)
        if answer is None:
            answer = answers[value] = test(value)
        return answer

    return remembered


def _get(row: ox.QuerySolution, name: str):
    try:
        return row[name]
    except (KeyError, IndexError):
        return None
