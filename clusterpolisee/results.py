"""Serialise query results: SPARQL JSON / XML / CSV / TSV, RDF syntaxes, a terminal table.

Written against the W3C result formats so every backend's answer (rows of pyoxigraph terms)
comes out the same.
"""

import csv
import io
import json
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from .store.base import QueryResult, Term
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
    """One RDF term in the SPARQL 1.1 JSON results format."""
    if isinstance(t, ox.NamedNode):
        return {"type": "uri", "value": t.value}
    if isinstance(t, ox.BlankNode):
        return {"type": "bnode", "value": t.value}
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


def term_xml(t: Term) -> str:
    """One RDF term in the SPARQL XML results format."""
    if isinstance(t, ox.NamedNode):
        return f"<uri>{escape(t.value)}</uri>"
    if isinstance(t, ox.BlankNode):
        return f"<bnode>{escape(t.value)}</bnode>"
    if t.language:
        return f"<literal xml:lang={quoteattr(t.language)}>{escape(t.value)}</literal>"
    if t.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        return f"<literal datatype={quoteattr(t.datatype.value)}>{escape(t.value)}</literal>"
    return f"<literal>{escape(t.value)}</literal>"


def to_xml(result: QueryResult) -> str:
    out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">']
    out.append(
        "<head>" + "".join(f"<variable name={quoteattr(v)}/>" for v in result.variables) + "</head>"
    )
    if result.kind == "ask":
        out.append(f"<boolean>{'true' if result.boolean else 'false'}</boolean>")
    else:
        out.append("<results>")
        for row in result.rows:
            cells = "".join(
                f"<binding name={quoteattr(k)}>{term_xml(v)}</binding>" for k, v in row.items()
            )
            out.append(f"<result>{cells}</result>")
        out.append("</results>")
    out.append("</sparql>\n")
    return "\n".join(out)


def _plain(t: Term | None) -> str:
    return "" if t is None else t.value


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
        lines.append("\t".join(str(row[v]) if v in row else "" for v in result.variables))
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
