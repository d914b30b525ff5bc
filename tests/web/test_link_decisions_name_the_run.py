"""/links/review decides as `links review` does (linking.review): a partner's acceptance and
rejection of candidates that a recorded run proposed name that run (prov:wasInformedBy), and
of candidates from before runs were recorded, none (tests/linking/test_decisions.py)."""

import shutil
from pathlib import Path

from clusterpolisee.linking import (
    CANDIDATES_GRAPH,
    LINKS_GRAPH,
    Candidate,
    Run,
    load,
    save_proposals,
)
from clusterpolisee.store.oxigraph import OxigraphStore
from webapp import close_app

from .conftest import make_app
from .test_links import CANDIDATES, followed, post, token_for

INFORMED = "http://www.w3.org/ns/prov#wasInformedBy"
ID = "https://w3id.org/clusterpolisee/id/"


def test_a_web_decision_names_the_run_of_its_candidate(store_path: Path, tmp_path: Path):
    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)
    ict, life, pbn = (Candidate(**vars(c)) for c in CANDIDATES)
    run = Run("list.csv", "cluster", 0.75, 2, person="Rita")
    with OxigraphStore(copy) as store:
        save_proposals(store, [pbn])  # as stored before runs were recorded: no run
        save_proposals(store, [ict, life], run=run)
    app = make_app(copy, tmp_path, WORKERS=1)
    try:
        client = app.test_client()
        decisions = {ict.id: "accept", life.id: "reject"}
        followed(client, post(client, token_for(app, "aws"), **decisions))
        followed(client, post(client, token_for(app, "pbn"), **{pbn.id: "reject"}))
        writer = app.extensions["cpo.writer"]
        found = {
            (t.subject.value, t.object.value)
            for graph in (CANDIDATES_GRAPH, LINKS_GRAPH)
            for t in writer.graph_triples(graph)
            if t.predicate.value == INFORMED
        }
        cells = load(writer)
    finally:
        close_app(app)
    assert [(cells[c.id].status, cells[c.id].rejected_by) for c in (ict, life, pbn)] == [
        ("accepted", ""),
        ("rejected", "aws (web review)"),
        ("rejected", "pbn (web review)"),
    ]
    assert found == {
        (f"{ID}link/{ict.id}/review", run.node.value),
        (f"{life.node.value}/rejection", run.node.value),
    }
