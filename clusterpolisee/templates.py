"""CSV templates for partners who work in spreadsheets, derived from the shapes alone.

A template for a class has a header row (the first column is "{class label} id", the short
name of each resource; then one column per property of the class's node shape, named by
sh:name, in sh:order) and a hint row starting with "#" (sh:description, required or optional,
one value or several separated by "|", allowed values of the vocabulary). The responsible
partner (cpo:partner) is not a column: it is the submitting partner.

A filled template converts back to RDF with :func:`csv_to_triples`. A cell may hold a full
IRI, or a key of a known resource of the expected class: the last segment of its IRI, its
English label, skos:notation, NUTS code or ISO code (so "ITI3", "innovation-vouchers",
"marche-region" work). A key that names nothing known becomes one of the partner's own
resources of the expected class (its IRI is minted in the partner's space with the class's
cps:idKind). Every problem is reported by row and column in one InputError.
"""

import csv
import io
import re
from dataclasses import dataclass
from functools import cache

import pyoxigraph as ox
from rdflib import RDF, RDFS, Graph, URIRef

from . import rdfio, shaclfast
from .namespaces import ID
from .validation import CPS, SH, _background, shapes_graph

CPO_PARTNER = URIRef("https://w3id.org/clusterpolisee/ontology#partner")
SKOS_NOTATION = URIRef("http://www.w3.org/2004/02/skos/core#notation")
KEY_PROPERTIES = [
    RDFS.label,
    SKOS_NOTATION,
    URIRef("https://w3id.org/clusterpolisee/ontology#nutsCode"),
    URIRef("https://w3id.org/clusterpolisee/ontology#isoAlpha3"),
    URIRef("https://w3id.org/clusterpolisee/ontology#isoAlpha2"),
]
SEPARATOR = "|"
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass
class Column:
    path: URIRef
    name: str
    description: str
    order: float
    required: bool
    single: bool
    datatype: URIRef | None
    cls: URIRef | None
    iri: bool  # sh:nodeKind sh:IRI without sh:class: a full address is expected
    languages: bool = False  # sh:uniqueLang: text in English unless a cell says "...@it"
    pattern: str | None = None  # sh:pattern of an address column: a code alone may do (_code)
    pattern_message: str = ""  # the sh:message of the shape with that pattern: what fits it


@dataclass
class Template:
    cls: URIRef
    label: str
    kind: str
    columns: list[Column]

    @property
    def id_header(self) -> str:
        return f"{self.label} id"


@cache
def _background_graph() -> Graph:
    g = Graph()
    for t in _background():
        g.add(t)
    return g


def _label(g: Graph, node: URIRef) -> str:
    for label in g.objects(node, RDFS.label):
        if getattr(label, "language", None) in ("en", None):
            return str(label)
    return str(node).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


@cache
def classes() -> dict[str, URIRef]:
    """Names a user may give for a template class -> class IRI (target classes of shapes)."""
    names: dict[str, URIRef] = {}
    onto = _background_graph()
    for cls in shapes_graph().objects(None, SH.targetClass):
        local = str(cls).rsplit("#", 1)[-1]
        for key in (local, _label(onto, cls), f"cpo:{local}"):
            names[key.lower()] = cls
    return names


def find_class(name: str) -> URIRef:
    cls = classes().get(name.strip().lower())
    if cls is None:
        known = sorted({str(c).rsplit("#", 1)[-1] for c in classes().values()})
        raise rdfio.InputError(f"unknown class {name!r}; choose one of {', '.join(known)}")
    return cls


@cache
def template(cls: URIRef) -> Template:
    g = shapes_graph()
    shape = next(s for s in g.subjects(SH.targetClass, cls) if (s, CPS.idKind, None) in g)
    columns: dict[URIRef, Column] = {}
    for ps in g.objects(shape, SH.property):
        path = g.value(ps, SH.path)
        if path == CPO_PARTNER:
            continue  # the submitting partner
        col = columns.get(path) or Column(
            path, str(g.value(ps, SH.name)), str(g.value(ps, SH.description)),
            float(g.value(ps, SH.order) or 999), False, False, None, None, False,
        )  # fmt: skip
        col.required |= int(g.value(ps, SH.minCount) or 0) > 0
        col.single |= int(g.value(ps, SH.maxCount) or 0) == 1
        col.datatype = col.datatype or g.value(ps, SH.datatype)
        col.cls = col.cls or g.value(ps, SH["class"])
        col.iri |= g.value(ps, SH.nodeKind) == SH.IRI
        col.languages |= bool(g.value(ps, SH.uniqueLang))
        if col.pattern is None and (pattern := g.value(ps, SH.pattern)) is not None:
            col.pattern, col.pattern_message = str(pattern), str(g.value(ps, SH.message) or "")
        columns[path] = col
    ordered = sorted(columns.values(), key=lambda c: (c.order, c.name))
    label = _label(_background_graph(), cls)
    return Template(cls, label, str(g.value(shape, CPS.idKind)), ordered)


