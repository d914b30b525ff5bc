"""Publishing so others can link back: a VoID + DCAT-AP description and compressed dumps.

``void_dcat(store, base_url)`` describes the dataset served at ``base_url`` (the web app):
catalogue, dataset, licence, publisher, themes, the SPARQL endpoint (``{base_url}sparql``), the
dumps (``{base_url}dumps/{name}``) and one VoID link-set per external dataset our IRIs point to,
with sizes counted from the store (one per link predicate); each graph's subset names its graph
(``sd:name``), and a dump written for the current data has its ``dcat:byteSize``.
``write_dumps(store, folder)`` writes the gzip-compressed N-Quads and TriG dumps, only when
the store's data version changed since the last time.
``check_dcat(triples)`` validates a description with ``shapes/dcat-ap-essential.ttl``: no
package on PyPI ships the official DCAT-AP SHACL shapes, so that file holds the essential
DCAT-AP 2 checks (mandatory properties of catalogue, dataset, distribution and data service;
the VoID link-set properties), written for this project.
"""

import gzip
import os
import tempfile
from collections import Counter
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph as ox
from pyshacl import validate
from rdflib import Graph

from . import paths
from .namespaces import BASE, PREFIXES
from .store import Store

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
VOID = "http://rdfs.org/ns/void#"
FOAF = "http://xmlns.com/foaf/0.1/"
#: SPARQL 1.1 Service Description (https://www.w3.org/TR/sparql11-service-description/):
#: ``sd:name`` (domain ``sd:NamedGraph``) is the IRI a named graph has; VoID has no term for it.
SD = "http://www.w3.org/ns/sparql-service-description#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD = "http://www.w3.org/2001/XMLSchema#"
IANA = "https://www.iana.org/assignments/media-types/"
DATA_THEME = "http://publications.europa.eu/resource/authority/data-theme/"
# Until the project settles the data licence, the description says CC BY 4.0 (EU authority
# table code CC_BY_4_0); pass ``licence=`` to change it.
DEFAULT_LICENCE = "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"
DATASET = f"{BASE}dataset"
CATALOG = f"{BASE}catalog"
PUBLISHER = f"{BASE}id/partner/marche-region"
DUMPS = {"clusterpolisee.nq.gz": ("nquads", "n-quads"), "clusterpolisee.trig.gz": ("trig", "trig")}
VERSION_FILE = "dumps.version"
#: The dumps' form, kept beside the data version: dumps written before `export` ended them
#: with its end line (2026-12-07) are written again, rather than served, and refused by
#: `import`, until the data changes.
DUMP_FORM = "end-line"
CATALOG_DESCRIPTION = (
    "The datasets published by the ClusterPoliSEE knowledge graph of cluster policies in "
    "South East Europe."
)
SHAPES_FILE = paths.SHAPES_DIR / "dcat-ap-essential.ttl"

# Link predicates counted into link-sets, and the external datasets we know by IRI space.
LINK_PREDICATES = (
    "http://www.w3.org/2004/02/skos/core#exactMatch",
    "http://www.w3.org/2002/07/owl#sameAs",
    "http://schema.org/sameAs",
    "https://w3id.org/clusterpolisee/ontology#sector",
)
KNOWN_TARGETS = {
    "http://data.europa.eu/nuts/code/": ("nuts", "Eurostat NUTS classification"),
    "http://publications.europa.eu/resource/authority/country/": (
        "eu-country",
        "EU Publications Office country authority table",
    ),
    "http://www.wikidata.org/entity/": ("wikidata", "Wikidata"),
    "http://data.europa.eu/ux2/nace2/": ("nace2", "NACE Rev.2 (Eurostat)"),
}
# Distinct links per predicate and target IRI: the predicates as VALUES, so each is an index
# lookup, and counted in the store. At 10M triples (158,729 links) this took 0.22 s, where
# filtering every triple by predicate and returning each distinct link took 5.4 s.
LINK_QUERY = (
    "SELECT ?p ?o (COUNT(DISTINCT ?s) AS ?n) WHERE { VALUES ?p { "
    + " ".join(f"<{p}>" for p in LINK_PREDICATES)
    + " } ?s ?p ?o . FILTER(isIRI(?o)) } GROUP BY ?p ?o"
)


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _en(text: str) -> ox.Literal:
    return ox.Literal(text, language="en")


