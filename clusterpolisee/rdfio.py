"""Safe parsing of RDF that comes from outside (CLI, web upload, build).

Every input goes through :func:`read_rdf`. It never triggers network or file access and its
cost is bounded:

- pyoxigraph parses (linear time, streaming); it refuses remote JSON-LD contexts itself.
- No base IRI: a relative IRI would otherwise resolve against something the server chose.
- Size limit (default 50 MB) before anything else.
- RDF/XML with ``<!DOCTYPE`` or ``<!ENTITY`` is refused before parsing (pyoxigraph expands
  entities without bound).
- Nesting is bounded twice: a cheap pre-scan of the text (pyoxigraph is quadratic on deep
  RDF/XML and crashes the process on JSON-LD nested ~10,000 deep), and a check of the parsed
  graph (blank-node chains and RDF lists), so an accepted upload cannot break later
  serialisation or property paths.
- Some IRIs are read in another form than written, and a note says so (:func:`read_rdf`'s
  ``notes``): schema.org terms written with ``https://schema.org/`` as ``http://schema.org/``,
  the form of the ontology and shapes; NACE IRIs in our former form (``.../nace2/C29``) as
  the EU's (``.../nace2/29``, see clusterpolisee.nace). :func:`read_as_stored` does the same
  for the triples of a spreadsheet.

Every problem is an :class:`InputError` whose message a person can act on.
"""

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from urllib.parse import urlsplit
from xml.parsers import expat

import pyoxigraph as ox

from . import nace
from .namespaces import SCHEMA, SCHEMA_HTTPS

#: Longest accepted chain of nested blank nodes (``[ ]`` inside ``[ ]``) or RDF list items.
MAX_DEPTH = 64
DEFAULT_MAX_BYTES = 50_000_000

FORMATS: dict[str, ox.RdfFormat] = {
    "turtle": ox.RdfFormat.TURTLE,
    "trig": ox.RdfFormat.TRIG,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}
EXTENSIONS: dict[str, str] = {
    ".ttl": "turtle",
    ".turtle": "turtle",
    ".trig": "trig",
    ".nt": "ntriples",
    ".nq": "nquads",
    ".jsonld": "jsonld",
    ".json": "jsonld",
    ".rdf": "rdfxml",
    ".owl": "rdfxml",
    ".xml": "rdfxml",
}
#: Every format a submission may be given in: the RDF syntaxes read here and the CSV
#: templates, which clusterpolisee.templates reads. Messages and option help list these.
CSV_FORMAT, CSV_EXTENSION = "csv", ".csv"
INPUT_FORMATS = [*FORMATS, CSV_FORMAT]
INPUT_EXTENSIONS = sorted([*EXTENSIONS, CSV_EXTENSION])
FORMAT_NAMES = {
    "turtle": "Turtle",
    "trig": "TriG",
    "ntriples": "N-Triples",
    "nquads": "N-Quads",
    "jsonld": "JSON-LD",
    "rdfxml": "RDF/XML",
}

# Formats that pyoxigraph resolves against a base IRI without telling us where: we give them
# a sentinel base and refuse any IRI that ends up under it.
_SENTINEL_BASE = "https://relative-iri.invalid/"


class InputError(ValueError):
    """The input cannot be accepted; the message says why and what to do."""


def format_key(input_format: str) -> str:
    """A format name as written ("N-Triples", "RDF/XML", "CSV") in the form of FORMATS'
    keys and INPUT_FORMATS ("ntriples", "rdfxml", "csv")."""
    return input_format.lower().replace("-", "").replace("/", "").replace("_", "")


def format_for(filename: str, input_format: str | None = None) -> str:
    """The format name (a key of FORMATS) from an explicit name or the file extension."""
    if input_format:
        name = format_key(input_format)
        if name not in FORMATS:
            raise InputError(
                f"{filename}: unknown input format {input_format!r}; "
                f"use one of {', '.join(INPUT_FORMATS)}"
            )
        return name
    suffix = PurePath(filename).suffix.lower()
    if suffix not in EXTENSIONS:
        raise InputError(
            f"{filename}: cannot tell the format from the extension {suffix or '(none)'!r}; "
            f"use one of {', '.join(INPUT_EXTENSIONS)} or give the format "
            f"({', '.join(INPUT_FORMATS)})"
        )
    return EXTENSIONS[suffix]


