"""The heap of the server and its query workers: how much is resident, and giving freed
memory back to the OS.

Freed memory stays with the allocator: glibc keeps it per arena, jemalloc hands it back only
as it allocates again, so an idle query worker kept what its last large answer freed until
its next job. A worker trims once its answer has gone (``Settler``): after the 10M listings
the three workers held 221-317 MB instead of 280-441 MB (the rest is mostly the store's own
caches), and a purge takes 20-35 ms (BENCHMARKS.md, "Serving 10M").
"""

import ctypes
import ctypes.util
import os
from pathlib import Path
from typing import Any

#: How far a worker's resident memory may grow over its level after the last trim before it
#: trims again: a small answer frees little, and a trim costs 20-35 ms after a large one.
SLACK_MB = 64


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (0 when it cannot be read, e.g. not on Linux)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _libc() -> Any:
    """glibc, or None elsewhere (musl, macOS): the malloc tuning below is glibc's."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


_LIBC = _libc()
M_ARENA_MAX = -8  # mallopt parameter, from glibc's malloc.h
#: glibc malloc arenas of the server and its query workers when MALLOC_ARENA_MAX is unset.
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap glibc's malloc arenas for threads started from now on (MALLOC_ARENA_MAX).

    glibc gives each thread that contends for the heap its own arena, up to 8 per core,
    and keeps each arena's freed memory; a threaded server's RSS then climbs with freed,
    fragmented heap. Returns whether the cap was set."""
    return bool(_LIBC is not None and _LIBC.mallopt(M_ARENA_MAX, arenas))


def limit_arenas_by_env() -> None:
    """Cap this process's arenas at MALLOC_ARENA_MAX, set to MALLOC_ARENAS where it is unset
    (so the processes started from here on get it too). Before any thread starts."""
    arenas = os.environ.setdefault("MALLOC_ARENA_MAX", str(MALLOC_ARENAS))
    limit_malloc_arenas(int(arenas) if arenas.isdigit() else MALLOC_ARENAS)


def _mallctl() -> Any:
    """jemalloc's control call when this process runs under it (clusterpolisee.allocator)."""
    try:
        call = ctypes.CDLL(None).mallctl
    except (OSError, AttributeError, TypeError):
        return None
    call.restype = ctypes.c_int
    call.argtypes = [ctypes.c_char_p] + [ctypes.c_void_p] * 3 + [ctypes.c_size_t]
    return call


_MALLCTL = _mallctl()
#: Purge every jemalloc arena (MALLCTL_ARENAS_ALL is 4096 in jemalloc 5's headers).
PURGE_ALL = b"arena.4096.purge"


def trim_heap() -> None:
    """Return the free pages of every malloc arena to the OS: jemalloc's purge when it is
    preloaded (it hands them back as it allocates again, so an idle process keeps them), and
    glibc's malloc_trim for its own heap."""
    if _MALLCTL is not None:
        _MALLCTL(PURGE_ALL, None, None, None, 0)
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


class Settler:
    """Trims this process's heap after a job that left it much larger (``settle``)."""

    def __init__(self, slack_mb: float = SLACK_MB) -> None:
        self.slack_mb = slack_mb
        self.level = rss_mb(os.getpid())

    def settle(self) -> bool:
        """Trim if resident memory grew past the slack since the last trim; whether it did."""
        if rss_mb(os.getpid()) - self.level <= self.slack_mb:
            return False
        trim_heap()
        self.level = rss_mb(os.getpid())
        return True
