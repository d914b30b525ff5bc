"""Serialise query results: SPARQL JSON / XML / CSV / TSV, RDF syntaxes, a terminal table.

Written against the W3C result formats so every backend's answer (rows of pyoxigraph terms)
comes out the same.
"""

import csv
import io
import json
import re
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from .store.base import QueryResult, Term
from .store.termtext import term_nt
from .xlsx import MEDIA_TYPE as XLSX_MEDIA_TYPE

#: "xlsx" is written by ``xlsx.workbook`` as bytes, not by ``render``.
TABLE_FORMATS = {"table", "csv", "tsv", "json", "xml", "xlsx"}
GRAPH_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}
MEDIA_TYPES = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "table": "text/plain",
    "xlsx": XLSX_MEDIA_TYPE,
    "turtle": "text/turtle",
    "ntriples": "application/n-triples",
    "jsonld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
}


def term_json(t: Term) -> dict:
    """One RDF term in the SPARQL JSON results format; a triple term (RDF 1.2) as the
    SPARQL 1.2 draft writes it: ``{"type": "triple", "value": {"subject": ..., ...}}``."""
    if isinstance(t, ox.NamedNode):
        return {"type": "uri", "value": t.value}
    if isinstance(t, ox.BlankNode):
        return {"type": "bnode", "value": t.value}
    if isinstance(t, ox.Triple):
        return {
            "type": "triple",
            "value": {
                "subject": term_json(t.subject),
                "predicate": term_json(t.predicate),
                "object": term_json(t.object),
            },
        }
    out = {"type": "literal", "value": t.value}
    if t.language:
        out["xml:lang"] = t.language
    elif t.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        out["datatype"] = t.datatype.value
    return out


def to_json(result: QueryResult) -> str:
    if result.kind == "ask":
        return json.dumps({"head": {}, "boolean": result.boolean})
    bindings = [{k: term_json(v) for k, v in row.items()} for row in result.rows]
    return json.dumps(
        {"head": {"vars": result.variables}, "results": {"bindings": bindings}}, ensure_ascii=False
    )


#: What XML 1.0 cannot carry, not even as a character reference (its production "Char").
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Unrepresentable(ValueError):
    """An answer the asked format cannot carry: a character XML 1.0 forbids in a SPARQL XML
    answer or in RDF/XML. The message names the character and where it is, and the formats
    that can carry it; the web answers 406 with it, the CLI an error."""


def _xml_text(text: str) -> str:
    """``text`` escaped for XML content or a quoted attribute; a carriage return kept as a
    reference (a parser would turn a raw one into a line feed). Raises ``_Forbidden``."""
    bad = XML_FORBIDDEN.search(text)
    if bad:
        raise _Forbidden(bad.group())
    return escape(text, {"\r": "&#13;"})


class _Forbidden(Exception):
    """A character XML 1.0 cannot carry; ``Unrepresentable`` once where it is known."""

    def __init__(self, char: str) -> None:
        super().__init__(char)
        self.char = char


def codepoint(char: str) -> str:
    return f"U+{ord(char):04X}"


def term_xml(t: Term) -> str:
    """One RDF term in the SPARQL XML results format; a triple term (RDF 1.2) as the SPARQL
    1.2 draft writes it: ``<triple><subject>..</subject><predicate>..</predicate>
    <object>..</object></triple>``. Raises ``Unrepresentable`` for a character XML 1.0
    cannot carry (``binding_xml`` says where it is)."""
    try:
        return _term_xml(t)
    except _Forbidden as exc:
        raise Unrepresentable(
            f"this answer holds {codepoint(exc.char)}, which XML 1.0 cannot carry; "
            "ask for JSON, CSV or TSV"
        ) from None


def _term_xml(t: Term) -> str:
    if isinstance(t, ox.NamedNode):
        return f"<uri>{_xml_text(t.value)}</uri>"
    if isinstance(t, ox.BlankNode):
        return f"<bnode>{_xml_text(t.value)}</bnode>"
    if isinstance(t, ox.Triple):
        return (
            f"<triple><subject>{_term_xml(t.subject)}</subject>"
            f"<predicate>{_term_xml(t.predicate)}</predicate>"
            f"<object>{_term_xml(t.object)}</object></triple>"
        )
    text = _xml_text(t.value)
    if t.language:
        return f"<literal xml:lang={quoteattr(t.language)}>{text}</literal>"
    if t.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        return f"<literal datatype={quoteattr(t.datatype.value)}>{text}</literal>"
    return f"<literal>{text}</literal>"


def binding_xml(name: str, t: Term, row: int) -> str:
    """``<binding>`` of variable ``name`` in the ``row``-th result (from 1). Raises
    ``Unrepresentable`` naming the character, the variable and the row when XML 1.0 cannot
    carry the term."""
    try:
        return f"<binding name={quoteattr(name)}>{_term_xml(t)}</binding>"
    except _Forbidden as exc:
        raise Unrepresentable(
            f"this answer holds {codepoint(exc.char)} in ?{name} of row {row}, which XML 1.0 "
            "cannot carry; ask for JSON, CSV or TSV"
        ) from None


