"""The collector pause around parsing and validation (clusterpolisee/gcpause.py)."""

import gc
import threading

from clusterpolisee.gcpause import paused_collection

RDF_VALUE_IRI = "http://www.w3.org/1999/02/22-rdf-syntax-ns#value"


def test_overlapping_pauses_resume_when_the_last_one_ends():
    assert gc.isenabled()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with paused_collection():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with paused_collection():
        second_in.set()
        first_out.wait(5)  # the first pause has ended while this one goes on
        seen["during"] = gc.isenabled()
    thread.join()
    assert seen["during"] is False
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off():
    gc.disable()
    try:
        with paused_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_error_inside_still_resumes():
    try:
        with paused_collection():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()


def test_query_rows_are_built_with_the_collector_paused_and_it_resumes():
    import pyoxigraph as ox

    from clusterpolisee.store.oxigraph import _rows

    store = ox.Store()
    for i in range(3):
        store.add(
            ox.Quad(
                ox.NamedNode(f"https://example.org/s{i}"),
                ox.NamedNode(RDF_VALUE_IRI),
                ox.Literal(str(i)),
            )
        )
    seen = []

    def spy(term):  # Oxigraph calls it for each solution while the rows are being built
        seen.append(gc.isenabled())
        return term

    result = store.query(
        "SELECT ?o WHERE { ?s ?p ?o FILTER(<https://example.org/spy>(?o) = ?o) }",
        custom_functions={ox.NamedNode("https://example.org/spy"): spy},
    )
    rows = _rows(result)
    assert sorted(r["o"].value for r in rows) == ["0", "1", "2"]
    assert seen == [False, False, False]
    assert gc.isenabled()
