"""schema.org terms written with https://schema.org/: read as http://schema.org/ (the form of
the ontology and shapes) with a note in the report; a JSON-LD "@context": "https://schema.org"
is never fetched and is refused saying what to write instead. Real pipeline, real store."""

import json
import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee.rdfio import InputError, read_rdf
from clusterpolisee.store import open_store

from .conftest import CLI, built_with_archive, cli_on, dataset, run_cli
from .hostile.harness import run_traced

VALID = Path(__file__).parent / "submissions" / "valid" / "complete.ttl"
ID = "https://w3id.org/clusterpolisee/id/partner/marche-region/"
GRAPH = "https://w3id.org/clusterpolisee/graph/partner/marche-region"
CLUSTER = f"{ID}cluster/test-cluster"
ASSOCIATION = f"{ID}organisation/test-cluster-association"
HTTP_URL = "http://schema.org/url"
HTTPS_PREFIX = "@prefix schema: <https://schema.org/> ."


def note(name: str, uses: int, iris: str) -> str:
    return (
        f"{name}: {uses} use(s) of schema.org terms written with https://schema.org/ ({iris}) "
        "were read as http://schema.org/, the form the shapes, the stored data and the queries "
        "use (schema.org accepts both as the same terms). Nothing to fix; write "
        "http://schema.org/ to have no such note"
    )


