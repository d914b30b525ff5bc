"""Build benchmark: from files to a store, embedded and Virtuoso side by side: load time,
time to query-ready, size on disk, peak memory, and one count query.

For each size N: `clusterpolisee generate --triples N --seed 1` writes N-Triples, then

- embedded: query-ready from the files, each step in its own process (common.query_ready):
  `clusterpolisee build` (ontology, reference and demo data), OxigraphStore.bulk_load of the
  file (RocksDB bulk loader), `clusterpolisee materialise` (inferences, tallies,
  compaction); peak memory is the largest child's max RSS, disk the store after the last step;
- Virtuoso (remote backend): a fresh throwaway Virtuoso; a child process runs
  RemoteStore.bulk_load (Graph Store Protocol, 100k-triple chunks, Digest auth); then a
  checkpoint; peak memory is the server's VmHWM (its peak RSS). Up to --remote-ready-upto
  triples it is made query-ready as the embedded store is, through the remote backend:
  `clusterpolisee build` before the load and `clusterpolisee materialise` after it, with the
  server's and our row limit raised to 1,000,000 (README "Store");
- Virtuoso native loader (for reference): ld_dir + rdf_loader_run + checkpoint via isql, on
  another fresh instance.

Usage: .venv/bin/python bench/store_bench.py --triples 1000000 [10000000 ...] [--runs R]
       [--remote-ready-upto N] [--keep DIR]
Each (size, system) runs R times (default 1), the systems in turn, every run from nothing;
prints one Markdown table row per (size, system) with median / p95 over the runs, and our
build against Virtuoso's native load: the block of BENCHMARKS.md "## Build".
"""

import argparse
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    CLI,
    HelpFormatter,
    median_p95,
    peak_rss_kib,
    progress,
    query_ready,
    timed,
)
from bench.common import run_child as common_run_child  # noqa: E402
from clusterpolisee.namespaces import graph_iri  # noqa: E402
from clusterpolisee.store import virtuoso_server  # noqa: E402

GRAPH = graph_iri("partner/synthetic")
COUNT = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}"
#: What --systems may name: our store, Virtuoso through our remote backend, and Virtuoso's own
#: bulk loader.
SYSTEMS = ("embedded", "virtuoso", "native")
#: Virtuoso memory for a 24 GB machine (the packaged ini's 4 GB row is 340000 / 250000).
VIRTUOSO_SETTINGS = {"Parameters": {"NumberOfBuffers": 340000, "MaxDirtyBuffers": 250000}}
#: For the reasoning step on the remote backend: the row limit raised as README "Store"
#: advises for a large remote store (it reads its facts in ordered pages of half the limit,
#: each sorting the whole answer again), no query stopped by time or by estimate, and room
#: in the transaction log for its commit (at 10M, 2.7 million inferred triples went past the
#: packaged 50,000,000 bytes: SR325). With 4,000,000,000 it refused even the first upload of
#: the demo data (the setting seems to be read as a 32-bit number).
REMOTE_READY_SETTINGS = {
    "Parameters": {**VIRTUOSO_SETTINGS["Parameters"], "TransactionAfterImageLimit": 2_000_000_000},
    "SPARQL": {
        "ResultSetMaxRows": 1000000,
        "MaxQueryExecutionTime": 3600,
        "MaxQueryCostEstimationTime": 0,
    },
}
REMOTE_READY_ENV = {"CLUSTERPOLISEE_MAX_ROWS": "1000000", "CLUSTERPOLISEE_QUERY_TIMEOUT": "3600"}

REMOTE_SYSTEM = "Virtuoso 7.2.5 (remote backend, GSP)"
REMOTE_READY_SYSTEM = "Virtuoso 7.2.5 (remote backend: demo build, GSP load, materialise)"

COUNT_EMBEDDED = """
import sys, time
from clusterpolisee.store import OxigraphStore
with OxigraphStore(sys.argv[1], read_only=True) as store:
    t = time.perf_counter()
    count = store.select(sys.argv[2])[0]["n"].value
    print(count, time.perf_counter() - t)
"""

