"""Reading an external list of clusters or organisations: CSV, an RDF file or a SPARQL endpoint.

Every reader gives ``ExternalRecord``s. Nothing here opens a file or a URL the user did not
name: RDF is parsed by pyoxigraph through ``clusterpolisee.rdfio`` (no remote contexts, no
entity expansion), a mapping query may not use SERVICE, and the endpoint is asked over http(s)
with a time limit.
"""

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import pyoxigraph as ox
import requests

from ..namespaces import BASE, ONTOLOGY_IRI
from ..rdfio import EXTENSIONS, InputError, read_rdf
from ..sparqltext import QuerySyntaxError, hides_from_inspection, inspect

FIELDS = ("id", "name", "alt_name", "country", "region", "sector", "url")
MAX_BYTES = 50_000_000
#: Where our own IRIs live (instances and graphs, the ontology). A record with such an id is
#: our own data (e.g. our own /sparql given as the source), not another database's: matched,
#: it proposed links from our resources to our resources, even to themselves.
OWN_BASES = (BASE,) if ONTOLOGY_IRI.startswith(BASE) else (BASE, ONTOLOGY_IRI)
# Tabs and line breaks in a name are layout: one space (with the spaces around them). Other
# control characters (NUL, escape, C1) and the non-characters U+FFFE/U+FFFF mean nothing in
# a name, and XML cannot carry them: stored, they made /graph/link-candidates.rdf malformed.
_LAYOUT = re.compile(r"[ \t\n\v\f\r\x85\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
# A lone surrogate (an endpoint's JSON may write "\ud800") is no text: no RDF literal holds
# it, and stored it ended the run in a traceback. U+FFFD, as a decoder marks what it lost.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class SourceError(ValueError):
    """The external list cannot be read; the message says why and what to do."""


@dataclass
class ExternalRecord:
    """One entry of the external list. ``iri`` identifies it in links."""

    key: str
    iri: str
    names: list[str] = field(default_factory=list)
    country: str = ""
    region: str = ""
    sectors: list[str] = field(default_factory=list)
    url: str = ""

    @property
    def name(self) -> str:
        return self.names[0] if self.names else ""


def clean(text: str) -> str:
    """A text of the external list without control characters, its layout as single spaces."""
    return _LAYOUT.sub(" ", _CONTROL.sub("", _SURROGATE.sub("\ufffd", text))).strip()


def is_ours(iri: str) -> bool:
    """Whether ``iri`` is one of our own (either scheme: w3id answers both)."""
    bare = iri.split("://", 1)[-1]
    return any(bare.startswith(base.split("://", 1)[-1]) for base in OWN_BASES)


def _is_http(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def iri_problem(text: str) -> str | None:
    """Why ``text`` is not an http(s) IRI that can be stored, or None when it is one."""
    if not _is_http(text):
        return "it is not an http(s) IRI"
    try:
        ox.NamedNode(text)  # urlsplit takes what RDF does not: spaces, '<', '"', ...
    except ValueError as exc:
        return str(exc).replace("Invalid IRI", "invalid IRI", 1)
    return None


def _is_http_iri(text: str) -> bool:
    return iri_problem(text) is None


def id_base_problem(text: str) -> str | None:
    """Why ``text`` cannot be --id-base (an http(s) IRI prefix), or None. Ids are appended
    percent-encoded, so a valid prefix always gives valid IRIs."""
    if not _is_http(text):
        return (
            f"{text!r} is not an http(s) IRI prefix; links go to http(s) IRIs, so give the "
            "external database's, e.g. https://example.org/cluster/"
        )
    problem = iri_problem(text)
    return f"{text!r} is not an http(s) IRI prefix ({problem})" if problem else None


def external_iri(key: str, id_base: str | None, row_number: int) -> str:
    """The IRI for a record id: the id itself when it is an http(s) IRI, else id_base + id."""
    if _is_http(key):
        problem = iri_problem(key)
        if problem:  # not encoded for the user: a changed id would link to another IRI
            raise SourceError(
                f"row {row_number}: the id {key!r} is not a valid IRI ({problem}); "
                "percent-encode such characters in the file (a space is %20)"
            )
        return key
    if id_base:
        return id_base + quote(key, safe="-._~")
    raise SourceError(
        f"row {row_number}: the id {key!r} is not an http(s) IRI; give --id-base with the "
        "external database's IRI prefix (e.g. https://example.org/cluster/)"
    )


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.replace("|", ";").split(";") if v.strip()]


# -- CSV --------------------------------------------------------------------------------------


def _header_map(header: list[str], columns: Mapping[str, str]) -> dict[str, int]:
    """Field -> column index: explicit mapping first, else a column named like the field."""
    unknown = [f for f in columns if f not in FIELDS]
    if unknown:
        raise SourceError(
            f"--column {unknown[0]}={columns[unknown[0]]}: there is no field {unknown[0]!r}; "
            f"the fields are: {', '.join(FIELDS)}"
        )
    lower = {h.strip().lower(): i for i, h in enumerate(header)}
    found: dict[str, int] = {}
    for fld in FIELDS:
        wanted = columns.get(fld, fld)
        if wanted.strip().lower() in lower:
            found[fld] = lower[wanted.strip().lower()]
        elif fld in columns:
            raise SourceError(
                f"there is no column {wanted!r} (for {fld}); the columns are: {', '.join(header)}"
            )
    for needed in ("id", "name"):
        if needed not in found:
            raise SourceError(
                f"no column for the {needed}; name it with --column {needed}=HEADER "
                f"(the columns are: {', '.join(header)})"
            )
    return found


def _decode(data: bytes, name: str) -> str:
    if len(data) > MAX_BYTES:
        raise SourceError(f"{name}: the file is larger than {MAX_BYTES // 1_000_000} MB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{name}: not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV"
        ) from exc


def read_csv(
    data: bytes,
    name: str,
    columns: Mapping[str, str] | None = None,
    id_base: str | None = None,
    delimiter: str = ",",
) -> list[ExternalRecord]:
    """Records from CSV text. ``columns`` maps fields (id, name, alt_name, country, region,
    sector, url) to headers; alt_name and sector may hold several values separated by ';'."""
    rows = _csv_rows(_decode(data, name), name, delimiter)
    if not rows:
        raise SourceError(f"{name}: the file is empty")
    index = _header_map(rows[0], columns or {})
    records: dict[str, ExternalRecord] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cell = {f: (row[i] if i < len(row) else "") for f, i in index.items()}
        cell = {f: (v.strip() if f == "id" else clean(v)) for f, v in cell.items()}
        if not cell["id"] or not cell["name"]:
            raise SourceError(f"{name}: row {number} has no id or no name")
        rec = records.setdefault(
            cell["id"], ExternalRecord(cell["id"], external_iri(cell["id"], id_base, number))
        )
        _add(rec, [cell["name"], *_split(cell.get("alt_name", ""))], cell)
    return list(records.values())


def _csv_rows(text: str, name: str, delimiter: str) -> list[list[str]]:
    """The rows of CSV text; a row the csv module refuses is named, not a traceback.

    A field past the csv module's limit (131,072 characters) is refused, not let through by
    raising the limit to the file size: no name or code is that long, the usual cause is an
    unclosed quote (the rest of the file read as one field), and a name that long would be
    compared with every one of ours."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[list[str]] = []
    line = 0  # the last line of the last row read
    try:
        for row in reader:
            rows.append(row)
            line = reader.line_num
    except csv.Error as exc:
        where = f"{name}: row {len(rows) + 1} (from line {line + 1})"
        if "field larger than field limit" in str(exc):
            raise SourceError(
                f"{where} has a field longer than {csv.field_size_limit():,} characters, "
                "more than any name or code; check the row (an unclosed quote makes the rest "
                "of the file one field)"
            ) from exc
        raise SourceError(f"{where} cannot be read as CSV: {exc}") from exc
    return rows


def _add(rec: ExternalRecord, names: list[str], cell: Mapping[str, str]) -> None:
    rec.names.extend(n for n in names if n and n not in rec.names)
    rec.country = rec.country or cell.get("country", "")
    rec.region = rec.region or cell.get("region", "")
    rec.url = rec.url or cell.get("url", "")
    rec.sectors.extend(s for s in _split(cell.get("sector", "")) if s not in rec.sectors)


# -- RDF and SPARQL ---------------------------------------------------------------------------

DEFAULT_QUERY = """\
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX schema: <http://schema.org/>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX cpo: <https://w3id.org/clusterpolisee/ontology#>
SELECT ?id ?name ?country ?region ?sector ?url WHERE {
  ?id rdfs:label|skos:prefLabel|skos:altLabel|schema:name|schema:alternateName|foaf:name ?name .
  OPTIONAL { ?id cpo:country|schema:addressCountry ?country }
  OPTIONAL { ?id cpo:region|schema:addressRegion ?region }
  OPTIONAL { ?id cpo:sector|schema:industry ?sector }
  OPTIONAL { ?id schema:url|foaf:homepage ?url }
}
"""


def check_query(text: str) -> str:
    """A mapping query must be a SELECT with ?id and ?name and no SERVICE."""
    if hides_from_inspection(text):
        raise SourceError(
            "the mapping query may not use SERVICE, nor \\u escapes or a carriage return "
            "without a line feed next to the word SERVICE (write the characters themselves; "
            "end lines with a line feed)"
        )
    try:
        info = inspect(text)
    except QuerySyntaxError as exc:
        raise SourceError(f"the mapping query is not valid SPARQL: {exc}") from exc
    if info.kind != "select":
        raise SourceError("the mapping query must be a SELECT query")
    if info.services:
        raise SourceError("the mapping query may not use SERVICE")
    missing = {"id", "name"} - info.variables
    if missing:
        raise SourceError(f"the mapping query must select ?{' and ?'.join(sorted(missing))}")
    return text


def _value(term: object) -> str:
    return term.value if isinstance(term, ox.NamedNode | ox.Literal) else ""


def records_from_rows(rows: list[dict[str, str]]) -> list[ExternalRecord]:
    """Group query rows (variable -> text) into records by ?id (which must be an IRI)."""
    records: dict[str, ExternalRecord] = {}
    for row in rows:
        key = row.get("id", "")
        row = {k: (v if k == "id" else clean(v)) for k, v in row.items()}
        if not _is_http_iri(key) or not row.get("name"):
            continue
        rec = records.setdefault(key, ExternalRecord(key, key))
        _add(rec, [row["name"]], row)
    return list(records.values())


def read_rdf_file(path: Path, query: str | None = None, name: str = "") -> list[ExternalRecord]:
    """Records from an RDF file (Turtle, N-Triples, N-Quads, TriG, JSON-LD; RDF/XML without a
    DOCTYPE), selected by the mapping query (default: labels, country, region, sector, url).
    ``name`` names it in messages (default: the file's name); its extension, the format."""
    try:
        data = path.read_bytes()
        quads = read_rdf(data, name or path.name, EXTENSIONS.get(path.suffix.lower()))
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}") from exc
    except InputError as exc:
        raise SourceError(str(exc)) from exc
    text = check_query(query or DEFAULT_QUERY)
    return records_from_rows(_rows(quads, text))


def _rows(quads: list[ox.Quad], text: str) -> list[dict[str, str]]:
    """The mapping query's rows on the file's quads.

    A function of its own: rdflib's parser (check_query) leaves reference cycles that hold
    its callers' frames until the collector runs, maybe on another thread, and pyo3 refuses
    to free an Oxigraph answer there (it warns and leaks it). This frame is not among them.
    """
    store = ox.Store()
    store.extend(quads)
    result = store.query(text, use_default_graph_as_union=True)
    names = [v.value for v in result.variables]
    return [{n: _value(sol[n]) for n in names} for sol in result]


def read_endpoint(
    url: str, query: str | None = None, timeout: float = 30.0
) -> list[ExternalRecord]:
    """Records from a SPARQL 1.1 endpoint the user named (GET, JSON results, time limit)."""
    if not _is_http_iri(url):
        raise SourceError(f"the endpoint {url!r} is not an http(s) URL")
    text = check_query(query or DEFAULT_QUERY)
    try:
        resp = requests.get(
            url,
            params={"query": text},
            headers={"Accept": "application/sparql-results+json"},
            timeout=timeout,
            allow_redirects=False,
        )
        resp.raise_for_status()
        bindings = resp.json()["results"]["bindings"]
    except requests.Timeout as exc:
        raise SourceError(f"the endpoint {url} did not answer within {timeout:g} s") from exc
    except requests.RequestException as exc:
        raise SourceError(f"the endpoint {url} could not be queried: {exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceError(f"the endpoint {url} did not return SPARQL JSON results") from exc
    rows = [{k: str(v.get("value", "")) for k, v in b.items()} for b in bindings]
    return records_from_rows(rows)
