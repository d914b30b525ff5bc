"""data/reference/nace.ttl describes every NACE code the demo data uses."""

import re

import pyoxigraph as ox

from clusterpolisee import nace, paths

SKOS = "http://www.w3.org/2004/02/skos/core#"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
NACE = "http://data.europa.eu/ux2/nace2/"


def test_every_sector_used_is_described_with_label_notation_and_section():
    triples = list(ox.parse(path=str(paths.REFERENCE_DIR / "nace.ttl"), format=ox.RdfFormat.TURTLE))
    props: dict[str, dict[str, list[ox.Term]]] = {}
    for t in triples:
        props.setdefault(t.subject.value, {}).setdefault(t.predicate.value, []).append(t.object)
    used = set()
    for f in paths.PARTNERS_DIR.glob("*.ttl"):
        used |= {NACE + code for code in re.findall(r"\bnace:([A-U]|[0-9]{2})\b", f.read_text())}
    assert len(used) >= 30
    sections = [s for s in props if s.startswith(NACE) and len(s) == len(NACE) + 1]
    assert len(sections) == 21
    for iri in used | set(sections):
        p = props[iri]
        assert p[RDFS_LABEL][0].language == "en"
        code = iri.removeprefix(NACE)
        # the EU's IRI form (.../nace2/29), and the code as the regulation writes it ("29")
        assert p[SKOS + "notation"][0].value == code
        if code.isdigit():
            assert [b.value for b in p[SKOS + "broader"]] == [NACE + nace.SECTION_OF[code]]
    assert props[NACE + "29"][RDFS_LABEL][0].value == (
        "Manufacture of motor vehicles, trailers and semi-trailers"
    )
