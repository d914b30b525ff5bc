"""Build benchmark: from files to a store, embedded and Virtuoso side by side: load time,
time to query-ready, size on disk, peak memory, and one count query.

For each size N: `clusterpolisee generate --triples N --seed 1` writes N-Triples, then

- embedded: query-ready from the files, each step in its own process (common.query_ready):
  `clusterpolisee build` (ontology, reference and demo data), OxigraphStore.bulk_load of the
  file (RocksDB bulk loader), `clusterpolisee materialise` (inferences, tallies,
  compaction); peak memory is the largest child's max RSS, disk the store after the last step;
- Virtuoso (remote backend): a fresh throwaway Virtuoso; a child process runs
  RemoteStore.bulk_load (Graph Store Protocol, 100k-triple chunks, Digest auth); then a
  checkpoint; peak memory is the server's VmHWM (its peak RSS);
- Virtuoso native loader (for reference): ld_dir + rdf_loader_run + checkpoint via isql, on
  another fresh instance.

Usage: .venv/bin/python bench/store_bench.py --triples 1000000 [10000000 ...] [--keep DIR]
Prints one Markdown table row per (size, system), the rows of BENCHMARKS.md "## Build".
"""

import argparse
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import peak_rss_kib, query_ready  # noqa: E402
from bench.common import run_child as common_run_child  # noqa: E402
from clusterpolisee.namespaces import graph_iri  # noqa: E402
from clusterpolisee.store import virtuoso_server  # noqa: E402

GRAPH = graph_iri("partner/synthetic")
COUNT = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}"
#: Virtuoso memory for a 24 GB machine (the packaged ini's 4 GB row is 340000 / 250000).
VIRTUOSO_SETTINGS = {"Parameters": {"NumberOfBuffers": 340000, "MaxDirtyBuffers": 250000}}

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


def row(
    n: int,
    system: str,
    load_s: float,
    ready_s: float | None,
    size: int,
    peak_kib: int,
    count: str,
    q_s: float,
) -> str:
    ready = "–" if ready_s is None else f"{ready_s:.1f}"
    return (
        f"| {n:,} | {system} | {load_s:.1f} | {ready} | {size / 2**20:,.0f} | "
        f"{peak_kib / 2**10:,.0f} | {count} | {q_s * 1000:.0f} |"
    )


def bench_embedded(n: int, data: Path, work: Path) -> tuple[str, str]:
    """(table row, a note with the time and peak memory of each step)."""
    store = work / f"oxigraph-{n}"
    steps = query_ready(store, data, GRAPH)
    (count, q_s), _ = run_child(COUNT_EMBEDDED, str(store), COUNT)
    load_s = next(s for name, s, _ in steps if name == "bulk load")
    peak_mib = max(mib for _, _, mib in steps)
    parts = ", ".join(f"{name} {s:.1f} s ({mib:,} MiB)" for name, s, mib in steps)
    return row(
        n,
        "Oxigraph (embedded: demo build, bulk load, materialise)",
        load_s,
        sum(s for _, s, _ in steps),
        du(store),
        peak_mib * 1024,
        count,
        float(q_s),
    ), f"the embedded build of {n:,}: {parts}"


def bench_virtuoso(n: int, data: Path, work: Path) -> tuple[str, str]:
    server = virtuoso_server.start(work / f"virtuoso-gsp-{n}", VIRTUOSO_SETTINGS)
    try:
        base_size = server.db_size()
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
        server.isql("checkpoint;")
        size, peak = server.db_size(), peak_rss_kib(server.process.pid)
    finally:
        server.stop()
    _, load_s, count, q_s = words
    print(f"# empty Virtuoso database: {base_size / 2**20:.0f} MiB", file=sys.stderr)
    system = "Virtuoso 7.2.5 (remote backend, GSP)"
    return row(n, system, float(load_s), None, size, peak, count, float(q_s)), ""


def bench_virtuoso_native(n: int, data: Path, work: Path) -> tuple[str, str]:
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
    return row(n, system, load_s, None, size, peak, count, q_s), ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--triples", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--keep", type=Path, help="work folder to keep (default: a temp folder)")
    ap.add_argument("--systems", default="embedded,virtuoso,native")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="store-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    import pyoxigraph

    print(
        f"# {time.strftime('%Y-%m-%d')}, {platform.platform()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, pyoxigraph {pyoxigraph.__version__}"
    )
    try:
        print(bench(args.triples, args.systems.split(","), work))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)  # about 3 GB of stores at 10M


def bench(sizes: list[int], systems: list[str], work: Path) -> str:
    """Generate each size, load it into each system; return the Markdown table."""
    from clusterpolisee.generate import generate

    benches = {
        "embedded": bench_embedded,
        "virtuoso": bench_virtuoso,
        "native": bench_virtuoso_native,
    }
    out = [
        "| triples | system | load s | query-ready s | disk MiB | peak RSS MiB | count "
        "| count ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    notes, steps = [], []
    for n in sizes:
        data = work / f"synthetic-{n}.nt"
        start = time.perf_counter()
        with data.open("wb") as fh:
            generate(fh, n, seed=1)
        notes.append(
            f"generated {n:,} triples in {time.perf_counter() - start:.1f} s, "
            f"{data.stat().st_size / 2**20:,.0f} MiB N-Triples"
        )
        for name in systems:
            os.sync()  # each system starts with nothing left to write back
            line, note = benches[name](n, data, work)
            out.append(line)
            steps += [note] if note else []
        data.unlink()
    text = "; ".join(notes)
    listed = "".join(f"- {note[:1].upper()}{note[1:]}.\n" for note in steps)
    return "\n".join(out) + "\n\n" + text[:1].upper() + text[1:] + ".\n\n" + listed


if __name__ == "__main__":
    main()
