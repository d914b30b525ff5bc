"""Reading an external list of clusters or organisations: CSV, an RDF file or a SPARQL endpoint.

Every reader gives ``ExternalRecord``s. Nothing here opens a file or a URL the user did not
name: RDF is parsed by pyoxigraph through ``clusterpolisee.rdfio`` (no remote contexts, no
entity expansion), a mapping query may not use SERVICE, and the endpoint is asked over http(s)
with a time limit.
"""

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import pyoxigraph as ox
import requests

from ..rdfio import InputError, read_rdf
from ..sparqltext import QuerySyntaxError, hides_from_inspection, inspect

FIELDS = ("id", "name", "alt_name", "country", "region", "sector", "url")
MAX_BYTES = 50_000_000


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


def _is_http_iri(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def external_iri(key: str, id_base: str | None, row_number: int) -> str:
    """The IRI for a record id: the id itself when it is an http(s) IRI, else id_base + id."""
    if _is_http_iri(key):
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
    rows = list(csv.reader(io.StringIO(_decode(data, name)), delimiter=delimiter))
    if not rows:
        raise SourceError(f"{name}: the file is empty")
    index = _header_map(rows[0], columns or {})
    records: dict[str, ExternalRecord] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cell = {f: (row[i].strip() if i < len(row) else "") for f, i in index.items()}
        if not cell["id"] or not cell["name"]:
            raise SourceError(f"{name}: row {number} has no id or no name")
        rec = records.setdefault(
            cell["id"], ExternalRecord(cell["id"], external_iri(cell["id"], id_base, number))
        )
        _add(rec, [cell["name"], *_split(cell.get("alt_name", ""))], cell)
    return list(records.values())


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
        if not _is_http_iri(key) or not row.get("name"):
            continue
        rec = records.setdefault(key, ExternalRecord(key, key))
        _add(rec, [row["name"]], row)
    return list(records.values())


def read_rdf_file(path: Path, query: str | None = None) -> list[ExternalRecord]:
    """Records from an RDF file (Turtle, N-Triples, N-Quads, TriG, JSON-LD; RDF/XML without a
    DOCTYPE), selected by the mapping query (default: labels, country, region, sector, url)."""
    try:
        data = path.read_bytes()
        quads = read_rdf(data, path.name)
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
