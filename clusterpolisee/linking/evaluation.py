"""Precision and recall of link discovery on a labelled list (used by tests and bench/)."""

import csv
import time
from dataclasses import dataclass
from pathlib import Path

from ..store import Store
from . import discover
from .records import read_csv

# The evaluation lists in tests/linking/eval use these headers.
EVAL_COLUMNS = {
    "id": "Profile ID",
    "name": "Organisation name",
    "alt_name": "Other names",
    "country": "Country",
    "region": "Region",
    "sector": "NACE",
    "url": "Website",
}
EVAL_ID_BASE = "https://example.org/cluster-db/profile/"


@dataclass
class Evaluation:
    true_positives: int
    false_positives: int
    false_negatives: int
    seconds: float
    records: int
    wrong: list[tuple[str, str]]
    missed: list[str]

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        gold = self.true_positives + self.false_negatives
        return self.true_positives / gold if gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def read_gold(path: Path, id_base: str = EVAL_ID_BASE) -> dict[str, str]:
    """External IRI -> our IRI, from a CSV with columns external_id, our_iri."""
    with path.open(encoding="utf-8", newline="") as fh:
        return {id_base + r["external_id"]: r["our_iri"] for r in csv.DictReader(fh)}


def evaluate(
    store: Store, source: Path, gold_path: Path, kind: str, threshold: float
) -> Evaluation:
    gold = read_gold(gold_path)
    start = time.perf_counter()
    records = read_csv(source.read_bytes(), source.name, EVAL_COLUMNS, EVAL_ID_BASE)
    found = discover(store, records, kind, source.name, threshold)
    seconds = time.perf_counter() - start
    predicted = {c.external: c.local for c in found}
    tp = sum(1 for ext, ours in predicted.items() if gold.get(ext) == ours)
    wrong = [(e, o) for e, o in predicted.items() if gold.get(e) != o]
    missed = [e for e, o in gold.items() if predicted.get(e) != o]
    return Evaluation(tp, len(wrong), len(missed), seconds, len(records), wrong, missed)
