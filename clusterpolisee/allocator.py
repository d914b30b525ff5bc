"""Start the program again under jemalloc, when the machine has it.

Oxigraph allocates and frees a small buffer for nearly every index lookup, and glibc's
malloc spent about 30 % of a listing's time there (perf, 1M store). Under jemalloc the
five slowest stored queries ran 14-45 % faster (BENCHMARKS.md, "Allocator"). The choice is
made once, at start, because a process cannot change its allocator after it has allocated:
the launcher execs the same command line again with jemalloc in LD_PRELOAD. Its children
(the web's query workers) inherit it.

``CLUSTERPOLISEE_MALLOC``: unset uses jemalloc when installed (Debian: libjemalloc2) and
nothing else is preloaded; ``system`` keeps the C library's malloc; a path names another
library to preload (after any already in LD_PRELOAD).
This module imports nothing heavy: it runs before the program's own imports.
"""

import os
import sys
import sysconfig
from pathlib import Path

ENV = "CLUSTERPOLISEE_MALLOC"
#: Set in the started-again process to the library added, so it never starts itself a third
#: time and can leave that library out of the programs it starts that are not its own.
DONE = "CLUSTERPOLISEE_MALLOC_SET"
SONAME = "libjemalloc.so.2"
Env = dict[str, str] | os._Environ


def library(env: Env = os.environ) -> Path | None:
    """The allocator to preload, or None for the C library's malloc."""
    choice = env.get(ENV, "").strip()
    if choice == "system" or sys.platform != "linux":
        return None
    if choice:
        # Absolute, because children start in other folders (HermiT in a temporary one).
        return Path(choice).expanduser().resolve()
    arch = sysconfig.get_config_var("MULTIARCH") or ""
    for folder in (f"/usr/lib/{arch}", "/usr/lib64", "/usr/lib", "/usr/local/lib"):
        candidate = Path(folder, SONAME)
        if candidate.is_file():
            return candidate
    return None


def _entries(preload: str) -> list[str]:
    """LD_PRELOAD's libraries: ld.so splits the list at spaces and colons."""
    return preload.replace(":", " ").split()


def added(env: Env = os.environ) -> str | None:
    """The library this launcher preloaded into a process with ``env``, if it is still there."""
    lib = env.get(DONE, "")
    return lib if lib in _entries(env.get("LD_PRELOAD", "")) else None


def without_preload(env: Env = os.environ) -> dict[str, str]:
    """``env`` without the library this launcher added: for programs that are not ours
    (Virtuoso, Java), which should run on the allocator they were built and tested with."""
    new = dict(env)
    lib = new.pop(DONE, None)
    rest = [e for e in _entries(new.pop("LD_PRELOAD", "")) if e != lib]
    if rest:
        new["LD_PRELOAD"] = " ".join(rest)
    return new


def preload_env(env: Env = os.environ) -> dict[str, str] | None:
    """The environment to start again with, or None when nothing is to change."""
    choice = env.get(ENV, "").strip()
    if env.get(DONE):
        # Started by a process that chose for us; only an explicit "system" undoes that.
        return without_preload(env) if choice == "system" and added(env) else None
    lib = library(env)
    if lib is None:
        return None
    if not lib.is_file() or any(c in str(lib) for c in " :\t\n"):
        print(
            f"warning: {ENV}={lib} is not a file ld.so can preload; using the system malloc",
            file=sys.stderr,
        )
        return None
    already = env.get("LD_PRELOAD", "")
    # Someone else preloads (a sanitiser that must come first, another allocator): without
    # an explicit choice, leave the process to them.
    if already.strip() and not choice:
        return None
    if lib.name in {Path(e).name for e in _entries(already)}:
        return None
    new = dict(env)
    new["LD_PRELOAD"] = f"{already} {lib}".strip()
    new[DONE] = str(lib)
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
    sys.stdout.flush()  # what is buffered would be lost with this image
    sys.stderr.flush()
    try:
        os.execve(sys.executable, argv, env)
    except OSError as exc:  # no exec here (a sandbox): run on with the system malloc
        wanted = env.get("LD_PRELOAD", "the system malloc")
        print(f"warning: could not restart under {wanted}: {exc}", file=sys.stderr)


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
