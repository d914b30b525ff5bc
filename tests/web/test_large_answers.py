"""A sorted answer the server has seen to be long is sorted by Oxigraph next time."""

import hashlib

import pytest

import webapp.database as database
from clusterpolisee.store.ordering import text_key
from webapp.database import QueryTimedOut

REGIONS = """PREFIX cpo: <https://w3id.org/clusterpolisee/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?region ?label WHERE { ?region a cpo:Region ; rdfs:label ?label } ORDER BY ?label"""
RUNAWAY = "SELECT ?a WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l } ORDER BY ?a"


def noted(text: str) -> tuple:
    return (hashlib.sha256(text.encode()).digest(), (), None)  # text, bindings, dataset


def test_a_long_sorted_answer_is_noted_and_sorted_alike_next_time(app, monkeypatch):
    db = app.extensions["cpo.db"]
    asked, jobs, run = noted(REGIONS), [], db.pool.run
    monkeypatch.setattr(db.pool, "run", lambda job, timeout: jobs.append(job) or run(job, timeout))
    monkeypatch.setattr(database, "SORT_CAP", 1000)  # 109 regions: not long
    first = db.query(REGIONS, use_cache=False, limit=50)
    assert asked not in db.large_answers and first.truncated and len(first.rows) == 50
    monkeypatch.setattr(database, "SORT_CAP", 100)  # now long
    again = db.query(REGIONS, use_cache=False, limit=50)
    assert asked in db.large_answers
    by_engine = db.query(REGIONS, use_cache=False, limit=50)  # sorted by Oxigraph
    at = first.vars.index("label")
    labels = [[row[at].value for row in r.rows] for r in (first, again, by_engine)]
    assert labels[0] == labels[1] == labels[2] == sorted(labels[0])
    assert by_engine.truncated and len(by_engine.rows) == 50
    assert [job["engine_sort"] for job in jobs] == [False, False, True]


def test_a_sorted_query_that_ran_out_of_time_is_sorted_by_oxigraph_next_time(app):
    db = app.extensions["cpo.db"]
    assert noted(RUNAWAY) not in db.large_answers
    with pytest.raises(QueryTimedOut):
        db.query(RUNAWAY, use_cache=False)
    assert noted(RUNAWAY) in db.large_answers


def test_a_question_marked_sort_store_is_sorted_by_oxigraph_from_the_first_run(app, monkeypatch):
    """``sort: store`` (knowledge-transfers, by a date): the first job already lets Oxigraph
    sort, so a long answer is not decoded whole; a question without it is sorted in the
    worker (both come out in order, whoever sorts)."""
    from webapp.access import EngineStore
    from webapp.views.queries import catalog, run_stored

    db, jobs, texts = app.extensions["cpo.db"], [], []
    run = db.pool.run
    monkeypatch.setattr(db.pool, "run", lambda job, timeout: jobs.append(job) or run(job, timeout))
    # The app is shared: other tests' pages may have cached these answers already.
    monkeypatch.setattr(db, "cache", database._Cache(db.version, 0, 0))
    questions = catalog()
    with app.app_context():
        for name in ("knowledge-transfers", "clusters"):
            q = questions.get(name)
            values = q.bind({}, EngineStore())
            texts.append(q.bound_text(values))
            result = run_stored(q, values, db)
            key = result.vars.index({"knowledge-transfers": "date"}.get(name, "countryLabel"))
            column = [row[key].value for row in result.rows]
            assert len(column) > 5 and column == sorted(column), name
    assert [job["engine_sort"] for job in jobs if job["text"] in texts] == [True, False]


def test_a_long_stored_listing_is_still_sorted_for_readers(app, monkeypatch):
    """A stored question's answer noted as long is still sorted by the worker, strings
    collated (store/ordering.py): its page keeps one order on every visit. Any other text
    noted so is sorted by Oxigraph, by code point, as the worker sorts it too."""
    from webapp.access import EngineStore
    from webapp.views.queries import catalog, run_stored

    db, jobs = app.extensions["cpo.db"], []
    run = db.pool.run
    monkeypatch.setattr(db.pool, "run", lambda job, timeout: jobs.append(job) or run(job, timeout))
    monkeypatch.setattr(db, "cache", database._Cache(db.version, 0, 0))
    monkeypatch.setattr(database, "SORT_CAP", 10)  # every answer is long
    q = catalog().get("clusters")
    with app.app_context():
        values = q.bind({}, EngineStore())
        runs = [run_stored(q, values, db) for _ in range(2)]
    assert noted(q.bound_text(values)) in db.large_answers
    assert [job["engine_sort"] for job in jobs] == [False, False]
    at = runs[0].vars.index("clusterLabel")
    country, region = runs[0].vars.index("countryLabel"), runs[0].vars.index("regionLabel")
    places = [
        [(text_key(r[country].value), text_key(r[region].value)) for r in run.rows] for run in runs
    ]
    assert places[0] == places[1] == sorted(places[0])
    assert [r[at] for r in runs[0].rows] == [r[at] for r in runs[1].rows]


NAMES = 'SELECT ?x WHERE { VALUES ?x { "Zagreb" "Čačak" "de Gasperi" "Arad" } } ORDER BY ?x'


@pytest.mark.parametrize("stored_first", [True, False])
def test_a_stored_question_and_sparql_of_one_text_keep_their_own_orders(app, stored_first):
    """A question's page shows the text it runs, which an analyst may paste into /sparql:
    the two are kept apart, each in its order (one cache entry served both, in whichever
    order came first)."""
    db = app.extensions["cpo.db"]
    text = NAMES + ("  " if stored_first else "   ")  # each case its own entries
    runs = {
        "stored": lambda: db.query(text, trusted=True, split=True),
        "sparql": lambda: db.query(text),
    }
    order = ["stored", "sparql"] if stored_first else ["sparql", "stored"]
    got = {name: [row[0].value for row in runs[name]().rows] for name in order}
    assert got["stored"] == ["Arad", "Čačak", "de Gasperi", "Zagreb"]
    assert got["sparql"] == ["Arad", "Zagreb", "de Gasperi", "Čačak"]  # code points
