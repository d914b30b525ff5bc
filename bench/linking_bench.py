"""Link-discovery benchmark: precision, recall, F1 and time on the labelled evaluation lists
(tests/linking/eval), at several thresholds, plus throughput on a larger list.

It builds a fresh store with `clusterpolisee build`, loads the demo partner data into the
partner graphs, runs the matcher as `clusterpolisee link` does, and rewrites the "## Linking"
section of BENCHMARKS.md (pass --no-write to only print).

Usage: .venv/bin/python bench/linking_bench.py [--scale 50] [--no-write]
"""

import argparse
import dataclasses
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import HelpFormatter  # noqa: E402
from clusterpolisee import paths  # noqa: E402
from clusterpolisee.linking import discover  # noqa: E402
from clusterpolisee.linking.evaluation import (  # noqa: E402
    EVAL_COLUMNS,
    EVAL_ID_BASE,
    evaluate,
)
from clusterpolisee.linking.records import read_csv  # noqa: E402
from clusterpolisee.namespaces import graph_iri  # noqa: E402
from clusterpolisee.store import open_store  # noqa: E402

EVAL = ROOT / "tests" / "linking" / "eval"
LISTS = [("cluster", "clusters"), ("organisation", "organisations")]
THRESHOLDS = [0.65, 0.70, 0.75, 0.80, 0.85, 0.90]
DEFAULT = 0.75


def build(path: Path) -> None:
    cli = Path(sys.executable).with_name("clusterpolisee")
    subprocess.run([str(cli), "build", "--store", str(path)], check=True, capture_output=True)
    graphs = {}
    for f in sorted(paths.PARTNERS_DIR.glob("*.ttl")):
        with f.open("rb") as fh:
            graphs[graph_iri(f"partner/{f.stem}")] = [
                q.triple for q in ox.parse(fh, format=ox.RdfFormat.TURTLE)
            ]
    with open_store(str(path)) as store:
        store.commit(replace=graphs)


def quality_rows(store) -> list[str]:
    rows = []
    for threshold in THRESHOLDS:
        for kind, stem in LISTS:
            ev = evaluate(store, EVAL / f"{stem}.csv", EVAL / f"{stem}-gold.csv", kind, threshold)
            mark = " (default)" if threshold == DEFAULT else ""
            rows.append(
                f"| {stem}.csv | {threshold:.2f}{mark} | {ev.records} | "
                f"{ev.true_positives + ev.false_negatives} | {ev.true_positives} | "
                f"{ev.false_positives} | {ev.false_negatives} | {ev.precision:.3f} | "
                f"{ev.recall:.3f} | {ev.f1:.3f} | {ev.seconds * 1000:.0f} |"
            )
    return rows


def scale_row(store, factor: int) -> str:
    """The cluster list repeated ``factor`` times (ids made unique) against the 90 clusters."""
    base = read_csv(
        (EVAL / "clusters.csv").read_bytes(), "clusters.csv", EVAL_COLUMNS, EVAL_ID_BASE
    )
    records = [
        dataclasses.replace(r, key=f"{r.key}-{i}", iri=f"{r.iri}-{i}", names=list(r.names))
        for i in range(factor)
        for r in base
    ]
    start = time.perf_counter()
    found = discover(store, records, "cluster", "scaled", DEFAULT)
    seconds = time.perf_counter() - start
    return (
        f"| clusters.csv x{factor} | {len(records)} | 90 | {len(found)} | {seconds:.2f} | "
        f"{len(records) / seconds:.0f} |"
    )


def section(quality: list[str], scale: str) -> str:
    return "\n".join([
        "## Linking",
        "",
        f"`bench/linking_bench.py` on {platform.python_implementation()} "
        f"{platform.python_version()}: a fresh store (`clusterpolisee build` plus the 24 demo "
        "partner submissions: 90 clusters, 105 organisations), the labelled lists in "
        "`tests/linking/eval` (78 cluster rows, 62 true matches; 22 organisation rows, 15 true "
        "matches; the other rows are distractors: same-named clusters in other countries or "
        "regions, other sectors, bodies we do not have). A candidate counts as found when it "
        "scores at least the threshold; one-to-one assignment. Time includes reading the CSV "
        "and the store.",
        "",
        "```sh",
        ".venv/bin/python bench/linking_bench.py",
        "```",
        "",
        "| list | threshold | rows | true links | found correct | wrong | missed | precision "
        "| recall | F1 | ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *quality,
        "",
        "Throughput (every pair is considered; pairs in different countries are dropped before "
        "their names are compared):",
        "",
        "| list | records | our entities | candidates | seconds | records/s |",
        "|---|---:|---:|---:|---:|---:|",
        scale,
        "",
        "The lists were written for this project from the demo data, and the glossary of "
        "local-language words (`clusterpolisee/linking/text.py`) covers the words they use: "
        "expect lower recall on names in words outside the glossary (those match only through "
        "web address, acronym or a name in another language).",
        "",
    ])  # fmt: skip


def write(text: str) -> None:
    target = ROOT / "BENCHMARKS.md"
    current = target.read_text(encoding="utf-8") if target.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Linking\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _m: text + "\n", current)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    target.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=HelpFormatter
    )
    parser.add_argument("--scale", type=int, default=50, help="Repeat the cluster list N times.")
    parser.add_argument("--no-write", action="store_true", help="Do not update BENCHMARKS.md.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store_path = Path(tmp) / "store"
        build(store_path)
        with open_store(str(store_path), read_only=True) as store:
            text = section(quality_rows(store), scale_row(store, args.scale))
    print(text)
    if not args.no_write:
        write(text)


if __name__ == "__main__":
    main()
