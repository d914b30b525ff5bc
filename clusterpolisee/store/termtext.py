"""RDF terms as their N-Triples text, for the reasoning step's bulk reads and writes.

At 10M triples the reasoning step reads about 7 million (subject, object) pairs. As pyoxigraph
term objects that cost it 38 s, and hashing those objects again and again in sets cost more.
Oxigraph can instead write a SELECT's answer as TSV, in Rust and without holding the GIL, so
two reads run at once on two cores; the terms then arrive as the N-Triples text ``str()``
gives for a pyoxigraph term. Plain strings hash once and compare fast.

Two catches, both measured on pyoxigraph 0.5: TSV writes some literals in Turtle's short
form (``5`` for ``"5"^^xsd:integer``, ``1.5``, ``true``), and it leaves control characters
other than tab, newline and carriage return, and the noncharacters U+FFFE and U+FFFF, raw
where ``str()`` escapes them (``\\u0001``, ``\\b``, ``\\uFFFE``). ``tsv_rows`` spells out
and escapes both, so every term has exactly one text, the one ``str(term)`` gives.
"""

import re
from collections.abc import Iterable, Iterator, Sequence

import pyoxigraph as ox

XSD = "http://www.w3.org/2001/XMLSchema#"
#: (subject, predicate, object), each as N-Triples text.
TextTriple = tuple[str, str, str]


_CONTROL_ESCAPES = {
    c: "\\b" if c == 8 else "\\f" if c == 12 else f"\\u{c:04X}"
    for c in [*range(0x20), 0x7F, 0xFFFE, 0xFFFF]
    if c not in (9, 10, 13)
}
_RAW_CONTROL = re.compile("[" + "".join(re.escape(chr(c)) for c in _CONTROL_ESCAPES) + "]")


def _long_form(term: str) -> str:
    """A TSV term in N-Triples form, as ``str()`` of the pyoxigraph term gives it."""
    if term[:1] == '"':
        return term.translate(_CONTROL_ESCAPES) if _RAW_CONTROL.search(term) else term
    if term[:1] in ("<", "_") or not term:
        return term
    if term in ("true", "false"):
        kind = "boolean"
    elif "e" in term or "E" in term:
        kind = "double"
    elif "." in term:
        kind = "decimal"
    else:
        kind = "integer"
    return f'"{term}"^^<{XSD}{kind}>'


def tsv_rows(data: bytes) -> Iterator[list[str]]:
    """The rows of a SPARQL TSV answer (header skipped), every term in N-Triples form."""
    lines = data.decode("utf-8").split("\n")
    for line in lines[1:]:
        if line:
            yield [_long_form(term) for term in line.split("\t")]


def fact_pairs(rows: Iterable[Sequence[str]]) -> set[tuple[str, str]]:
    """(subject, object) pairs of one predicate's facts, with one string per distinct object
    text. Objects repeat (a few hundred regions, themes and classes for a million subjects),
    and the reasoning step looks resources up and counts them by their objects: with the
    equal objects one string, those touch a few strings already in the CPU's cache instead
    of a million scattered ones (at 10M triples the tallies took 11.5-12.7 s instead of
    13.1-15.1 s, and reading took no longer)."""
    same: dict[str, str] = {}
    return {(s, same.setdefault(o, o)) for s, o in rows}


def select_text(store: ox.Store, query: str) -> Iterator[list[str]]:
    """Run a SELECT on ``store`` and give its rows as N-Triples text (see the module note)."""
    data = store.query(query).serialize(format=ox.QueryResultsFormat.TSV)
    return tsv_rows(data)


_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))")
_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _unescape(match: re.Match) -> str:
    code = match.group(1) or match.group(2)
    return chr(int(code, 16)) if code else _ECHAR.get(match.group(3), match.group(0))


def literal_parts(text: str) -> tuple[str, str | None] | None:
    """(lexical value, language) of a literal's text; None for an IRI or a blank node. The
    language is the tag without an RDF 1.2 base direction (``@ar--rtl`` gives ``ar``), as
    pyoxigraph's ``Literal.language`` gives it."""
    if not text.startswith('"'):
        return None
    end = text.rfind('"')  # the language tag or datatype IRI holds no raw quote
    body, rest = text[1:end], text[end + 1 :]
    value = _ESCAPE.sub(_unescape, body) if "\\" in body else body
    return value, rest[1:].split("--", 1)[0] if rest.startswith("@") else None


def to_triples(triples: Iterable[TextTriple]) -> list[ox.Triple]:
    """Text triples as pyoxigraph triples (parsed by Oxigraph's N-Triples reader)."""
    text = "".join(f"{s} {p} {o} .\n" for s, p, o in triples)
    return [q.triple for q in ox.parse(text, ox.RdfFormat.N_TRIPLES)]


def as_text(triple: ox.Triple) -> TextTriple:
    return str(triple.subject), str(triple.predicate), str(triple.object)


def term_nt(t: object) -> str:
    """One RDF term in N-Triples, a triple term as RDF 1.2 writes it: ``<<( s p o )>>``
    (pyoxigraph's ``str`` of a Triple leaves out the outer brackets)."""
    if isinstance(t, ox.Triple):
        return f"<<( {term_nt(t.subject)} {term_nt(t.predicate)} {term_nt(t.object)} )>>"
    return str(t)
