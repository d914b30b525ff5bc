"""CSV templates for partners who work in spreadsheets, derived from the shapes alone.

A template for a class has a header row (the first column is "{class label} id", the short
name of each resource; then one column per property of the class's node shape, named by
sh:name, in sh:order) and a hint row starting with "#" (sh:description, required or optional,
one value or several separated by "|", allowed values of the vocabulary). The responsible
partner (cpo:partner) is not a column: it is the submitting partner.

A filled template converts back to RDF with :func:`csv_to_triples`. A cell may hold a full
IRI, or a key of a known resource of the expected class: the last segment of its IRI, its
English label, skos:notation, NUTS code or ISO code (so "ITI3", "innovation-vouchers",
"marche-region" work), compared as the search compares text (catalog.fold_text: case, accents,
dashes, curly quotes, so "București-Ilfov" and "Bucuresti - Ilfov" find "Bucureşti - Ilfov").
A key that two resources share ("Nord-Est") is refused, naming both; a key that names nothing
known becomes one of the partner's own resources of the expected class (its IRI is minted in
the partner's space with the class's cps:idKind) if it is a short name, otherwise it is
refused with the nearest known names. Every problem is reported by row and column in one
InputError.

Text columns for people (the name, the description: see :func:`_takes_language`) take a
language at the end of a cell, "Distretto Marche@it"; a suffix that tries to be one but is
not a known ISO 639-1 language, or is malformed ("@sr_Latn"), is refused (:func:`_language`).
"""

import csv
import difflib
import io
import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyoxigraph as ox
from rdflib import OWL, RDF, RDFS, Graph, URIRef

from . import nace, paths, rdfio, shaclfast
from .catalog import fold_text, segment
from .names import SCRIPT_LANGUAGES, foreign_script, language_hint
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
LANG_STRING = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#langString")


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
    tagged: bool = False  # text for people: a cell may end in its language (_takes_language)
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
        col.tagged |= _takes_language(g, ps, path)
        if col.pattern is None and (pattern := g.value(ps, SH.pattern)) is not None:
            col.pattern, col.pattern_message = str(pattern), str(g.value(ps, SH.message) or "")
        columns[path] = col
    ordered = sorted(columns.values(), key=lambda c: (c.order, c.name))
    label = _label(_background_graph(), cls)
    return Template(cls, label, str(g.value(shape, CPS.idKind)), ordered)


def _takes_language(g: Graph, ps, path) -> bool:
    """Whether a property shape's values are text in a language: the shape says so
    (sh:uniqueLang, sh:languageIn, sh:datatype rdf:langString), or the ontology does (range
    rdf:langString, or an annotation property such as dcterms:description with no range).
    Text with a declared range xsd:string (cpo:evidence) is not: a trailing "@it" stays text."""
    if g.value(ps, SH.uniqueLang) or g.value(ps, SH.languageIn) is not None:
        return True
    if g.value(ps, SH.datatype) is not None:
        return g.value(ps, SH.datatype) == LANG_STRING
    onto = _background_graph()
    ranges = set(onto.objects(path, RDFS.range))
    if ranges:
        return ranges == {LANG_STRING}
    return (path, RDF.type, OWL.AnnotationProperty) in onto


@cache
def _namespace(pattern: str | None) -> str | None:
    """The fixed start of the addresses a column's sh:pattern allows, when it ends in / or #
    ("^http://data\\.europa\\.eu/ux2/nace2/[A-U]..." -> ".../nace2/"), else None."""
    if not pattern or not pattern.startswith("^"):
        return None
    fixed = re.match(r"(?:[^\\.^$*+?()\[\]{}|]|\\.)*", pattern[1:])[0]
    fixed = re.sub(r"\\(.)", r"\1", fixed)
    return fixed if fixed.endswith(("/", "#")) else None


@dataclass(frozen=True)
class _Codes:
    """How a code typed alone becomes an address in a namespace whose addresses do not end in
    the code as people write it, and how the hint row says so."""

    address: Callable[[str], str | None]
    hint: str


