"""Load test of the web front end: requests/s and p50/p99 latency under concurrent clients.

Builds a fresh store with `clusterpolisee build`, starts `clusterpolisee serve` twice (the
result cache on, and off with --cache-size 0) on free loopback ports, and drives each with
1, 8 and 32 keep-alive clients (threads, http.client) for a few seconds per cell:

- cached page:   /queries/overview (the same URL; served from the result cache)
- uncached page: /queries/overview?country=... (server without cache: every request queries)
- /sparql:       an aggregation query over the whole graph, SPARQL JSON

Usage: .venv/bin/python bench/web_bench.py [--seconds 5] [--clients 1,8,32]
Prints a Markdown table (the one in BENCHMARKS.md, section "Web").
"""

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).with_name("clusterpolisee")
COUNTRIES = ["ALB", "AUT", "BGR", "HRV", "GRC", "HUN", "ITA", "ROU", "SRB", "SVK", "SVN"]
SPARQL = """PREFIX cpo: <https://w3id.org/clusterpolisee/ontology#>
SELECT ?country (COUNT(?r) AS ?regions) WHERE { ?r a cpo:Region ; cpo:country ?country }
GROUP BY ?country ORDER BY DESC(?regions)"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store: Path, cache: int) -> tuple[subprocess.Popen, int]:
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
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


def client(
    port: int, paths: list[str], stop: float, out: list[float], errors: list[int], offset: int
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    i = offset
    while time.perf_counter() < stop:
        path = paths[i % len(paths)]
        i += 1
        start = time.perf_counter()
        conn.request("GET", path, headers={"Accept": "text/html"})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            errors.append(resp.status)
        out.append(time.perf_counter() - start)


def run(port: int, paths: list[str], clients: int, seconds: float) -> dict:
    # warm up once, so worker start-up is not measured
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", paths[0])
    conn.getresponse().read()
    latencies: list[float] = []
    errors: list[int] = []
    stop = time.perf_counter() + seconds
    threads = [
        threading.Thread(target=client, args=(port, paths, stop, latencies, errors, n))
        for n in range(clients)
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "n": len(latencies),
        "errors": len(errors),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", default="1,8,32")
    args = ap.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="web-bench-"))
    store = tmp / "store"
    subprocess.run(
        [str(CLI), "build", "--store", str(store)],
        check=True,
        capture_output=True,
        env={**os.environ},
    )
    sparql = "/sparql?" + urllib.parse.urlencode({"query": SPARQL, "format": "json"})
    country = "/queries/overview?country=https%3A%2F%2Fw3id.org%2Fclusterpolisee%2Fid%2Fcountry%2F"
    scenarios = [
        ("cached page `/queries/overview`", 256, ["/queries/overview"]),
        ("uncached page `/queries/overview?country=…`", 0, [country + c for c in COUNTRIES]),
        ("`/sparql` (JSON, uncached)", 0, [sparql]),
        ("`/sparql` (JSON, cached)", 256, [sparql]),
    ]
    print(f"{'| scenario | clients | req/s | p50 ms | p99 ms | requests | errors |'}")
    print("|---|---:|---:|---:|---:|---:|---:|")
    servers: dict[int, tuple[subprocess.Popen, int]] = {}
    try:
        for name, cache, paths in scenarios:
            if cache not in servers:
                servers[cache] = (
                    start_server(store, cache) if not servers else _second(store, cache, servers)
                )
            port = servers[cache][1]
            for n in levels:
                r = run(port, paths, n, args.seconds)
                print(
                    f"| {name} | {n} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} "
                    f"| {r['n']} | {r['errors']} |",
                    flush=True,
                )
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(10)


def _second(store: Path, cache: int, servers: dict) -> tuple[subprocess.Popen, int]:
    """The store has one writer: stop the running server before starting the other one."""
    for proc, _ in servers.values():
        proc.terminate()
        proc.wait(10)
    servers.clear()
    return start_server(store, cache)


if __name__ == "__main__":
    main()
