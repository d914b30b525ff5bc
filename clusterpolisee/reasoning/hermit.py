"""Consistency check of the ontology (plus schemes and reference data) with HermiT.

The reasoner runs in a child process with a time limit: owlready2's call has none and starts
a JVM that could otherwise hang the caller.
"""

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..allocator import without_preload
from .owlclean import write_clean_ntriples


class ReasonerUnavailable(RuntimeError):
    """Java (needed by HermiT) is missing or the reasoner failed to run."""


@dataclass
class OntologyCheck:
    consistent: bool
    unsatisfiable: list[str]
    new_superclasses: dict[str, list[str]]
    reclassified_individuals: dict[str, list[str]]
    classes: int
    dropped_triples: int = 0
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.consistent and not self.unsatisfiable


def check(paths: list[Path], timeout: float = 300.0, memory_mb: int = 1024) -> OntologyCheck:
    """Classify the union of ``paths`` with HermiT; raise ReasonerUnavailable if it can't run."""
    if shutil.which("java") is None:
        raise ReasonerUnavailable(
            "Java was not found on PATH; HermiT needs it. Install OpenJDK 17 "
            "(apt-get install openjdk-17-jre-headless) or run 'make test' once."
        )
    with tempfile.TemporaryDirectory(prefix="cpo-hermit-") as tmp:
        nt = Path(tmp) / "clean.nt"
        dropped = write_clean_ntriples(paths, nt)
        worker = Path(__file__).with_name("hermit_worker.py")
        cmd = [sys.executable, str(worker), str(nt), str(memory_mb)]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp, env=without_preload()
            )
        except subprocess.TimeoutExpired as exc:
            raise ReasonerUnavailable(f"HermiT did not finish within {timeout:.0f} s") from exc
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise ReasonerUnavailable(f"HermiT failed: {last}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return OntologyCheck(**result, dropped_triples=dropped, files=[str(p) for p in paths])
