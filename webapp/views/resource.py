"""/id/...: every IRI of ours dereferences, as HTML or as RDF by Accept or suffix."""

from collections import defaultdict
from collections.abc import Callable
from urllib.parse import urlsplit

import pyoxigraph as ox
from flask import Blueprint, abort, render_template, request, url_for

from .. import renderer, url_builder
from ..access import db, download
from ..database import Result
from ..errors import error_response
from ..pagecache import cached_page
from ..present import foreign, pick_label, pick_tagged, value_html

bp = Blueprint("resource", __name__)

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LINK_PREDICATES = {
    "http://www.w3.org/2004/02/skos/core#exactMatch",
    "http://www.w3.org/2004/02/skos/core#closeMatch",
    "http://www.w3.org/2000/01/rdf-schema#seeAlso",
    "http://schema.org/url",
    "http://www.w3.org/2002/07/owl#sameAs",
    "https://w3id.org/clusterpolisee/ontology#sector",
}
DESCRIPTION = (
    "http://purl.org/dc/terms/description",
    "http://www.w3.org/2004/02/skos/core#definition",
)
MAX_PATH = 500
DESCRIPTION_SHOWN = 1_000  # characters of the description under the title
# Who accepted the reviewed links (graph/links, written by the link review) and when.
REVIEWED = """
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX align: <http://knowledgeweb.semanticweb.org/heterogeneity/alignment#>
SELECT ?s ?links ?link ?who ?when ?score ?software WHERE {
  GRAPH ?links {
    ?stmt rdf:subject ?s ; rdf:object ?link ; prov:generatedAtTime ?when .
    FILTER NOT EXISTS { ?stmt prov:invalidatedAtTime ?withdrawn }
    OPTIONAL { ?stmt align:measure ?score }
    OPTIONAL { ?stmt prov:wasGeneratedBy/prov:wasAssociatedWith/rdfs:label ?who }
    OPTIONAL {
      ?stmt prov:wasGeneratedBy/prov:wasAssociatedWith ?agent . ?agent a prov:SoftwareAgent
      BIND(true AS ?software)
    }
  }
}"""
DATASETS = {
    "http://data.europa.eu/nuts/code/": "NUTS (Eurostat)",
    "http://publications.europa.eu/resource/authority/country/": "EU country authority table",
    "http://www.wikidata.org/entity/": "Wikidata",
    "http://data.europa.eu/ux2/nace2/": "NACE Rev. 2",
    "https://reporting.clustercollaboration.eu/": "European Cluster Collaboration Platform",
}


def dataset_of(iri: str) -> str:
    """Where a link leads: the dataset of a namespace we know, else the host, which is all
    that is known (it was called a "web page", also an ``exactMatch`` into another
    database's IRIs)."""
    known = next((name for ns, name in DATASETS.items() if iri.startswith(ns)), None)
    if known:
        return known
    if not url_builder.is_external(iri):
        return "this knowledge graph"
    try:
        return urlsplit(iri).hostname or "external resource"
    except ValueError:  # a malformed host ("http://[x/"): nothing known
        return "external resource"


def split_suffix(path: str) -> tuple[str, str | None]:
    stem, dot, suffix = path.rpartition(".")
    if dot and suffix in renderer.BY_SUFFIX and "/" not in suffix:
        return stem, suffix
    return path, None


def require_iri(iri: str) -> None:
    """404 for a path no IRI can have (a space, '"', '<', '{'...), decided here: a worker
    would only fail on it with the parser's message."""
    try:
        ox.NamedNode(iri)
    except ValueError:
        abort(404, "this is not an IRI of the knowledge graph")


@bp.route("/id/<path:path>")
@cached_page
def page(path: str):
    if len(path) > MAX_PATH:
        abort(404)
    path, suffix = split_suffix(path)
    iri = url_builder.path_to_iri(path)
    require_iri(iri)
    data = db().describe(iri)
    if not data["out"] and not data["in"]:
        abort(404, f"nothing is known about {iri}")
    return answer(iri, data, suffix, lambda s: url_for("resource.page", path=f"{path}.{s}"))


def answer(iri: str, data: dict, suffix: str | None, url_of: Callable[[str], str]):
    """The description of ``iri`` in the format its suffix or the Accept header asks for.

    ``data`` is as ``Database.describe`` gives it: ``out`` and ``in`` (statements about and
    referring to the IRI), ``hash`` (about its hash IRIs), ``labels``, ``truncated``.
    ``url_of(suffix)`` is the URL of the description in another format. Shared by every kind
    of page that describes one IRI (resources here, the catalogue's entries in publish)."""
    if suffix:
        fmt = renderer.by_suffix(suffix, "graph") or renderer.by_suffix(suffix, "select")
        if fmt is None or "graph" not in fmt.kinds:
            abort(404, f"no .{suffix} view of a resource; use .ttl, .nt, .jsonld or .rdf")
    else:
        fmt = renderer.negotiate(request.accept_mimetypes, "graph", "html")
    if fmt is None:
        return error_response(
            406,
            "Not Acceptable",
            "resources are available as HTML, Turtle, N-Triples, JSON-LD and RDF/XML",
        )
    if not fmt.is_html:
        # The document holds its hash IRIs' statements too (``{iri}#file`` of a submission).
        triples = data["out"] + data.get("hash", [])
        result = Result(kind="graph", triples=triples, truncated=data["truncated"])
        return download(fmt, result, {"Link": url_builder.header_link(iri, "canonical")})
    return _html(iri, data, url_of)