#: NACE codes are written "29.1" and, in our former contract, "C29"; the EU's addresses are
#: .../nace2/291 and .../nace2/29 (clusterpolisee.nace), so the namespace alone cannot say.
_CODES = {
    nace.NAMESPACE: _Codes(
        nace.code_iri,
        f"A code alone, as the regulation writes it (C, 29, 29.1, 29.10, or C29 as before), "
        f"stands for its address {nace.NAMESPACE}{{code}} (29.1: {nace.NAMESPACE}291).",
    )
}


def _code(cell: str, col: Column) -> ox.NamedNode | None:
    """A code in an address column whose pattern has a fixed namespace ("29" or "C29" for
    http://data.europa.eu/ux2/nace2/29), if that address matches the pattern: the code as
    the namespace's readers write it (_CODES), or else the address's last segment."""
    namespace = _namespace(col.pattern)
    if not namespace:
        return None
    codes = _CODES.get(namespace)
    for address in (codes and codes.address(cell), namespace + cell):
        if address and re.match(col.pattern, address):
            return ox.NamedNode(address)
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
    elif col.tagged:
        parts.append("Text may end in its language code: Distretto Marche@it.")
    if namespace := _namespace(col.pattern):
        codes = _CODES.get(namespace)
        parts.append(codes.hint if codes else f"A code alone stands for {namespace}{{code}}.")
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
def _keys(cls: URIRef) -> dict[str, frozenset[URIRef]]:
    """Folded keys (catalog.fold_text, as the search folds text) of the known resources of a
    class (and its subclasses) in the background, each with the resources it names: more
    than one where two resources share a key (the NUTS labels Nord-Est of ITH and RO21)."""
    g = _background_graph()
    members = set()
    for sub in shaclfast._with_subclasses(g, {cls}):
        members |= set(g.subjects(RDF.type, URIRef(sub)))
    keys: dict[str, set[URIRef]] = {}
    for m in members:
        for value in (segment(str(m)), *(v for p in KEY_PROPERTIES for v in g.objects(m, p))):
            if key := fold_text(str(value)):
                keys.setdefault(key, set()).add(m)
    return {k: frozenset(v) for k, v in keys.items()}


def _known(node: URIRef) -> str:
    """A known resource as a person picks it: "Bucureşti - Ilfov (RO32)"."""
    label, code = _label(_background_graph(), node), segment(str(node))
    return code if label == code else f"{label} ({code})"


def _lookup(cell: str, cls: URIRef) -> URIRef | None:
    """The known resource of ``cls`` that ``cell`` names, compared folded; None if none does;
    ValueError if two or more do."""
    found = _keys(cls).get(fold_text(cell), frozenset())
    if len(found) > 1:
        names = ", ".join(sorted(_known(m) for m in found))
        what = _label(_background_graph(), cls)
        raise ValueError(f"{cell!r} names more than one {what}: {names}; give the code")
    return next(iter(found), None)


#: Suggestions left for the file being read: only 50 problems are shown, and difflib over a
#: class's keys for every bad cell of a large file would hold the upload for minutes.
_SUGGESTIONS: ContextVar[int] = ContextVar("suggestions", default=50)


