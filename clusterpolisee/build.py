"""Build the store from the sources of truth: ontology, schemes, reference data."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from . import paths
from .namespaces import graph_iri
from .store import Store


@dataclass
class BuildStep:
    graph: str
    files: list[Path]
    triples: int = 0


def plan() -> list[BuildStep]:
    """Which files go into which named graph."""
    return [
        BuildStep(graph_iri("ontology"), paths.ontology_files()),
        BuildStep(graph_iri("reference"), paths.reference_files()),
    ]


def read_turtle(path: Path) -> list[ox.Triple]:
    with path.open("rb") as fh:
        return [q.triple for q in ox.parse(fh, format=ox.RdfFormat.TURTLE)]


def build(
    store: Store, progress: Callable[[Path], None] = lambda _p: None
) -> tuple[list[BuildStep], float]:
    """Load every step into its graph (replacing what was there); idempotent."""
    start = time.perf_counter()
    steps = plan()
    for step in steps:
        triples: list[ox.Triple] = []
        for path in step.files:
            triples.extend(read_turtle(path))
            progress(path)
        step.triples = store.replace_graph(step.graph, triples)
    return steps, time.perf_counter() - start
