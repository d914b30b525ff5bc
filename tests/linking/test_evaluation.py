"""Precision and recall on the labelled evaluation lists (tests/linking/eval).

clusters.csv: 78 external-style rows built from the demo clusters with local-language names
(German, Bulgarian Cyrillic, Greek, Croatian, Hungarian, Italian, Albanian, Romanian, Slovak,
Serbian Cyrillic), legal forms, word order, stripped diacritics, NUTS 3 / region-name / local
country names, NACE classes instead of divisions, plus 16 non-matching rows: same-named
clusters in other countries or regions, other sectors, and clusters we do not have.
organisations.csv: 22 rows with acronyms, local names, web addresses differing by scheme, www
and trailing slash, and 7 non-matching organisations.
"""

from pathlib import Path

import pytest

from clusterpolisee.linking.evaluation import evaluate
from clusterpolisee.store import open_store

from .conftest import EVAL


@pytest.mark.parametrize(
    ("kind", "stem"), [("cluster", "clusters"), ("organisation", "organisations")]
)
def test_precision_and_recall_meet_the_targets(partner_store: Path, kind: str, stem: str):
    with open_store(str(partner_store), read_only=True) as store:
        ev = evaluate(store, EVAL / f"{stem}.csv", EVAL / f"{stem}-gold.csv", kind, 0.75)
    assert ev.precision >= 0.95, ev.wrong
    assert ev.recall >= 0.90, ev.missed
    assert ev.true_positives == {"cluster": 62, "organisation": 15}[kind]


def test_combined_numbers(partner_store: Path):
    with open_store(str(partner_store), read_only=True) as store:
        a = evaluate(store, EVAL / "clusters.csv", EVAL / "clusters-gold.csv", "cluster", 0.75)
        b = evaluate(
            store, EVAL / "organisations.csv", EVAL / "organisations-gold.csv", "organisation", 0.75
        )
    tp = a.true_positives + b.true_positives
    fp = a.false_positives + b.false_positives
    fn = a.false_negatives + b.false_negatives
    assert tp / (tp + fp) >= 0.95
    assert tp / (tp + fn) >= 0.90
    assert a.records + b.records == 100
