"""/id/...: every IRI of ours dereferences, as HTML or as RDF by Accept or suffix."""

from collections import defaultdict
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

import pyoxigraph as ox
from flask import Blueprint, abort, render_template, request, url_for

from clusterpolisee.catalog import Param, StoredQuery

from .. import renderer, url_builder
from ..access import EngineStore, db, download
from ..database import EngineError, Result
from ..docs_model import ontology_triples
from ..errors import error_response
from ..pagecache import cached_page
from ..present import (
    curie,
    foreign,
    lookup,
    on_scale,
    pick_label,
    pick_tagged,
    preference,
    value_html,
)

bp = Blueprint("resource", __name__)

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
#: The folded labels the search question matches (``reasoning/materialise.py``): machinery,
#: not something a reader of the page needs; the RDF downloads keep it.
SEARCH_KEY = "https://w3id.org/clusterpolisee/ontology#searchKey"
NAMES_OF = "https://w3id.org/clusterpolisee/ontology#namesOf"
#: A blank node that refers to the resource (an ontology restriction: ``owl:hasValue``) is
#: shown with its own statements inline when it has at most this many.
INLINE_BLANK = 6
OWL = "http://www.w3.org/2002/07/owl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
# The types of the resources that refer to one: one query for all of them, ``%s`` a VALUES
# list of the named referrers shown (of which only the most specific are kept, ``_specific``).
REFERRER_TYPES = "SELECT ?s ?t WHERE { VALUES ?s { %s } ?s a ?t }"
# The statements of the blank nodes that refer to one resource (owl:Restriction...).
BLANK_REFERRERS = """
SELECT ?b ?p ?o WHERE { ?b ?q ?x . FILTER(isBlank(?b)) ?b ?p ?o }"""
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
        return _rdf(iri, data, fmt, None if suffix else url_of(fmt.suffix))
    return _html(iri, data, url_of)


def _rdf(iri: str, data: dict, fmt: renderer.Format, location: str | None):
    """The RDF document about ``iri``: the statements about it and about its hash IRIs
    (``{iri}#file`` of a submission), and those that refer to it, as its page lists them.

    The referring ones are in it (as Pubby and LodView have them) so a crawler can follow
    links backwards, from a region to its clusters, as a reader of the page can; each list is
    cut at the describe's limit (2,000: a region at 1M has 6,922 referring statements), and
    then the headers say so with that limit. Every format gets the same triples.

    ``Link: rel="describes"`` (RFC 6892): this document is about the IRI, it is not the IRI
    (``canonical``, RFC 6596, would claim the same content). ``location``: the format's own
    URL, as ``Content-Location`` (RFC 9110 8.7), for an answer chosen by ``Accept``."""
    triples = list(dict.fromkeys(data["out"] + data.get("hash", []) + data["in"]))
    result = Result(
        kind="graph",
        triples=triples,
        truncated=data["truncated"],
        limit=data.get("limit", 0),
    )
    headers = {"Link": url_builder.header_link(iri, "describes")}
    if location is not None:
        headers["Content-Location"] = location
    return download(fmt, result, headers)


def _grouped(triples: list[ox.Triple], labels: dict) -> list[tuple[ox.NamedNode, list]]:
    """(predicate, values) of some statements, by label; rdf:type among them. A value of a
    scale's property (the shapes bound it: severity 1 to 5) is shown as "4 / 5" with what
    the scale means (``present.on_scale``)."""
    props: dict[ox.NamedNode, list] = defaultdict(list)
    for t in triples:
        props[t.predicate].append(on_scale(t.predicate, t.object))
    return sorted(props.items(), key=lambda item: _label_key(item[0], labels))


def _label_key(node: ox.NamedNode, labels: dict) -> str:
    return (pick_label(labels.get(node.value)) or node.value).lower()


@lru_cache(maxsize=1)
def machinery() -> frozenset[str]:
    """The properties the reasoning step writes for the questions, not for readers: the
    search keys and the name lists (the ontology's properties with ``cpo:namesOf``), whose
    names the page already shows under the listed properties themselves."""
    lists = {t.subject.value for t in ontology_triples() if t.predicate.value == NAMES_OF}
    return frozenset({SEARCH_KEY, *lists})


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
            "props": _grouped(
                [t for t in triples if t.predicate.value not in machinery()], data["labels"]
            ),
        }
        for node, triples in sorted(by_subject.items(), key=lambda item: item[0].value)
    ]