def check_rdf_xml(triples: list[ox.Triple]) -> None:
    """Raise ``Unrepresentable`` when RDF/XML cannot carry ``triples``: a literal (or a name)
    holding a character XML 1.0 forbids (pyoxigraph's writer puts it in raw, which no XML
    parser reads)."""
    for triple in triples:
        for term in (triple.subject, triple.predicate, triple.object):
            try:
                _term_xml(term)
            except _Forbidden as exc:
                shown = " ".join(
                    term_nt(t) for t in (triple.subject, triple.predicate, triple.object)
                )
                shown = shown if len(shown) <= 200 else shown[:199] + "…"
                raise Unrepresentable(
                    f"this graph holds {codepoint(exc.char)} in the triple {shown}, which "
                    "XML 1.0 cannot carry; ask for Turtle, N-Triples or JSON-LD"
                ) from None


def check_json_ld(triples: list[ox.Triple]) -> None:
    """Raise ``Unrepresentable`` when JSON-LD cannot carry ``triples``: a triple term (RDF
    1.2), which JSON-LD 1.1 has no form for (pyoxigraph's writer fails with an OSError)."""
    for triple in triples:
        if isinstance(triple.object, ox.Triple):
            shown = " ".join(term_nt(t) for t in (triple.subject, triple.predicate, triple.object))
            shown = shown if len(shown) <= 200 else shown[:199] + "…"
            raise Unrepresentable(
                f"this graph holds a triple term (RDF 1.2) in the triple {shown}, which "
                "JSON-LD 1.1 cannot carry; ask for Turtle or N-Triples"
            )


def to_xml(result: QueryResult) -> str:
    """A SPARQL XML answer; raises ``Unrepresentable`` for a character XML 1.0 cannot carry."""
    out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">']
    out.append(
        "<head>" + "".join(f"<variable name={quoteattr(v)}/>" for v in result.variables) + "</head>"
    )
    if result.kind == "ask":
        out.append(f"<boolean>{'true' if result.boolean else 'false'}</boolean>")
    else:
        out.append("<results>")
        for n, row in enumerate(result.rows, 1):
            cells = "".join(binding_xml(k, v, n) for k, v in row.items())
            out.append(f"<result>{cells}</result>")
        out.append("</results>")
    out.append("</sparql>\n")
    return "\n".join(out)


def _plain(t: Term | None) -> str:
    """A term as plain text (CSV, the table): its value; a triple term in N-Triples."""
    if t is None:
        return ""
    if isinstance(t, ox.Triple):
        return term_nt(t)
    return t.value


#: The one column of an ASK answer in CSV and TSV. The W3C formats define no boolean form
#: (an ASK answer was empty); this is the web's /sparql convention (webapp/renderer.py), so
#: the CLI and the endpoint give the same file: a column "boolean" and a line true or false.
ASK_COLUMN = "boolean"


def ask_delimited(answer: bool, fmt: str) -> str:
    """A yes or no in CSV or TSV: the column ASK_COLUMN and a line true or false."""
    word = "true" if answer else "false"
    return f"{ASK_COLUMN}\r\n{word}\r\n" if fmt == "csv" else f"?{ASK_COLUMN}\n{word}\n"


def to_delimited(result: QueryResult, fmt: str) -> str:
    """CSV (plain values) or TSV (terms in SPARQL syntax), as the W3C formats define; an ASK
    answer as the one column ASK_COLUMN."""
    if result.kind == "ask":
        return ask_delimited(bool(result.boolean), fmt)
    buf = io.StringIO()
    if fmt == "csv":
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(result.variables)
        for row in result.rows:
            w.writerow([_plain(row.get(v)) for v in result.variables])
        return buf.getvalue()
    lines = ["\t".join("?" + v for v in result.variables)]
    for row in result.rows:
        lines.append("\t".join(term_nt(row[v]) if v in row else "" for v in result.variables))
    return "\n".join(lines) + "\n"


def to_table(result: QueryResult, width: int = 60) -> str:
    if result.kind == "ask":
        return "yes\n" if result.boolean else "no\n"
    cols = result.variables
    cells = [[_plain(r.get(c)).replace("\n", " ")[:width] for c in cols] for r in result.rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join([line, rule, *body, f"({len(cells)} rows)"]) + "\n"


def to_graph(triples: list[ox.Triple], fmt: str) -> str:
    if fmt == "rdfxml":
        check_rdf_xml(triples)
    elif fmt == "jsonld":
        check_json_ld(triples)
    prefixes = {
        "cpo": "https://w3id.org/clusterpolisee/ontology#",
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    }
    kwargs = {"prefixes": prefixes} if fmt == "turtle" else {}
    return ox.serialize(triples, format=GRAPH_FORMATS[fmt], **kwargs).decode("utf-8")


def render(result: QueryResult, fmt: str) -> str:
    """Serialise ``result`` as ``fmt``; the caller has checked the format fits the kind."""
    if is_graph(result.kind):
        return to_graph(result.triples, fmt)
    if fmt == "json":
        return to_json(result)
    if fmt == "xml":
        return to_xml(result)
    if fmt in ("csv", "tsv"):
        return to_delimited(result, fmt)
    return to_table(result)


def is_graph(kind: str) -> bool:
    """Whether a query of ``kind`` answers with triples (CONSTRUCT, DESCRIBE) and not rows."""
    return kind in ("construct", "describe")


def formats_for(kind: str) -> set[str]:
    return set(GRAPH_FORMATS) if is_graph(kind) else TABLE_FORMATS


def default_format(kind: str) -> str:
    """A table for rows and a yes or no, Turtle for a graph (which has no table)."""
    return "turtle" if is_graph(kind) else "table"
