"""Every IRI of ours dereferences (DESIGN.md, "IRIs"): the ontology's version IRI, each IRI the
VoID / DCAT description mints, and the hash IRIs of a document (a submission's ``#file``)."""

import html
import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee import paths
from clusterpolisee.namespaces import ONTOLOGY_IRI
from clusterpolisee.publish import DATASET
from clusterpolisee.store.oxigraph import open_read_only
from webapp import close_app

from ..conftest import run_cli
from .conftest import make_app

W3ID = "https://w3id.org/clusterpolisee/"
OWL = "http://www.w3.org/2002/07/owl#"
PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
SUBMISSIONS = ox.NamedNode(W3ID + "graph/submissions")
RDF = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}
SHEETS = Path(__file__).parent.parent / "submissions" / "valid" / "spreadsheets"


def parse(body: bytes, fmt: ox.RdfFormat) -> set[ox.Triple]:
    return {q.triple for q in ox.parse(body, format=fmt)}


def local(iri: str) -> str:
    """The path w3id redirects one of our IRIs to, without its fragment."""
    assert iri.startswith(W3ID)
    return "/" + iri[len(W3ID) :].split("#")[0]


def ontology_version_iri() -> str:
    """The version IRI as the ontology file states it (read here, not from the app)."""
    onto = ox.NamedNode(ONTOLOGY_IRI)
    with paths.ONTOLOGY_FILE.open("rb") as fh:
        found = [
            q.object.value
            for q in ox.parse(fh, format=ox.RdfFormat.TURTLE)
            if q.subject == onto and q.predicate.value == OWL + "versionIRI"
        ]
    assert len(found) == 1 and found[0].startswith(ONTOLOGY_IRI + "/")
    return found[0]


# -- 1. the ontology's version IRI -------------------------------------------------------------


@pytest.mark.parametrize(("media", "suffix"), [(m, "") for m in RDF] + [("*/*", ".ttl")])
def test_the_ontology_version_iri_gives_the_ontology_at_that_version(client, media, suffix):
    version_iri = ontology_version_iri()
    r = client.get(local(version_iri) + suffix, headers={"Accept": media})
    assert r.status_code == 200
    fmt = RDF["text/turtle" if suffix else media]
    assert r.mimetype == ("text/turtle" if suffix else media)
    triples = parse(r.data, fmt)
    assert triples == parse(client.get("/ontology.ttl").data, ox.RdfFormat.TURTLE)
    onto = ox.NamedNode(ONTOLOGY_IRI)
    assert ox.Triple(onto, ox.NamedNode(OWL + "versionIRI"), ox.NamedNode(version_iri)) in triples
    assert r.headers["Link"] == f'<{ONTOLOGY_IRI}>; rel="latest-version"'