def _nearest(cell: str, cls: URIRef, n: int = 3) -> list[str]:
    """Up to ``n`` known resources of ``cls`` whose keys are nearest to ``cell`` (difflib)."""
    left = _SUGGESTIONS.get()
    if left <= 0:
        return []
    _SUGGESTIONS.set(left - 1)
    keys = _keys(cls)
    nearest: list[URIRef] = []
    for key in difflib.get_close_matches(fold_text(cell), list(keys), n=4 * n, cutoff=0.6):
        for m in sorted(keys[key]):
            if m not in nearest:
                nearest.append(m)
    return [_known(m) for m in nearest[:n]]


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
            found = _lookup(cell, col.cls)
            if found is not None:
                return ox.NamedNode(str(found))
            kind = _kind_of(col.cls)
            if kind and SLUG.match(cell):
                return _iri(partner, kind, cell)
            hint = ""
            if nearest := _nearest(cell, col.cls):
                hint += f"; did you mean {' or '.join(nearest)}?"
            if allowed := _allowed(col.cls):
                hint += f"; allowed: {', '.join(allowed)}"
            raise ValueError(
                f"{cell!r} is not a known {_label(_background_graph(), col.cls)}{hint}"
            )
        if (address := _code(cell, col)) is not None:
            return address
        if namespace := _namespace(col.pattern):  # "J29", "Z99": say what a code is
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
    if col.languages or col.tagged:
        return _in_language(cell, english=col.languages)
    return ox.Literal(cell)


#: Text ending in what tries to be a language tag: "@" and letters, maybe more subtags after
#: "-" or "_" ("@it", "@sr-Latn", "@sr_Latn", "@serbian"); checked by _language.
_TAG_ATTEMPT = re.compile(r"^(.*\S)@([A-Za-z]{2,8}(?:[-_][A-Za-z0-9]+)*)$", re.S)
#: A well-formed tag (BCP 47 syntax, without extensions): "it", "sr-Latn", "de-AT".
_WELL_FORMED = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")
#: ISO 639-2 codes for text in several languages and undetermined text; not in ISO 639-1.
_SPECIAL_LANGUAGES = {"mul", "und"}


@cache
def languages() -> frozenset[str]:
    """The primary language subtags accepted: the ISO 639-1 codes of
    data/reference/iso-639-1.txt (its source is cited there), and mul, und."""
    path = Path(paths.REFERENCE_DIR) / "iso-639-1.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    codes = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    return frozenset(codes | _SPECIAL_LANGUAGES)


def _language(tag: str, text: str) -> str:
    """The language tag a cell ends with, lower-cased as stored; ValueError saying how to
    write it when it is malformed or its language is not an ISO 639-1 code."""
    keep = f"to keep {'@' + tag!r} as text, end the cell with its language: {text}@{tag}@en"
    if not _WELL_FORMED.match(tag):
        fixed = tag.replace("_", "-")
        if "_" in tag and _WELL_FORMED.match(fixed):
            raise ValueError(
                f"'@{tag}' is not a language tag: its parts are joined by '-', not '_'; "
                f"write {text}@{fixed}"
            )
        raise ValueError(f"'@{tag}' is not a language tag such as @sr or @sr-Latn; {keep}")
    primary = tag.split("-", 1)[0].lower()
    if primary not in languages():
        raise ValueError(
            f"'@{tag}': {primary!r} is not a language code of ISO 639-1 (two letters, "
            f"such as @en, @it, @sr, @sr-Latn, @el, @ro); {keep}"
        )
    return tag.lower()


def _in_language(cell: str, english: bool = True) -> ox.Literal:
    """Text in the language its cell ends with ("Distretto Marche@it"), else a name in English
    (``english``: a name column) or text without a language (a description). A name is tagged
    @en, not left without a language: the stored questions show English names, and would
    leave out a resource whose name has no language; but a name mostly in another script than
    Latin is not English, and is refused asking for its language ("@sr", "@el")."""
    tagged = _TAG_ATTEMPT.match(cell)
    if tagged:
        return ox.Literal(tagged[1], language=_language(tagged[2], tagged[1]))
    if not english:
        return ox.Literal(cell)
    if script := foreign_script(cell):
        raise ValueError(
            f"{cell!r} is written in {script.title()} letters, so it is not an English name: "
            f"end it with its language, {language_hint(script)} ({cell}@"
            f"{(SCRIPT_LANGUAGES.get(script) or ('xx',))[0]})"
        )
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
    check_partner_id(partner, "a CSV file")
    if len(data) > rdfio.DEFAULT_MAX_BYTES:
        raise rdfio.InputError(
            f"the CSV file has {len(data):,} bytes; the limit is {rdfio.DEFAULT_MAX_BYTES:,} bytes"
        )
    return rows_to_triples(_read_rows(data), cls, partner)


