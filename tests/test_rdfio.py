"""Safe parsing: every format, clear messages, bounded cost on hostile input."""

import time

import pyoxigraph as ox
import pytest

from clusterpolisee.rdfio import (
    DEFAULT_MAX_BYTES,
    MAX_DEPTH,
    InputError,
    format_for,
    read_rdf,
    refuse_named_graphs,
)

S = "https://w3id.org/clusterpolisee/id/partner/marche-region/cluster/x"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDF_XML = (
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">'
    f'<rdf:Description rdf:about="{S}"><rdfs:label xml:lang="en">x</rdfs:label>'
    "</rdf:Description></rdf:RDF>"
)
SAME = {
    "a.ttl": f'<{S}> <{LABEL}> "x"@en .',
    "a.nt": f'<{S}> <{LABEL}> "x"@en .\n',
    "a.nq": f'<{S}> <{LABEL}> "x"@en .\n',
    "a.trig": f'{{ <{S}> <{LABEL}> "x"@en . }}',
    "a.jsonld": f'{{"@id": "{S}", "{LABEL}": {{"@value": "x", "@language": "en"}}}}',
    "a.rdf": RDF_XML,
}


def refused(data: bytes, name: str, fmt: str | None = None, **kw) -> str:
    with pytest.raises(InputError) as info:
        read_rdf(data, name, fmt, **kw)
    return str(info.value)


@pytest.mark.parametrize("name", sorted(SAME))
def test_every_format_gives_the_same_triple(name):
    (quad,) = read_rdf(SAME[name].encode(), name)
    assert quad.triple == ox.Triple(
        ox.NamedNode(S), ox.NamedNode(LABEL), ox.Literal("x", language="en")
    )


def test_explicit_format_names():
    assert format_for("upload.bin", "Turtle") == "turtle"
    assert format_for("upload.bin", "rdf/xml") == "rdfxml"
    assert format_for("upload.bin", "json-ld") == "jsonld"
    assert len(read_rdf(SAME["a.rdf"].encode(), "upload.bin", "rdfxml")) == 1
    assert "unknown input format 'n3'" in refused(b"x", "a.ttl", "n3")
    assert "cannot tell the format from the extension '.csv'" in refused(b"x", "a.csv")


def test_syntax_error_has_line_and_column():
    msg = refused(b"@prefix : <http://e/> .\n:a :b :c ;\n :d .\n", "bad.ttl")
    assert msg == "bad.ttl: syntax error in Turtle at line 3 column 5: . is not a valid RDF object"
    msg = refused(b"<rdf:RDF>\n<unclosed>\n</rdf:RDF>", "bad.rdf")
    assert msg.startswith("bad.rdf: syntax error in RDF/XML at line 3, column 3:")


def test_syntax_error_without_a_position_says_so():
    rdf = f'<rdf:RDF xmlns:rdf="{RDF_NS}">\n  <foo>1</foo>\n</rdf:RDF>'
    assert refused(rdf.encode(), "x.rdf") == (
        "x.rdf: syntax error in RDF/XML (no position given): XML namespaces are required in RDF/XML"
    )


def test_encodings_and_binary():
    assert "UTF-16 encoded; save it as UTF-8" in refused(SAME["a.ttl"].encode("utf-16"), "a.ttl")
    assert "UTF-16" in refused(SAME["a.ttl"].encode("utf-16-le"), "a.ttl")
    assert refused(b'<http://a> <http://b> "\xff" .', "a.ttl") == (
        "a.ttl: line 1, column 24: invalid UTF-8 (byte 0xff): the file is not saved as UTF-8; "
        "it is in some other encoding. Save the file as UTF-8: in Excel, Save As > "
        "'CSV UTF-8 (Comma delimited)'; in a text editor, choose the encoding UTF-8 when saving"
    )
    assert "binary file" in refused(b"\x1f\x8b\x08\x00\x00\x00", "a.ttl")
    assert refused(b"", "a.ttl") == "a.ttl: the file is empty"
    assert refused(b" \n\t", "a.jsonld") == "a.jsonld: the file is empty"
    # A UTF-8 byte-order mark (Excel, Notepad) is accepted.
    assert len(read_rdf(b"\xef\xbb\xbf" + SAME["a.ttl"].encode(), "a.ttl")) == 1


def test_size_limit():
    data = SAME["a.nt"].encode() * 100
    assert len(read_rdf(data, "a.nt", max_bytes=len(data))) == 100  # duplicates are kept
    msg = refused(data, "a.nt", max_bytes=1000)
    assert msg == (
        "a.nt: the file has 12,300 bytes; the limit is 1,000 bytes. "
        "Split it or ask the administrator."
    )


def test_csv_size_limit_is_the_same_constant():
    from clusterpolisee.templates import csv_to_triples

    with pytest.raises(InputError) as exc:
        csv_to_triples(b"x" * (DEFAULT_MAX_BYTES + 1), "marche-region")
    assert str(exc.value) == "the CSV file has 50,000,001 bytes; the limit is 50,000,000 bytes"


