"""Output formats, registered once: every result page gets them by suffix and by Accept.

A format applies to one or more result kinds: 'select' / 'ask' (SPARQL results), 'graph'
(RDF triples) and 'named' (the triples of one named graph, which TriG and N-Quads also
name). ``negotiate`` picks one from a URL suffix or the Accept header.
"""

import csv
import io
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from xml.sax.saxutils import quoteattr

import pyoxigraph as ox
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import NotAcceptable

from clusterpolisee import xlsx
from clusterpolisee.namespaces import PREFIXES
from clusterpolisee.results import (
    Unrepresentable,
    ask_delimited,
    binding_xml,
    check_json_ld,
    check_rdf_xml,
    term_json,
    term_nt,
)

from .database import Result


@dataclass(frozen=True)
class Format:
    suffix: str
    mimetype: str
    kinds: frozenset[str]
    render: Callable[..., bytes] | None  # None: HTML, rendered by the view
    aliases: tuple[str, ...] = ()
    #: Bytes, not text: no charset in its Content-Type.
    binary: bool = False
    #: A file to save, not to show (a workbook): sent as an attachment, and ``render`` also
    #: takes the ``xlsx.About`` of the request.
    attachment: bool = False

    @property
    def is_html(self) -> bool:
        return self.render is None


def sparql_json(r: Result) -> bytes:
    doc: dict = {"head": {"vars": r.vars} if r.kind == "select" else {}}
    if r.kind == "ask":
        doc["boolean"] = r.boolean
    else:
        doc["results"] = {
            "bindings": [
                {v: term_json(t) for v, t in zip(r.vars, row, strict=True) if t is not None}
                for row in r.rows
            ]
        }
    if r.truncated:
        doc["truncated"] = True
        doc["rowLimit"] = r.limit
    return json.dumps(doc, ensure_ascii=False).encode()


def sparql_xml(r: Result) -> bytes:
    out = [
        '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">',
        "<head>",
    ]
    out += [f"<variable name={quoteattr(v)}/>" for v in r.vars]
    out.append("</head>")
    if r.kind == "ask":
        out.append(f"<boolean>{'true' if r.boolean else 'false'}</boolean>")
    else:
        out.append("<results>")
        for n, row in enumerate(r.rows, 1):
            out.append("<result>")
            out += [binding_xml(v, t, n) for v, t in zip(r.vars, row, strict=True) if t is not None]
            out.append("</result>")
        out.append("</results>")
    out.append("</sparql>\n")
    return "\n".join(out).encode()


def _plain(t: object) -> str:
    if t is None:
        return ""
    if isinstance(t, ox.BlankNode):
        return f"_:{t.value}"
    if isinstance(t, ox.Triple):  # RDF 1.2: its N-Triples text, as in TSV
        return term_nt(t)
    return t.value


def sparql_csv(r: Result) -> bytes:
    if r.kind == "ask":
        return ask_delimited(bool(r.boolean), "csv").encode()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(r.vars)
    w.writerows([_plain(t) for t in row] for row in r.rows)
    return buf.getvalue().encode()


def sparql_tsv(r: Result) -> bytes:
    if r.kind == "ask":
        return ask_delimited(bool(r.boolean), "tsv").encode()
    lines = ["\t".join(f"?{v}" for v in r.vars)]
    lines += ["\t".join("" if t is None else term_nt(t) for t in row) for row in r.rows]
    return ("\n".join(lines) + "\n").encode()


def sparql_xlsx(r: Result, about: xlsx.About | None = None) -> bytes:
    about = about or xlsx.About()
    if r.truncated:
        cut = f"yes: the first {r.limit:,} rows, the server's row limit (X-Result-Truncated)"
        about = replace(about, cut=cut)
    boolean = bool(r.boolean) if r.kind == "ask" else None
    return xlsx.workbook(r.vars, r.rows, about, boolean)


def _rdf(fmt: ox.RdfFormat) -> Callable[[Result], bytes]:
    def render(r: Result) -> bytes:
        return serialize_triples(r.triples, fmt)

    return render


def _quads(fmt: ox.RdfFormat) -> Callable[[Result], bytes]:
    def render(r: Result) -> bytes:
        assert r.graph is not None  # only 'named' results are offered these formats
        graph = ox.NamedNode(r.graph)
        quads = [ox.Quad(t.subject, t.predicate, t.object, graph) for t in r.triples]
        prefixes = PREFIXES if fmt == ox.RdfFormat.TRIG else None
        return ox.serialize(quads, format=fmt, prefixes=prefixes) or b""

    return render