def _int(n: int) -> ox.Literal:
    return ox.Literal(str(n), datatype=_n(XSD + "integer"))


def _target(iri: str) -> tuple[str, str, str]:
    """(uri space, key, title) of the external dataset an IRI belongs to."""
    for space, (key, title) in KNOWN_TARGETS.items():
        if iri.startswith(space):
            return space, key, title
    parts = urlsplit(iri)
    host = parts.hostname or "unknown"
    return f"{parts.scheme}://{parts.netloc}/", host, host


def count_links(store: Store) -> dict[tuple[str, str, str, str], int]:
    """(uri space, key, title, predicate) -> distinct links from our IRIs to that dataset."""
    counts: Counter = Counter()
    for row in store.select(LINK_QUERY):
        obj = row["o"].value
        if not obj.startswith(BASE):
            counts[(*_target(obj), row["p"].value)] += int(row["n"].value)
    return dict(counts)


def _catalog(base_url: str, licence: str) -> list[ox.Triple]:
    t, c, d, pub = ox.Triple, _n(CATALOG), _n(DATASET), _n(PUBLISHER)
    return [
        t(c, RDF_TYPE, _n(DCAT + "Catalog")),
        t(c, _n(DCT + "title"), _en("ClusterPoliSEE knowledge graph catalogue")),
        t(c, _n(DCT + "description"), _en(CATALOG_DESCRIPTION)),
        t(c, _n(DCT + "publisher"), pub),
        t(c, _n(DCT + "license"), _n(licence)),
        t(c, _n(FOAF + "homepage"), _n(base_url)),
        t(c, _n(DCAT + "dataset"), d),
        t(c, _n(DCAT + "themeTaxonomy"), _n(DATA_THEME[:-1])),
        t(pub, RDF_TYPE, _n(FOAF + "Agent")),
        t(pub, _n(FOAF + "name"), _en("Marche Region, lead partner of ClusterPoliSEE")),
    ]  # fmt: skip


def _dataset(store: Store, base_url: str, licence: str) -> list[ox.Triple]:
    t, d = ox.Triple, _n(DATASET)
    sizes = store.graph_sizes()
    out = [
        t(d, RDF_TYPE, _n(DCAT + "Dataset")),
        t(d, RDF_TYPE, _n(VOID + "Dataset")),
        t(d, _n(DCT + "title"), _en("ClusterPoliSEE knowledge graph")),
        t(d, _n(DCT + "description"), _en(
            "Cluster policies in South East Europe (ClusterPoliSEE, South East Europe "
            "Transnational Cooperation Programme, 2012-2014): regions, clusters, barriers to "
            "cluster development, policy instruments and good practices per thematic priority.")),
        t(d, _n(DCT + "publisher"), _n(PUBLISHER)),
        t(d, _n(DCT + "license"), _n(licence)),
        t(d, _n(VOID + "sparqlEndpoint"), _n(base_url + "sparql")),
        t(d, _n(VOID + "uriSpace"), ox.Literal(f"{BASE}id/")),
        t(d, _n(VOID + "triples"), _int(sum(sizes.values()))),
        t(d, _n(VOID + "vocabulary"), _n("https://w3id.org/clusterpolisee/ontology#")),
        t(d, _n(DCAT + "landingPage"), _n(base_url)),
    ]  # fmt: skip
    for theme in ("ECON", "REGI", "GOVE"):
        out.append(t(d, _n(DCAT + "theme"), _n(DATA_THEME + theme)))
    for word in ("cluster policy", "regional development", "smart specialisation", "SKOS"):
        out.append(t(d, _n(DCAT + "keyword"), _en(word)))
    for graph, size in sizes.items():
        sub = _n(f"{DATASET}/graph/{graph.rsplit('/graph/', 1)[-1]}")
        out += [t(d, _n(VOID + "subset"), sub), t(sub, RDF_TYPE, _n(VOID + "Dataset")),
                t(sub, _n(DCT + "title"), _en(f"Named graph {graph}")),
                t(sub, RDF_TYPE, _n(SD + "NamedGraph")), t(sub, _n(SD + "name"), _n(graph)),
                t(sub, _n(VOID + "triples"), _int(size))]  # fmt: skip
    return out