def test_relative_iris_are_refused_in_every_format():
    assert "relative IRIs are not accepted" in refused(b'<x> <http://b> "c" .', "a.ttl")
    assert "relative IRI" in refused(b'@base <foo/> . <x> <http://b> "c" .', "a.ttl")
    msg = refused(b'{"@id": "x", "http://b": "c"}', "a.jsonld")
    assert msg.startswith("a.jsonld: relative IRI <x> is not accepted")
    msg = refused(b'{"@context": {"@vocab": "v/"}, "@id": "http://a", "b": "c"}', "a.jsonld")
    assert "relative IRI <v/b>" in msg
    xml = RDF_XML.replace(S, "cluster/x").encode()
    assert "relative IRI <cluster/x>" in refused(xml, "a.rdf")


def test_remote_json_ld_contexts_are_not_fetched():
    for ctx in ('"https://example.org/c"', '"file:///etc/passwd"', '{"@import": "http://x/"}'):
        data = f'{{"@context": {ctx}, "@id": "{S}", "{LABEL}": "x"}}'.encode()
        assert "remote context" in refused(data, "a.jsonld")


def test_xml_dtds_are_refused_before_parsing():
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10 if i else "&a;" * 10}">' for i in range(9))
        + "]>" + RDF_XML.replace(">x<", ">&a8;<")
    )  # fmt: skip
    start = time.perf_counter()
    assert "<!DOCTYPE> or <!ENTITY>" in refused(bomb.encode(), "bomb.rdf")
    assert time.perf_counter() - start < 1
    assert "<!DOCTYPE>" in refused(b'<?xml version="1.0"?><!doctype x SYSTEM "y">', "a.rdf")


def deep_turtle(depth: int) -> bytes:
    return (
        f"<{S}> <{LABEL}> ".encode() + b"[ <http://e/p> " * depth + b'"x"' + b" ]" * depth + b" ."
    )


def test_nesting_up_to_the_limit_is_accepted():
    assert len(read_rdf(deep_turtle(MAX_DEPTH - 1), "a.ttl")) == MAX_DEPTH
    items = b" ".join(b'"x"' for _ in range(MAX_DEPTH - 1))
    assert len(read_rdf(f"<{S}> <{LABEL}> (".encode() + items + b") .", "a.ttl")) > MAX_DEPTH


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("deep.ttl", deep_turtle(1_000_000)),
        ("deep.jsonld", b'{"http://e/p": ' * 200_000 + b'"x"' + b"}" * 200_000),
        (
            "deep.rdf",
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">'
            + b"<rdf:Description><e:p>" * 100_000
            + b"</e:p></rdf:Description>" * 100_000
            + b"</rdf:RDF>",
        ),
        ("list.ttl", f"<{S}> <{LABEL}> (".encode() + b' "x"' * 100_000 + b" ) ."),
        (
            "cycle-free-chain.nt",
            b"".join(f"_:b{i} <http://e/p> _:b{i + 1} .\n".encode() for i in range(5000)),
        ),  # fmt: skip
    ],
)
def test_hostile_nesting_is_refused_fast(name, data):
    start = time.perf_counter()
    msg = refused(data, name)
    assert "nested more than 64 levels" in msg
    assert time.perf_counter() - start < 5


def test_ten_megabyte_literal_is_fast():
    data = f'<{S}> <{LABEL}> """'.encode() + b"line\\n" * 2_000_000 + b'""" .'
    start = time.perf_counter()
    (quad,) = read_rdf(data, "big.ttl")
    assert len(quad.object.value) == 10_000_000
    assert time.perf_counter() - start < 5


def test_named_graphs_are_refused():
    quads = read_rdf(b"<http://g> { <http://a> <http://b> <http://c> . }", "a.trig")
    assert str(quads[0].graph_name) == "<http://g>"
    with pytest.raises(InputError) as info:
        refuse_named_graphs(quads)
    assert str(info.value) == (
        "the input puts statements into named graph(s) <http://g>; a submission cannot "
        "choose its target graph: put everything in the default graph"
    )
    default = read_rdf(SAME["a.trig"].encode(), "a.trig")
    assert len(refuse_named_graphs(default)) == 1


def test_blank_node_cycles_are_accepted():
    quads = read_rdf(b"_:a <http://b> _:b . _:b <http://b> _:a .", "a.ttl")
    assert len(quads) == 2


def test_triple_terms_are_refused():
    for data in (
        b"<http://a> <http://b> <<( <http://a> <http://b> <http://c> )>> .",
        b"<< <http://a> <http://b> <http://c> >> <http://b> <http://c> .",
    ):
        assert "RDF 1.2 triple terms and reifications" in refused(data, "a.ttl")
