"""Every URL the app makes, and the mapping between our IRIs and local URLs, in one place.

The app answers for ``{base}id/...`` under ``/id/...``, for the ontology namespace under
``/ontology`` (its version IRI under ``/ontology/{version}``) and for the catalogue's entries
(``{base}dataset...``, clusterpolisee.publish) under ``/dataset...``; ``base`` is configurable
(config ``BASE``), so a local deployment dereferences the same IRIs. A hash IRI links to its
document's page, at the fragment. Only http(s) IRIs ever become links.
"""

from urllib.parse import quote, urlencode

import pyoxigraph as ox
from flask import current_app, request, url_for

from clusterpolisee.namespaces import CPO, ONTOLOGY_IRI
from clusterpolisee.publish import DATASET

ONTOLOGY_NS = str(CPO)
SAFE_SCHEMES = ("http://", "https://")
PATH_SAFE = "/-_.~!$&'()*+,;=:@"
# What a URI reference keeps as it is in a header: RFC 3986's reserved and unreserved
# characters and '%' (an escape already made). Letters, digits and "_.-~" quote keeps anyway.
HEADER_SAFE = ":/?#[]@!$&'()*+,;=%"


def base() -> str:
    return current_app.config["BASE"]


def id_prefix() -> str:
    return base() + "id/"


def path_to_iri(path: str) -> str:
    """The IRI a local /id/<path> stands for."""
    return id_prefix() + path


def local_url(iri: str) -> str | None:
    """The local page for one of our IRIs, or None when the IRI is not ours."""
    prefix = id_prefix()
    if iri.startswith(prefix):
        # the same URL url_for("resource.page") builds, without its per-call cost; a hash
        # IRI's statements are in its document's description (webapp.worker.hash_statements)
        doc, hashed, fragment = iri[len(prefix) :].partition("#")
        url = request.script_root + "/id/" + quote(doc, safe=PATH_SAFE)
        return url + "#" + quote(fragment, safe=PATH_SAFE + "?") if hashed else url
    graphs = base() + "graph/"
    if iri.startswith(graphs):
        return request.script_root + "/graph/" + quote(iri[len(graphs) :], safe="/-_.~")
    if iri.startswith(ONTOLOGY_NS):
        return request.script_root + "/ontology#" + quote(iri[len(ONTOLOGY_NS) :], safe="-_.~")
    if iri == ONTOLOGY_IRI:
        return request.script_root + "/ontology"
    if iri.startswith(ONTOLOGY_IRI + "/"):  # a version IRI (webapp.views.docs)
        version = iri[len(ONTOLOGY_IRI) + 1 :]
        return request.script_root + "/ontology/" + quote(version, safe="/-_.~")
    if iri == DATASET or iri.startswith(DATASET + "/"):  # webapp.views.publish
        return request.script_root + "/dataset" + quote(iri[len(DATASET) :], safe="/-_.~")
    return None


def href(iri: str) -> str | None:
    """The link target for an IRI: a local page for ours, the IRI for other http(s) ones,
    None for any other scheme (javascript:, data:, urn:, ...), which is shown as text."""
    local = local_url(iri)
    if local is not None:
        return local
    return iri if iri.lower().startswith(SAFE_SCHEMES) else None


def term_href(term: object) -> str | None:
    return href(term.value) if isinstance(term, ox.NamedNode) else None


def is_external(iri: str) -> bool:
    return local_url(iri) is None


def header_iri(iri: str) -> str:
    """``iri`` as the URI it maps to (RFC 3987 section 3.1), for a response header (a
    ``Link`` target, a ``Location``): every character outside the ASCII of a URI reference,
    non-ASCII ones first encoded as UTF-8, is percent-encoded; escapes already in it are kept.

    Headers are Latin-1 on the wire (waitress encodes them so): an IRI with a "€" made
    every non-HTML answer about it a 500, after the app had answered 200. A space, '<', '>'
    or '"' cannot end a ``<...>`` link either, nor a control character the header."""
    return quote(iri, safe=HEADER_SAFE)


def header_link(iri: str, rel: str) -> str:
    """A ``Link`` header value: ``<iri>; rel="rel"``, the IRI as ``header_iri`` gives it."""
    return f'<{header_iri(iri)}>; rel="{rel}"'


def query_url(name: str, params: dict[str, str], suffix: str | None = None) -> str:
    """Stable URL of a stored query's result with the given parameters."""
    path = url_for("queries.query", name=name) + (f".{suffix}" if suffix else "")
    clean = {k: v for k, v in sorted(params.items()) if v not in ("", None)}
    return path + ("?" + urlencode(clean) if clean else "")


def sparql_url(query: str, suffix: str | None = None) -> str:
    args = {"query": query}
    if suffix:
        args["format"] = suffix
    return url_for("sparql.endpoint") + "?" + urlencode(args)
