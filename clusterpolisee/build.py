"""Build the store from the sources of truth: ontology, schemes, reference data, the demo
partner submissions (through the submission pipeline, like any upload), then the
materialised inferences."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from . import paths
from .namespaces import graph_iri
from .reasoning.materialise import INFERRED, materialise
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


def partner_files() -> list[Path]:
    """The demo submissions, one ``{pid}.ttl`` per partner."""
    return sorted(paths.PARTNERS_DIR.glob("*.ttl"))


@dataclass
class BuildResult:
    steps: list[BuildStep]
    seconds: float
    submissions: list = field(default_factory=list)  # SubmissionResult of each partner file


def build(
    store: Store,
    progress: Callable[[Path], None] = lambda _p: None,
    archive: Path | None = None,
) -> tuple[list[BuildStep], float]:
    """Load every step into its graph (replacing what was there), submit the demo partner
    files when an ``archive`` folder is given, then recompute graph/inferred; idempotent
    (an unchanged partner file is not submitted again)."""
    result = build_all(store, progress, archive)
    return result.steps, result.seconds


def build_all(
    store: Store,
    progress: Callable[[Path], None] = lambda _p: None,
    archive: Path | None = None,
) -> BuildResult:
    start = time.perf_counter()
    steps = plan()
    for step in steps:
        triples: list[ox.Triple] = []
        for path in step.files:
            triples.extend(read_turtle(path))
            progress(path)
        step.triples = store.replace_graph(step.graph, triples)
    submissions = []
    if archive is not None:
        from .submissions import submit_folder

        submissions = submit_folder(store, paths.PARTNERS_DIR, archive, progress)
    # Inferences last, from everything loaded above (see reasoning/materialise.py).
    inferred = BuildStep(INFERRED, [], materialise(store))
    store.compact()  # the loads above leave the store fragmented; compacted it reads faster
    return BuildResult([*steps, inferred], time.perf_counter() - start, submissions)