def _html(iri: str, data: dict, url_of: Callable[[str], str]):
    labels = dict(data["labels"])  # the referrers' classes add theirs (not into the cache)
    types = [t.object for t in data["out"] if t.predicate.value == RDF_TYPE]
    hidden = machinery() | {RDF_TYPE}
    shown = [t for t in data["out"] if t.predicate.value not in hidden]
    props = _grouped(shown, labels)
    referrers, blanks = _referrers(iri, data["in"], labels, data.get("types"))
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
        referrers=referrers,
        blanks=blanks,
        next_steps=_next_steps(iri, types),
        links=links,
        reviewed=reviewed,
        truncated=data["truncated"],
        alternates=[
            (s, renderer.BY_SUFFIX[s].mimetype, url_of(s)) for s in renderer.suffixes("graph")
        ],
    )


def _referrers(
    iri: str, incoming: list[ox.Triple], labels: dict, known: list[list[str]] | None
) -> tuple[list[dict], dict]:
    """The resources that refer to ``iri``, grouped by their most specific type (sections in
    the order of the class labels; untyped ones last), then by the property they refer by;
    and the statements of the blank nodes among them (``_blank_referrers``).

    ``incoming`` is the describe's (cut at its limit), ``known`` the types of its subjects in
    the order they first appear (``worker.referrer_types``); without them one more query
    finds every referrer's types, whatever their number. ``labels`` gets the classes'
    labels."""
    named = list(dict.fromkeys(t.subject for t in incoming if isinstance(t.subject, ox.NamedNode)))
    types_of: dict[ox.NamedNode | ox.BlankNode, list[ox.NamedNode]] = defaultdict(list)
    subjects = list(dict.fromkeys(t.subject for t in incoming))
    if known is not None and len(known) == len(subjects):
        for s, classes in zip(subjects, known, strict=True):
            types_of[s] = [_node(c) for c in classes]
    elif named:
        text = REFERRER_TYPES % " ".join(str(s) for s in named)
        for s, t in db().query(text, trusted=True).rows:
            if isinstance(t, ox.NamedNode):
                types_of[s].append(t)
    blanks = (
        _blank_referrers(iri, labels)
        if any(isinstance(t.subject, ox.BlankNode) for t in incoming)
        else {}
    )
    for b, statements in blanks.items():
        types_of[b] = [
            o for p, o in statements if p.value == RDF_TYPE and isinstance(o, ox.NamedNode)
        ]
    for s, found in types_of.items():
        types_of[s] = [_node(c) for c in _specific(tuple(t.value for t in found))]
    groups: dict[ox.NamedNode | None, dict[ox.NamedNode, list]] = defaultdict(
        lambda: defaultdict(list)
    )
    for t in incoming:
        for cls in types_of.get(t.subject) or [None]:
            groups[cls][t.predicate].append(t.subject)  # the describe's are distinct

    ranges = preference()  # once, not for each of 2,000 referrers (pick_label)

    def item_key(s: ox.NamedNode | ox.BlankNode) -> tuple[str, str]:
        by_lang = labels.get(s.value) if isinstance(s, ox.NamedNode) else None
        tag = lookup(by_lang, ranges) if by_lang else None
        return ((by_lang[tag] if by_lang and tag is not None else "").lower(), s.value)

    classes = {c.value for c in groups if c is not None}
    if missing := classes - labels.keys():
        labels.update(db().labels(missing))
    sections = []
    for cls, by_prop in groups.items():
        title = _class_title(cls, labels)
        subjects = {s for members in by_prop.values() for s in members}
        sections.append(
            {
                "cls": cls,
                "title": title,
                "count": len(subjects),
                "props": [
                    (p, sorted(members, key=item_key))
                    for p, members in sorted(
                        by_prop.items(), key=lambda i: _label_key(i[0], labels)
                    )
                ],
            }
        )
    # By class label; the untyped ones last.
    sections.sort(key=lambda g: (g["cls"] is None, g["title"].lower(), g["cls"] and g["cls"].value))
    for n, section in enumerate(sections, 1):
        section["id"] = f"referrers-{n}"
    return sections, blanks


