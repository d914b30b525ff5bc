"""The catalog's drop-down lists and parameter checks give the same answers on both backends.

Their SPARQL is written for Oxigraph's planner (EXISTS filters, a region list before the
reports), so each one runs here on the demo data in the embedded store and in Virtuoso.
"""

import pytest

from clusterpolisee.catalog import ParameterError, load_catalog
from clusterpolisee.store import OxigraphStore

CATALOG = load_catalog()
OPTIONS = [(q.name, p.name) for q in CATALOG.queries.values() for p in q.params if p.options_query]
ID = "https://w3id.org/clusterpolisee/id/"


@pytest.fixture(scope="module")
def demo_graphs(demo_store) -> dict[str, list]:
    with OxigraphStore(str(demo_store), read_only=True) as src:
        return {g: src.graph_triples(g) for g in src.graph_sizes()}


@pytest.fixture
def loaded(store, demo_graphs):
    for graph, triples in demo_graphs.items():
        store.replace_graph(graph, triples)
    return store


@pytest.fixture(scope="module")
def expected(demo_store) -> dict[tuple[str, str], list[tuple[str, str]]]:
    with OxigraphStore(str(demo_store), read_only=True) as src:
        return {(q, p): CATALOG.get(q).param(p).options(src) for q, p in OPTIONS}


def test_every_options_list_is_the_same_on_both_backends(loaded, expected):
    assert len(OPTIONS) >= 5
    for q, p in OPTIONS:
        got = CATALOG.get(q).param(p).options(loaded)
        assert got == expected[(q, p)], (q, p)
        assert len(got) >= 3, (q, p)  # the demo data has several of each


def test_a_listed_value_is_accepted_and_an_unlisted_one_refused(loaded, expected):
    for q, p in OPTIONS:
        query = CATALOG.get(q)
        first = expected[(q, p)][0][0]
        assert query.bind({p: first}, loaded)[p].value == first, (q, p)
        with pytest.raises(ParameterError, match="not an allowed value"):
            query.bind({p: ID + "region/XX99"}, loaded)