def read_rdf(
    data: bytes,
    filename: str,
    input_format: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    notes: list[str] | None = None,
) -> list[ox.Quad]:
    """Parse untrusted RDF into quads, or raise InputError with a message a person can act on.

    ``filename`` only names the input in messages and selects the format by extension; it is
    never opened. Named graphs of TriG/N-Quads are kept (see :func:`refuse_named_graphs`).
    What reading changed in the data, which the sender should hear of though nothing is
    wrong (IRIs read in another form than written, see :class:`_Reading`), is added to
    ``notes``.
    """
    fmt = format_for(filename, input_format)
    if len(data) > max_bytes:
        raise InputError(
            f"{filename}: the file has {len(data):,} bytes; the limit is {max_bytes:,} bytes. "
            "Split it or ask the administrator."
        )
    text = _check_text(data, filename)
    data = text.encode("utf-8")  # without a byte-order mark
    if not text.strip():
        raise InputError(f"{filename}: the file is empty")
    _prescan(data, fmt, filename)
    quads = _parse(data, fmt, filename)
    # only the readings whose IRIs the text may hold: most files pay one search of the bytes
    readings = [reading for reading in _READINGS if reading.may_occur(data)]
    moved = _normalise(quads, readings)
    _check_terms(quads, fmt, filename)
    _add_notes(notes, filename, readings, moved)
    return quads


def read_as_stored(
    triples: list[ox.Triple], filename: str, notes: list[str] | None = None
) -> list[ox.Triple]:
    """The triples of a spreadsheet (clusterpolisee.templates) with the IRIs of a cell read as
    :func:`read_rdf` reads a file's (a full former-form NACE address gets the EU's form), and
    the same notes, so a submission's report says the same whatever its format. A workbook is
    zipped, so there are no bytes to search first; spreadsheets are small."""
    quads = [ox.Quad(t.subject, t.predicate, t.object) for t in triples]
    moved = _normalise(quads, _READINGS)
    _add_notes(notes, filename, _READINGS, moved)
    return [quad.triple for quad in quads]


def refuse_named_graphs(quads: Iterable[ox.Quad]) -> list[ox.Triple]:
    """The triples of the default graph; InputError naming any named graph in the input.

    A submission cannot choose where it is stored: the pipeline puts it in the partner's
    graph. So TriG/N-Quads input must use the default graph only.
    """
    quads = list(quads)
    default = ox.DefaultGraph
    graphs = {str(q.graph_name) for q in quads if type(q.graph_name) is not default}
    if graphs:
        shown = ", ".join(sorted(graphs)[:5]) + (" ..." if len(graphs) > 5 else "")
        raise InputError(
            f"the input puts statements into named graph(s) {shown}; a submission cannot "
            "choose its target graph: put everything in the default graph"
        )
    return [q.triple for q in quads]


# -- text checks -----------------------------------------------------------------------------