REMOTE = """
import sys, time
from clusterpolisee.store.remote import RemoteConfig, RemoteStore
endpoint, update, gsp, user, pw = sys.argv[4:9]
store = RemoteStore(RemoteConfig(endpoint=endpoint, update_endpoint=update, gsp_endpoint=gsp,
                                 user=user, password=pw, timeout=3600))
start = time.perf_counter()
n = store.bulk_load(sys.argv[1], sys.argv[2])
loaded = time.perf_counter() - start
t = time.perf_counter()
count = store.select(sys.argv[3])[0]["n"].value
print(n, loaded, count, time.perf_counter() - t)
"""


def run_child(code: str, *args: str) -> tuple[list[str], int]:
    """Run a Python child; return its stdout words and its peak RSS in KiB."""
    out, _, peak_kib = common_run_child([sys.executable, "-c", code, *args])
    return out.split(), peak_kib


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Run(NamedTuple):
    """One build of one size on one system."""

    system: str
    load_s: float
    ready_s: float | None  # None: the system has no step after loading
    size: int  # bytes on disk
    peak_kib: int
    count: str
    q_s: float
    note: str = ""  # the embedded build's steps


def spread(values: list[float], digits: int = 1) -> str:
    """Median / p95 of the runs' figures (one run: the figure)."""
    if len(values) == 1:
        return f"{values[0]:,.{digits}f}"
    median, p95 = median_p95(values)
    return f"{median:,.{digits}f} / {p95:,.{digits}f}"


def row(n: int, runs: list["Run"]) -> str:
    """One table row over the runs of one size and system."""
    ready = [r.ready_s for r in runs if r.ready_s is not None]
    counts = sorted({r.count for r in runs})
    return (
        f"| {n:,} | {runs[0].system} | {spread([r.load_s for r in runs])} | "
        f"{spread(ready) if ready else '–'} | {runs[-1].size / 2**20:,.0f} | "
        f"{max(r.peak_kib for r in runs) / 2**10:,.0f} | {', '.join(counts)} | "
        f"{spread([r.q_s * 1000 for r in runs], 0)} |"
    )


def bench_embedded(n: int, data: Path, work: Path) -> Run:
    """The query-ready build, with a note of the time and peak memory of each step."""
    store = work / f"oxigraph-{n}"
    steps = query_ready(store, data, GRAPH)
    (count, q_s), _ = run_child(COUNT_EMBEDDED, str(store), COUNT)
    load_s = next(s for name, s, _ in steps if name == "bulk load")
    peak_mib = max(mib for _, _, mib in steps)
    parts = ", ".join(f"{name} {s:.1f} s ({mib:,} MiB)" for name, s, mib in steps)
    return Run(
        "Oxigraph (embedded: demo build, bulk load, materialise)",
        load_s,
        sum(s for _, s, _ in steps),
        du(store),
        peak_mib * 1024,
        count,
        float(q_s),
        f"the embedded build of {n:,}: {parts}",
    )


