"""Stored queries side by side: every catalog query on the same data in five ways.

    .venv/bin/python bench/query_bench.py [--triples 1000000] [--runs 7] [--timeout 30]
                                          [--peers ours,cached,pyoxigraph,rdflib,virtuoso]

Data: a fresh store from `clusterpolisee build` (ontology, reference data, the 24 demo
submissions) plus `clusterpolisee generate --triples N --seed 1` bulk-loaded into
graph/partner/synthetic, then `materialise` (graph/inferred). The whole dataset is dumped as
N-Quads and loaded as it is into each peer. Each query runs with its default parameters (a
required parameter without a default takes the first allowed value), bound as the catalog
binds them (a VALUES block), so every system runs the same text:

Every system has a time limit per query (`--timeout`; our two in-process columns run each
query's warm-up and timed runs in a forked child that gets 4x the limit for all of them), so a
slow query shows "> N s" instead of stopping the run.

- *ours, uncached*: `StoredQuery.run(store, params)` on the embedded store, in-process
  (parameter checks, binding, pyoxigraph, conversion of the rows);
- *ours, cached*: `webapp.database.Database.query` on a result-cache hit (what the web app
  does for a repeated question: key lookup per data version); results over the cache's row
  cap are never cached and show "–";
- *pyoxigraph*: the same text on `pyoxigraph.Store.read_only` with the union default graph,
  rows consumed, nothing else;
- *rdflib*: `rdflib.Dataset(default_union=True)` in memory, each query in a forked child
  killed after `--timeout` s ("> N s");
- *Virtuoso*: a throwaway Virtuoso 7 (Debian package) loaded with the native bulk loader,
  queried over HTTP through our RemoteStore (SPARQL JSON), `--timeout` s per query.

Queries with a SERVICE clause (federated) are left out: they need the network. Prints a Markdown
section; `bench/run.py` writes it into BENCHMARKS.md.
"""

import argparse
import functools
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from common import (
    ROOT,
    HelpFormatter,
    allocator,
    build_demo_store,
    load_average,
    median_p95,
    memory_gib,
    ms,
    progress,
)

sys.path.insert(0, str(ROOT))

GRAPH = "https://w3id.org/clusterpolisee/graph/partner/synthetic"
#: Virtuoso memory for a 24 GB machine, no server-side row cap below our results, and no
#: refusal by the planner's estimate (packaged: 400 s; at 10M it estimated `search`, which
#: then ran in 0.7 s, at 20,240 s and refused it).
VIRTUOSO_SETTINGS = {
    "Parameters": {"NumberOfBuffers": 340000, "MaxDirtyBuffers": 250000},
    "SPARQL": {
        "ResultSetMaxRows": 1000000,
        "MaxQueryExecutionTime": 600,
        "MaxQueryCostEstimationTime": 0,
    },
}


# -- data ---------------------------------------------------------------------------------
def prepare(work: Path, triples: int) -> dict:
    """Build the store and the N-Quads dump; return sizes and times."""
    import pyoxigraph as ox

    from clusterpolisee.generate import generate
    from clusterpolisee.reasoning.materialise import materialise
    from clusterpolisee.store import OxigraphStore

    store = work / "store"
    t0 = time.perf_counter()
    build_demo_store(store)
    build_s = time.perf_counter() - t0
    data = work / "synthetic.nt"
    with data.open("wb") as fh:
        generate(fh, triples, seed=1)
    t0 = time.perf_counter()
    with OxigraphStore(str(store)) as s:
        if triples:
            s.bulk_load(data, GRAPH)
        load_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        inferred = materialise(s)
        materialise_s = time.perf_counter() - t1
        t1 = time.perf_counter()
        s.compact()  # as `clusterpolisee build` and `materialise` do
        compact_s = time.perf_counter() - t1
    data.unlink()
    raw = ox.Store.read_only(str(store))
    total = len(raw)
    raw.dump(str(work / "all.nq"), ox.RdfFormat.N_QUADS)
    del raw
    return {
        "build_s": build_s,
        "load_s": load_s,
        "materialise_s": materialise_s,
        "compact_s": compact_s,
        "inferred": inferred,
        "quads": total,
    }


