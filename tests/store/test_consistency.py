"""`materialise --check`: HermiT checks the stored data with the ontology, in a child process
with a time limit (needs Java, which `make test` installs)."""

import pyoxigraph as ox
import pytest

from clusterpolisee.namespaces import graph_iri
from clusterpolisee.store import OxigraphStore

from ..conftest import run_cli

CPO = "https://w3id.org/clusterpolisee/ontology#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


@pytest.mark.java
def test_contradiction_in_the_data_is_found(java, tmp_path):
    store = tmp_path / "store"
    assert run_cli("build", "--no-partners", "--store", str(store)).returncode == 0
    ok = run_cli("materialise", "--check", "--store", str(store))
    assert ok.returncode == 0, ok.stderr
    assert "Consistent: yes" in ok.stdout
    thing = ox.NamedNode("https://w3id.org/clusterpolisee/id/partner/test/cluster/both")
    with OxigraphStore(store) as s:  # cpo:Cluster and cpo:Organisation are disjoint
        s.replace_graph(
            graph_iri("partner/test"),
            [
                ox.Triple(thing, RDF_TYPE, ox.NamedNode(CPO + "Cluster")),
                ox.Triple(thing, RDF_TYPE, ox.NamedNode(CPO + "ClusterOrganisation")),
            ],
        )
    bad = run_cli("materialise", "--check", "--store", str(store))
    assert bad.returncode == 1, bad.stderr
    assert "Consistent: NO" in bad.stdout
