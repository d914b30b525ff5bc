"""Benchmark: safe parsing + SHACL validation of one partner submission.

The submission is tests/submissions/valid/complete.ttl (one resource of every class, ~95
triples) repeated with renamed resources until it has the requested number of triples, as
partner marche-region, in N-Triples and Turtle; so it conforms and every shape runs. Each size
runs in a fresh child process, which reports its own peak memory (ru_maxrss) and CPU time
(wall time suffers when other processes share the two cores).

    .venv/bin/python bench/validation_bench.py --sizes 10000,100000,1000000 --pyshacl 2000

``--pyshacl N`` also times the reference engine (pyshacl on rdflib) on an N-triple
submission; it is far slower, so keep N small.
"""

import argparse
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

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
        "parse_s": round(parse_s, 2),
        "validate_s": round(validate_s, 2),
        "total_s": round(parse_s + validate_s, 2),
        "cpu_s": round(time.process_time() - cpu, 2),
        "conforms": report.conforms,
        "results": len(report.results),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--pyshacl", type=int, default=0, help="triples for the pyshacl run")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(int(args.child[0]), args.child[1])))
        return
    runs = [(int(s), "fast") for s in args.sizes.split(",")]
    if args.pyshacl:
        runs.append((args.pyshacl, "pyshacl"))
    print("| engine | triples | MB | parse s | validate s | total s | CPU s | peak MB | conforms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for size, engine in runs:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(size), engine],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(
            f"| {r['engine']} | {r['triples']:,} | {r['bytes'] / 1e6:.1f} | {r['parse_s']} | "
            f"{r['validate_s']} | {r['total_s']} | {r['cpu_s']} | {r['peak_mb']} | "
            f"{r['conforms']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