def test_the_ontology_version_iri_as_a_page(client):
    version_iri = ontology_version_iri()
    version = version_iri.rsplit("/", 1)[1]
    r = client.get(local(version_iri), headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert f"This is the ontology at version {version}, its current version" in page
    assert f'<a href="/ontology/{version}.ttl">ttl</a>' in page
    # the ontology's own page links its version IRI to the local page
    assert f'<a href="/ontology/{version}">{version_iri}</a>' in client.get(
        "/ontology", headers={"Accept": "text/html"}
    ).get_data(as_text=True)


@pytest.mark.parametrize("path", ["/ontology/9.9.9", "/ontology/9.9.9.ttl", "/ontology/x/y"])
def test_an_unknown_ontology_version_is_a_404_naming_the_current_one(client, path):
    r = client.get(path, headers={"Accept": "text/turtle"})
    assert r.status_code == 404
    wanted = path.removeprefix("/ontology/").removesuffix(".ttl")
    assert r.get_data(as_text=True) == (
        f"Not Found: no version {wanted!r} of the ontology is served; only the current "
        f"version, {ontology_version_iri().rsplit('/', 1)[1]} (<{ontology_version_iri()}>)\n"
    )


# -- 2. what the VoID / DCAT description mints -------------------------------------------------


@pytest.fixture(scope="module")
def catalogue(app) -> set[ox.Triple]:
    r = app.test_client().get("/.well-known/void", headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    return parse(r.data, ox.RdfFormat.TURTLE)


def minted(catalogue: set[ox.Triple]) -> set[str]:
    terms = {x for t in catalogue for x in (t.subject, t.object)}
    return {x.value for x in terms if isinstance(x, ox.NamedNode) and x.value.startswith(W3ID)}


def test_every_w3id_iri_of_the_catalogue_dereferences(client, catalogue):
    iris = minted(catalogue)
    entries = {i for i in iris if i == DATASET or i.startswith(DATASET + "/")}
    kinds = {i[len(DATASET) :].split("/")[1] for i in entries if i != DATASET}
    assert kinds == {"graph", "linkset", "dump", "external", "sparql", "sparql-service"}
    assert len(entries) >= 40 and DATASET in entries
    for iri in sorted(iris):
        r = client.get(local(iri), headers={"Accept": "text/turtle"})
        assert (r.status_code, r.mimetype) == (200, "text/turtle"), iri


@pytest.mark.parametrize("media", sorted(RDF))
def test_each_catalogue_entry_is_described_by_the_catalogues_triples(client, catalogue, media):
    entries = sorted(i for i in minted(catalogue) if i.startswith(DATASET))
    for iri in entries:
        r = client.get(local(iri), headers={"Accept": media})
        assert (r.status_code, r.mimetype) == (200, media), iri
        about = {t for t in catalogue if t.subject.value == iri}
        # the document holds the statements referring to the entry too (views.resource._rdf)
        referring = {t for t in catalogue if t.object == ox.NamedNode(iri)}
        assert about and parse(r.data, RDF[media]) == about | referring, iri
        assert r.headers["Link"] == f'<{iri}>; rel="describes"'  # RFC 6892: about it


def test_catalogue_entries_as_pages_and_by_suffix(client, catalogue):
    for iri in sorted(i for i in minted(catalogue) if i.startswith(DATASET)):
        r = client.get(local(iri), headers={"Accept": "text/html"})
        assert (r.status_code, r.mimetype) == (200, "text/html"), iri
        assert f'<p class="iri"><code>{iri}</code></p>' in r.get_data(as_text=True)
    page = client.get("/dataset", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "<h1>ClusterPoliSEE knowledge graph</h1>" in page
    assert '<a href="/dataset/linkset/nuts/exactMatch"' in page  # void:subset, linked locally
    assert '<a href="/dataset.nt">nt</a>' in page
    nerda = W3ID + "dataset/graph/partner/nerda"
    by_suffix = client.get("/dataset/graph/partner/nerda.nt")
    assert by_suffix.mimetype == "application/n-triples"
    assert parse(by_suffix.data, ox.RdfFormat.N_TRIPLES) == {
        t for t in catalogue if nerda in (t.subject.value, t.object.value)
    }
    assert client.get("/dataset.jsonld").mimetype == "application/ld+json"


def test_an_iri_the_catalogue_does_not_mint_is_a_404(client):
    r = client.get("/dataset/graph/nowhere", headers={"Accept": "text/turtle"})
    assert r.status_code == 404
    assert r.get_data(as_text=True) == (
        f"Not Found: the catalogue describes no {DATASET}/graph/nowhere\n"
    )
    assert client.get("/dataset.pdf").status_code == 404
    assert client.get("/dataset", headers={"Accept": "image/png"}).status_code == 406
    # paths no IRI can have were a 500 (NamedNode's ValueError); a long one is not echoed whole
    for path in ("/dataset/a%20b", "/dataset/a%3Cb", "/dataset/a%7Bb", "/dataset/%25zz"):
        r = client.get(path, headers={"Accept": "text/plain"})
        assert r.status_code == 404, path
        assert r.get_data(as_text=True).startswith("Not Found: the catalogue describes no ")
    long = client.get("/dataset/" + "x" * 5000, headers={"Accept": "text/plain"})
    assert long.status_code == 404 and len(long.data) < 300


# -- 3. hash IRIs: a document holds the statements about its #... subjects ---------------------


def hash_statements(store_path: Path, sub: str) -> set[ox.Triple]:
    store = open_read_only(store_path)
    return {
        q.triple
        for q in store.quads_for_pattern(None, None, None, SUBMISSIONS)
        if q.subject.value.startswith(sub + "#")
    }


def a_submission(store_path: Path, ends: str) -> str:
    store = open_read_only(store_path)
    used = store.quads_for_pattern(None, ox.NamedNode(PROV + "used"), None, SUBMISSIONS)
    return next(q.subject.value for q in used if q.object.value.endswith(ends))


@pytest.mark.parametrize("media", sorted(RDF))
def test_a_submission_document_holds_its_file_and_shapes(client, store_path, media):
    sub = a_submission(store_path, "#file")
    expected = hash_statements(store_path, sub)
    fragments = {t.subject.value.rsplit("#", 1)[1] for t in expected}
    assert fragments == {"file", "shapes"}
    r = client.get(local(sub), headers={"Accept": media})
    assert (r.status_code, r.mimetype) == (200, media)
    triples = parse(r.data, RDF[media])
    assert {t for t in triples if "#" in t.subject.value} == expected
    checksum = next(t.object.value for t in expected if t.predicate.value == DCT + "identifier")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", checksum)


def test_a_submission_page_shows_its_hash_iris_at_their_fragments(client, store_path):
    sub = a_submission(store_path, "#file")
    expected = hash_statements(store_path, sub)
    page = client.get(local(sub), headers={"Accept": "text/html"}).get_data(as_text=True)
    checksum = next(t.object.value for t in expected if t.predicate.value == DCT + "identifier")
    section = re.search(r'<section class="part" id="file">(.*?)</section>', page, re.S)
    assert section and checksum in section[1]
    assert f"<code>{sub}#file</code>" in section[1]
    shapes = re.search(r'<section class="part" id="shapes">(.*?)</section>', page, re.S)
    version = next(t.object.value for t in expected if t.predicate.value == DCT + "hasVersion")
    assert shapes and html.escape(version) in shapes[1]
    # prov:used links to the section of this page, not to a page of its own
    assert f'<a href="{local(sub)}#file">{sub}#file</a>' in page


def test_a_several_file_submission_holds_the_set_and_each_file(store_path, tmp_path):
    """#files is used by the submission; #file-1, #file-2 are reached through #files only."""
    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)
    sheets = [SHEETS / "barriers.csv", SHEETS / "policy-instruments.csv"]
    archive = ["--archive", str(tmp_path / "archive")]
    proc = run_cli(
        "submit", "--store", str(copy), *archive, "--partner", "marche-region", *map(str, sheets)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sub = a_submission(copy, "#files")
    expected = hash_statements(copy, sub)
    assert {t.subject.value.rsplit("#", 1)[1] for t in expected} == {
        "files",
        "file-1",
        "file-2",
        "shapes",
    }
    app = make_app(copy, tmp_path, WORKERS=1)
    try:
        r = app.test_client().get(local(sub), headers={"Accept": "text/turtle"})
        assert r.status_code == 200
        triples = parse(r.data, ox.RdfFormat.TURTLE)
        assert {t for t in triples if "#" in t.subject.value} == expected
        titles = {t.object.value for t in triples if t.predicate.value == DCT + "title"}
        assert {"barriers.csv", "policy-instruments.csv"} <= titles
    finally:
        close_app(app)