def schema_context_refusal(name: str, context: str) -> str:
    return (
        f'{name}: the JSON-LD\'s "@context" names "{context}", a remote context, and nothing '
        'is fetched from the web. Put this inline context in its place: "@context": '
        '{"@vocab": "http://schema.org/", "url": {"@type": "@id"}}. Its terms are '
        "schema.org's, and a web address given as \"url\" is a link, as with schema.org's "
        'context; write any other value that is meant as a link as {"@id": "https://..."}, '
        "or it is read as text."
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    return built_with_archive(tmp_path_factory, "schema-https")


def complete(https: bool = False) -> str:
    text = VALID.read_text(encoding="utf-8")
    return text.replace("@prefix schema: <http://schema.org/> .", HTTPS_PREFIX) if https else text


def stored(store: Path) -> set[tuple[str, str, str]]:
    with open_store(str(store), read_only=True) as s:
        return {(t.subject.value, t.predicate.value, str(t.object)) for t in s.graph_triples(GRAPH)}


def schema_terms(triples: set[tuple[str, str, str]]) -> set[str]:
    """Every schema.org IRI, either form, in the triples (terms as text)."""
    return {
        re.sub(r"^<|>$", "", term)
        for triple in triples
        for term in triple
        if "//schema.org/" in term
    }


def test_https_turtle_is_accepted_stored_as_http_and_noted(built, tmp_path):
    store, _archive = built
    upload = tmp_path / "https.ttl"
    upload.write_text(complete(https=True), encoding="utf-8")
    proc = cli_on(built, "submit", str(upload), "--partner", "marche-region", "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["conforms"] is True
    infos = [r for r in report["results"] if r["severity"] == "Info"]
    assert [r["message"] for r in infos] == [note("https.ttl", 2, "<https://schema.org/url>")]
    assert infos[0]["focus"] == ""  # about the submission as a whole
    triples = stored(store)
    assert (CLUSTER, HTTP_URL, "<https://example.org/cluster>") in triples
    assert (ASSOCIATION, HTTP_URL, "<https://example.org/association>") in triples
    assert schema_terms(triples) == {HTTP_URL}


def test_validate_text_report_carries_the_note(tmp_path):
    upload = tmp_path / "https.ttl"
    upload.write_text(complete(https=True), encoding="utf-8")
    proc = run_cli("validate", str(upload), "--partner", "marche-region")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"  Info: {note(str(upload), 2, '<https://schema.org/url>')}\n" in proc.stdout
    # the note is no problem: before, "0 violation(s), 0 warning(s) in 1 resource(s)"
    assert proc.stdout.splitlines()[-1] == (
        "The submission conforms: no violation, no warning (1 note(s) above)."
    )


def test_mixed_forms_across_and_within_files_are_stored_uniformly(built, tmp_path):
    store, _archive = built
    # Turtle: the association's url left out, the cluster's written in full with https.
    turtle = (
        complete()
        .replace(" ;\n    schema:url <https://example.org/association> .", " .")
        .replace(
            "schema:url <https://example.org/cluster>",
            "<https://schema.org/url> <https://example.org/cluster>",
        )
    )
    (tmp_path / "a.ttl").write_text(turtle, encoding="utf-8")
    # JSON-LD with the http vocabulary gives the association's url.
    doc = {
        "@context": {"@vocab": "http://schema.org/"},
        "@id": ASSOCIATION,
        "url": {"@id": "https://example.org/association"},
    }
    (tmp_path / "b.jsonld").write_text(json.dumps(doc), encoding="utf-8")
    proc = cli_on(
        built,
        "submit",
        str(tmp_path / "a.ttl"),
        str(tmp_path / "b.jsonld"),
        "--partner",
        "marche-region",
        "--format",
        "json",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    messages = [r["message"] for r in json.loads(proc.stdout)["results"] if r["severity"] == "Info"]
    assert messages == [note("a.ttl", 1, "<https://schema.org/url>")]
    triples = stored(store)
    assert {t for t in triples if t[1] == HTTP_URL} == {
        (CLUSTER, HTTP_URL, "<https://example.org/cluster>"),
        (ASSOCIATION, HTTP_URL, "<https://example.org/association>"),
    }
    assert schema_terms(triples) == {HTTP_URL}


def test_every_position_and_syntax_is_read_as_http():
    """Subject, predicate, object (an enumeration member) and a literal's datatype; both forms
    in one file become one; JSON's escaped slashes and a \\u escape are found too."""
    turtle = (
        "@prefix s: <https://schema.org/> . @prefix h: <http://schema.org/> .\n"
        "<http://x/e> s:eventStatus s:EventScheduled ; h:eventStatus h:EventScheduled ;\n"
        '  s:startDate "2026-01-01"^^s:Date ; h:url <https://schema.org/> .\n'
        's:url <http://www.w3.org/2000/01/rdf-schema#label> "URL" .\n'
        '<http://x/e> <https://schema\\u002Eorg/name> "escaped" .\n'
    )
    notes: list[str] = []
    quads = read_rdf(turtle.encode(), "e.ttl", notes=notes)
    text = {(str(q.subject), str(q.predicate), str(q.object)) for q in quads}
    assert text == {
        ("<http://x/e>", "<http://schema.org/eventStatus>", "<http://schema.org/EventScheduled>"),
        ("<http://x/e>", "<http://schema.org/startDate>", '"2026-01-01"^^<http://schema.org/Date>'),
        ("<http://x/e>", "<http://schema.org/url>", "<http://schema.org/>"),
        ("<http://schema.org/url>", "<http://www.w3.org/2000/01/rdf-schema#label>", '"URL"'),
        ("<http://x/e>", "<http://schema.org/name>", '"escaped"'),
    }
    assert notes == [
        note(
            "e.ttl",
            7,
            "<https://schema.org/eventStatus>, <https://schema.org/EventScheduled>, "
            "<https://schema.org/startDate> and 4 more",
        )
    ]
    php = b'{"@id": "http://x/e", "https:\\/\\/schema.org\\/url": {"@id": "https://e.org/"}}'
    (quad,) = read_rdf(php, "php.jsonld")
    assert (quad.predicate, quad.object) == (ox.NamedNode(HTTP_URL), ox.NamedNode("https://e.org/"))
    xml = (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:s="https://schema&#46;org/"><rdf:Description rdf:about="http://x/e">'
        '<s:url rdf:resource="https://e.org/"/></rdf:Description></rdf:RDF>'
    )
    (quad,) = read_rdf(xml.encode(), "e.rdf")
    assert quad.predicate == ox.NamedNode(HTTP_URL)


def test_other_hosts_and_literals_are_left_alone():
    data = (
        '<http://x/e> <https://www.schema.org/url> "https://schema.org/url" ; '
        "<http://x/p> <https://schema.org> ."
    )
    notes: list[str] = []
    quads = read_rdf(data.encode(), "o.ttl", notes=notes)
    assert {(q.predicate.value, str(q.object)) for q in quads} == {
        ("https://www.schema.org/url", '"https://schema.org/url"'),
        ("http://x/p", "<https://schema.org>"),
    }
    assert notes == []


SCHEMA_JSONLD = {
    "@context": "https://schema.org",
    "@id": CLUSTER,
    "@type": "https://w3id.org/clusterpolisee/ontology#Cluster",
    "name": "Test cluster",
    "url": "https://example.org/cluster",
}


def test_schema_org_context_is_not_fetched_and_says_what_to_write(tmp_path):
    upload = tmp_path / "cluster.jsonld"
    upload.write_text(json.dumps(SCHEMA_JSONLD), encoding="utf-8")
    run = run_traced([str(CLI), "validate", str(upload)], tmp_path, tmp_path / "trace.log")
    assert run.trace.inet_connects == []
    assert run.returncode == 2, run.stderr
    assert run.stderr == f"error: {schema_context_refusal(str(upload), 'https://schema.org')}\n"


def test_the_advised_inline_context_reads_url_as_a_link():
    """The refusal's own advice, put in place of the remote context, gives what schema.org's
    context gives for url: a link."""
    data = json.dumps(SCHEMA_JSONLD).encode()
    with pytest.raises(InputError) as exc:
        read_rdf(data, "c.jsonld")
    advised = re.search(r'"@context": (\{.*?\}\})\.', str(exc.value))[1]
    fixed = {**SCHEMA_JSONLD, "@context": json.loads(advised)}
    quads = read_rdf(json.dumps(fixed).encode(), "c.jsonld")
    values = {(q.predicate.value, q.object) for q in quads}
    assert (HTTP_URL, ox.NamedNode("https://example.org/cluster")) in values
    assert ("http://schema.org/name", ox.Literal("Test cluster")) in values


def test_schema_org_context_in_a_list_is_named_with_the_other_remote_ones(built, tmp_path):
    store, _archive = built
    doc = {**SCHEMA_JSONLD, "@context": ["http://schema.org/", "https://example.org/ctx"]}
    upload = tmp_path / "list.jsonld"
    upload.write_text(json.dumps(doc), encoding="utf-8")
    before = dataset(store)
    proc = cli_on(built, "submit", str(upload), "--partner", "marche-region")
    assert proc.returncode == 2
    expected = schema_context_refusal("list.jsonld", "http://schema.org/")
    assert (
        expected + " The other remote context(s) (https://example.org/ctx) must be inlined too."
        in (proc.stdout + proc.stderr)
    )
    assert dataset(store) == before


def test_other_remote_contexts_keep_the_general_message():
    data = json.dumps({**SCHEMA_JSONLD, "@context": "https://example.org/ctx"}).encode()
    with pytest.raises(InputError) as exc:
        read_rdf(data, "c.jsonld")
    assert str(exc.value) == (
        "c.jsonld: the JSON-LD refers to a remote context (@context or @import with a URL); "
        "nothing is fetched: put the context inline in the file"
    )