@lru_cache(maxsize=4096)
def _node(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


@lru_cache(maxsize=4096)
def _specific(types: tuple[str, ...]) -> tuple[str, ...]:
    """The most specific of one resource's types, by the ontology: a cluster is also an
    org:Organization by inference, and is listed under "cluster" only; owl:NamedIndividual
    (OWL bookkeeping) only where there is nothing else."""
    supers = _superclasses()
    implied = {s for t in types for s in supers.get(t, ()) if t not in supers.get(s, ())}
    kept = tuple(t for t in types if t not in implied)
    return tuple(t for t in kept if t != OWL + "NamedIndividual") or kept


def _class_title(cls: ox.NamedNode | None, labels: dict) -> str:
    if cls is None:
        return "Other"
    name = pick_label(labels.get(cls.value))
    return name[:1].upper() + name[1:] if name else curie(cls.value)


def _blank_referrers(iri: str, labels: dict) -> dict[ox.BlankNode, list[tuple]]:
    """(property, value) of each blank node that refers to ``iri``, where it has at most
    ``INLINE_BLANK`` statements (an ontology restriction: on property, has value); a larger
    one is left as its identifier."""
    result = db().query(
        BLANK_REFERRERS, {"x": ox.NamedNode(iri)}, labels=True, trusted=True, limit=1000
    )
    labels.update(result.labels)
    found: dict[ox.BlankNode, list[tuple]] = defaultdict(list)
    for b, p, o in result.rows:
        found[b].append((p, o))
    return {
        b: sorted(st, key=lambda po: _label_key(po[0], labels))
        for b, st in found.items()
        if len(st) <= INLINE_BLANK
    }


@lru_cache(maxsize=1)
def _superclasses() -> dict[str, set[str]]:
    """Each class of the ontology file and every class it is an rdfs:subClassOf of, or
    equivalent to an intersection with (cpo:EmergingRegion: a cpo:Region with ...)."""
    objects: dict[tuple, list] = defaultdict(list)
    for t in ontology_triples():  # parsed once for the /ontology pages too
        objects[(t.subject, t.predicate.value)].append(t.object)

    def members(node) -> list:  # an RDF list
        out = []
        while node and node != ox.NamedNode(RDF + "nil") and len(out) < 100:
            out += objects.get((node, RDF + "first"), [])
            node = next(iter(objects.get((node, RDF + "rest"), [])), None)
        return out

    direct: dict[str, set[str]] = defaultdict(set)
    for t in ontology_triples():
        if not isinstance(t.subject, ox.NamedNode):
            continue
        found = []
        if t.predicate.value == RDFS_SUBCLASS:
            found = [t.object]
        elif t.predicate.value == OWL + "equivalentClass":
            for lst in objects.get((t.object, OWL + "intersectionOf"), []):
                found += members(lst)
        direct[t.subject.value] |= {x.value for x in found if isinstance(x, ox.NamedNode)}
    closed = {}
    for cls in direct:
        seen, todo = set(), [cls]
        while todo:
            for sup in direct.get(todo.pop(), ()):
                if sup not in seen:
                    seen.add(sup)
                    todo.append(sup)
        closed[cls] = seen
    return closed


def _accepts(q: StoredQuery, p: Param, iri: str) -> bool:
    """Whether question ``q``'s parameter ``p`` takes ``iri``; a busy or failing engine leaves
    the link out rather than the page (its options query is one more query)."""
    try:
        return q.accepts(p, iri, EngineStore())
    except EngineError:
        return False


def _next_steps(iri: str, types: list) -> list[dict]:
    """The stored questions that take ``iri`` as a parameter's value: those with a parameter
    whose class (``Param.cls``) is one of its types or their superclasses in the ontology,
    each a link with the value filled in, in the order of their summaries. A parameter that
    also lists its choices (``options``: regions with something reported) links only where
    ``iri`` is one of them, so no link leads to a refusal."""
    from clusterpolisee.catalog import CatalogError

    from .queries import catalog

    try:
        queries = catalog().queries
    except CatalogError:  # the question pages report it
        return []
    supers = _superclasses()
    classes = {t.value for t in types if isinstance(t, ox.NamedNode)}
    classes |= {s for c in list(classes) for s in supers.get(c, ())}
    steps = []
    for name, q in queries.items():
        for p in q.params:
            if not p.cls or p.cls not in classes:
                continue
            if p.options_query is None or _accepts(q, p, iri):
                steps.append(
                    {
                        "url": url_builder.query_url(name, {p.name: iri}),
                        "summary": q.summary,
                        "param": p.label or p.name,
                    }
                )
    return sorted(steps, key=lambda s: (s["summary"].lower(), s["param"]))


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
