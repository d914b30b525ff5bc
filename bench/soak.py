"""Soak test: a real `clusterpolisee serve` under a steady mixed load for some minutes.

    python bench/soak.py [--minutes 5] [--rate 10] [--store DIR]

Builds a store (unless --store is given), starts the server on a free loopback port, and
sends requests at a steady rate from a few client threads: stored-query pages, resource
pages, /sparql queries and partner uploads (about 1 in 50). Prints requests per kind, status
counts, latency percentiles, the server's memory (process and query workers) at the start
and the end, and exits 1 if any answer was a 5xx (none of its queries is meant to time out)
or memory grew by 10 % or more.
"""

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).with_name("clusterpolisee")
PARTNER = "marche-region"
UPLOADS = [ROOT / "data/partners/marche-region.ttl", ROOT / "tests/submissions/valid/complete.ttl"]
QUERIES = [
    "/queries/overview",
    "/queries/clusters",
    "/queries/clusters.json",
    "/queries/search?text=cluster",
    "/queries/search?text=inno",
    "/queries/region-barriers?region=https://w3id.org/clusterpolisee/id/region/ITI3",
    "/queries/policy-mix",
    "/queries/funding.csv",
]
RESOURCES = [
    "/id/region/ITI3",
    "/id/country/ITA",
    "/id/partner/marche-region",
    "/id/theme/innovation",
    "/id/region/ITI3.ttl",
    "/",
]
SPARQL = [
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "SELECT ?c ?l WHERE { ?c a <https://w3id.org/clusterpolisee/ontology#Cluster> ; "
    "<http://www.w3.org/2000/01/rdf-schema#label> ?l } LIMIT 50",
    "ASK { ?s a <https://w3id.org/clusterpolisee/ontology#Barrier> }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s a <https://w3id.org/clusterpolisee/ontology#Region> ; "
    "?p ?o } LIMIT 200",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_rss_mb(pid: int) -> float:
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
        total += int(re.search(r"VmRSS:\s+(\d+)", status)[1])
    return total / 1024


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", 5)))
    ap.add_argument("--rate", type=float, default=10.0, help="requests per second (total)")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--store", type=Path, help="an existing store to copy (default: build one)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="soak-"))
    store = work / "store"
    if args.store:
        subprocess.run(["cp", "-r", str(args.store), str(store)], check=True)
    else:
        subprocess.run([str(CLI), "build", "--store", str(store)], check=True, capture_output=True)
    tokens = work / "tokens.json"
    token = subprocess.run(
        [str(CLI), "token", "create", "--partner", PARTNER, "--tokens", str(tokens)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(CLI), "serve", "--store", str(store), "--port", str(port), "--tokens", str(tokens)],
        stdout=subprocess.DEVNULL,
        stderr=(work / "serve.err").open("wb"),
        env={**os.environ, "CLUSTERPOLISEE_ARCHIVE": str(work / "archive")},
        start_new_session=True,
    )
    try:
        for _ in range(600):
            try:
                if requests.get(base + "/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            print("the server did not start", file=sys.stderr)
            return 1
        # Warm up: every page once, so the first-use caches are in the start figure.
        for path in QUERIES + RESOURCES:
            requests.get(base + path, timeout=60)
        rss_start = tree_rss_mb(server.pid)
        figures = run_load(base, token, args)
        rss_end = tree_rss_mb(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    growth = (rss_end - rss_start) / rss_start * 100
    figures.update(
        minutes=args.minutes,
        rate=args.rate,
        rss_start_mb=round(rss_start, 1),
        rss_end_mb=round(rss_end, 1),
        rss_growth_pct=round(growth, 1),
    )
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    errors = figures["server_errors"]
    ok = errors == 0 and growth < 10
    print(f"soak {'PASSED' if ok else 'FAILED'}: {errors} server errors, memory {growth:+.1f} %")
    return 0 if ok else 1


def run_load(base: str, token: str, args) -> dict:
    lock = threading.Lock()
    latencies: dict[str, list[float]] = {}
    statuses: Counter = Counter()
    failures: list[str] = []
    deadline = time.monotonic() + args.minutes * 60
    interval = args.clients / args.rate  # each client's pause between requests

    def client(seed: int) -> None:
        rng = random.Random(seed)
        session = requests.Session()
        next_at = time.monotonic()
        while time.monotonic() < deadline:
            roll = rng.random()
            t0 = time.monotonic()
            try:
                if roll < 0.02:
                    kind, r = "upload", upload(session, base, token, rng)
                elif roll < 0.40:
                    kind = "query page"
                    r = session.get(base + rng.choice(QUERIES), timeout=60)
                elif roll < 0.70:
                    kind = "resource"
                    r = session.get(base + rng.choice(RESOURCES), timeout=60)
                else:
                    kind = "sparql"
                    r = session.get(
                        base + "/sparql", params={"query": rng.choice(SPARQL)}, timeout=60
                    )
                status = r.status_code
            except requests.RequestException as exc:
                kind, status = "error", 0
                with lock:
                    failures.append(type(exc).__name__)
            with lock:
                latencies.setdefault(kind, []).append(time.monotonic() - t0)
                statuses[(kind, status)] += 1
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [x for v in latencies.values() for x in v]
    server_errors = sum(n for (_, s), n in statuses.items() if s >= 500 or s == 0)
    return {
        "requests": len(everything),
        "per_kind": {k: len(v) for k, v in sorted(latencies.items())},
        "statuses": {f"{k} {s}": n for (k, s), n in sorted(statuses.items())},
        "server_errors": server_errors,
        "client_errors": failures[:10],
        "p50_ms": round(percentile(everything, 0.50) * 1000, 1),
        "p95_ms": round(percentile(everything, 0.95) * 1000, 1),
        "p99_ms": round(percentile(everything, 0.99) * 1000, 1),
        "p99_ms_per_kind": {
            k: round(percentile(v, 0.99) * 1000, 1) for k, v in sorted(latencies.items())
        },
    }


def upload(session: requests.Session, base: str, token: str, rng: random.Random):
    page = session.get(base + "/submit", timeout=60).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    path = rng.choice(UPLOADS)
    return session.post(
        base + "/submit",
        data={"csrf_token": csrf, "token": token},
        files={"file": (path.name, path.read_bytes())},
        timeout=120,
    )


if __name__ == "__main__":
    sys.exit(main())