def check_partner_id(partner: str | None, what: str) -> None:
    if not partner or not SLUG.match(partner):
        raise rdfio.InputError(f"{what} needs a valid partner id, not {partner!r}")


def _csv_place(row: int, column: int, name: str | None) -> str:
    """Where a problem is in a CSV file: "row 3, column 'region'" (or the column's number)."""
    return f"row {row}, column {name!r}" if name is not None else f"row {row}, column {column}"


def rows_to_triples(
    rows: list[list[str]],
    cls: str | None,
    partner: str,
    place: Callable[[int, int, str | None], str] = _csv_place,
    what: str = "the CSV file",
) -> list[ox.Triple]:
    """The triples of a filled template's rows (header first, as :func:`_read_rows` gives
    them, from a CSV file or a workbook); InputError listing every problem, each at the
    ``place`` (row and column numbers from 1, the column's name when known) in ``what``."""
    header = [h.strip() for h in rows[0]]
    t = template(find_class(cls) if cls else _detect_class(header))
    by_name = {c.name.lower(): c for c in t.columns}
    errors: list[str] = []
    if not header or header[0].lower() != t.id_header.lower():
        errors.append(f"{place(1, 1, None)}: the first column must be {t.id_header!r}")
    columns: list[Column | None] = [None]
    for number, name in enumerate(header[1:], start=2):
        col = by_name.get(name.lower())
        if col is None and name:
            errors.append(f"{place(1, number, None)}: {name!r} is not a column of the template")
        columns.append(col)
    token = _SUGGESTIONS.set(50)
    try:
        triples = _convert(rows, columns, t, partner, errors, place)
    finally:
        _SUGGESTIONS.reset(token)
    if errors:
        raise rdfio.InputError(_problems(errors, what=what))
    return triples


def _problems(errors: list[str], shown: int = 50, what: str = "the CSV file") -> str:
    """The problems of a file, one per line (some hold "; allowed: ..." themselves), the
    first ``shown`` of them."""
    lines = [f"{len(errors)} problem(s) in {what}:", *errors[:shown]]
    if len(errors) > shown:
        lines.append(f"... and {len(errors) - shown} more")
    return "\n".join(lines)


def _convert(
    rows, columns, t: Template, partner: str, errors: list[str], place=_csv_place
) -> list[ox.Triple]:
    triples: list[ox.Triple] = []
    seen: set[str] = set()
    type_ = ox.NamedNode(str(RDF.type))
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        slug = row[0].strip()
        if not SLUG.match(slug):
            errors.append(
                f"{place(number, 1, t.id_header)}: {slug!r} must be lower-case letters, "
                "digits and hyphens"
            )
            continue
        if slug in seen:
            errors.append(f"{place(number, 1, t.id_header)}: {slug!r} appears twice")
        seen.add(slug)
        subject = _iri(partner, t.kind, slug)
        triples.append(ox.Triple(subject, type_, ox.NamedNode(str(t.cls))))
        triples.append(
            ox.Triple(
                subject, ox.NamedNode(str(CPO_PARTNER)), ox.NamedNode(f"{ID}partner/{partner}")
            )
        )
        for index, (col, cell) in enumerate(zip(columns[1:], row[1:], strict=False), start=2):
            if col is None or not cell.strip():
                continue
            values = (
                [v.strip() for v in cell.split(SEPARATOR)] if not col.single else [cell.strip()]
            )
            for value in filter(None, values):
                try:
                    term = _term(value, col, partner)
                except ValueError as exc:
                    errors.append(f"{place(number, index, col.name)}: {exc}")
                    continue
                triples.append(ox.Triple(subject, ox.NamedNode(str(col.path)), term))
    return triples