@cache
def _namespace(pattern: str | None) -> str | None:
    """The fixed start of the addresses a column's sh:pattern allows, when it ends in / or #
    ("^http://data\\.europa\\.eu/ux2/nace2/[A-U]..." -> ".../nace2/"), else None."""
    if not pattern or not pattern.startswith("^"):
        return None
    fixed = re.match(r"(?:[^\\.^$*+?()\[\]{}|]|\\.)*", pattern[1:])[0]
    fixed = re.sub(r"\\(.)", r"\1", fixed)
    return fixed if fixed.endswith(("/", "#")) else None


def _code(cell: str, col: Column) -> ox.NamedNode | None:
    """A code in an address column whose pattern has a fixed namespace ("C29" for
    http://data.europa.eu/ux2/nace2/C29), if that address matches the pattern."""
    namespace = _namespace(col.pattern)
    if namespace and re.match(col.pattern, namespace + cell):
        return ox.NamedNode(namespace + cell)
    return None


def _allowed(cls: URIRef) -> list[str]:
    """Keys of the vocabulary concepts of a class (empty for large or open classes)."""
    onto = _background_graph()
    if not any(True for _ in onto.triples((cls, RDFS.subClassOf, None))):
        return []
    members = sorted(str(s).rsplit("/", 1)[-1] for s in onto.subjects(RDF.type, cls))
    return members if 0 < len(members) <= 40 else []


def _hint(col: Column) -> str:
    parts = [col.description, "Required." if col.required else "Optional."]
    if not col.single:
        parts.append(f"Several values allowed, separated by {SEPARATOR}.")
    if col.languages:
        parts.append("Text in another language ends in its code: Distretto Marche@it.")
    if namespace := _namespace(col.pattern):
        parts.append(f"A code alone stands for {namespace}{{code}}.")
    if col.cls is not None and (allowed := _allowed(col.cls)):
        parts.append("Allowed: " + ", ".join(allowed) + ".")
    return " ".join(parts)


def template_csv(cls_name: str) -> str:
    """The CSV template (header row and hint row) for a class name such as 'Cluster'."""
    t = template(find_class(cls_name))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([t.id_header, *(c.name for c in t.columns)])
    writer.writerow(
        [
            "# short name for the address: lower-case letters, digits and hyphens; "
            "this hint row (starting with #) is ignored",
            *(_hint(c) for c in t.columns),
        ]
    )
    return out.getvalue()


# -- reading a filled template ------------------------------------------------------------------


@cache
def _keys(cls: URIRef) -> dict[str, URIRef]:
    """Keys of the known resources of a class (and its subclasses) in the background."""
    g = _background_graph()
    members = set()
    for sub in shaclfast._with_subclasses(g, {cls}):
        members |= set(g.subjects(RDF.type, URIRef(sub)))
    keys: dict[str, URIRef] = {}
    for m in members:
        keys[str(m).rsplit("/", 1)[-1].rsplit("#", 1)[-1].lower()] = m
        for prop in KEY_PROPERTIES:
            for value in g.objects(m, prop):
                keys.setdefault(str(value).lower(), m)
    return keys


@cache
def _kind_of(cls: URIRef) -> str | None:
    """idKind of the node shape whose target class is cls or one of its subclasses."""
    g = shapes_graph()
    subs = {URIRef(c) for c in shaclfast._with_subclasses(_background_graph(), {cls})}
    for shape in g.subjects(CPS.idKind, None):
        if any(t in subs for t in g.objects(shape, SH.targetClass)):
            return str(g.value(shape, CPS.idKind))
    return None


def _iri(partner: str, kind: str, slug: str) -> ox.NamedNode:
    return ox.NamedNode(f"{ID}partner/{partner}/{kind}/{slug}")


def _term(cell: str, col: Column, partner: str) -> ox.NamedNode | ox.Literal:
    """One cell value as an RDF term; ValueError with a message on a bad value."""
    if col.cls is not None or col.iri:
        if "://" in cell:
            if not re.match(r"^https?://\S+$", cell):
                raise ValueError(f"{cell!r} is not a web address (http:// or https://)")
            return ox.NamedNode(cell)
        if col.cls is not None:
            found = _keys(col.cls).get(cell.lower())
            if found is not None:
                return ox.NamedNode(str(found))
            kind = _kind_of(col.cls)
            if kind and SLUG.match(cell):
                return _iri(partner, kind, cell)
            allowed = _allowed(col.cls)
            hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
            raise ValueError(
                f"{cell!r} is not a known {_label(_background_graph(), col.cls)}{hint}"
            )
        if (address := _code(cell, col)) is not None:
            return address
        if namespace := _namespace(col.pattern):  # "29.10" for "C29.10": say what a code is
            raise ValueError(
                f"{cell!r} is no code of {namespace}{{code}} and no full address. "
                + col.pattern_message
            )
        raise ValueError(f"{cell!r} must be a full address starting with http:// or https://")
    if col.datatype is not None:
        lexical = shaclfast.LEXICAL.get(str(col.datatype))
        if lexical and not re.match(lexical, cell):
            what = str(col.datatype).rsplit("#", 1)[-1]
            raise ValueError(f"{cell!r} is not a valid {what} value")
        return ox.Literal(cell, datatype=ox.NamedNode(str(col.datatype)))
    if col.languages:
        return _in_language(cell)
    return ox.Literal(cell)


