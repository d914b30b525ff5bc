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
    for env in ({allocator.ENV: "system"}, {allocator.DONE: str(JEMALLOC)}):
        out = probe(env)
        assert (out.returncode, out.stdout.strip(), out.stderr) == (0, "system", "")


def test_system_choice_undoes_an_inherited_jemalloc():
    """A process started by one under jemalloc inherits it; CLUSTERPOLISEE_MALLOC=system
    starts it once more without it (and leaves other preloaded libraries alone)."""
    inherited = {"LD_PRELOAD": str(JEMALLOC), allocator.DONE: str(JEMALLOC)}
    assert probe(inherited).stdout.split() == ["libjemalloc.so.2", str(JEMALLOC)]
    out = probe({**inherited, allocator.ENV: "system"})
    assert (out.returncode, out.stdout.strip(), out.stderr) == (0, "system", "")
    env = allocator.preload_env(
        {**inherited, allocator.ENV: "system", "LD_PRELOAD": f"/o.so {JEMALLOC}"}
    )
    assert env == {allocator.ENV: "system", "LD_PRELOAD": "/o.so"}


def test_a_missing_library_warns_and_runs_on(tmp_path):
    missing = tmp_path / "libnothing.so"
    out = probe({allocator.ENV: str(missing)})
    assert out.returncode == 0 and out.stdout.strip() == "system"
    assert f"{allocator.ENV}={missing} is not a file ld.so can preload" in out.stderr


def test_a_relative_choice_is_made_absolute(tmp_path, monkeypatch):
    """Children start in other folders (HermiT in a temporary one): the path must hold there."""
    (tmp_path / "lib.so").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    env = allocator.preload_env({allocator.ENV: "lib.so"})
    assert env is not None and env["LD_PRELOAD"] == str(tmp_path / "lib.so")
    assert env[allocator.DONE] == str(tmp_path / "lib.so")


def test_another_preload_is_left_alone():
    """A sanitiser that must come first, or an allocator someone chose: no restart unless
    CLUSTERPOLISEE_MALLOC asks for one, and then after what is there."""
    assert allocator.preload_env({"LD_PRELOAD": "/opt/other.so"}) is None
    out = probe({"LD_PRELOAD": ""})
    assert out.stdout.split() == ["libjemalloc.so.2", str(JEMALLOC)]
    env = allocator.preload_env({"LD_PRELOAD": "/opt/other.so", allocator.ENV: str(JEMALLOC)})
    assert env is not None and env["LD_PRELOAD"] == f"/opt/other.so {JEMALLOC}"
    chosen = {"LD_PRELOAD": "/opt/other.so:/lib/x86_64-linux-gnu/libjemalloc.so.2"}
    assert allocator.preload_env({**chosen, allocator.ENV: str(JEMALLOC)}) is None


def test_programs_not_ours_start_without_the_added_library():
    """Virtuoso and HermiT's Java run on their own allocator, whatever the CLI preloaded."""
    env = {"PATH": "/usr/bin", "LD_PRELOAD": f"/opt/a.so {JEMALLOC}", allocator.DONE: str(JEMALLOC)}
    assert allocator.without_preload(env) == {"PATH": "/usr/bin", "LD_PRELOAD": "/opt/a.so"}
    assert allocator.without_preload({"LD_PRELOAD": "/opt/a.so"}) == {"LD_PRELOAD": "/opt/a.so"}
    child = "import sys; print('jemalloc' in open('/proc/self/maps').read())"
    inherited = {
        "PATH": "/usr/bin:/bin",
        "LD_PRELOAD": str(JEMALLOC),
        allocator.DONE: str(JEMALLOC),
    }
    for env, mapped in ((inherited, "True"), (allocator.without_preload(inherited), "False")):
        out = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True)
        assert out.stdout.strip() == mapped, out.stderr


TRIM = (
    "import os\n"
    "from webapp.heap import trim_heap\n"
    "PAGE = os.sysconf('SC_PAGE_SIZE')\n"
    "def rss():\n"
    "    return int(open('/proc/self/statm').read().split()[1]) * PAGE // 2**20\n"
    "blocks = [b'x' * 65536 for _ in range(3200)]\n"
    "del blocks\n"
    "freed = rss()\n"
    "trim_heap()\n"
    "print(freed, rss())\n"
)


def test_trim_heap_purges_jemalloc():
    """After an upload the server trims its heap; under jemalloc that is a purge, without
    which about 75 MB of the 200 MB freed here stays resident for up to 10 s."""
    assert JEMALLOC is not None, "libjemalloc2 is not installed (make test installs it)"
    env = {"PATH": "/usr/bin:/bin", "LD_PRELOAD": str(JEMALLOC)}
    out = subprocess.run(
        [sys.executable, "-c", TRIM], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    freed, trimmed = map(int, out.stdout.split())
    assert freed - trimmed > 50, (freed, trimmed)
