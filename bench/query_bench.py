"""Latency of every stored query on the demo data plus N synthetic triples.

    .venv/bin/python bench/query_bench.py [--triples 1000000] [--runs 7] [--write]

Builds a fresh embedded store (ontology, reference data, the 24 demo submissions), adds the
synthetic graph from `clusterpolisee generate`, re-materialises the inferences, and times
each catalog query in-process (uncached: no result cache) with its default parameters; a
required parameter without a usable default takes the first allowed value. With --write the
table replaces the "## Stored queries" section of BENCHMARKS.md.
"""

import argparse
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clusterpolisee.catalog import ParameterError, load_catalog  # noqa: E402
from clusterpolisee.generate import generate  # noqa: E402
from clusterpolisee.namespaces import graph_iri  # noqa: E402
from clusterpolisee.reasoning.materialise import materialise  # noqa: E402
from clusterpolisee.store import open_store  # noqa: E402

CLI = Path(sys.executable).with_name("clusterpolisee")


def build(path: Path, triples: int) -> float:
    subprocess.run([str(CLI), "build", "--store", str(path)], check=True, capture_output=True)
    start = time.perf_counter()
    if triples:
        buf = io.BytesIO()
        generate(buf, triples, seed=1)
        parsed = [q.triple for q in ox.parse(buf.getvalue(), format=ox.RdfFormat.N_TRIPLES)]
        with open_store(str(path)) as store:
            store.commit(replace={graph_iri("partner/synthetic"): parsed})
            materialise(store)
    return time.perf_counter() - start


def params_for(query, store) -> dict[str, str]:
    chosen = {}
    for p in query.params:
        try:
            query.bind({p.name: p.default} if p.default else {}, store)
            continue
        except ParameterError:
            options = p.options(store) or []
            if options:
                chosen[p.name] = options[0][0]
    return chosen


def measure(path: Path, runs: int) -> list[tuple[str, int, float, float]]:
    rows = []
    with open_store(str(path), read_only=True) as store:
        for name, q in load_catalog().queries.items():
            text = q.bound_text(q.bind(params_for(q, store), store))
            times, size = [], 0
            for _ in range(runs):
                t0 = time.perf_counter()
                result = store.run_query(text)
                times.append((time.perf_counter() - t0) * 1000)
                size = len(result.rows) or len(result.triples) or int(bool(result.boolean))
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            rows.append((name, size, statistics.median(times), p95))
    return rows


def table(rows, triples: int, load_s: float, runs: int) -> str:
    out = [
        "## Stored queries",
        "",
        f"`bench/query_bench.py --triples {triples} --runs {runs}`, "
        f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, pyoxigraph {ox.__version__}. Demo data plus "
        f"{triples:,} synthetic triples (loaded and re-materialised in {load_s:.1f} s); each "
        "query in-process on the embedded store, uncached, default parameters.",
        "",
        "| query | rows | median ms | p95 ms |",
        "|---|---:|---:|---:|",
    ]
    out += [f"| {n} | {s} | {m:.1f} | {p:.1f} |" for n, s, m, p in rows]
    med = statistics.median(m for _, _, m, _ in rows)
    out += [
        "",
        f"Median over the catalog: {med:.1f} ms; slowest: "
        f"{max(rows, key=lambda r: r[2])[0]} ({max(r[2] for r in rows):.1f} ms).",
        "",
    ]
    return "\n".join(out)


def write_section(text: str) -> None:
    path = ROOT / "BENCHMARKS.md"
    doc = path.read_text() if path.exists() else "# Benchmarks\n"
    start = doc.find("## Stored queries")
    if start >= 0:
        end = doc.find("\n## ", start + 3)
        doc = doc[:start] + text + (doc[end + 1 :] if end >= 0 else "")
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    path.write_text(doc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--triples", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        load_s = build(store, args.triples)
        text = table(measure(store, args.runs), args.triples, load_s, args.runs)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