def serialize_triples(triples: list[ox.Triple], fmt: ox.RdfFormat) -> bytes:
    """``triples`` in ``fmt``; raises ``Unrepresentable`` for RDF/XML holding a character XML
    1.0 cannot carry (pyoxigraph would write it raw: a file no XML parser reads) and for
    JSON-LD holding a triple term (pyoxigraph fails)."""
    if fmt == ox.RdfFormat.RDF_XML:
        check_rdf_xml(triples)
    elif fmt == ox.RdfFormat.JSON_LD:
        check_json_ld(triples)
    prefixes = PREFIXES if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML) else None
    return ox.serialize(triples, format=fmt, prefixes=prefixes) or b""


RESULTS = frozenset({"select", "ask"})
NAMED = frozenset({"named"})
GRAPH = frozenset({"graph"}) | NAMED  # a named graph's triples come in every RDF format
ALL = RESULTS | GRAPH

FORMATS: list[Format] = [
    Format("html", "text/html", ALL, None, ("application/xhtml+xml",)),
    Format("json", "application/sparql-results+json", RESULTS, sparql_json, ("application/json",)),
    Format("xml", "application/sparql-results+xml", RESULTS, sparql_xml, ("application/xml",)),
    Format("csv", "text/csv", RESULTS, sparql_csv),
    Format("tsv", "text/tab-separated-values", RESULTS, sparql_tsv),
    Format("xlsx", xlsx.MEDIA_TYPE, RESULTS, sparql_xlsx, binary=True, attachment=True),
    # Turtle is valid N3: a client asking for N3 (text/n3) or Turtle by its older media type
    # (application/turtle, which SPARQLWrapper sends) gets it.
    Format(
        "ttl",
        "text/turtle",
        GRAPH,
        _rdf(ox.RdfFormat.TURTLE),
        ("application/x-turtle", "application/turtle", "text/n3"),
    ),
    Format("nt", "application/n-triples", GRAPH, _rdf(ox.RdfFormat.N_TRIPLES), ("text/plain",)),
    Format(
        "jsonld", "application/ld+json", GRAPH, _rdf(ox.RdfFormat.JSON_LD), ("application/json",)
    ),
    Format("rdf", "application/rdf+xml", GRAPH, _rdf(ox.RdfFormat.RDF_XML), ("application/xml",)),
    Format("trig", "application/trig", NAMED, _quads(ox.RdfFormat.TRIG)),
    Format("nq", "application/n-quads", NAMED, _quads(ox.RdfFormat.N_QUADS)),
]
BY_SUFFIX = {f.suffix: f for f in FORMATS}


def suffixes(kind: str) -> list[str]:
    """The download suffixes that apply to a result kind (HTML excluded)."""
    return [f.suffix for f in FORMATS if kind in f.kinds and not f.is_html]


def by_suffix(suffix: str, kind: str) -> Format | None:
    fmt = BY_SUFFIX.get(suffix)
    return fmt if fmt is not None and kind in fmt.kinds else None


def negotiate(accept: MIMEAccept, kind: str, default: str) -> Format | None:
    """The best format for ``kind`` under the Accept header; None when nothing fits (406).

    On a tie (e.g. ``*/*``) the ``default`` format wins, because it is offered first.

    When nothing fits but the client names a SPARQL result or RDF type (q > 0), and the
    ``default`` is such a format (the endpoint's JSON or Turtle, not a page's HTML), the
    answer comes in ``default`` anyway, as RFC 9110 (12.5.1) allows and Fuseki does: a
    SPARQL client asking for result sets (rdflib's SPARQLStore with returnFormat="json")
    gets Turtle for a CONSTRUCT it did not expect, not a 406. An Accept naming only types
    we never give (image/png), or refusing ``default`` with q=0, is still a 406."""
    ordered = [BY_SUFFIX[default]] if kind in BY_SUFFIX[default].kinds else []
    ordered += [f for f in FORMATS if kind in f.kinds and f not in ordered]
    if not accept:
        return ordered[0] if ordered else None
    chosen = choose(accept, ordered)
    if chosen is None and ordered and ordered[0].suffix == default:
        chosen = _fallback(accept, ordered[0])
    return chosen


