"""A sorted answer the server has seen to be long is sorted by Oxigraph next time."""

import webapp.database as database

REGIONS = """PREFIX cpo: <https://w3id.org/clusterpolisee/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?region ?label WHERE { ?region a cpo:Region ; rdfs:label ?label } ORDER BY ?label"""


def test_a_long_sorted_answer_is_noted_and_sorted_alike_next_time(app, monkeypatch):
    db = app.extensions["cpo.db"]
    asked, jobs, run = (REGIONS, ()), [], db.pool.run
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