def bench_virtuoso(n: int, data: Path, work: Path, ready: bool = False) -> Run:
    """The Graph Store load; with ``ready``, query-ready as the embedded build is: the demo
    build, the load and our reasoning step, all through the remote backend."""
    settings = REMOTE_READY_SETTINGS if ready else VIRTUOSO_SETTINGS
    server = virtuoso_server.start(work / f"virtuoso-gsp-{n}", settings)
    env = {**os.environ, **server.env(), **REMOTE_READY_ENV}  # for the CLI's steps
    try:
        base_size = server.db_size()
        steps = [timed("build (demo data)", [str(CLI), "build"], env)] if ready else []
        words, _client_peak = run_child(
            REMOTE,
            str(data),
            GRAPH,
            COUNT,
            server.endpoint,
            server.update_endpoint,
            server.gsp_endpoint,
            server.user,
            server.password,
        )
        if ready:
            steps.append(timed("materialise", [str(CLI), "materialise"], env))
            inferred = _remote_graph_size(server, graph_iri("inferred"))
        server.isql("checkpoint;")
        size, peak = server.db_size(), peak_rss_kib(server.process.pid)
    finally:
        server.stop()
    _, load_s, count, q_s = words
    print(f"# empty Virtuoso database: {base_size / 2**20:.0f} MiB", file=sys.stderr)
    if not ready:
        return Run(REMOTE_SYSTEM, float(load_s), None, size, peak, count, float(q_s))
    parts = ", ".join(f"{name} {s:.1f} s" for name, s, _ in steps)
    return Run(
        REMOTE_READY_SYSTEM,
        float(load_s),
        float(load_s) + sum(s for _, s, _ in steps),
        size,
        peak,
        count,
        float(q_s),
        f"the remote build of {n:,}: {parts}, with the GSP load {float(load_s):.1f} s between; "
        f"graph/inferred {inferred:,} triples",
    )


def _remote_graph_size(server: virtuoso_server.VirtuosoServer, graph: str) -> int:
    from clusterpolisee.store.remote import RemoteConfig, RemoteStore

    store = RemoteStore(RemoteConfig(endpoint=server.endpoint, timeout=600))
    try:
        return store.graph_sizes().get(graph, 0)
    finally:
        store.close()


