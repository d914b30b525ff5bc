"""Graph answers cross the worker pipe as tuples of shared terms and arrive as triples."""

import pickle

import pyoxigraph as ox

from clusterpolisee.store.oxigraph import open_read_only
from webapp import wire

ID = "https://w3id.org/clusterpolisee/id/"
ITI3 = ox.NamedNode(ID + "region/ITI3")
ALL_OF_ITI3 = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?s {{ {ITI3} }} ?s ?p ?o }}"


def triples_of(n: int) -> list[ox.Triple]:
    """n triples of one subject and one predicate, each built with its own term objects."""
    return [
        ox.Triple(ox.NamedNode(ID + "region/RO21"), ox.NamedNode(ID + "p"), ox.Literal(str(i)))
        for i in range(n)
    ]


def test_pack_shares_terms_and_unpack_restores_the_triples():
    triples = triples_of(1000)
    packed = wire.pack({"triples": list(triples), "out": triples[:2], "in": [], "rows": [(1,)]})
    first, second = packed["triples"][:2]
    assert first[0] is second[0] and first[1] is second[1]  # one object per distinct term
    assert packed["out"][0][0] is first[0]  # shared across the keys of one answer too
    assert packed["rows"] == [(1,)]  # rows are not triples
    on_wire, plain = len(pickle.dumps(packed["triples"])), len(pickle.dumps(triples))
    assert on_wire * 2 < plain, (on_wire, plain)
    back = wire.unpack(pickle.loads(pickle.dumps(packed)))
    assert back["triples"] == triples and back["out"] == triples[:2] and back["in"] == []
    assert all(isinstance(t, ox.Triple) for t in back["triples"])


def test_graph_answers_through_the_workers_are_the_stores_triples(app, store_path):
    db = app.extensions["cpo.db"]
    result = db.query(ALL_OF_ITI3, trusted=True, use_cache=False)
    theirs = set(open_read_only(store_path).query(ALL_OF_ITI3, use_default_graph_as_union=True))
    assert result.kind == "graph" and len(result.triples) == len(theirs) >= 7
    assert all(isinstance(t, ox.Triple) for t in result.triples)
    assert set(result.triples) == theirs
    about = db.describe(ITI3.value)
    assert set(about["out"]) == theirs
    assert all(t.object == ITI3 for t in about["in"]) and len(about["in"]) > 0
