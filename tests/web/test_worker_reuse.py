"""Requests one at a time go to the same query worker: its store, block cache and cut
counts (store/halves.py) are warm, where another worker's first answer pays for them."""

import time
from pathlib import Path

import pytest

from webapp.database import Database, _Idle

from ..conftest import built_store
from .test_memory_bounds import LABEL


@pytest.fixture(scope="module")
def fresh_store(tmp_path_factory) -> Path:
    return built_store(tmp_path_factory, "reuse")


def _wakeups(pid: int) -> int:
    """How often the threads of a process have gone to sleep: an idle worker, blocked on
    its pipe, never wakes; one that answers a job sleeps again after it."""
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        for line in status.read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


def test_the_worker_given_back_last_is_handed_out_first() -> None:
    idle = _Idle()
    for name in ("a", "b"):
        idle.put(name)
    idle.put_cold("new")
    assert [idle.get_nowait() for _ in range(3)] == ["b", "a", "new"]
    assert idle.empty()


def test_requests_one_at_a_time_go_to_one_worker(fresh_store: Path) -> None:
    db = Database(fresh_store, lambda: "v", workers=3, timeout=20, recycle_mb=4096)
    try:
        pids = [w.proc.pid for w in list(db.pool.idle.queue)]
        time.sleep(0.5)  # for the workers' start-up to end
        before = {pid: _wakeups(pid) for pid in pids}
        for _ in range(4):
            assert db.query(LABEL, use_cache=False).rows
        used = [pid for pid in pids if _wakeups(pid) > before[pid]]
        assert len(used) == 1, f"workers that answered: {used}"
        assert db.pool.idle.queue[-1].proc.pid == used[0]  # handed out next
    finally:
        db.close()