def catalog_texts(store_path: Path) -> dict[str, dict]:
    """Per stored query: the parameters chosen and the bound text every system runs."""
    from clusterpolisee.catalog import ParameterError, load_catalog
    from clusterpolisee.store import OxigraphStore

    out = {}
    with OxigraphStore(str(store_path), read_only=True) as store:
        for name, q in sorted(load_catalog().queries.items()):
            if q.services:
                continue
            params = {}
            for p in q.params:
                try:
                    q.bind({p.name: p.default} if p.default else {}, store)
                except ParameterError:
                    options = p.options(store) or []
                    if options:
                        params[p.name] = options[0][0]
            text = q.bound_text(q.bind(params, store))
            out[name] = {"params": params, "text": text, "store_sorts": q.store_sorts}
    return out


def _size(result) -> int:
    return len(result.rows) or len(result.triples) or int(bool(result.boolean))


def _runs_after_warm_up(runs: int, warm_up, *args) -> int:
    """Run the warm-up; a query slower than 2 s gets 3 timed runs, so a run ends in time."""
    t0 = time.perf_counter()
    warm_up(*args)
    return min(runs, 3) if time.perf_counter() - t0 > 2 else runs


# -- our paths ------------------------------------------------------------------------------
def _limited(work, timeout: float) -> dict:
    """Run ``work()`` (which opens its own store and returns a dict) in a forked child, and
    return its answer: {"timeout": True} when the child is killed after ``timeout`` seconds,
    {"error": ...} when ``work()`` raised or the child ended without answering."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: measure, report, exit without cleanup
        os.close(rfd)
        _report(wfd, work)
    os.close(wfd)
    data, deadline, killed = b"", time.monotonic() + timeout, False
    while True:
        ready, _, _ = select.select([rfd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            data, killed = b"", True
            break
        chunk = os.read(rfd, 65536)
        if not chunk:
            break
        data += chunk
    os.close(rfd)
    os.waitpid(pid, 0)
    if data:
        return json.loads(data)
    if killed:
        return {"times": [], "rows": 0, "timeout": True}
    return {"times": [], "rows": 0, "error": "the measuring process ended without an answer"}


def _report(wfd: int, work: Callable[[], dict]) -> NoReturn:
    """In a forked child: write ``work()``'s answer, or the error it raised, to ``wfd`` and
    leave at once. An error must not travel up the child's copy of the parent's stack: it
    would run the parent's code on from there, and the parent, hearing nothing before its
    limit, would report a timeout (rdflib's refusal of `partners` read as "> 20 s" until
    2026-12-07)."""
    try:
        try:
            answer = work()
        except Exception as exc:  # any failure of the system measured is its answer
            first = (str(exc).splitlines() or [""])[0][:120]
            answer = {"times": [], "rows": 0, "error": f"{type(exc).__name__}: {first}"}
        os.write(wfd, json.dumps(answer).encode())
    finally:  # whatever happened, this copy of the parent goes no further
        os._exit(0)


def _ours_one(store_path: Path, name: str, params: dict, runs: int) -> dict:
    from clusterpolisee.catalog import load_catalog
    from clusterpolisee.store import OxigraphStore

    q = load_catalog().queries[name]
    times, size = [], 0
    with OxigraphStore(str(store_path), read_only=True) as store:
        for _ in range(_runs_after_warm_up(runs, q.run, store, params)):
            t0 = time.perf_counter()
            result = q.run(store, params)
            times.append((time.perf_counter() - t0) * 1000)
            size = _size(result)
    return {"times": times, "rows": size}


def _raw_one(store_path: Path, text: str, runs: int) -> dict:
    import pyoxigraph as ox

    store = ox.Store.read_only(str(store_path))

    def once(text: str) -> int:
        r = store.query(text, use_default_graph_as_union=True)
        return int(bool(r)) if isinstance(r, ox.QueryBoolean) else len(list(r))

    times, size = [], 0
    for _ in range(_runs_after_warm_up(runs, once, text)):
        t0 = time.perf_counter()
        size = once(text)
        times.append((time.perf_counter() - t0) * 1000)
    return {"times": times, "rows": size}


def _each(column: str, queries: dict, measure: Callable[[str, dict], dict]) -> dict:
    """``measure(name, spec)`` for every query, with a progress line after each."""
    out = {}
    for i, (name, spec) in enumerate(queries.items(), 1):
        out[name] = r = measure(name, spec)
        if r.get("times"):
            done = f"median {ms(statistics.median(r['times']))} ms"
        else:
            done = "timed out" if r.get("timeout") else (r.get("error") or "not timed")
        progress(f"{column} {i}/{len(queries)} {name}: {done}")
    return out


def measure_ours(store_path: Path, queries: dict, runs: int, timeout: float) -> dict:
    """Each query in a forked child that opens the store, with a limit for all its runs."""
    return _each(
        "ours",
        queries,
        lambda name, spec: _limited(
            functools.partial(_ours_one, store_path, name, spec["params"], runs), timeout * 4
        ),
    )


def measure_raw(store_path: Path, queries: dict, runs: int, timeout: float) -> dict:
    return _each(
        "pyoxigraph",
        queries,
        lambda name, spec: _limited(
            functools.partial(_raw_one, store_path, spec["text"], runs), timeout * 4
        ),
    )


def measure_cached(store_path: Path, queries: dict, runs: int, timeout: float) -> dict:
    sys.path.insert(0, str(ROOT))
    from webapp.database import Database, QueryTimedOut

    db = Database(store_path, lambda: "bench", workers=1, timeout=timeout, row_limit=10**7)

    def hits(name: str, spec: dict) -> dict:
        try:
            first = db.query(
                spec["text"], trusted=True, store_sorts=spec["store_sorts"], split=True
            )
        except QueryTimedOut:  # the miss that would fill the cache ran out of time
            return {"times": [], "rows": 0, "timeout": True}
        size = len(first.rows) or len(first.triples) or int(bool(first.boolean))
        if not any(k[1:3] == ("q", spec["text"]) for k in db.cache.data):  # over budget
            return {"times": [], "rows": size}
        times = []
        for _ in range(max(runs, 100)):
            t0 = time.perf_counter()
            db.query(spec["text"], trusted=True, store_sorts=spec["store_sorts"], split=True)
            times.append((time.perf_counter() - t0) * 1000)
        return {"times": times, "rows": size}

    try:
        return _each("cached", queries, hits)
    finally:
        db.close()


# -- rdflib ---------------------------------------------------------------------------------
#: The issue asks for 50x rdflib's time. Where the column's limit would stop rdflib before
#: that, leaving only a lower bound under 50x (`clusters` at 1M: "> 36x", in fact 37-39x),
#: its limit for that question is stretched to decide it, up to RDFLIB_MAX_S.
TARGET_RATIO = 50
RDFLIB_MAX_S = 120.0


def rdflib_limits(ours: dict, timeout: float) -> dict[str, float]:
    """rdflib's time limit per question: the column's, or long enough to tell whether it
    takes TARGET_RATIO times our median (with 10 % to spare), at most RDFLIB_MAX_S."""
    out = {}
    for name, r in ours.items():
        need = TARGET_RATIO * 1.1 * statistics.median(r["times"]) / 1000 if r["times"] else 0
        out[name] = max(timeout, min(need, RDFLIB_MAX_S))
    return out


def _rdflib_once(ds, text: str) -> dict:
    t = time.perf_counter()
    res = ds.query(text)
    n = int(bool(res.askAnswer)) if res.type == "ASK" else len(list(res))
    return {"times": [(time.perf_counter() - t) * 1000], "rows": n}


def rdflib_child(nq: Path, queries: dict, runs: int, limits: dict[str, float]) -> dict:
    """Load the dump into rdflib once, then run each query in a forked child with its limit
    in seconds."""
    import rdflib

    t0 = time.perf_counter()
    ds = rdflib.Dataset(default_union=True)
    ds.parse(str(nq), format="nquads")
    load_s = time.perf_counter() - t0
    progress(f"rdflib: loaded the dump in {load_s:.1f} s")

    def forked_runs(name: str, spec: dict) -> dict:
        times, size, limit = [], 0, limits[name]
        for _ in range(runs):
            once = _limited(functools.partial(_rdflib_once, ds, spec["text"]), limit)
            if not once.get("times"):  # out of time or failed: the runs before it stand
                return {**once, "times": times, "rows": size, "limit_s": limit}
            times += once["times"]
            size = once["rows"]
            if sum(times) > limit * 1000:
                break
        return {"times": times, "rows": size, "timeout": False, "limit_s": limit}

    return {"_load_s": load_s, **_each("rdflib", queries, forked_runs)}


# -- Virtuoso -------------------------------------------------------------------------------
def measure_virtuoso(work: Path, nq: Path, queries: dict, runs: int, timeout: float) -> dict:
    from clusterpolisee.store import virtuoso_server
    from clusterpolisee.store.remote import RemoteConfig, RemoteStore

    folder = work / "virtuoso"
    server = virtuoso_server.start(folder, VIRTUOSO_SETTINGS)
    out: dict = {}
    try:
        os.link(nq, folder / "all.nq")
        t0 = time.perf_counter()
        server.isql(
            f"ld_dir('{folder}', 'all.nq', '{GRAPH}'); rdf_loader_run(); checkpoint;",
            timeout=7200,
        )
        out["_load_s"] = time.perf_counter() - t0
        store = RemoteStore(
            RemoteConfig(endpoint=server.endpoint, max_rows=1000000, timeout=timeout)
        )
        progress(f"virtuoso: loaded the dump in {out['_load_s']:.1f} s")
        down = None  # why the server could not be started again, once it could not

        def over_http(name: str, spec: dict) -> dict:
            nonlocal down
            times, size, error = [], 0, None
            if down:
                return {"times": [], "rows": 0, "error": f"not run: {down}"}
            try:
                store.run_query(spec["text"])  # warm-up
                for _ in range(runs):
                    t = time.perf_counter()
                    size = _size(store.run_query(spec["text"]))
                    times.append((time.perf_counter() - t) * 1000)
            except Exception as exc:  # noqa: BLE001 - reported in the table
                error = str(exc).splitlines()[0][:120]
                if not server.answers(timeout=10):
                    # At 10M Virtuoso 7.2.5 once stopped answering anyone, idle, after a
                    # query it never answered: start it again so the next questions run.
                    server.kill()
                    error = f"no answer, and the server answered nothing else: {error}"
                    try:
                        server.restart()
                    except virtuoso_server.VirtuosoUnavailable as err:
                        down = f"Virtuoso did not start again after {name}: {err}"[:200]
                    else:
                        error = f"(restarted) {error}"
            return {"times": times, "rows": size, "error": error}

        out.update(_each("virtuoso", queries, over_http))
    finally:
        server.stop()
    return out


# -- driver ---------------------------------------------------------------------------------
def _child(step: str, args: list[str]) -> tuple[dict, float]:
    """Run one step in a fresh process; return its JSON answer and its peak RSS in MiB.

    rdflib runs as a user would run it, on the C library's malloc; our path and raw
    pyoxigraph run under the allocator the CLI chose (this driver restarted itself under it).
    """
    env = allocator.without_preload() if step == "rdflib" else None
    proc = subprocess.Popen(
        [sys.executable, __file__, "--step", step, *args],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"step {step} failed: {out[-2000:]}")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def run_step(step: str, work: Path, runs: int, timeout: float, triples: int) -> dict:
    queries = json.loads((work / "queries.json").read_text()) if step != "prepare" else {}
    if step == "prepare":
        info = prepare(work, triples)
        (work / "queries.json").write_text(json.dumps(catalog_texts(work / "store")))
        return info
    if step == "ours":
        return measure_ours(work / "store", queries, runs, timeout)
    if step == "cached":
        return measure_cached(work / "store", queries, runs, timeout)
    if step == "pyoxigraph":
        return measure_raw(work / "store", queries, runs, timeout)
    if step == "rdflib":
        limits = json.loads((work / "rdflib-limits.json").read_text())
        return rdflib_child(work / "all.nq", queries, min(runs, 3), limits)
    if step == "virtuoso":
        return measure_virtuoso(work, work / "all.nq", queries, runs, timeout)
    raise ValueError(step)


PEERS = ["ours", "cached", "pyoxigraph", "rdflib", "virtuoso"]
#: rdflib's in-memory Dataset held 2,997 MiB at its peak for 1,298,879 quads (the 1M block of
#: 2026-12-05 03:15): about 2.4 KiB a quad, with the query running.
RDFLIB_BYTES_PER_QUAD = 2997 * 2**20 / 1_298_879


def rdflib_would_not_fit(quads: int) -> str | None:
    """Why rdflib is left out at this size, or None: its graph would need more than 3/4 of
    the machine's memory (past that it swaps or is killed, and the column says nothing)."""
    need = quads * RDFLIB_BYTES_PER_QUAD / 2**30
    have = memory_gib()
    if need <= 0.75 * have:
        return None
    return (
        f"rdflib not run: at about {RDFLIB_BYTES_PER_QUAD / 1024:.1f} KiB a quad (its peak in "
        f"the 1M block) the {quads:,} quads would need about {need:.0f} GiB, and the machine "
        f"has {have:.0f} GiB"
    )