def _check_text(data: bytes, filename: str) -> str:
    """Decode UTF-8 (dropping a byte-order mark) with clear messages for other encodings, and
    normalise the text to NFC (W3C Character Model): "Č" sent as C + combining caron is stored
    as the one character Č, so searches, sh:maxLength and exact matches see one form. CSV
    files are read through here too; escaped literals (\\u030C) are normalised after parsing
    (:func:`_normalise`)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError(f"{filename}: the file is UTF-16 encoded; save it as UTF-8")
    head = data[:4096]
    if b"\x00" in head:
        if _looks_utf16(head):
            raise InputError(f"{filename}: the file looks UTF-16 encoded; save it as UTF-8")
        raise InputError(f"{filename}: this is a binary file, not RDF text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(_not_utf8(data, exc.start, filename)) from None
    if "\x00" in text:
        raise InputError(f"{filename}: this is a binary file, not RDF text")
    text = text.removeprefix("\ufeff")
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def _normalise(quads: list[ox.Quad], readings: Sequence["_Reading"]) -> list[Counter[str]]:
    """Rebuild, in place and only where needed, the quads whose literals are not in NFC
    (those written with escapes such as \\u030C are only composed here, after parsing) and
    those naming an IRI that one of ``readings`` reads in another form (subject, predicate,
    object or a literal's datatype). Returns, for each reading, how often each IRI was read
    so. One pass over the quads, which a large submission has a million of: without
    ``readings`` it costs what the NFC check alone did."""
    literal, is_nfc = ox.Literal, unicodedata.is_normalized
    moved: list[Counter[str]] = [Counter() for _ in readings]
    for i, quad in enumerate(quads):
        o = quad.object
        nfc = type(o) is literal and not o.value.isascii() and not is_nfc("NFC", o.value)
        if nfc:
            o = _literal(unicodedata.normalize("NFC", o.value), o.language, o.datatype)
        if readings:
            s, p, o, changed = _read_terms(quad.subject, quad.predicate, o, readings, moved)
            if changed:
                quads[i] = ox.Quad(s, p, o, quad.graph_name)
                continue
        if nfc:
            quads[i] = ox.Quad(quad.subject, quad.predicate, o, quad.graph_name)
    return moved


def _literal(value: str, language: str | None, datatype: ox.NamedNode) -> ox.Literal:
    if language:
        return ox.Literal(value, language=language)
    return ox.Literal(value, datatype=datatype)


# -- IRIs read in another form than written ----------------------------------------------------


@dataclass(frozen=True)
class _Reading:
    """IRIs that are stored in another form than a sender wrote them, because the shapes and
    queries know only one form: every such IRI starts with ``start``; ``current`` gives the
    form stored (None: keep the IRI); ``may_occur`` tells from the bytes, cheaply, whether a
    file may hold one (False spares it a look at every term); ``note`` tells the sender
    (filename, how often each IRI was read so)."""

    start: str
    current: Callable[[str], str | None]
    may_occur: Callable[[bytes], bool]
    note: Callable[[str, Counter[str]], str]


def _read_terms(
    s: ox.NamedNode | ox.BlankNode,
    p: ox.NamedNode,
    o: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple,
    readings: Sequence[_Reading],
    moved: list[Counter[str]],
) -> tuple:
    """(s, p, o, changed) with each IRI in them, a literal's datatype included, in the form
    ``readings`` store; ``moved`` counts the IRIs read so, per reading."""
    named = ox.NamedNode
    changed = False
    if type(s) is named and (new := _read_iri(s.value, readings, moved)):
        s, changed = new, True
    if new := _read_iri(p.value, readings, moved):
        p, changed = new, True
    if type(o) is named:
        if new := _read_iri(o.value, readings, moved):
            o, changed = new, True
    elif (
        type(o) is ox.Literal
        and not o.language
        and (new := _read_iri(o.datatype.value, readings, moved))
    ):
        o, changed = _literal(o.value, None, new), True
    return s, p, o, changed


def _read_iri(
    iri: str, readings: Sequence[_Reading], moved: list[Counter[str]]
) -> ox.NamedNode | None:
    """The IRI as stored, if a reading changes it, else None."""
    for reading, counts in zip(readings, moved, strict=True):
        if iri.startswith(reading.start) and (current := reading.current(iri)) is not None:
            counts[iri] += 1
            return ox.NamedNode(current)
    return None


def _add_notes(
    notes: list[str] | None,
    filename: str,
    readings: Sequence[_Reading],
    moved: list[Counter[str]],
) -> None:
    if notes is not None:
        notes.extend(r.note(filename, m) for r, m in zip(readings, moved, strict=True) if m)


def _shown(moved: Counter[str]) -> str:
    """A few of the IRIs read otherwise, for a note: "<a>, <b>, <c> and 4 more"."""
    shown = ", ".join(f"<{iri}>" for iri, _n in moved.most_common(3))
    return shown + (f" and {len(moved) - 3:,} more" if len(moved) > 3 else "")


def _may_escape(data: bytes) -> bool:
    """Whether the text has an escape that can spell any character of an IRI (\\u002E in
    Turtle, N-Triples and JSON, &#46; in XML), so no search of the bytes can rule an IRI
    out. The escapes are looked for only after one byte, "\\" or "&", is found: a search for
    one byte is ten times faster than for two, and most files have neither."""
    if b"\\" in data and (b"\\u" in data or b"\\U" in data):
        return True
    return b"&" in data and b"&#" in data


# schema.org's pages show its terms with https, and it accepts both forms, so partners write
# either; the ontology and shapes use http (namespaces.SCHEMA). Stored as sent, an https term
# would miss its shapes (sh:path schema:url) and every query. Reading the two as one keeps
# one form in the store. Enumeration members (https://schema.org/Monday) are objects and a
# literal may be typed https://schema.org/Date, so every position is mapped.
_SCHEMA_HTTP = str(SCHEMA)
# Text a file must contain to name an https schema.org IRI as partners write it: the IRI
# ("https://schema.org", or in JSON "https:\/\/schema.org" as PHP writes it), or an escape
# (_may_escape). Their absence, found by a search of the bytes, spares a submission a look at
# every term (the benchmarked one, with http://schema.org/url, too). A prefix that splits the
# IRI in two (@prefix s: <https://sche> . s:ma.org\/url) is not looked for.
_SCHEMA_HTTPS_TEXT = SCHEMA_HTTPS.rstrip("/").encode()
_SCHEMA_HTTPS_JSON = _SCHEMA_HTTPS_TEXT.replace(b"/", b"\\/")


def _may_name_schema_https(data: bytes) -> bool:
    """Whether the text may spell an IRI of https://schema.org/ (see _SCHEMA_HTTPS_TEXT)."""
    if _SCHEMA_HTTPS_TEXT in data:
        return True
    return (b"\\" in data and _SCHEMA_HTTPS_JSON in data) or _may_escape(data)


def _schema_http(iri: str) -> str:
    return _SCHEMA_HTTP + iri[len(SCHEMA_HTTPS) :]


def _schema_note(filename: str, moved: Counter[str]) -> str:
    """The report's note on the https schema.org IRIs read as http, naming a few."""
    return (
        f"{filename}: {moved.total():,} use(s) of schema.org terms written with "
        f"{SCHEMA_HTTPS} ({_shown(moved)}) were read as {_SCHEMA_HTTP}, the form the shapes, "
        "the stored data and the queries use (schema.org accepts both as the same terms). "
        f"Nothing to fix; write {_SCHEMA_HTTP} to have no such note"
    )


# NACE IRIs in the form we wrote until 2026-12-07 (.../nace2/C29, .../nace2/C29.1), which the
# EU never minted: read as the EU's (.../nace2/29, .../nace2/291; clusterpolisee.nace), so
# partners' files and tools made for the former contract keep working. Only a division with
# its own section letter is read so; .../nace2/J29 stays, and the shape refuses it.
# Text a file must contain to name one: the IRI whole (nace2/C2...), or the namespace written
# as a prefix, base or vocabulary (nace2/> or nace2/" before a delimiter) together with a
# local name that looks former (:C29, <C29, "C29). A file that names sectors the current way
# pays two searches of its bytes, three where it declares the namespace (as the benchmarked
# ones do, with nace:29); a look at every term only where a former-looking local name
# follows such a declaration. What is missed (a prefix that
# splits the namespace) stays as written and meets the shape's message, so is never stored.
_NACE_FORMER_WHOLE = re.compile(rb"nace2/[A-U][0-9]")
_NACE_DECLARED = re.compile(rb"nace2(?:/|\\/)[>\"']")
_NACE_FORMER_LOCAL = re.compile(rb"[:<\"'][A-U][0-9]{2}(?![0-9])")


def _may_name_nace_former(data: bytes) -> bool:
    """Whether the text may spell a NACE IRI in the former form (see _NACE_FORMER_WHOLE)."""
    if b"nace2" not in data:
        return _may_escape(data)
    if _NACE_FORMER_WHOLE.search(data) or b"nace2\\/" in data or _may_escape(data):
        return True
    return bool(_NACE_DECLARED.search(data) and _NACE_FORMER_LOCAL.search(data))


def _nace_note(filename: str, moved: Counter[str]) -> str:
    """The report's note on the former-form NACE IRIs read in the EU's form, naming a few."""
    return (
        f"{filename}: {moved.total():,} use(s) of NACE Rev.2 addresses in the former form, "
        f"with the section letter before the division ({_shown(moved)}), were read in the "
        f"form of the EU's vocabulary, {nace.NAMESPACE}{{code}} (C29 as 29, C29.1 as 291, "
        "C29.10 as 2910), the form the shapes, the stored data and the queries use. Nothing "
        "to fix; write that form to have no such note"
    )


#: Every reading, in the order tried (each IRI is read by the first whose start it has).
_READINGS = (
    _Reading(SCHEMA_HTTPS, _schema_http, _may_name_schema_https, _schema_note),
    _Reading(nace.NAMESPACE, nace.current_iri, _may_name_nace_former, _nace_note),
)


# Single-byte code pages partners' spreadsheets save in, most common first, with names a
# person recognises (Excel's "Save As" lists them by these names).
_CODE_PAGES = {
    "cp1250": "Windows-1250 (Central European: Serbian Latin, Croatian, Romanian, Slovenian)",
    "cp1251": "Windows-1251 (Cyrillic: Serbian, Bulgarian, Macedonian)",
    "cp1253": "Windows-1253 (Greek)",
    "cp1252": "Windows-1252 (Western European)",
}


def _not_utf8(data: bytes, offset: int, filename: str) -> str:
    """The message for a file that is not UTF-8: where (column in characters), which code
    pages it probably is, and how to save it as UTF-8."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    likely = _likely_code_pages(data)
    guess = (
        f"it looks like {' or '.join(_CODE_PAGES[c] for c in likely)}. "
        if likely
        else "it is in some other encoding. "
    )
    return (
        f"{filename}: line {line}, column {column}: invalid UTF-8 (byte 0x{data[offset]:02x}): "
        f"the file is not saved as UTF-8; {guess}Save the file as UTF-8: in Excel, "
        "Save As > 'CSV UTF-8 (Comma delimited)'; in a text editor, choose the encoding "
        "UTF-8 when saving"
    )


_WORD = re.compile(r"[^\W\d_]+")


def _likely_code_pages(data: bytes) -> list[str]:
    """The code pages of :data:`_CODE_PAGES` that decode ``data`` to letters, most plausible
    first. A decoding scores a point for each word with non-ASCII letters that reads like a
    word (one script, lower/upper/title case; a Latin word mostly of ASCII letters) and loses
    two for one that does not (Cyrillic bytes read as Windows-1250 give "Íîâč": mostly
    accented letters)."""
    scored = []
    for order, code in enumerate(_CODE_PAGES):
        try:
            text = data.decode(code)
        except UnicodeDecodeError:
            continue
        odd = [c for c in text if not c.isascii() and not (c.isalpha() or c.isspace())]
        score = -2 * len(set(odd) - set("–—’‘“”„«»…°€·\u00a0"))
        for word in _WORD.findall(text):
            if word.isascii() or len(word) < 3:
                continue
            scripts = {unicodedata.name(c, "?").split()[0] for c in word if c.isalpha()}
            cased = word.islower() or word.isupper() or word.istitle()
            ascii_share = sum(c.isascii() for c in word) / len(word)
            latin_ok = scripts != {"LATIN"} or ascii_share >= 0.5
            score += 1 if len(scripts) == 1 and cased and latin_ok else -2
        if score > 0:
            scored.append((-score, order, code))
    return [code for _score, _order, code in sorted(scored)]


def _looks_utf16(head: bytes) -> bool:
    """One half of the bytes almost all NUL, the other half printable ASCII."""
    for zeros, chars in ((head[1::2], head[0::2]), (head[0::2], head[1::2])):
        printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in chars)
        if zeros.count(0) >= 0.9 * len(zeros) and printable >= 0.9 * len(chars) > 4:
            return True
    return False


# -- nesting pre-scan --------------------------------------------------------------------------

# What cannot contain structure: strings, IRIs and comments (Turtle family), strings (JSON).
_TURTLE_OPAQUE = re.compile(
    rb'"""(?:[^"\\]|\\.|"(?!""))*"""'
    rb"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    rb'|"(?:[^"\\\n]|\\.)*"'
    rb"|'(?:[^'\\\n]|\\.)*'"
    rb"|<[^<>\s]*>"
    rb"|#[^\n]*",
    re.DOTALL,
)
_JSON_OPAQUE = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_ALL_BYTES = bytes(range(256))


def _bracket_depth(
    data: bytes, opaque: re.Pattern[bytes], opening: bytes, closing: bytes, limit: int
) -> int:
    """Deepest bracket nesting outside opaque tokens, stopping early beyond ``limit``."""
    if sum(data.count(bytes([b])) for b in opening) <= limit:
        return 0  # cannot be deeper than the number of opening brackets
    keep = opening + closing
    brackets = opaque.sub(b"", data).translate(None, _ALL_BYTES.translate(None, keep))
    depth = deepest = 0
    for byte in brackets:
        if byte in opening:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def _prescan(data: bytes, fmt: str, filename: str) -> None:
    name = FORMAT_NAMES[fmt]
    too_deep = (
        f"{filename}: the {name} is nested more than {MAX_DEPTH} levels deep; "
        "flatten it (give nested resources their own IRIs)"
    )
    if fmt in ("turtle", "trig"):
        if _bracket_depth(data, _TURTLE_OPAQUE, b"[(", b"])", MAX_DEPTH) > MAX_DEPTH:
            raise InputError(too_deep)
    elif fmt == "jsonld":
        # A JSON-LD node costs up to four JSON levels (object, array, @list object, array).
        if _bracket_depth(data, _JSON_OPAQUE, b"{[", b"}]", 4 * MAX_DEPTH) > 4 * MAX_DEPTH:
            raise InputError(too_deep)
    elif fmt == "rdfxml":
        _prescan_xml(data, filename, too_deep)


_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class _XmlRefused(Exception):
    pass


def _prescan_xml(data: bytes, filename: str, too_deep: str) -> None:
    """Refuse DTDs and entity declarations, and element nesting beyond the limit, with expat
    (no DTD, so no entity expansion) before pyoxigraph sees the document."""
    unsafe = (
        f"{filename}: RDF/XML with a <!DOCTYPE> or <!ENTITY> declaration is refused "
        "(entities can expand without bound or point at files); remove the declaration"
    )
    if _DTD.search(data):
        raise InputError(unsafe)
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    depth = 0
    # An RDF node costs two XML levels (property element, node element).
    limit = 2 * MAX_DEPTH + 2

    def start(_name: str, _attrs: dict) -> None:
        nonlocal depth
        depth += 1
        if depth > limit:
            raise _XmlRefused(too_deep)

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    def doctype(*_args: object) -> None:
        raise _XmlRefused(unsafe)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    try:
        parser.Parse(data, True)
    except _XmlRefused as exc:
        raise InputError(str(exc)) from None
    except expat.ExpatError as exc:
        raise InputError(
            f"{filename}: syntax error in RDF/XML at line {exc.lineno}, column "
            f"{exc.offset + 1}: {expat.ErrorString(exc.code)}"
        ) from None


# -- parsing -----------------------------------------------------------------------------------


def _parse(data: bytes, fmt: str, filename: str) -> list[ox.Quad]:
    name = FORMAT_NAMES[fmt]
    base = _SENTINEL_BASE if fmt in ("jsonld", "rdfxml") else None
    try:
        return list(ox.parse(data, format=FORMATS[fmt], base_iri=base, rename_blank_nodes=True))
    except SyntaxError as exc:
        message = str(exc.msg)
        if "LoadDocumentCallback" in message and (schema := _schema_context_message(data)):
            raise InputError(f"{filename}: {schema}") from None
        raise InputError(f"{filename}: {_syntax_message(message, name)}") from None
    except (ValueError, OSError) as exc:
        raise InputError(f"{filename}: cannot read {name}: {exc}") from None
    except MemoryError:
        # pyoxigraph's parser buffer is bounded (16 MiB): one token (e.g. a literal) larger
        # than that raises MemoryError rather than SyntaxError.
        raise InputError(
            f"{filename}: a single value in the {name} is too large to read (the limit is "
            "16 MB per literal or IRI); shorten it"
        ) from None


# What to write in place of "@context": "https://schema.org": the vocabulary, with "url" (the
# schema.org term the shapes check) a link as schema.org's own context declares it. No copy
# of that context is kept: it types many values (dates as schema:Date, links as IRIs), and
# an approximation would change partners' data without a word.
_SCHEMA_INLINE = json.dumps({"@vocab": str(SCHEMA), "url": {"@type": "@id"}})


def _schema_context_message(data: bytes) -> str | None:
    """What to do about a JSON-LD "@context" naming schema.org (fetched, it is schema.org's
    context): the inline context to use instead. None when no remote context is schema.org."""
    urls = _remote_contexts(data)
    host = urlsplit(str(SCHEMA)).netloc
    ours = [u for u in urls if _host(u) in (host, f"www.{host}")]
    if not ours:
        return None
    others = [u for u in urls if u not in ours]
    also = (
        f" The other remote context(s) ({', '.join(others[:3])}) must be inlined too."
        if others
        else ""
    )
    return (
        f'the JSON-LD\'s "@context" names "{ours[0]}", a remote context, and nothing is fetched '
        f'from the web. Put this inline context in its place: "@context": {_SCHEMA_INLINE}. '
        'Its terms are schema.org\'s, and a web address given as "url" is a link, as with '
        "schema.org's context; write any other value that is meant as a link as "
        '{"@id": "https://..."}, or it is read as text.' + also
    )


def _host(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:  # e.g. "Invalid IPv6 URL" for 'http://[x/'
        return ""


def _remote_contexts(data: bytes) -> list[str]:
    """The URLs a JSON-LD document gives as contexts ("@context" strings, alone or in a list,
    and "@import"), in no particular order. The document passed the nesting pre-scan."""
    try:
        stack = [json.loads(data)]
    except ValueError:
        return []
    found: dict[str, None] = {}
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("@context", "@import"):
                    values = value if isinstance(value, list) else [value]
                    found.update((v, None) for v in values if isinstance(v, str))
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return list(found)


def _syntax_message(message: str, name: str) -> str:
    if "LoadDocumentCallback" in message:
        return (
            "the JSON-LD refers to a remote context (@context or @import with a URL); "
            "nothing is fetched: put the context inline in the file"
        )
    hint = ""
    if "No scheme found" in message:
        hint = (
            " (relative IRIs are not accepted: write absolute IRIs such as "
            "https://w3id.org/clusterpolisee/id/partner/...)"
        )
    # Located errors read "Parser error at line 3 column 5: ..."; some (RDF/XML namespaces,
    # JSON-LD keywords) come without a position, and "at" would then point at nothing.
    location = message.removeprefix("Parser error at ")
    if location != message:
        return f"syntax error in {name} at {location}{hint}"
    return f"syntax error in {name} (no position given): {message}{hint}"


def _check_terms(quads: list[ox.Quad], fmt: str, filename: str) -> None:
    """Refuse IRIs resolved against the sentinel base, and blank-node chains or RDF lists
    deeper than MAX_DEPTH."""
    if fmt in ("jsonld", "rdfxml"):
        _check_sentinel(quads, filename)
    blank = ox.BlankNode
    children: dict[ox.BlankNode, list[ox.BlankNode]] = {}
    roots: list[ox.BlankNode] = []
    has_parent: set[ox.BlankNode] = set()
    for quad in quads:
        o = quad.object
        kind = type(o)
        if kind is ox.Triple:
            raise InputError(
                f"{filename}: RDF 1.2 triple terms and reifications (<<( )>>, << >>) are not "
                "accepted in submissions; state the facts as plain triples"
            )
        if kind is not blank:
            continue
        s = quad.subject
        if type(s) is blank:
            children.setdefault(s, []).append(o)
            has_parent.add(o)
        else:
            roots.append(o)
    if not children:
        return
    roots.extend(b for b in children if b not in has_parent)
    if _max_chain(children, roots) > MAX_DEPTH:
        raise InputError(
            f"{filename}: blank nodes are nested more than {MAX_DEPTH} levels deep "
            f"(or an RDF list has more than {MAX_DEPTH} items); flatten the data "
            "(give nested resources their own IRIs)"
        )


def _check_sentinel(quads: list[ox.Quad], filename: str) -> None:
    for quad in quads:
        for term in (quad.subject, quad.predicate, quad.object, quad.graph_name):
            if type(term) is ox.NamedNode and term.value.startswith(_SENTINEL_BASE):
                raise InputError(
                    f"{filename}: relative IRI <{term.value[len(_SENTINEL_BASE) :]}> is not "
                    "accepted: write absolute IRIs such as "
                    "https://w3id.org/clusterpolisee/id/partner/..."
                )


def _max_chain(children: dict[ox.BlankNode, list[ox.BlankNode]], roots: list) -> int:
    """Breadth-first depth of the blank-node forest (cycles are visited once)."""
    seen = set(roots)
    level, frontier = 1, list(dict.fromkeys(roots))
    while frontier and level <= MAX_DEPTH:
        nxt = []
        for node in frontier:
            for child in children.get(node, ()):
                if child not in seen:
                    seen.add(child)
                    nxt.append(child)
        if nxt:
            level += 1
        frontier = nxt
    return level
