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


def test_our_groups_and_classes_are_compared_at_division_level(tmp_path):
    """An external list's 29.10 is read as division 29 (Sectors.code); a cluster of ours filed
    under the class .../nace2/2910, or the former .../nace2/C29.1, is read so too."""
    from clusterpolisee.linking.local import load_entities
    from clusterpolisee.store import open_store

    cpo = "https://w3id.org/clusterpolisee/ontology#"
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    sector = ox.NamedNode(cpo + "sector")
    triples = []
    for name, code in (("a", "2910"), ("b", "C29.1"), ("c", "C")):
        x = ox.NamedNode(f"https://example.org/cluster/{name}")
        triples += [
            ox.Triple(x, rdf_type, ox.NamedNode(cpo + "Cluster")),
            ox.Triple(x, label, ox.Literal(f"Cluster {name}", language="en")),
            ox.Triple(x, sector, ox.NamedNode(NACE + code)),
        ]
    with open_store(str(tmp_path / "store")) as s:
        s.commit(replace={"https://example.org/graph": triples})
        found = {e.iri.rsplit("/", 1)[1]: e.sectors for e in load_entities(s, "cluster")}
    assert found == {"a": {"29"}, "b": {"29"}, "c": {"C"}}