def bench(triples: int, runs: int, timeout: float, peers: list[str], work: Path) -> str:
    common = ["--work", str(work), "--runs", str(runs), "--timeout", str(timeout)]
    loads = {}
    progress(f"queries at {triples:,} triples: building the store")
    info, prep_peak = _child("prepare", [*common, "--triples", str(triples)])
    progress(f"store ready: {info['quads']:,} quads; columns: {', '.join(peers)}")
    queries = json.loads((work / "queries.json").read_text())
    results, peaks = {}, {"prepare": prep_peak}
    left_out = rdflib_would_not_fit(info["quads"]) if "rdflib" in peers else None
    if left_out:
        peers = [p for p in peers if p != "rdflib"]
        results["rdflib"] = {"_error": left_out}
    for peer in peers:
        loads[peer] = load_average()
        if peer == "rdflib":
            ours = results.get("ours", {})
            limits = {n: timeout for n in queries} | rdflib_limits(
                {n: r for n, r in ours.items() if not n.startswith("_")}, timeout
            )
            (work / "rdflib-limits.json").write_text(json.dumps(limits))
        try:
            results[peer], peaks[peer] = _child(peer, common)
        except Exception as exc:  # noqa: BLE001 - a peer that cannot run is reported
            results[peer], peaks[peer] = {"_error": str(exc)[:300]}, 0.0
    return table(triples, runs, timeout, info, queries, results, peaks, loads)


