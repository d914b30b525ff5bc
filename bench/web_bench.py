"""Load test of the web front end: requests/s and p50/p99 latency under concurrent clients.

Builds a fresh store with `clusterpolisee build`, starts `clusterpolisee serve` twice (the
result cache on, and off with --cache-size 0) on free loopback ports, and drives each with
1, 8 and 32 keep-alive connections (wrk from Debian, 2 threads) for a few seconds per cell:

- cached page:   /queries/overview (the same URL; served from the result cache)
- uncached page: /queries/overview?country=... (server without cache: every request queries)
- resource page: /id/region/ITI3 (a linked-data page: statements in and out, with labels)
- /sparql:       an aggregation query over the whole graph, SPARQL JSON
- the peer: the same /sparql query on Virtuoso 7 (Debian) holding the same quads (the store
  exported as N-Quads, native loader), at the same client counts
- runaway: a server with --timeout 3; one client keeps sending a four-way cross product (each
  one runs until the time limit, gets 503 and its worker is replaced) while the clients load
  the cheap pages; the same pages are measured on the same server without it, just before,
  and the cached page once more while a plain busy loop (no query) takes a core; then the
  runaway phase again on a server that does not pause long queries (--pause-after 0).

Each server's peak memory (VmHWM; ours: the server plus its query workers) is noted under
the table, with the ratios of our /sparql rows to Virtuoso's.

Usage: .venv/bin/python bench/web_bench.py [--seconds 5] [--clients 1,8,32] [--no-peer]
Prints a Markdown table (the one in BENCHMARKS.md, section "Web").
"""

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import common