def _dump_version(store: Store) -> str:
    """What the dumps' marker holds when they are of the store's current data and form."""
    return f"{store.data_version()} {DUMP_FORM}"


def dump_sizes(store: Store, folder: Path | None) -> dict[str, int]:
    """name -> bytes of the dumps in ``folder``, when they are of the current data; else
    nothing: the next download rewrites stale dumps, so their size would be wrong. The
    description only reads them (writing both takes a minute at 1M triples)."""
    if folder is None:
        return {}
    try:
        if (folder / VERSION_FILE).read_text(encoding="utf-8") != _dump_version(store):
            return {}
        return {name: (folder / name).stat().st_size for name in DUMPS}
    except OSError:  # not written yet, or removed meanwhile
        return {}


def _distributions(base_url: str, licence: str, sizes: dict[str, int]) -> list[ox.Triple]:
    t, d = ox.Triple, _n(DATASET)
    out = []
    service = _n(f"{DATASET}/sparql-service")
    out += [
        t(service, RDF_TYPE, _n(DCAT + "DataService")),
        t(service, _n(DCT + "title"), _en("SPARQL 1.1 endpoint")),
        t(service, _n(DCAT + "endpointURL"), _n(base_url + "sparql")),
        t(service, _n(DCT + "conformsTo"), _n("https://www.w3.org/TR/sparql11-protocol/")),
        t(service, _n(DCAT + "servesDataset"), d),
    ]
    for name, (fmt, media) in DUMPS.items():
        dist = _n(f"{DATASET}/dump/{fmt}")
        url = _n(f"{base_url}dumps/{name}")
        out += [
            t(d, _n(DCAT + "distribution"), dist),
            t(d, _n(VOID + "dataDump"), url),
            t(dist, RDF_TYPE, _n(DCAT + "Distribution")),
            t(dist, _n(DCT + "title"), _en(f"Dump of all named graphs ({fmt}, gzip)")),
            t(dist, _n(DCAT + "accessURL"), url),
            t(dist, _n(DCAT + "downloadURL"), url),
            t(dist, _n(DCAT + "mediaType"), _n(f"{IANA}application/{media}")),
            t(dist, _n(DCAT + "compressFormat"), _n(f"{IANA}application/gzip")),
            t(dist, _n(DCT + "license"), _n(licence)),
        ]
        if name in sizes:
            size = ox.Literal(str(sizes[name]), datatype=_n(XSD + "nonNegativeInteger"))
            out.append(t(dist, _n(DCAT + "byteSize"), size))  # DCAT-AP's datatype
    api = _n(f"{DATASET}/sparql")
    out += [
        t(d, _n(DCAT + "distribution"), api),
        t(api, RDF_TYPE, _n(DCAT + "Distribution")),
        t(api, _n(DCT + "title"), _en("SPARQL endpoint")),
        t(api, _n(DCAT + "accessURL"), _n(base_url + "sparql")),
        t(api, _n(DCAT + "accessService"), service),
        t(api, _n(DCT + "license"), _n(licence)),
    ]
    return out