#: Text ending in @ and a language code (BCP 47: "it", "sq", "sr-Latn").
_TAGGED = re.compile(r"^(.*\S)@([A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*)$", re.S)


def _in_language(cell: str) -> ox.Literal:
    """A name in English, or in the language its cell ends with ("Distretto Marche@it"). Tagged
    @en, not left without a language: the stored questions show English names, and would
    leave out a resource whose name has no language."""
    tagged = _TAGGED.match(cell)
    if tagged:
        return ox.Literal(tagged[1], language=tagged[2].lower())
    return ox.Literal(cell, language="en")


def _read_rows(data: bytes) -> list[list[str]]:
    text = rdfio._check_text(data, "CSV")
    if not text.strip():
        raise rdfio.InputError("the CSV file is empty")
    # Only the delimiter is guessed, from the header: a dialect guessed from a line without
    # quotes had doublequote off, so a cell written "say ""x""" (RFC 4180, as spreadsheets
    # save it) was stored as 'say "x""'. Quoting stays the standard's.
    try:
        delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    try:
        return list(csv.reader(io.StringIO(text), csv.excel, delimiter=delimiter))
    except csv.Error as exc:
        raise rdfio.InputError(f"the CSV file cannot be read: {exc}") from None


def _detect_class(header: list[str]) -> URIRef:
    first = header[0].strip().lower() if header else ""
    if not first.endswith(" id"):
        raise rdfio.InputError(
            "row 1: the first column must be the id column of a template, e.g. 'cluster id' "
            "(download a template from the upload page, /submit, or write one with "
            "'clusterpolisee template CLASS')"
        )
    return find_class(first[: -len(" id")])


def csv_to_triples(
    data: bytes, cls: str | None = None, partner: str | None = None
) -> list[ox.Triple]:
    """Convert a filled template to triples for ``partner``; InputError listing every problem
    by row and column.

    ``cls`` may be None: the class is read from the first header cell. The two-argument form
    ``csv_to_triples(data, partner)`` (class from the header) is accepted too.
    """
    if partner is None:
        cls, partner = None, cls
    if not partner or not SLUG.match(partner):
        raise rdfio.InputError(f"a CSV file needs a valid partner id, not {partner!r}")
    if len(data) > rdfio.DEFAULT_MAX_BYTES:
        raise rdfio.InputError(
            f"the CSV file has {len(data):,} bytes; the limit is {rdfio.DEFAULT_MAX_BYTES:,} bytes"
        )
    rows = _read_rows(data)
    header = [h.strip() for h in rows[0]]
    t = template(find_class(cls) if cls else _detect_class(header))
    by_name = {c.name.lower(): c for c in t.columns}
    errors: list[str] = []
    if not header or header[0].lower() != t.id_header.lower():
        errors.append(f"row 1, column 1: the first column must be {t.id_header!r}")
    columns: list[Column | None] = [None]
    for number, name in enumerate(header[1:], start=2):
        col = by_name.get(name.lower())
        if col is None and name:
            errors.append(f"row 1, column {number}: {name!r} is not a column of the template")
        columns.append(col)
    triples = _convert(rows, columns, t, partner, errors)
    if errors:
        raise rdfio.InputError(_problems(errors))
    return triples


def _problems(errors: list[str], shown: int = 50) -> str:
    """The problems of a file, one per line (some hold "; allowed: ..." themselves), the
    first ``shown`` of them."""
    lines = [f"{len(errors)} problem(s) in the CSV file:", *errors[:shown]]
    if len(errors) > shown:
        lines.append(f"... and {len(errors) - shown} more")
    return "\n".join(lines)


def _convert(rows, columns, t: Template, partner: str, errors: list[str]) -> list[ox.Triple]:
    triples: list[ox.Triple] = []
    seen: set[str] = set()
    type_ = ox.NamedNode(str(RDF.type))
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        slug = row[0].strip()
        if not SLUG.match(slug):
            errors.append(
                f"row {number}, column {t.id_header!r}: {slug!r} must be lower-case letters, "
                "digits and hyphens"
            )
            continue
        if slug in seen:
            errors.append(f"row {number}, column {t.id_header!r}: {slug!r} appears twice")
        seen.add(slug)
        subject = _iri(partner, t.kind, slug)
        triples.append(ox.Triple(subject, type_, ox.NamedNode(str(t.cls))))
        triples.append(
            ox.Triple(
                subject, ox.NamedNode(str(CPO_PARTNER)), ox.NamedNode(f"{ID}partner/{partner}")
            )
        )
        for col, cell in zip(columns[1:], row[1:], strict=False):
            if col is None or not cell.strip():
                continue
            values = (
                [v.strip() for v in cell.split(SEPARATOR)] if not col.single else [cell.strip()]
            )
            for value in filter(None, values):
                try:
                    term = _term(value, col, partner)
                except ValueError as exc:
                    errors.append(f"row {number}, column {col.name!r}: {exc}")
                    continue
                triples.append(ox.Triple(subject, ox.NamedNode(str(col.path)), term))
    return triples
