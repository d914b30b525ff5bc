"""Tools of the hostile-input suite: the corpus, a loopback listener that counts connections,
and processes traced with strace (files opened, connections made, time and peak memory)."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from clusterpolisee import paths

HERE = Path(__file__).parent
FILES = HERE / "files"
INVALID = HERE.parent / "submissions" / "invalid"
MANIFEST = json.loads((HERE / "manifest.json").read_text())
DECOY_TEXT = "DECOY-SECRET-never-to-be-read"
STRACE = "strace"

#: Figures per entry point and category: tried, handled as expected.
FIGURES: dict[str, Counter] = defaultdict(Counter)


def strace_path() -> str:
    """strace is a declared test dependency (scripts/install-system-deps.sh): missing fails."""
    exe = shutil.which(STRACE)
    assert exe, "strace is not on PATH; run 'make test' (it installs the strace package)"
    return exe


# -- the corpus --------------------------------------------------------------------------------


@dataclass
class Entry:
    """One hostile file with its expected outcome."""

    file: str
    category: str
    exit: int
    expect: str
    web: int
    note: str = ""
    source: Path | None = None
    generate: str | None = None


def entries() -> list[Entry]:
    invalid = {e["file"]: e for e in json.loads((INVALID / "manifest.json").read_text())}
    out = []
    for raw in MANIFEST["files"]:
        if "reuse" in raw:
            base = invalid[raw["reuse"]]
            e = Entry(raw["reuse"], raw["category"], base["exit"], base["expect"], 0)
            e.source = INVALID / raw["reuse"]
        else:
            e = Entry(raw["file"], raw["category"], raw["exit"], raw["expect"], 0, raw["note"])
            e.generate = raw.get("generate")
            e.source = None if e.generate else FILES / raw["file"]
            e.web = raw.get("web", 0)
        e.web = e.web or {0: 200}.get(e.exit, 422)
        out.append(e)
    return out


def _generated(kind: str) -> bytes:
    s = "https://w3id.org/clusterpolisee/id/partner/marche-region/cluster/"
    label = "<http://www.w3.org/2000/01/rdf-schema#label>"
    complete = (paths.ROOT / "tests/submissions/valid/complete.ttl").read_bytes()
    if kind == "oversized":
        line = f'<{s}big> <http://e/p> "{"x" * 200}" .\n'.encode()
        return line * (51_000_000 // len(line) + 1)
    if kind == "huge-literal":
        return complete.replace(b'"Test cluster"@en', b'"' + b"x" * 20_000_000 + b'"@en', 1)
    if kind == "escaped-literal":
        return complete.replace(b'"Test cluster"@en', b'"' + b"\\n" * 2_000_000 + b'"@en', 1)
    if kind == "many-triples":
        return b"".join(f'<{s}m{i}> {label} "m{i}"@en .\n'.encode() for i in range(5_000))
    raise AssertionError(kind)


def materialise(entry: Entry, folder: Path, listener: str, decoy: Path) -> Path:
    """Write the entry into ``folder`` with the listener address and decoy path filled in."""
    if entry.generate:
        data = _generated(entry.generate)
    else:
        data = entry.source.read_bytes()
        data = data.replace(b"@LISTENER@", listener.encode())
        data = data.replace(b"@DECOY_DIR@", str(decoy.parent).encode())
        data = data.replace(b"@DECOY@", str(decoy).encode())
    path = folder / entry.file
    path.write_bytes(data)
    return path


def fill(value: str, listener: str, decoy: Path) -> str:
    return value.replace("@LISTENER@", listener).replace("@DECOY@", str(decoy))


# -- the listener ----------------------------------------------------------------------------


class Listener:
    """A TCP listener on loopback that counts every connection made to it and closes each at
    once (a fetch fails fast, and cannot go unnoticed)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self.peers: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self.peers.append(f"{peer[0]}:{peer[1]}")
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