#: The media types of SPARQL answers and RDF: a client naming one speaks SPARQL or RDF.
DATA_TYPES = frozenset(
    {
        "application/sparql-results+json",
        "application/sparql-results+xml",
        "text/csv",
        "text/tab-separated-values",
        "text/turtle",
        "application/x-turtle",
        "application/turtle",
        "application/n-triples",
        "application/ld+json",
        "application/rdf+xml",
        "application/n-quads",
        "application/trig",
        "text/n3",
    }
)


def _fallback(accept: MIMEAccept, default: Format) -> Format | None:
    """``default`` for a SPARQL or RDF client whose Accept fits none of a kind's formats
    (see ``negotiate``); None otherwise."""
    if default.is_html or default.mimetype not in DATA_TYPES:
        return None
    named = {_bare(item) for item, q in accept if q > 0}
    refused = {_bare(item) for item, q in accept if q == 0}
    if default.mimetype in refused or not named & DATA_TYPES:
        return None
    return default


def choose(accept: MIMEAccept, formats: list[Format], aliases: bool = True) -> Format | None:
    """The format of ``formats`` (in order of preference) the client prefers; None if none.

    An alias (``application/xhtml+xml`` for HTML, ``application/json`` for JSON-LD) counts
    only when the client names it (through ``application/*`` it made HTML the answer), and
    not when the client refuses the format's own type with q=0."""
    refused = {_bare(item) for item, q in accept if q == 0}
    offers: dict[str, Format] = {}
    for f in formats:
        # A format the client refused by its own type is not given through an alias
        # ("text/html;q=0, application/xhtml+xml" was answered with text/html).
        named = aliases and f.mimetype not in refused
        for mt in (f.mimetype, *f.aliases) if named else (f.mimetype,):
            offers.setdefault(mt, f)
    exact = {mt for mt, f in offers.items() if mt != f.mimetype}
    best = best_match(accept, list(offers), exact_only=exact)
    return offers[best] if best is not None else None


def best_match(
    accept: MIMEAccept, offers: list[str], exact_only: Collection[str] = ()
) -> str | None:
    """The offer the client prefers, the first of equals; None when it accepts none.

    As ``MIMEAccept.best_match``, whose Werkzeug 3.1 matches an offer only to items with
    the same parameters (``text/turtle; charset=utf-8`` was a 406), except that parameters
    other than q are ignored: we answer UTF-8 anyway, and serve one form of JSON-LD, so a
    ``profile`` (compacted, expanded...) gets that one. Offers in ``exact_only`` match only
    an item naming them, not a wildcard."""
    ranges = [(_bare(item), q) for item, q in accept]
    best, best_rank = None, (0.0, -1)
    for offer in offers:
        rank = _rank(ranges, offer.lower(), offer in exact_only)
        if rank is not None and rank[0] > 0 and rank > best_rank:
            best, best_rank = offer, rank
    return best


def _bare(item: str) -> str:
    """``type/subtype`` of an Accept item, lower case, without its parameters."""
    return item.split(";", 1)[0].strip().lower()


def _rank(ranges: list[tuple[str, float]], offer: str, exact: bool) -> tuple[float, int] | None:
    """(quality, specificity) of the most specific range matching ``offer`` (the highest
    quality among equally specific ones); None when none does."""
    kind = offer.split("/", 1)[0]
    found: tuple[float, int] | None = None
    for media, q in ranges:
        if media == offer:
            specificity = 2
        elif exact:
            continue
        elif media == kind + "/*":
            specificity = 1
        elif media == "*/*":
            specificity = 0
        else:
            continue
        if found is None or (specificity, q) > (found[1], found[0]):
            found = (q, specificity)
    return found


def render(fmt: Format, result: Result, about: xlsx.About | None = None) -> tuple[bytes, str]:
    """Body and Content-Type for a non-HTML format; ``about`` is for an attachment's."""
    assert fmt.render is not None
    try:
        body = fmt.render(result, about) if fmt.attachment else fmt.render(result)
    except Unrepresentable as exc:  # after the query: the answer fits other formats, not this
        raise NotAcceptable(str(exc)) from None
    charset = "; charset=utf-8" if fmt.suffix != "rdf" and not fmt.binary else ""
    return body, fmt.mimetype + charset