def _local_name(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def linkset_names(predicates: tuple[str, ...], prefixes: Mapping[str, str]) -> dict[str, str]:
    """predicate -> the last segment of its link-sets' IRIs (``{DATASET}/linkset/{key}/...``).

    A predicate is named by its local name ("exactMatch"), as link-sets always were, so those
    IRIs stay what others may already link to; predicates whose local names are the same
    (owl:sameAs, schema:sameAs) are named with their prefix too ("owl-sameAs"), else their
    link-sets shared one IRI, with two ``void:linkPredicate``. Decided by the predicate list,
    not the data, so a link-set's IRI does not change when another predicate's links appear."""
    by_ns = sorted(prefixes.items(), key=lambda kv: -len(kv[1]))  # the longest namespace
    local = {p: _local_name(p) for p in predicates}
    shared = {n for n in local.values() if list(local.values()).count(n) > 1}
    names = {}
    for pred, name in local.items():
        if name in shared:
            prefix = next((k for k, ns in by_ns if pred == ns + name), None)
            if prefix is None:
                raise ValueError(f"{pred} shares its local name and has no prefix")
            name = f"{prefix}-{name}"
        names[pred] = name
    if len(set(names.values())) != len(names):
        raise ValueError(f"link-set names collide: {names}")
    return names


@cache
def _linkset_names() -> dict[str, str]:
    return linkset_names(LINK_PREDICATES, PREFIXES)


def _linksets(store: Store) -> list[ox.Triple]:
    t, d = ox.Triple, _n(DATASET)
    out = []
    names = _linkset_names()
    for (space, key, title, pred), count in sorted(count_links(store).items()):
        target = _n(f"{DATASET}/external/{key}")
        ls = _n(f"{DATASET}/linkset/{key}/{names[pred]}")
        out += [
            t(d, _n(VOID + "subset"), ls),
            t(ls, RDF_TYPE, _n(VOID + "Linkset")),
            t(ls, _n(VOID + "subjectsTarget"), d),
            t(ls, _n(VOID + "objectsTarget"), target),
            t(ls, _n(VOID + "linkPredicate"), _n(pred)),
            t(ls, _n(VOID + "triples"), _int(count)),
            t(target, RDF_TYPE, _n(VOID + "Dataset")),
            t(target, _n(DCT + "title"), _en(title)),
            t(target, _n(VOID + "uriSpace"), ox.Literal(space)),
        ]
    return out


def void_dcat(
    store: Store, base_url: str, licence: str = DEFAULT_LICENCE, dumps: Path | None = None
) -> list[ox.Triple]:
    """The VoID + DCAT-AP description of the dataset served at ``base_url``; with ``dumps``
    (their folder), the size of each dump there that is of the current data."""
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    triples = (
        _catalog(base_url, licence)
        + _dataset(store, base_url, licence)
        + _distributions(base_url, licence, dump_sizes(store, dumps))
        + _linksets(store)
    )
    return list(dict.fromkeys(triples))


def check_dcat(triples: list[ox.Triple]) -> tuple[bool, str]:
    """Validate a description with shapes/dcat-ap-essential.ttl; (conforms, report text)."""
    data = Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
    shapes = Graph().parse(SHAPES_FILE, format="turtle")
    conforms, _graph, text = validate(data, shacl_graph=shapes, do_owl_imports=False)
    return bool(conforms), str(text)


def write_dumps(store: Store, folder: Path) -> list[Path]:
    """Write gzip-compressed N-Quads and TriG dumps of every named graph into ``folder``;
    regenerate them only when ``store.data_version()`` changed. Files are replaced
    atomically, so a reader never sees half a dump."""
    folder.mkdir(parents=True, exist_ok=True)
    version = _dump_version(store)
    marker = folder / VERSION_FILE
    targets = [folder / name for name in DUMPS]
    current = marker.read_text(encoding="utf-8") if marker.exists() else None
    if current == version and all(p.exists() for p in targets):
        return targets
    for path, (fmt, _media) in zip(targets, DUMPS.values(), strict=True):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".dump-")
        try:
            with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
                store.export(gz, fmt)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    marker.write_text(version, encoding="utf-8")
    return targets
