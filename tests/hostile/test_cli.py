"""Every hostile file through the real CLI, `validate` and `submit`, traced with strace:
expected exit code and message, no file opened outside the allow-list (never the decoy), no
connection (the loopback listener counts none), store unchanged when refused, time and
memory within bounds."""

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ..conftest import CLI, dataset
from .conftest import copy_store
from .harness import FIGURES, Entry, default_allowed, entries, materialise, problems, run_traced

PARTNER = "marche-region"
MAX_SECONDS = 90  # per traced CLI run (strace slows start-up; CI machines are slower)
MAX_RSS_MB = 1500
OUTCOME = {0: "accepted", 1: "rejected", 2: "unreadable"}
ENTRIES = entries()
PEAKS: dict[str, list[float]] = {}


def test_the_corpus_is_large_and_covers_every_category():
    assert len(ENTRIES) >= 60
    cats = {e.category for e in ENTRIES}
    assert cats >= {
        "syntax",
        "encoding",
        "empty",
        "wrong-extension",
        "oversized",
        "fetch",
        "cost",
        "write",
        "browser",
    }
    assert len({e.file for e in ENTRIES}) == len(ENTRIES)
    for e in ENTRIES:
        assert e.exit in OUTCOME, e
        assert e.expect or e.exit == 0, f"{e.file}: a refusal needs its expected message"


def check(run, entry: Entry, allowed: list[str], decoy: Path, listener, start: int) -> list[str]:
    out = []
    text = run.stdout + run.stderr
    if run.returncode != entry.exit:
        out.append(f"exit {run.returncode}, expected {entry.exit}: {text[-400:]}")
    if entry.expect not in text:
        out.append(f"message {entry.expect!r} not in output: {text[-400:]}")
    if "Traceback" in text:
        out.append("a traceback was printed")
    out.extend(problems(run.trace, allowed, decoy))
    if listener.connections != start:
        out.append(f"{listener.connections - start} connection(s) to the loopback listener")
    if run.seconds > MAX_SECONDS:
        out.append(f"took {run.seconds:.1f} s")
    if run.max_rss_mb > MAX_RSS_MB:
        out.append(f"peak memory {run.max_rss_mb:.0f} MB")
    return out


def record(entry_point: str, entry: Entry, failures: list[str], run) -> None:
    FIGURES[entry_point][(entry.category, "tried")] += 1
    FIGURES[entry_point][(entry.category, "ok")] += not failures
    peak = PEAKS.setdefault(entry_point, [0.0, 0.0])
    peak[0], peak[1] = max(peak[0], run.seconds), max(peak[1], run.max_rss_mb)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, listener, decoy) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("upload")
    return {e.file: materialise(e, folder, listener.address, decoy) for e in ENTRIES}


def test_validate(corpus, listener, decoy, tmp_path):
    """`clusterpolisee validate --partner P FILE`, run in the decoy's folder."""
    logs = tmp_path / "logs"
    logs.mkdir()

    def one(entry: Entry) -> tuple[Entry, list[str], object]:
        path = corpus[entry.file]
        run = run_traced(
            [str(CLI), "validate", "--partner", PARTNER, str(path)],
            cwd=decoy.parent,
            log=logs / f"{entry.file}.strace",
        )
        allowed = [*default_allowed(), str(path)]
        return entry, check(run, entry, allowed, decoy, listener, 0), run

    start = listener.connections
    failures = {}
    with ThreadPoolExecutor(max(2, min(4, os.cpu_count() or 2))) as pool:
        for entry, found, run in pool.map(one, ENTRIES):
            record("cli validate", entry, found, run)
            if found:
                failures[entry.file] = found
    assert listener.connections == start
    assert not failures, json.dumps(failures, indent=1)


def submit_lane(entries: list[Entry], corpus, base: Path, listener, decoy, root: Path):
    """Submit ``entries`` one after the other to a store of their own; failures by file."""
    store = copy_store(base, root / "store")
    archive = root / "archive"
    logs = root / "logs"
    logs.mkdir()
    derived = {
        f"https://w3id.org/clusterpolisee/graph/{g}"
        for g in (f"partner/{PARTNER}", "submissions", "inferred")
    }
    failures = {}
    before = dataset(store)
    for entry in entries:
        path = corpus[entry.file]
        start = listener.connections
        run = run_traced(
            [str(CLI), "submit", "--partner", PARTNER, "--store", str(store)]
            + ["--archive", str(archive), str(path)],
            cwd=decoy.parent,
            log=logs / f"{entry.file}.strace",
        )
        allowed = [*default_allowed(), str(path), str(store), str(archive)]
        found = check(run, entry, allowed, decoy, listener, start)
        after = dataset(store)
        if entry.exit != 0 and after != before:
            found.append(f"refused, yet the store changed: {len(before ^ after)} quads differ")
        if entry.exit == 0:
            outside = {q for q in before ^ after if q[3] not in derived}
            if outside:
                found.append(f"accepted, yet other graphs changed: {sorted(outside)[:3]}")
        attempts = sorted(archive.glob(f"{PARTNER}/*/meta.json"), key=os.path.getmtime)
        last = json.loads(attempts[-1].read_text()) if attempts else {}
        if last.get("filename") != entry.file or last.get("outcome") != OUTCOME[entry.exit]:
            found.append(f"archive: last attempt {last.get('filename')} {last.get('outcome')}")
        record("cli submit", entry, found, run)
        if found:
            failures[entry.file] = found
        before = after
    if len(list(archive.glob(f"{PARTNER}/*/meta.json"))) != len(entries):
        failures["archive"] = ["not every attempt was archived"]
    return failures


def test_submit(corpus, hostile_base, listener, decoy, tmp_path):
    """`clusterpolisee submit --partner P FILE`, each lane on a store of its own (one writer
    per store): refused inputs leave every quad as it was; accepted ones (harmless) change
    only the partner's graph and the derived graphs; every attempt is archived with its
    outcome."""
    lanes = 2
    roots = [tmp_path / f"lane{i}" for i in range(lanes)]
    for r in roots:
        r.mkdir()
    with ThreadPoolExecutor(lanes) as pool:
        results = pool.map(
            lambda i: submit_lane(
                ENTRIES[i::lanes], corpus, hostile_base, listener, decoy, roots[i]
            ),
            range(lanes),
        )
        failures = {k: v for r in results for k, v in r.items()}
    assert not failures, json.dumps(failures, indent=1)
