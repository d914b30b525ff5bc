"""Benchmark: safe parsing + SHACL validation of one partner submission.

The submission is tests/submissions/valid/complete.ttl (one resource of every class, ~95
triples) repeated with renamed resources until it has the requested number of triples, as
partner marche-region, in N-Triples and Turtle; so it conforms and every shape runs. Each size
runs in a fresh child process, which reports its own peak memory (ru_maxrss) and CPU time
(wall time suffers when other processes share the two cores).

    .venv/bin/python bench/validation_bench.py --sizes 10000,100000,1000000 --pyshacl 10000 \
        --submit --runs 3

``--pyshacl N`` also times the reference engine (pyshacl on rdflib) and ours on the same
N-triple submission, with their ratio; pyshacl is far slower, so keep N small. ``--submit``
also runs each size end to end through the submission pipeline
(`clusterpolisee.submissions.submit`: parse, validate, archive, one atomic commit replacing
the partner graph with provenance) into a copy of a freshly built store, then the reasoning
step (`materialise`) as the pipeline's after-commit. ``--runs R``: each row R times, each in
a fresh process (median / p95).
"""

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import HelpFormatter, int_list, median_p95, progress

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "submissions" / "valid" / "complete.ttl"


def make_submission(triples: int) -> bytes:
    """Turtle with copies of the sample, each copy's slugs suffixed with its number."""
    text = SAMPLE.read_text()
    head, _, body = text.partition("\norg:")
    body = "org:" + body
    per_copy = body.count(" ;") + body.count(" .") + body.count(" , ")
    parts = [head]
    for i in range(max(1, triples // per_copy)):
        parts.append(re.sub(r"test-([a-z-]+)", rf"test-\1-{i}", body))
    return "\n".join(parts).encode()


def run_one(triples: int, engine: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from clusterpolisee.rdfio import read_rdf, refuse_named_graphs
    from clusterpolisee.validation import validate

    data = make_submission(triples)
    validate([], None, engine=engine)  # load shapes, ontology and reference data once
    cpu, start = time.process_time(), time.perf_counter()
    parsed = refuse_named_graphs(read_rdf(data, "bench.ttl"))
    parse_s = time.perf_counter() - start
    start = time.perf_counter()
    report = validate(parsed, "marche-region", engine=engine)
    validate_s = time.perf_counter() - start
    return {
        "engine": engine,
        "triples": len(parsed),
        "bytes": len(data),
        "parse_s": parse_s,
        "validate_s": validate_s,
        "total_s": parse_s + validate_s,
        "cpu_s": time.process_time() - cpu,
        "conforms": report.conforms,
        "results": len(report.results),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def run_submit(triples: int) -> dict:
    """parse + validate + commit through the pipeline, then the reasoning step."""
    import shutil
    import tempfile

    sys.path.insert(0, str(ROOT))
    from clusterpolisee.reasoning.materialise import materialise
    from clusterpolisee.store import OxigraphStore
    from clusterpolisee.submissions import submit
    from clusterpolisee.validation import validate

    tmp = Path(tempfile.mkdtemp(prefix="submit-bench-"))
    try:
        store_path = tmp / "store"
        base = os.environ.get("BENCH_BASE_STORE")
        if base:
            shutil.copytree(base, store_path)
        else:
            cli = Path(sys.executable).with_name("clusterpolisee")
            subprocess.run([str(cli), "build", "--store", str(store_path)], check=True)
        data = make_submission(triples)
        validate([], None)  # load shapes, ontology and reference data once (a server keeps them)
        reasoning: list[float] = []

        def after(store) -> None:
            t = time.perf_counter()
            materialise(store)
            reasoning.append(time.perf_counter() - t)

        with OxigraphStore(str(store_path)) as store:
            start = time.perf_counter()
            result = submit(
                store, data, "bench.ttl", "marche-region", tmp / "archive", None, after_commit=after
            )
            total = time.perf_counter() - start
        return {
            "triples": result.attempt.triples,
            "accepted": result.accepted,
            "submit_s": total - reasoning[0] if reasoning else total,
            "reasoning_s": reasoning[0] if reasoning else None,
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def repeated(runs: int, *args: str) -> list[dict]:
    """``runs`` runs of one child, each in a fresh process that starts with nothing left to
    write back (a commit writes hundreds of MB; the run before must not be timed in it)."""
    out = []
    for _ in range(runs):
        os.sync()
        out.append(child(*args))
    return out


def spread(results: list[dict], key: str) -> str:
    """Median / p95 of one figure over the runs (p95 of 3 runs is their maximum); "–" when a
    run has no such figure (a rejected submission has no reasoning step)."""
    values = [r[key] for r in results]
    if any(v is None for v in values):
        return "–"
    median, p95 = median_p95(values)
    return f"{_s(median)} / {_s(p95)}"


def _s(seconds: float) -> str:
    return f"{seconds:.3f}" if seconds < 1 else f"{seconds:.2f}"


def tables(sizes: list[int], pyshacl: int, submit_sizes: list[int], runs: int = 1) -> str:
    """Markdown tables: parse + validate per engine (with ours and pyshacl on the same
    submission, and their ratio), then end-to-end submissions; ``runs`` fresh processes
    each, times as median / p95."""
    cases = [(size, "fast") for size in sizes]
    if pyshacl:
        cases += [(pyshacl, "fast")] * (pyshacl not in sizes) + [(pyshacl, "pyshacl")]
    out = [
        f"{runs} run(s) of each row, each in a fresh process; times are median / p95 in s, "
        "memory the largest peak.",
        "",
        "| engine | triples | MB | parse s | validate s | total s | CPU s | peak MB | conforms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    measured: dict[tuple[int, str], list[dict]] = {}
    for size, engine in cases:
        rs = measured[size, engine] = repeated(runs, str(size), engine)
        r = rs[0]
        total = statistics.median(x["total_s"] for x in rs)
        progress(f"submissions: {engine} on {r['triples']:,} triples, median {total:.2f} s")
        out.append(
            f"| {engine} | {r['triples']:,} | {r['bytes'] / 1e6:.1f} | {spread(rs, 'parse_s')} | "
            f"{spread(rs, 'validate_s')} | {spread(rs, 'total_s')} | {spread(rs, 'cpu_s')} | "
            f"{max(x['peak_mb'] for x in rs)} | {all(x['conforms'] for x in rs)} |"
        )
    if pyshacl:
        out += ["", versus(measured[pyshacl, "fast"], measured[pyshacl, "pyshacl"])]
    if submit_sizes:
        out += [
            "",
            "| triples | accepted | parse + validate + commit s | reasoning step s | peak MB |",
            "|---:|---|---:|---:|---:|",
        ]
        for size in submit_sizes:
            rs = repeated(runs, str(size), "submit")
            done = statistics.median(x["submit_s"] for x in rs)
            progress(f"submissions: {size:,} triples committed, median {done:.2f} s")
            out.append(
                f"| {rs[0]['triples']:,} | {all(x['accepted'] for x in rs)} | "
                f"{spread(rs, 'submit_s')} | {spread(rs, 'reasoning_s')} | "
                f"{max(x['peak_mb'] for x in rs)} |"
            )
    return "\n".join(out) + "\n"


def versus(ours: list[dict], theirs: list[dict]) -> str:
    """pyshacl against our engine on the same submission: ratios of the medians."""

    def ratio(key: str) -> str:
        mine = statistics.median(r[key] for r in ours)
        other = statistics.median(r[key] for r in theirs)
        return f"{other / mine:,.0f}x" if mine > 0 else "over the clock's resolution"

    return (
        f"pyshacl ÷ ours on the same {ours[0]['triples']:,} triples (medians): validate "
        f"{ratio('validate_s')}, parse + validate {ratio('total_s')}; peak memory "
        f"{max(r['peak_mb'] for r in theirs)} against {max(r['peak_mb'] for r in ours)} MB."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=HelpFormatter
    )
    parser.add_argument(
        "--sizes", type=int_list, default="10000,100000", help="comma-separated triple counts"
    )
    parser.add_argument(
        "--pyshacl", type=int, default=0, help="triples for the pyshacl run (0: none)"
    )
    parser.add_argument("--submit", action="store_true", help="also time whole submissions")
    parser.add_argument("--runs", type=int, default=1, help="fresh processes per row")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        size, engine = int(args.child[0]), args.child[1]
        print(json.dumps(run_submit(size) if engine == "submit" else run_one(size, engine)))
        return
    print(tables(args.sizes, args.pyshacl, args.sizes if args.submit else [], args.runs))


if __name__ == "__main__":
    main()
