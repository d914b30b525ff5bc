"""Shared helpers of the benchmark scripts: machine description, statistics, the store that
every benchmark starts from, and writing generated sections into BENCHMARKS.md."""

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from clusterpolisee import allocator  # noqa: E402 - after the path is set


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with each option's default, except where there is none to show: unset
    (the help text then says what happens), or a switch."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def int_list(text: str) -> list[int]:
    """An option's comma-separated whole numbers (sizes, client counts), as argparse's
    ``type``: anything else is a usage error that quotes it."""
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of whole numbers"
        ) from None


CLI = Path(sys.executable).with_name("clusterpolisee")


def progress(message: str) -> None:
    """One line on standard error each time a step of a section ends, with the time of day:
    a full run takes hours and one section up to 20 minutes, and the document is written
    only when a section ends."""
    print(f"{time.strftime('%H:%M:%S')}  {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return 0.0


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # noqa: BLE001 - a missing package is reported as such
        return "not installed"


def virtuoso_version() -> str:
    try:
        out = subprocess.run(["virtuoso-t", "-?"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    match = re.search(r"Version (\S+)", out.stdout + out.stderr)
    return match.group(1) if match else "unknown"


def machine() -> str:
    """One Markdown paragraph: date, cores, memory, OS and the versions that matter."""
    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores "
        f"({cpu_model()}), "
        f"{memory_gib():.0f} GiB RAM, {os_name}, Python {platform.python_version()}, "
        f"pyoxigraph {_version('pyoxigraph')}, rdflib {_version('rdflib')}, "
        f"pyshacl {_version('pyshacl')}, Virtuoso {virtuoso_version()}, "
        f"malloc {allocator.active()} (this process), {cli_malloc()} (the CLI)"
    )


def cpu_model() -> str:
    """What the CPU calls itself: a virtual machine of the same size may move to another
    kind of host between two runs (2026-12-06: 1.4-1.6x slower than the day before)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU model unknown"


def cli_malloc() -> str:
    """What the CLI, and so every server and worker it starts, preloads."""
    lib = allocator.added(allocator.preload_env() or os.environ)
    return Path(lib).name if lib else "system"


def median_p95(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95


def ms(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 0.1:
        return f"{value:.3f}"
    if value < 10:
        return f"{value:.2f}"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def build_demo_store(path: Path, partners: bool = True) -> None:
    """A fresh store with `clusterpolisee build` (ontology, reference data, demo partners);
    a copy of ``BENCH_BASE_STORE`` when set (bench/run.py builds it once for every section)."""
    base = os.environ.get("BENCH_BASE_STORE")
    if base and partners:
        shutil.copytree(base, path)
        return
    args = [str(CLI), "build", "--store", str(path)] + ([] if partners else ["--no-partners"])
    subprocess.run(args, check=True, capture_output=True)


def run_child(args: list[str], env: dict[str, str] | None = None) -> tuple[str, float, int]:
    """Run a child process: (its standard output, wall seconds, peak RSS in KiB). The peak is
    the largest of the child (across an exec: the CLI restarts itself under jemalloc) and
    any process it waited for; a step that ran workers side by side would need their sum.
    Raises RuntimeError with the end of its standard error when it fails."""
    with tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT, env=env
        )
        with proc.stdout:
            out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{args[:3]} failed ({proc.returncode}): {err.read()[-2000:]}")
    return out, seconds, usage.ru_maxrss


def timed(name: str, args: list[str], env: dict[str, str] | None = None) -> tuple[str, float, int]:
    """One build step in its own process: (name, wall seconds, peak RSS in MiB)."""
    _, seconds, peak_kib = run_child(args, env)
    return name, seconds, peak_kib // 1024


#: Bulk-load an N-Triples file into one graph of a store (not atomic: for building).
BULK_LOAD = (
    "import sys\n"
    "from clusterpolisee.store import OxigraphStore\n"
    "with OxigraphStore(sys.argv[1]) as s: s.bulk_load(sys.argv[2], sys.argv[3])\n"
)


def query_ready(store: Path, data: Path, graph: str) -> list[tuple[str, float, int]]:
    """Build a query-ready embedded store from files, step by step as an operator would:
    `clusterpolisee build` (ontology, reference and demo data), a bulk load of ``data`` into
    ``graph``, `clusterpolisee materialise` (inferences, tallies, compaction). Each step is
    timed in its own process: [(step, seconds, peak RSS MiB)]."""
    # The files are on disk before the clock starts: writing back what made them (1.7 GB at
    # 10M) is not the build's work.
    os.sync()
    return [
        timed("build (demo data)", [str(CLI), "build", "--store", str(store)]),
        timed("bulk load", [sys.executable, "-c", BULK_LOAD, str(store), str(data), graph]),
        timed("materialise (+ compaction)", [str(CLI), "materialise", "--store", str(store)]),
    ]


def copy_store(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (the process first); those that end meanwhile are
    left out."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop(0)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
        found.append(p)
    return found


def peak_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def write_section(doc_path: Path, name: str, body: str) -> None:
    """Replace the generated block ``name`` in ``doc_path`` (markers are HTML comments), or
    append it at the end when the document does not have it yet."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    doc = doc_path.read_text() if doc_path.exists() else "# Benchmarks\n"
    i, j = doc.find(start), doc.find(end)
    if i >= 0 and j > i:
        doc = doc[:i] + block + doc[j + len(end) :]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    doc_path.write_text(doc)
