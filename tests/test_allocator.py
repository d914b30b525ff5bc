"""The CLI restarts itself under jemalloc (clusterpolisee/allocator.py), and only once."""

import subprocess
import sys

from clusterpolisee import allocator, paths

ROOT = paths.ROOT

JEMALLOC = allocator.library({})
PROBE = (
    "from clusterpolisee import allocator\n"
    "allocator.restart_with_preferred_malloc()\n"
    "import os\n"
    "print(allocator.active(), os.environ.get('LD_PRELOAD', ''))\n"
)


def probe(env: dict[str, str]) -> subprocess.CompletedProcess:
    """A fresh interpreter that runs the launcher's first step and says what it runs under."""
    base = {"PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", PROBE], env={**base, **env}, capture_output=True, text=True
    )


def test_jemalloc_is_installed():
    """make test installs libjemalloc2; without it every CLI process runs on glibc's malloc."""
    assert JEMALLOC is not None and JEMALLOC.name == "libjemalloc.so.2"


def test_restart_preloads_jemalloc_once():
    out = probe({})
    assert out.returncode == 0, out.stderr
    mapped, preload = out.stdout.split()
    assert mapped == "libjemalloc.so.2" and preload == str(JEMALLOC)


def test_system_choice_and_a_started_process_keep_glibc():
    for env in ({allocator.ENV: "system"}, {allocator.DONE: "1"}):
        out = probe(env)
        assert (out.returncode, out.stdout.strip(), out.stderr) == (0, "system", "")


def test_a_missing_library_warns_and_runs_on(tmp_path):
    missing = tmp_path / "libnothing.so"
    out = probe({allocator.ENV: str(missing)})
    assert out.returncode == 0 and out.stdout.strip() == "system"
    assert f"{allocator.ENV}={missing} is not a file; using the system malloc" in out.stderr


def test_an_existing_preload_is_kept(tmp_path):
    env = allocator.preload_env({"LD_PRELOAD": "/opt/other.so"})
    assert env is not None and env["LD_PRELOAD"] == f"{JEMALLOC} /opt/other.so"
    assert allocator.preload_env({"LD_PRELOAD": f"/opt/other.so:{JEMALLOC}"}) is None


TRIM = (
    "from webapp.database import trim_heap\n"
    "def rss():\n"
    "    return int(open('/proc/self/statm').read().split()[1]) * 4096 // 2**20\n"
    "blocks = [b'x' * 65536 for _ in range(3200)]\n"
    "del blocks\n"
    "freed = rss()\n"
    "trim_heap()\n"
    "print(freed, rss())\n"
)


def test_trim_heap_purges_jemalloc():
    """After an upload the server trims its heap; under jemalloc that is a purge, without
    which about 75 MB of the 200 MB freed here stays resident for up to 10 s."""
    env = {"PATH": "/usr/bin:/bin", "LD_PRELOAD": str(JEMALLOC)}
    out = subprocess.run(
        [sys.executable, "-c", TRIM], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    freed, trimmed = map(int, out.stdout.split())
    assert freed - trimmed > 50, (freed, trimmed)
