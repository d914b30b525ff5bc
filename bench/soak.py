"""Soak test: a real `clusterpolisee serve` under a steady mixed load for some minutes.

    python bench/soak.py [--minutes 5] [--rate 10] [--store DIR]

Builds a store (unless --store is given), starts the server on a free loopback port, and
sends requests at a steady rate from a few client threads: stored-query pages, resource
pages, /sparql queries and partner uploads (about 1 in 50). Prints requests per kind, status
counts, latency percentiles and the server's memory (process and query workers, summed RSS),
and exits 1 if any answer was a 5xx (none of its queries is meant to time out) or memory
grew by 10 % or more.

Memory is measured from a baseline taken after a warm-up (every page, every /sparql query
and one upload, then every page again), so one-off costs (imports of the validation stack on
the first upload, a worker's first store snapshot) are not counted as growth. The end figure
is the last sample; the RSS of each process is also sampled every --sample seconds, so the
report shows whether memory levels off or keeps climbing.
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

import common
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


SLOWEST = 8  # slowest requests listed in the report


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_rss_mb(pid: int) -> list[tuple[int, float]]:
    """(pid, RSS in MB) of a process and all its descendants, the process first."""
    found = []
    for p in common.process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        if rss := re.search(r"VmRSS:\s+(\d+)", status):  # none while a process exits
            found.append((p, int(rss[1]) / 1024))
    return found


def tree_rss_mb(pid: int) -> float:
    return sum(mb for _, mb in process_rss_mb(pid))


class Sampler(threading.Thread):
    """Samples the server's memory every ``every`` seconds: (s, total, main, [children])."""

    def __init__(self, pid: int, every: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, float, float, list[float]]] = []
        self.stop = threading.Event()
        self.t0 = time.monotonic()

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.take()

    def take(self) -> None:
        procs = process_rss_mb(self.pid)
        if procs:
            mbs = [round(mb, 1) for _, mb in procs]
            t = round(time.monotonic() - self.t0)
            self.samples.append((t, round(sum(mbs), 1), mbs[0], mbs[1:]))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=common.HelpFormatter
    )
    ap.add_argument(
        "--minutes",
        type=float,
        default=float(os.environ.get("SOAK_MINUTES", 5)),
        help="how long the load runs (or SOAK_MINUTES)",
    )
    ap.add_argument("--rate", type=float, default=10.0, help="requests per second (total)")
    ap.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    ap.add_argument("--store", type=Path, help="an existing store to copy (default: build one)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--sample", type=float, default=15.0, help="seconds between memory samples")
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
        rss_boot = tree_rss_mb(server.pid)
        warm_up(base, token)
        sampler = Sampler(server.pid, args.sample)
        sampler.take()
        sampler.start()
        figures = run_load(base, token, args)
        sampler.stop.set()
        sampler.take()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    figures.update(memory_figures(sampler.samples, rss_boot), minutes=args.minutes, rate=args.rate)
    growth = figures["rss_growth_pct"]
    print(json.dumps({k: v for k, v in figures.items() if k != "rss_samples"}, indent=1))
    print_timeline(figures["rss_samples"])
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    errors = figures["server_errors"]
    ok = errors == 0 and growth < 10
    print(
        f"soak {'PASSED' if ok else 'FAILED'}: {errors} server errors, memory "
        f"{figures['rss_start_mb']:.0f} -> {figures['rss_end_mb']:.0f} MB ({growth:+.1f} %)"
    )
    return 0 if ok else 1


def warm_up(base: str, token: str) -> None:
    """Touch every page and query kind, upload once, then every page again: what is
    allocated once (imports, first snapshots, cache entries) is in the baseline."""
    session = requests.Session()
    pages = QUERIES + RESOURCES

    def touch() -> None:
        for path in pages:
            session.get(base + path, timeout=60)
        for query in SPARQL:
            session.get(base + "/sparql", params={"query": query}, timeout=60)

    touch()
    upload(session, base, token, random.Random(0))
    touch()


def memory_figures(samples: list, rss_boot: float) -> dict:
    """Baseline (after the warm-up), end, peak, and the growth over the second half."""
    start, end = samples[0][1], samples[-1][1]
    mid = samples[len(samples) // 2][1]
    return {
        "rss_boot_mb": round(rss_boot, 1),
        "rss_start_mb": start,
        "rss_mid_mb": mid,
        "rss_end_mb": end,
        "rss_peak_mb": max(s[1] for s in samples),
        "rss_growth_pct": round((end - start) / start * 100, 1),
        "rss_growth_second_half_pct": round((end - mid) / mid * 100, 1),
        "rss_samples": [
            {"s": t, "total": tot, "main": m, "children": c} for t, tot, m, c in samples
        ],
    }


def print_timeline(samples: list[dict]) -> None:
    print("memory (MB)   s  total   main  children")
    for x in samples:
        kids = " ".join(f"{c:.0f}" for c in x["children"])
        print(f"         {x['s']:>6} {x['total']:>6.0f} {x['main']:>6.0f}  {kids}")


def run_load(base: str, token: str, args) -> dict:
    lock = threading.Lock()
    latencies: dict[str, list[float]] = {}
    statuses: Counter = Counter()
    failures: list[str] = []
    slow: list[tuple[float, int, str, str]] = []  # the slowest requests, for the report
    deadline = time.monotonic() + args.minutes * 60
    interval = args.clients / args.rate  # each client's pause between requests

    def client(seed: int) -> None:
        rng = random.Random(seed)
        session = requests.Session()
        next_at = time.monotonic()
        while time.monotonic() < deadline:
            roll = rng.random()
            kind, what = "", ""
            t0 = time.monotonic()
            try:
                if roll < 0.02:
                    kind, what = "upload", "/submit"
                    r = upload(session, base, token, rng)
                elif roll < 0.40:
                    kind, what = "query page", rng.choice(QUERIES)
                    r = session.get(base + what, timeout=60)
                elif roll < 0.70:
                    kind, what = "resource", rng.choice(RESOURCES)
                    r = session.get(base + what, timeout=60)
                else:
                    kind, what = "sparql", rng.choice(SPARQL)
                    r = session.get(base + "/sparql", params={"query": what}, timeout=60)
                status = r.status_code
            except requests.RequestException as exc:
                kind, status, what = "error", 0, f"{kind}: {what}"
                with lock:
                    failures.append(type(exc).__name__)
            seconds = time.monotonic() - t0
            with lock:
                latencies.setdefault(kind, []).append(seconds)
                statuses[(kind, status)] += 1
                slow.append((round(seconds, 2), status, kind, what[:80]))
                slow.sort(reverse=True)
                del slow[SLOWEST:]
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
        "slowest": slow,
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