ROOT = common.ROOT
CLI = common.CLI
COUNTRIES = ["ALB", "AUT", "BGR", "HRV", "GRC", "HUN", "ITA", "ROU", "SRB", "SVK", "SVN"]
SPARQL = """PREFIX cpo: <https://w3id.org/clusterpolisee/ontology#>
SELECT ?country (COUNT(?r) AS ?regions) WHERE { ?r a cpo:Region ; cpo:country ?country }
GROUP BY ?country ORDER BY DESC(?regions)"""
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
RESOURCE = "/id/region/ITI3"
JSON = "application/sparql-results+json"
SPARQL_ROWS = {
    "cached": "`/sparql` (JSON, cached)",
    "uncached": "`/sparql` (JSON, uncached)",
    "virtuoso": "`/sparql` (JSON) on Virtuoso, same quads, same query",
}
# Virtuoso's packaged ini serves 10 HTTP threads and keeps 10 connections alive; a server
# meant for 32 clients would be given as many.
VIRTUOSO_HTTP = {
    "HTTPServer": {"ServerThreads": 32, "MaxKeepAlives": 32, "MaxClientConnections": 32},
    "Parameters": {"MaxClientConnections": 32},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    store: Path, cache: int, timeout: float = 10.0, extra: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        [
            str(CLI),
            "serve",
            "--store",
            str(store),
            "--port",
            str(port),
            "--cache-size",
            str(cache),
            "--tokens",
            str(store.parent / "tokens.json"),
            "--timeout",
            str(timeout),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):  # start-up takes seconds when the cores are busy
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


# wrk (Debian) drives the clients: a Python load generator on the same two cores measured its
# own GIL as much as the server (32 client threads wait for the interpreter in 5 ms slices).
# Each wrk thread takes the paths in turn; done() prints the figures as one JSON line.
WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1], { ["Accept"] = "%s" })
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\n{"requests": %%d, "us": %%d, "p50": %%d, "p99": %%d, "status": %%d, "socket": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def run(
    port: int, paths: list[str], clients: int, seconds: float, accept: str = "text/html"
) -> dict:
    """``clients`` keep-alive connections for ``seconds`` with wrk; latency in ms."""
    check(port, paths[0], accept)  # warm up once, so worker start-up is not measured
    quoted = ", ".join("[==[" + p + "]==]" for p in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_SCRIPT % (quoted, accept))
    try:
        proc = subprocess.run(
            ["wrk", f"-t{min(clients, 2)}", f"-c{clients}", f"-d{max(1, round(seconds))}s",
             "--timeout", "30s", "-s", fh.name, f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        )  # fmt: skip
    finally:
        os.unlink(fh.name)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "rps": r["requests"] / (r["us"] / 1e6),
        "p50": r["p50"] / 1000,
        "p99": r["p99"] / 1000,
        "n": r["requests"],
        "errors": r["status"] + r["socket"],
    }


def check(port: int, path: str, accept: str) -> bytes:
    """One request; its body, or an error that says what the server answered instead (so a
    row never times an error page)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Accept": accept})
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        raise RuntimeError(f"GET {path[:80]} answered {resp.status}: {body[:300]!r}")
    return body


def tree_peak_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process plus its live descendants, in MiB."""
    return sum(common.peak_rss_kib(p) for p in common.process_tree(pid)) / 1024


def runaway_loop(port: int, stop: threading.Event, statuses: list[tuple[int, float]]) -> None:
    """Keep one runaway query running until ``stop`` is set."""
    path = "/sparql?" + urllib.parse.urlencode({"query": RUNAWAY, "format": "json"})
    while not stop.is_set():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        statuses.append((resp.status, time.perf_counter() - start))
        conn.close()


def row(name: str, n: int, r: dict) -> str:
    """The table row of one scenario at ``n`` clients (and a progress line: the section
    takes minutes)."""
    common.progress(f"web: {name}, {n} clients: {r['rps']:.0f} req/s, p99 {r['p99']:.1f} ms")
    return (
        f"| {name} | {n} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} "
        f"| {r['n']} | {r['errors']} |"
    )


def bench(seconds: float, levels: list[int], store: Path | None = None, peer: bool = True) -> str:
    """Every scenario at every client count; returns the Markdown table and a summary."""
    tmp = Path(tempfile.mkdtemp(prefix="web-bench-"))
    if store is None:
        store = tmp / "store"
        if os.environ.get("BENCH_BASE_STORE"):
            shutil.copytree(os.environ["BENCH_BASE_STORE"], store)
        else:
            subprocess.run(
                [str(CLI), "build", "--store", str(store)], check=True, capture_output=True
            )
    sparql = "/sparql?" + urllib.parse.urlencode({"query": SPARQL, "format": "json"})
    country = "/queries/overview?country=https%3A%2F%2Fw3id.org%2Fclusterpolisee%2Fid%2Fcountry%2F"
    scenarios = [
        ("cached page `/queries/overview`", 256, ["/queries/overview"]),
        (f"resource page `{RESOURCE}` (cached)", 256, [RESOURCE]),
        (SPARQL_ROWS["cached"], 256, [sparql]),
        ("uncached page `/queries/overview?country=…`", 0, [country + c for c in COUNTRIES]),
        (SPARQL_ROWS["uncached"], 0, [sparql]),
    ]
    out = [
        "| scenario | clients | req/s | p50 ms | p99 ms | requests | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    results: dict[str, dict[int, dict]] = {}
    peaks: list[str] = []
    servers: dict[int, tuple[subprocess.Popen, int]] = {}
    try:
        for name, cache, paths in scenarios:
            if cache not in servers:
                servers[cache] = (
                    start_server(store, cache)
                    if not servers
                    else _second(store, cache, servers, peaks)
                )
            port = servers[cache][1]
            for n in levels:
                results.setdefault(name, {})[n] = r = run(port, paths, n, seconds)
                out.append(row(name, n, r))
        if peer:  # what the peer must answer too
            ours = answer(check(next(iter(servers.values()))[1], sparql, JSON))
        _note_peaks(servers, peaks)
    finally:
        _stop(servers)
    try:
        if peer:
            measured, peak = virtuoso(store, tmp, seconds, levels, ours)
            results[SPARQL_ROWS["virtuoso"]] = measured
            out += [row(SPARQL_ROWS["virtuoso"], n, measured[n]) for n in levels]
            peaks.append(f"Virtuoso {peak:,.0f} MiB")
        out += runaway(store, seconds, levels)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    notes = [
        "",
        "Peak memory (VmHWM; ours: the server plus its child processes, the query workers "
        "among them): " + "; ".join(peaks) + ".",
    ]
    if peer:
        notes.append(ratios(results, levels))
    return "\n".join(out + notes) + "\n"


def ratios(results: dict[str, dict[int, dict]], levels: list[int]) -> str:
    """Our /sparql rows against Virtuoso's, one line per client count (above 1: ours is
    faster): req/s ours ÷ theirs, p99 theirs ÷ ours."""
    theirs = results[SPARQL_ROWS["virtuoso"]]
    ours = {kind: results[SPARQL_ROWS[kind]] for kind in ("uncached", "cached")}
    lines = [
        "",
        "| `/sparql` against Virtuoso | clients | req/s ÷ Virtuoso's | Virtuoso's p99 ÷ ours |",
        "|---|---:|---:|---:|",
    ]
    for kind, rows in ours.items():
        for n in levels:
            rps = rows[n]["rps"] / max(theirs[n]["rps"], 0.001)
            p99 = theirs[n]["p99"] / max(rows[n]["p99"], 0.001)
            lines.append(f"| ours {kind} | {n} | {rps:.1f}x | {p99:.1f}x |")
    return "\n".join(lines)


def answer(body: bytes) -> set[tuple[str, ...]]:
    """A SPARQL JSON answer as a set of rows of values (datatypes aside: Virtuoso writes
    typed literals its own way)."""
    data = json.loads(body)
    names = data["head"]["vars"]
    return {
        tuple(b.get(v, {}).get("value", "") for v in names) for b in data["results"]["bindings"]
    }


def virtuoso(
    store: Path, tmp: Path, seconds: float, levels: list[int], expected: set[tuple[str, ...]]
) -> tuple[dict[int, dict], float]:
    """The /sparql scenario on Virtuoso holding the store's quads: its row per client count
    and its peak MiB. Raises unless it answers as we do, and answers every request."""
    from clusterpolisee.store import virtuoso_server

    dump = tmp / "virtuoso" / "all.nq"
    dump.parent.mkdir()
    subprocess.run(
        [str(CLI), "export", "--store", str(store), "--output", str(dump)],
        check=True,
        capture_output=True,
    )
    server = virtuoso_server.start(tmp / "virtuoso", VIRTUOSO_HTTP)
    try:
        server.isql(
            f"ld_dir('{dump.parent}', 'all.nq', 'urn:x-bench:default'); rdf_loader_run(); "
            "checkpoint;"
        )
        path = "/sparql?" + urllib.parse.urlencode({"query": SPARQL})
        theirs = answer(check(server.http_port, path, JSON))
        if not expected or theirs != expected:
            raise RuntimeError(f"Virtuoso answered {sorted(theirs)}, we {sorted(expected)}")
        out = {n: run(server.http_port, [path], n, seconds, JSON) for n in levels}
        failed = {n: r["errors"] for n, r in out.items() if r["errors"]}
        if failed:
            raise RuntimeError(f"Virtuoso failed requests (by client count): {failed}")
        return out, common.peak_rss_kib(server.process.pid) / 1024
    finally:
        server.stop()


def _note_peaks(servers: dict[int, tuple[subprocess.Popen, int]], peaks: list[str]) -> None:
    for cache, (proc, _) in servers.items():
        peaks.append(
            f"{'cached' if cache else 'uncached'} server {tree_peak_mib(proc.pid):,.0f} MiB"
        )


def _stop(servers: dict[int, tuple[subprocess.Popen, int]]) -> None:
    for proc, _ in servers.values():
        proc.terminate()
        proc.wait(10)
    servers.clear()


def distinct_queries(tag: str) -> list[str]:
    """Small /sparql queries that differ from each other, so none is a cache hit."""
    return [
        "/sparql?"
        + urllib.parse.urlencode({"query": f"{SPARQL} LIMIT {i + 1} # {tag}", "format": "json"})
        for i in range(5000)
    ]


def runaway(store: Path, seconds: float, levels: list[int]) -> list[str]:
    """Cheap pages without, then with, a runaway query on a server with --timeout 3; then
    with it on a server that lets it run beside them (--pause-after 0)."""
    out, notes = [], []
    for pause, phases in ((None, ("idle", "runaway running")), ("0", ("runaway running",))):
        extra = ("--pause-after", pause) if pause else ()
        proc, port = start_server(store, 256, timeout=3.0, extra=extra)
        statuses: list[tuple[int, float]] = []
        flags = "--timeout 3" + (f" --pause-after {pause}" if pause else "")
        try:
            for phase in phases:
                out += cheap_pages(port, seconds, levels, f"{phase} (`{flags}`)", statuses)
            if not pause:
                out += busy_loop(port, seconds, levels)
        finally:
            proc.terminate()
            proc.wait(10)
        if statuses:
            codes = sorted({c for c, _ in statuses})
            median = statistics.median(t for _, t in statuses)
            notes.append(
                f"Runaway queries sent to the server with `{flags}`: {len(statuses)}, "
                f"answered with {codes} after {median:.2f} s (median)."
            )
    return out + [""] + notes


def cheap_pages(
    port: int, seconds: float, levels: list[int], phase: str, statuses: list
) -> list[str]:
    """The cached page and small uncached /sparql queries at each client count, with a
    runaway query kept running meanwhile unless ``phase`` starts with "idle"."""
    stop, thread = threading.Event(), None
    if not phase.startswith("idle"):
        thread = threading.Thread(target=runaway_loop, args=(port, stop, statuses))
        thread.start()
        time.sleep(0.5)
    out = []
    try:
        for label, paths in (
            ("cached page", ["/queries/overview"]),
            ("`/sparql` uncached (distinct small queries)", None),
        ):
            for n in levels:
                r = run(port, paths or distinct_queries(f"{phase}-{n}"), n, seconds)
                out.append(row(f"{label}, {phase}", n, r))
    finally:
        stop.set()
        if thread is not None:
            thread.join(30)
    return out


def busy_loop(port: int, seconds: float, levels: list[int]) -> list[str]:
    """The cached page while a Python busy loop (no query, no server work) takes a core, at
    the lowest priority Linux has (SCHED_IDLE): what a CPU-bound neighbour costs the page
    even when it yields to everything else."""
    time.sleep(3)  # the last runaway query's replacement worker starts up meanwhile
    burner = subprocess.Popen(["chrt", "--idle", "0", sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        return [
            row("cached page, busy loop at SCHED_IDLE running (no query)", n,
                run(port, ["/queries/overview"], n, seconds))
            for n in levels
        ]  # fmt: skip
    finally:
        burner.kill()
        burner.wait()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=common.HelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=5.0, help="load time per table row")
    ap.add_argument(
        "--clients",
        type=common.int_list,
        default="1,8,32",
        help="comma-separated counts of concurrent connections",
    )
    ap.add_argument("--no-peer", action="store_true", help="skip the Virtuoso rows")
    args = ap.parse_args()
    print(bench(args.seconds, args.clients, peer=not args.no_peer))


def _second(
    store: Path, cache: int, servers: dict, peaks: list[str]
) -> tuple[subprocess.Popen, int]:
    """The store has one writer: stop the running server (noting its peak memory) before
    starting the other one."""
    _note_peaks(servers, peaks)
    _stop(servers)
    return start_server(store, cache)


if __name__ == "__main__":
    main()
