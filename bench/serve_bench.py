"""Serving a large store: build it query-ready step by step, then serve it and read its pages.

For a size N: `clusterpolisee generate --triples N --seed 1`, `clusterpolisee build` (demo data),
`OxigraphStore.bulk_load` of the synthetic file into graph/partner/synthetic, and
`clusterpolisee materialise` (inferences, tallies, compaction), each a child process timed with
its peak memory. Then `clusterpolisee serve` (default settings but the time
limit) and one GET per page, first request (uncached) unless the page is listed twice: status,
seconds, and the resident memory of the server's process tree (server plus query workers),
as the sum of RSS and of PSS.

Usage: .venv/bin/python bench/serve_bench.py --triples 1000000 [--work DIR] [--timeout 10]
       [--reuse] (serve an existing DIR/store instead of building it)
       [--wait S] (read the pages S seconds after the server answers, e.g. once warmed)
       [--serve-arg=--no-warm] (further `serve` options)
Prints Markdown tables; the 10M figures of BENCHMARKS.md "Query-ready at 10M" come from it.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    CLI,
    load_average,
    machine,
    process_tree,
    query_ready,
    timed,
)
from bench.web_bench import free_port  # noqa: E402

SYNTHETIC = "https://w3id.org/clusterpolisee/graph/partner/synthetic"
PAGES = [
    "/", "/", "/queries", "/catalog", "/graph/reference", "/graph/inferred",
    "/graph/partner/synthetic", "/id/region/RO21", "/ontology", "/submit",
]  # fmt: skip


def build(work: Path, triples: int) -> list[tuple[str, float, int]]:
    data, store = work / "synthetic.nt", work / "store"
    steps = [
        timed("generate", [str(CLI), "generate", "--triples", str(triples), "--output", str(data)]),
        *query_ready(store, data, SYNTHETIC),
    ]
    data.unlink()
    return steps


def tree_memory(root: int) -> tuple[int, int]:
    """Resident MiB of ``root`` and every descendant: the sum of their RSS, which counts a
    page shared by several processes (the libraries, the fork server's memory) once in each,
    and the sum of their PSS, which shares such a page out among them (what the tree takes)."""
    rss = pss = 0
    for pid in process_tree(root):
        rss += _kib(f"/proc/{pid}/status", "VmRSS:")
        pss += _kib(f"/proc/{pid}/smaps_rollup", "Pss:")
    return rss // 1024, pss // 1024


def _kib(path: str, key: str) -> int:
    """The kB figure of the line starting with ``key`` (0 once the process has gone)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in lines if line.startswith(key)), 0)


def serve_and_read(
    store: Path, timeout: float, extra: list[str], wait: float
) -> list[tuple[str, str, float, int, int]]:
    """Serve ``store`` (``extra``: more `serve` options), wait ``wait`` s after it answers,
    read every page once; the server's notes (warm-up) go to serve.log next to the store."""
    port = free_port()
    cmd = [str(CLI), "serve", "--store", str(store), "--port", str(port), "--timeout", str(timeout)]
    with open(store.parent / "serve.log", "w") as log:
        server = subprocess.Popen(
            [*cmd, *extra], stdout=subprocess.DEVNULL, stderr=log, start_new_session=True
        )
    base, rows = f"http://127.0.0.1:{port}", []
    try:
        _wait(base + "/health")
        time.sleep(wait)
        stored = [
            q for q in sorted((ROOT / "queries").glob("*.rq")) if "SERVICE" not in q.read_text()
        ]
        paths = PAGES + [_query_url(q) for q in stored]  # federated ones need the network
        for path in paths:
            start = time.perf_counter()
            status = _get(base + path, timeout + 60)
            rows.append((path, status, time.perf_counter() - start, *tree_memory(server.pid)))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    return rows


def _query_url(path: Path) -> str:
    """The stored question with its defaults: SPARQL JSON, or Turtle for a CONSTRUCT."""
    text = path.read_text(encoding="utf-8")
    return f"/queries/{path.stem}.{'ttl' if 'CONSTRUCT' in text else 'json'}"


def _wait(url: str) -> None:
    for _ in range(600):
        if _get(url, 5) == "200":
            return
        time.sleep(0.2)
    raise SystemExit("the server did not start")


def _get(url: str, timeout: float) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            resp.read()
            return str(resp.status)
    except urllib.error.HTTPError as exc:
        return str(exc.code)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        return type(exc).__name__


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--triples", type=int, default=1_000_000, help="synthetic triples (default: 1000000)"
    )
    ap.add_argument("--work", type=Path, help="folder for the store (default: a temporary one)")
    ap.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="the server's query time limit in s (default: 10)",
    )
    ap.add_argument("--reuse", action="store_true", help="serve WORK/store as it is")
    ap.add_argument(
        "--wait", type=float, default=0.0, help="seconds between start and pages (default: 0)"
    )
    ap.add_argument("--serve-arg", action="append", default=[], help="a further serve option")
    args = ap.parse_args()
    if args.reuse and not args.work:
        ap.error("--reuse serves WORK/store: give --work")
    work = args.work or Path(tempfile.mkdtemp(prefix="serve-bench-"))
    try:
        report(args, work)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)  # up to 3 GB at 10M


def report(args: argparse.Namespace, work: Path) -> None:
    print(f"*{machine()}; load average at the start: {load_average()}.*\n")
    if not args.reuse:
        work.mkdir(parents=True, exist_ok=True)
        print(f"| step ({args.triples:,} triples) | seconds | peak RSS MiB |\n|---|---:|---:|")
        for name, seconds, mib in build(work, args.triples):
            print(f"| {name} | {seconds:.1f} | {mib:,} |", flush=True)
        size = sum(f.stat().st_size for f in (work / "store").rglob("*") if f.is_file())
        print(f"\nStore on disk: {size / 2**20:,.0f} MiB.\n")
    print(
        f"| page (time limit {args.timeout:g} s) | status | seconds "
        "| server tree RSS MiB | server tree PSS MiB |"
    )
    print("|---|---|---:|---:|---:|")
    read = serve_and_read(work / "store", args.timeout, args.serve_arg, args.wait)
    for path, status, seconds, rss, pss in read:
        print(f"| `{path}` | {status} | {seconds:.2f} | {rss:,} | {pss:,} |", flush=True)


if __name__ == "__main__":
    main()