# -- tracing ---------------------------------------------------------------------------------

_OPEN = re.compile(
    r"^(\d+)\s+(?:<\.\.\. )?(open|openat|openat2)\((?:(?:AT_FDCWD|-?\d+)(?:<([^>]*)>)?, )?"
    r'"((?:[^"\\]|\\.)*)"'
)
_RESULT = re.compile(r"= (-?\d+)(?:<([^>]*)>)?(?: (E[A-Z]+))?")
_CONNECT = re.compile(r"connect\(\d+(?:<[^>]*>)?, \{sa_family=(AF_INET6?)[^}]*\}")


def _unescape(s: str) -> str:
    return s.encode("latin-1", "backslashreplace").decode("unicode_escape", "replace")


@dataclass
class Trace:
    opened: list[str] = field(default_factory=list)  # absolute paths opened successfully
    attempted: list[str] = field(default_factory=list)  # every path named in an open call
    inet_connects: list[str] = field(default_factory=list)


def read_trace(log: Path) -> Trace:
    trace = Trace()
    for line in log.read_text(errors="replace").splitlines():
        if (m := _CONNECT.search(line)) is not None:
            trace.inet_connects.append(line.strip())
            continue
        m = _OPEN.match(line)
        if m is None:
            continue
        dirpath, name = m[3], _unescape(m[4])
        path = name if name.startswith("/") or not dirpath else f"{dirpath}/{name}"
        trace.attempted.append(os.path.normpath(path))
        r = _RESULT.search(line[m.end() :])
        if r is None or "<unfinished" in line:
            trace.opened.append(os.path.normpath(path))  # result on another line: count it
        elif int(r[1]) >= 0:
            trace.opened.append(os.path.normpath(r[2] or path))
    return trace


def default_allowed() -> list[str]:
    """What any run of the tool may open: its interpreter and libraries, the checkout, the
    system (libraries, certificates, locale), and the kernel's pseudo files."""
    roots = {sys.prefix, sys.base_prefix, os.path.realpath(sys.base_prefix), str(paths.ROOT)}
    roots |= {"/usr", "/lib", "/lib64", "/etc", "/proc", "/sys", "/dev"}
    return sorted(roots)


def problems(trace: Trace, allowed: list[str], decoy: Path) -> list[str]:
    """Files read outside the allow-list, any mention of the decoy, any inet connection."""
    out = []
    # Python's import system probes the working directory (the decoy's folder) for module
    # names; only the decoy itself must never be named, and nothing there may be opened.
    out.extend(f"tried to open the decoy: {p}" for p in trace.attempted if p == str(decoy))
    for p in sorted(set(trace.opened)):
        if not any(p == a or p.startswith(a.rstrip("/") + "/") for a in allowed):
            out.append(f"opened a file outside the allow-list: {p}")
    out.extend(f"outbound connection: {c}" for c in trace.inet_connects)
    return out


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float
    trace: Trace


def run_traced(args: list[str], cwd: Path, log: Path, timeout: float = 120, env=None) -> Run:
    """Run a command under ``strace -f``; its exit code, output, wall time and peak RSS (of the
    command and its children, from wait4)."""
    out, err = log.with_suffix(".out"), log.with_suffix(".err")
    cmd = [
        strace_path(),
        "-f",
        "--seccomp-bpf",
        "-qq",
        "-y",
        "-s",
        "4096",
        "-e",
        "trace=open,openat,openat2,connect",
        "-o",
        str(log),
        *args,
    ]
    start = time.monotonic()
    with out.open("wb") as fo, err.open("wb") as fe:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=fo, stderr=fe, env=env, start_new_session=True)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                os.killpg(proc.pid, signal.SIGKILL)  # strace and the traced command
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        proc.returncode,
        out.read_text(errors="replace"),
        err.read_text(errors="replace"),
        time.monotonic() - start,
        usage.ru_maxrss / 1024,
        read_trace(log),
    )
