"""Fixtures of the hostile-input suite: a built store, the counting listener, the decoy file;
and the figures printed at the end of the run (and written to test-output/reliability/)."""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from clusterpolisee import paths

from ..conftest import built_store
from .harness import DECOY_TEXT, FIGURES, Listener, strace_path


@pytest.fixture(scope="session")
def hostile_base(tmp_path_factory) -> Path:
    """A store built by the real `build` command; tests copy it before writing."""
    return built_store(tmp_path_factory, "hostile-base")


def copy_store(base: Path, dest: Path) -> Path:
    shutil.copytree(base, dest)
    return dest


@pytest.fixture(scope="session")
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


@pytest.fixture(scope="session")
def decoy(tmp_path_factory) -> Path:
    """A file the hostile inputs name (file: IRIs, entities, contexts) that must never be
    opened; it lies in the working directory of every traced run."""
    path = tmp_path_factory.mktemp("decoy") / "secret.txt"
    path.write_text(DECOY_TEXT)
    return path


@pytest.fixture(scope="session")
def strace() -> str:
    return strace_path()


def pytest_terminal_summary(terminalreporter) -> None:
    if not FIGURES:
        return
    tr = terminalreporter
    tr.section("hostile inputs: tried / handled as expected")
    total_tried = total_ok = 0
    for entry_point in sorted(FIGURES):
        counts = FIGURES[entry_point]
        cats = sorted({k[0] for k in counts})
        parts = [f"{c} {counts[(c, 'ok')]}/{counts[(c, 'tried')]}" for c in cats]
        tried = sum(counts[(c, "tried")] for c in cats)
        ok = sum(counts[(c, "ok")] for c in cats)
        total_tried, total_ok = total_tried + tried, total_ok + ok
        tr.write_line(f"{entry_point:<14} {ok}/{tried}: " + ", ".join(parts))
    tr.write_line(f"{'total':<14} {total_ok}/{total_tried}")
    out = paths.ROOT / "test-output" / "reliability"
    out.mkdir(parents=True, exist_ok=True)
    data = {ep: {f"{c}:{k}": n for (c, k), n in counts.items()} for ep, counts in FIGURES.items()}
    (out / "hostile.json").write_text(json.dumps(data, indent=1, sort_keys=True))