def _grouped(triples: list[ox.Triple], labels: dict) -> list[tuple[ox.NamedNode, list]]:
    """(predicate, values) of some statements, by label; rdf:type among them."""
    props: dict[ox.NamedNode, list] = defaultdict(list)
    for t in triples:
        props[t.predicate].append(t.object)
    return sorted(props.items(), key=lambda item: _label_key(item[0], labels))


def _label_key(node: ox.NamedNode, labels: dict) -> str:
    return (pick_label(labels.get(node.value)) or node.value).lower()


def _parts(iri: str, data: dict) -> list[dict]:
    """The document's hash IRIs, each with its statements, in IRI order, for the page: each
    is a section whose id is the fragment, so ``{iri}#file`` in a browser shows its own."""
    by_subject: dict[ox.NamedNode, list] = defaultdict(list)
    for t in data.get("hash", []):
        by_subject[t.subject].append(t)
    return [
        {
            "iri": node.value,
            "fragment": node.value[len(iri) + 1 :],
            "label": pick_label(data["labels"].get(node.value)),
            "props": _grouped(triples, data["labels"]),
        }
        for node, triples in sorted(by_subject.items(), key=lambda item: item[0].value)
    ]


def _html(iri: str, data: dict, url_of: Callable[[str], str]):
    labels = data["labels"]
    types = [t.object for t in data["out"] if t.predicate.value == RDF_TYPE]
    props = _grouped([t for t in data["out"] if t.predicate.value != RDF_TYPE], labels)
    incoming: dict[ox.NamedNode, list] = defaultdict(list)
    for t in data["in"]:
        incoming[t.predicate].append(t.subject)
    links = [
        t.object
        for t in data["out"]
        if t.predicate.value in LINK_PREDICATES
        and isinstance(t.object, ox.NamedNode)
        and url_builder.href(t.object.value)
    ]
    description_lang, description = _in_language(
        [t.object for t in data["out"] if t.predicate.value in DESCRIPTION]
    )
    if len(description) > DESCRIPTION_SHOWN:
        # Shown whole under Properties: a 9 MB description made a 19 MB page.
        description = description[:DESCRIPTION_SHOWN].rstrip() + " … (in full below)"
    label_lang, label = pick_tagged(labels.get(iri)) or ("", "")
    label_lang, label = (label_lang, label) if label else ("", iri)
    reviewed = _reviewed(iri) if links else {}
    return render_template(
        "resource.html",
        dataset_of=dataset_of,
        value_html=value_html,
        iri=iri,
        labels=labels,
        label=label,
        label_lang=foreign(label_lang),
        types=types,
        description=description,
        description_lang=foreign(description_lang),
        props=props,
        parts=_parts(iri, data),
        incoming=sorted(incoming.items(), key=lambda item: _label_key(item[0], labels)),
        links=links,
        reviewed=reviewed,
        truncated=data["truncated"],
        alternates=[
            (s, renderer.BY_SUFFIX[s].mimetype, url_of(s)) for s in renderer.suffixes("graph")
        ],
    )


def _reviewed(iri: str) -> dict[str, dict[str, object]]:
    """For each external link of ``iri`` accepted in the link review: who, when (the
    literal, for ``time_html``), score."""
    from clusterpolisee.linking import LINKS_GRAPH

    bindings = {"s": ox.NamedNode(iri), "links": ox.NamedNode(LINKS_GRAPH)}
    result = db().query(REVIEWED, bindings, trusted=True)
    found = {}
    for rec in result.records():
        info: dict[str, object] = {
            "who": rec["who"].value if rec["who"] else "",
            "when": rec["when"],
            # accepted by `link --accept-above`, not by a person: not "reviewed"
            "software": rec["software"] is not None,
        }
        try:
            info["score"] = f"{float(rec['score'].value):.3f}" if rec["score"] else ""
        except ValueError:
            info["score"] = ""
        found[rec["link"].value] = info
    return found


def _in_language(literals: list) -> tuple[str, str]:
    """(language tag, text) of the description in the reader's language; ("", "") if none."""
    by_lang = {(x.language or ""): x.value for x in literals if isinstance(x, ox.Literal)}
    return pick_tagged(by_lang) or ("", "")