def bench_virtuoso_native(n: int, data: Path, work: Path) -> Run:
    folder = work / f"virtuoso-native-{n}"
    server = virtuoso_server.start(folder, VIRTUOSO_SETTINGS)
    try:
        link = folder / data.name
        os.link(data, link) if data.stat().st_dev == folder.stat().st_dev else link.write_bytes(
            data.read_bytes()
        )
        start = time.perf_counter()
        server.isql(
            f"ld_dir('{folder}', '{data.name}', '{GRAPH}'); rdf_loader_run(); checkpoint;",
            timeout=7200,
        )
        load_s = time.perf_counter() - start
        link.unlink()
        t = time.perf_counter()
        out = server.isql(f"SPARQL {COUNT};")
        q_s = time.perf_counter() - t
        # isql prints the column name, its type, a rule, then the value on its own line.
        count = re.search(r"_{20,}\s+(\d+)", out).group(1)
        size, peak = server.db_size(), peak_rss_kib(server.process.pid)
    finally:
        server.stop()
    system = "Virtuoso 7.2.5 (native ld_dir loader)"
    return Run(system, load_s, None, size, peak, count, q_s)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=HelpFormatter)
    ap.add_argument("--triples", type=int, nargs="+", default=[1_000_000], help="sizes to build")
    ap.add_argument("--keep", type=Path, help="work folder to keep (default: a temp folder)")
    ap.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help="comma-separated: embedded (ours), virtuoso (our remote backend), native "
        "(Virtuoso's own loader)",
    )
    ap.add_argument("--runs", type=int, default=1, help="builds per size and system")
    ap.add_argument(
        "--remote-ready-upto",
        type=int,
        default=0,
        metavar="N",
        help="make the remote backend query-ready (demo build, load, materialise) up to N "
        "triples; above it the Virtuoso row is the load alone (0: the load alone)",
    )
    args = ap.parse_args()
    if unknown := set(args.systems.split(",")) - set(SYSTEMS):
        ap.error(f"unknown system(s): {', '.join(sorted(unknown))} (known: {', '.join(SYSTEMS)})")
    if args.keep and args.runs > 1:
        ap.error("--keep keeps the stores of one run: use --runs 1")
    work = args.keep or Path(tempfile.mkdtemp(prefix="store-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    import pyoxigraph

    print(
        f"# {time.strftime('%Y-%m-%d')}, {platform.platform()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, pyoxigraph {pyoxigraph.__version__}"
    )
    try:
        systems, keep = args.systems.split(","), bool(args.keep)
        print(bench(args.triples, systems, work, args.runs, keep, args.remote_ready_upto))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)  # about 3 GB of stores at 10M


def bench(
    sizes: list[int],
    systems: list[str],
    work: Path,
    runs: int = 1,
    keep: bool = False,
    remote_ready_upto: int = 0,
) -> str:
    """Generate each size, load it into each system ``runs`` times (the systems in turn, each
    run from nothing); return the Markdown table, the ratios and the build steps.
    ``keep``: leave the stores and databases in ``work`` (one run only);
    ``remote_ready_upto``: up to this size the remote backend is made query-ready too."""
    if keep and runs > 1:
        raise ValueError("keeping the stores needs a single run")
    from clusterpolisee.generate import generate

    benches = {
        "embedded": bench_embedded,
        "virtuoso": lambda n, data, work: bench_virtuoso(n, data, work, n <= remote_ready_upto),
        "native": bench_virtuoso_native,
    }
    out = [
        f"{runs} run(s) of each row, each from nothing; times are median / p95 where there "
        "are several, disk after the last run, memory the largest peak.",
        "",
        "| triples | system | load s | query-ready s | disk MiB | peak RSS MiB | count "
        "| count ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    notes, steps, ratios = [], [], []
    for n in sizes:
        data = work / f"synthetic-{n}.nt"
        start = time.perf_counter()
        with data.open("wb") as fh:
            generate(fh, n, seed=1)
        notes.append(
            f"generated {n:,} triples in {time.perf_counter() - start:.1f} s, "
            f"{data.stat().st_size / 2**20:,.0f} MiB N-Triples"
        )
        measured: dict[str, list[Run]] = {name: [] for name in systems}
        for i in range(1, runs + 1):
            for name in systems:
                os.sync()  # each system starts with nothing left to write back
                measured[name].append(r := benches[name](n, data, work))
                ready = f", query-ready {r.ready_s:.1f} s" if r.ready_s is not None else ""
                progress(f"build {n:,} on {name}, run {i}/{runs}: load {r.load_s:.1f} s{ready}")
                if not keep:
                    _clear(work)
        out += [row(n, measured[name]) for name in systems]
        steps += [
            f"{r.note} (run {i} of {runs})" if runs > 1 else r.note
            for name in systems
            for i, r in enumerate(measured[name], 1)
            if r.note
        ]
        if "embedded" in measured and "native" in measured:
            ratios.append(_versus(n, measured["embedded"], measured["native"]))
        if "embedded" in measured and n <= remote_ready_upto and "virtuoso" in measured:
            ratios.append(_versus_remote(n, measured["embedded"], measured["virtuoso"]))
        data.unlink()
    text = "; ".join(notes)
    listed = "".join(f"- {note[:1].upper()}{note[1:]}.\n" for note in steps + ratios)
    return "\n".join(out) + "\n\n" + text[:1].upper() + text[1:] + ".\n\n" + listed


def _versus(n: int, ours: list[Run], native: list[Run]) -> str:
    """Our build against Virtuoso's native loader (medians)."""
    theirs = statistics.median(r.load_s for r in native)
    load = statistics.median(r.load_s for r in ours) / theirs
    ready = statistics.median(r.ready_s or 0.0 for r in ours) / theirs
    return (
        f"at {n:,}, against Virtuoso's native load (medians): our bulk load takes {load:.1f}x "
        f"its time, our query-ready build {ready:.1f}x"
    )


def _versus_remote(n: int, ours: list[Run], remote: list[Run]) -> str:
    """Query-ready embedded against query-ready on the remote backend (medians)."""
    embedded = statistics.median(r.ready_s or 0.0 for r in ours)
    theirs = statistics.median(r.ready_s or 0.0 for r in remote)
    return (
        f"at {n:,}, query-ready (medians): embedded {embedded:.1f} s, on the remote backend "
        f"(Virtuoso) {theirs:.1f} s, {theirs / embedded:.1f}x the embedded time"
    )


def _clear(work: Path) -> None:
    """Remove the stores and databases of the run just measured (3 GB at 10M)."""
    for path in work.iterdir():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