def _cell(r: dict | None, timeout: float) -> tuple[str, float | None]:
    if r is None:
        return "–", None
    if r.get("error"):
        return "error", None
    if r.get("timeout") and not r["times"]:
        return f"> {r.get('limit_s', timeout):.0f} s", None
    if not r["times"]:
        return "–", None
    med, p95 = median_p95(r["times"])
    return f"{ms(med)} / {ms(p95)}", med


def _ratio(results: dict, peer: str, name: str, med: dict, timeout: float) -> str:
    """How many times slower the peer is than our uncached path on one query."""
    r = results.get(peer, {}).get(name) or {}
    if med["ours"] is None:
        return "–"
    if r.get("timeout") and not r.get("times"):
        return f"> {r.get('limit_s', timeout) * 1000 / med['ours']:,.0f}x"
    if med[peer] is None:
        return "–"
    return f"{med[peer] / med['ours']:,.1f}x"


def _rows(results: dict, name: str) -> int | str:
    """Rows of the answer: ours, or raw pyoxigraph's (same store) where ours ran out of time."""
    for peer in ("ours", "pyoxigraph"):
        r = results.get(peer, {}).get(name) or {}
        if r.get("times"):
            return r["rows"]
    return "–"


def table(triples, runs, timeout, info, queries, results, peaks, loads) -> str:
    names = list(queries)
    head = [
        f"Data: demo data plus {triples:,} synthetic triples = {info['quads']:,} quads "
        f"(graph/inferred {info['inferred']:,}); demo store {info['build_s']:.1f} s, bulk load "
        f"{info['load_s']:.1f} s, materialise {info['materialise_s']:.1f} s, compact "
        f"{info['compact_s']:.1f} s. "
        f"{runs} timed runs per query after one warm-up (ours and pyoxigraph: 3 where the "
        f"warm-up took over 2 s; rdflib: up to 3, each in a fresh fork; cached: at least "
        f"100), {timeout:.0f} s limit; cells are median / p95 in ms. Load average "
        "(1/5/15 min) when each column started: "
        + "; ".join(f"{p} {loads[p]}" for p in loads)
        + ".",
        "",
        "| query | rows | ours uncached | ours cached | pyoxigraph raw | rdflib | Virtuoso "
        "| rdflib ÷ ours | Virtuoso ÷ ours |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    meds: dict[str, dict[str, float]] = {p: {} for p in PEERS}
    notes = []
    for name in names:
        cells, med = {}, {}
        for peer in PEERS:
            cells[peer], med[peer] = _cell(results.get(peer, {}).get(name), timeout)
            if med[peer] is not None:
                meds[peer][name] = med[peer]
        rows = _rows(results, name)
        for peer in ("ours", "cached", "pyoxigraph", "rdflib", "virtuoso"):
            r = results.get(peer, {}).get(name)
            if peer not in ("ours", "cached") and r and r.get("times") and r.get("rows") != rows:
                notes.append(f"{name}: {peer} returned {r['rows']} rows, ours {rows}")
            if r and r.get("error"):
                notes.append(f"{name}: {peer} failed: {r['error']}")
        stretched = results.get("rdflib", {}).get(name) or {}
        if stretched.get("limit_s", timeout) > timeout:
            notes.append(
                f"{name}: rdflib's limit raised to {stretched['limit_s']:.0f} s, to tell "
                f"whether it takes {TARGET_RATIO}x our time"
            )

        vs_rdflib = _ratio(results, "rdflib", name, med, timeout)
        vs_virtuoso = _ratio(results, "virtuoso", name, med, timeout)
        head.append(
            f"| {name} | {rows} | {cells['ours']} | {cells['cached']} | {cells['pyoxigraph']} "
            f"| {cells['rdflib']} | {cells['virtuoso']} | {vs_rdflib} | {vs_virtuoso} |"
        )

    summary = []
    for peer in PEERS:
        got = meds[peer]
        if not got:
            continue
        line = (
            f"{peer}: median of medians {ms(statistics.median(got.values()))} ms, "
            f"slowest {ms(max(got.values()))} ms ({len(got)} of {len(names)} queries"
        )
        both = [n for n in got if n in meds["ours"]]
        if peer != "ours" and both and set(got) != set(meds["ours"]):
            # Medians over different questions say little: compare on those both answered.
            line += (
                f"; on the {len(both)} both answered: "
                f"{ms(statistics.median(got[n] for n in both))} ms, "
                f"ours {ms(statistics.median(meds['ours'][n] for n in both))} ms"
            )
        summary.append(line + ")")
    head += ["", "Over the catalog: " + "; ".join(summary) + "."]
    mem = [f"{p} {peaks[p]:,.0f}" for p in peaks if peaks[p]]
    for peer in ("rdflib", "virtuoso"):
        extra = results.get(peer, {})
        if "_load_s" in extra:
            notes.append(f"{peer} loaded the dump in {extra['_load_s']:.1f} s")
        if extra.get("_error", "").startswith(f"{peer} not run"):
            notes.append(extra["_error"])
        elif "_error" in extra:
            notes.append(f"{peer} did not run: {extra['_error']}")
    head += [
        "",
        "Peak RSS in MiB of each column's process (virtuoso: the largest of client and "
        "server): " + ", ".join(mem) + ".",
    ]
    if notes:
        head += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return "\n".join(head) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=HelpFormatter)
    ap.add_argument("--triples", type=int, default=1_000_000, help="synthetic triples added")
    ap.add_argument("--runs", type=int, default=7, help="timed runs per query and column")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds allowed per run")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated columns to measure")
    ap.add_argument("--work", type=Path, help="folder for the stores (default: a temporary one)")
    ap.add_argument("--step", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if unknown := set(args.peers.split(",")) - set(PEERS):
        ap.error(f"unknown peer(s): {', '.join(sorted(unknown))} (known: {', '.join(PEERS)})")
    if args.step:
        out = run_step(args.step, args.work, args.runs, args.timeout, args.triples)
        print(json.dumps(out))
        return
    with tempfile.TemporaryDirectory(prefix="query-bench-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        print(bench(args.triples, args.runs, args.timeout, args.peers.split(","), work))


if __name__ == "__main__":
    main()
