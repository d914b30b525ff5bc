"""The stored questions answer the same on Virtuoso as on the embedded store: the same text,
with its parameters, narrowing patterns and sub-queries, on the demo data in both."""

import re
from decimal import Decimal, InvalidOperation

import pytest

from clusterpolisee.catalog import load_catalog
from clusterpolisee.store import open_store
from clusterpolisee.store.remote import RemoteStore

from .conftest import remote_config, wipe


@pytest.fixture(scope="module")
def both(virtuoso, demo_store):
    remote = RemoteStore(remote_config(virtuoso))
    wipe(remote)
    local = open_store(str(demo_store), read_only=True)
    for graph in local.graph_sizes():
        remote.replace_graph(graph, list(local.graph_triples(graph)))
    yield local, remote
    local.close()
    wipe(remote)
    remote.close()


#: A GROUP_CONCAT of NACE codes, separated by spaces (cluster-partners' shared sectors).
CODE_LIST = re.compile(r"[A-U][0-9.]*( [A-U][0-9.]*)+")


def _cell(value: str) -> object:
    """A value as compared: numbers by value (Virtuoso writes 3.0 where Oxigraph writes 3),
    and the parts of a GROUP_CONCAT list in any order (SPARQL leaves their order open)."""
    try:
        return Decimal(value)
    except InvalidOperation:
        if CODE_LIST.fullmatch(value):
            return tuple(sorted(value.split(" ")))
        return tuple(sorted(re.split(r"; |, ", value)))


def _answer(store, text: str) -> list:
    result = store.run_query(text)
    if result.boolean is not None:
        return [result.boolean]
    if result.triples:
        return sorted(map(str, result.triples))
    return sorted(
        tuple(sorted((k, str(_cell(v.value))) for k, v in row.items())) for row in result.rows
    )


def _cases(q, store) -> list[dict[str, str]]:
    """The defaults, then each parameter set to each of its first three allowed values."""
    cases: list[dict[str, str]] = [{}]
    for p in q.params:
        cases += [{p.name: value} for value, _label in (p.options(store) or [])[:3]]
    return cases


def test_every_stored_question_answers_alike_on_both_backends(both):
    local, remote = both
    compared = rows = 0
    for q in load_catalog().queries.values():
        if q.services:
            continue
        for raw in _cases(q, local):
            text = q.bound_text(q.bind(raw, local))
            ours = _answer(local, text)
            assert _answer(remote, text) == ours, (q.name, raw)
            compared += 1
            rows += len(ours)
    assert compared >= 80 and rows >= 1500
