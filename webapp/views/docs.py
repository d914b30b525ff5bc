"""/ontology and /shapes: documentation pages, and the files by Accept or suffix; the
ontology's version IRI (``owl:versionIRI``, ``{ontology}/{version}``) at /ontology/{version}."""

from flask import Blueprint, abort, make_response, render_template, request, url_for

from clusterpolisee.namespaces import ONTOLOGY_IRI

from .. import docs_model, renderer
from ..access import download
from ..database import Result
from ..errors import error_response
from .resource import split_suffix

bp = Blueprint("docs", __name__)


def _negotiated(suffix: str | None):
    if suffix:
        fmt = renderer.by_suffix(suffix, "graph") or (
            renderer.BY_SUFFIX["html"] if suffix == "html" else None
        )
        if fmt is None:
            abort(404, f"no .{suffix} format; use .ttl, .nt, .jsonld or .rdf")
        return fmt
    return renderer.negotiate(request.accept_mimetypes, "graph", "html")


def _serve(triples: tuple, suffix: str | None, page, headers: dict | None = None):
    fmt = _negotiated(suffix)
    if fmt is None:
        return error_response(
            406, "Not Acceptable", "available as HTML, Turtle, N-Triples, JSON-LD and RDF/XML"
        )
    if not fmt.is_html:
        return download(fmt, Result(kind="graph", triples=list(triples)), headers)
    resp = make_response(page())
    resp.headers.update(headers or {})
    if suffix is None:  # chosen by Accept: a cache must not give it to a Turtle client
        resp.headers["Vary"] = "Accept"
    return resp


def _ontology_page(downloads: list[tuple[str, str]], version_page: bool = False) -> str:
    return render_template(
        "ontology.html",
        doc=docs_model.ontology_doc(),
        downloads=downloads,
        version_page=version_page,
        ontology_iri=ONTOLOGY_IRI,
    )


@bp.route("/ontology")
@bp.route("/ontology.<suffix>")
def ontology(suffix: str | None = None):
    downloads = [(s, url_for("docs.ontology", suffix=s)) for s in renderer.suffixes("graph")]
    return _serve(docs_model.ontology_triples(), suffix, lambda: _ontology_page(downloads))


def current_version() -> str | None:
    """The path of the ontology's version IRI under the ontology IRI ("0.1.0"), or None when
    the ontology has no version IRI there (it is then not served under /ontology/...)."""
    iri, under = docs_model.version_iri(), ONTOLOGY_IRI + "/"
    return iri[len(under) :] if iri and iri.startswith(under) else None


@bp.route("/ontology/<path:version>")
def ontology_version(version: str):
    """The ontology at one version. Only the current one is kept (the repository's file), so
    it is served for its own version IRI and any other version is a 404 that names it."""
    current = current_version()
    suffix = None
    if version != current:  # a version may have dots: the suffix is split off only now
        version, suffix = split_suffix(version)
    if current is None:
        abort(404, f"the ontology states no version IRI under <{ONTOLOGY_IRI}/>")
    if version != current:
        known = f"the current version, {current} (<{docs_model.version_iri()}>)"
        abort(404, f"no version {version[:80]!r} of the ontology is served; only {known}")
    downloads = [
        (s, url_for("docs.ontology_version", version=f"{current}.{s}"))
        for s in renderer.suffixes("graph")
    ]
    return _serve(
        docs_model.ontology_triples(),
        suffix,
        lambda: _ontology_page(downloads, version_page=True),
        {"Link": f'<{ONTOLOGY_IRI}>; rel="latest-version"'},
    )


@bp.route("/shapes")
@bp.route("/shapes.<suffix>")
def shapes(suffix: str | None = None):
    return _serve(
        docs_model.shapes_triples(),
        suffix,
        lambda: render_template(
            "shapes.html",
            shapes=docs_model.shapes_doc(),
            files=docs_model.shape_files(),
            suffixes=renderer.suffixes("graph"),
        ),
    )
