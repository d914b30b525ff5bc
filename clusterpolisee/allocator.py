"""Start the program again under jemalloc, when the machine has it.

Oxigraph allocates and frees a small buffer for nearly every index lookup, and glibc's
malloc spent about 30 % of a listing's time there (perf, 1M store). Under jemalloc the
five slowest stored queries ran 14-45 % faster (BENCHMARKS.md, "Allocator"). The choice is
made once, at start, because a process cannot change its allocator after it has allocated:
the launcher execs the same command line again with jemalloc in LD_PRELOAD. Its children
(the web's query workers) inherit it.

``CLUSTERPOLISEE_MALLOC``: unset uses jemalloc when installed (Debian: libjemalloc2);
``system`` keeps the C library's malloc; a path names another library to preload.
This module imports nothing heavy: it runs before the program's own imports.
"""

import os
import sys
import sysconfig
from pathlib import Path

ENV = "CLUSTERPOLISEE_MALLOC"
#: Set in the started-again process, so it never starts itself a third time.
DONE = "CLUSTERPOLISEE_MALLOC_SET"
SONAME = "libjemalloc.so.2"


def library(env: dict[str, str] | os._Environ = os.environ) -> Path | None:
    """The allocator to preload, or None for the C library's malloc."""
    choice = env.get(ENV, "").strip()
    if choice == "system" or sys.platform != "linux":
        return None
    if choice:
        return Path(choice)
    arch = sysconfig.get_config_var("MULTIARCH") or ""
    for folder in (f"/usr/lib/{arch}", "/usr/lib64", "/usr/lib", "/usr/local/lib"):
        candidate = Path(folder, SONAME)
        if candidate.is_file():
            return candidate
    return None


def preload_env(env: dict[str, str] | os._Environ = os.environ) -> dict[str, str] | None:
    """The environment to start again with, or None when nothing is to change."""
    if env.get(DONE):
        return None
    lib = library(env)
    if lib is None:
        return None
    if not lib.is_file():
        print(f"warning: {ENV}={lib} is not a file; using the system malloc", file=sys.stderr)
        return None
    already = env.get("LD_PRELOAD", "")
    if str(lib) in already.replace(":", " ").split():
        return None
    new = dict(env)
    new["LD_PRELOAD"] = f"{lib} {already}".strip()
    new[DONE] = "1"
    return new


def restart_with_preferred_malloc() -> None:
    """Exec this same command line again under jemalloc; return if there is nothing to do.

    Only ever called by the program's entry points, before anything has been read from
    stdin or any thread started, so the new image starts from the same state.
    """
    env = preload_env()
    if env is None:
        return
    argv = list(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])
    try:
        os.execve(sys.executable, argv, env)
    except OSError as exc:  # no exec here (a sandbox): run on with the system malloc
        print(f"warning: could not restart under {env['LD_PRELOAD']}: {exc}", file=sys.stderr)


def active() -> str:
    """The preloaded allocator of this process, as the kernel maps it, or 'system'."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return "system"
    for line in maps.splitlines():
        if "malloc" in line.rsplit("/", 1)[-1]:
            return line.rsplit("/", 1)[-1].strip()
    return "system"
