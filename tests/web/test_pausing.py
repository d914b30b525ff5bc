"""Long queries pause while the app answers other requests (webapp/pausing.py): real
processes, real signals, a real worker pool behind a real waitress server."""

import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from webapp import close_app
from webapp.database import Database
from webapp.pausing import Pauser

from .conftest import RUNAWAY, make_app, waitress_serving
from .test_flights import SLOW, started

TICKS = os.sysconf("SC_CLK_TCK")


def state(pid: int) -> str:
    """The process state letter (R, S, T for stopped, Z...) from /proc/PID/stat."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process and its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def until(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.fixture()
def spinner():
    """A process that only burns CPU: the stand-in for a worker running a runaway query."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    yield proc
    proc.kill()
    proc.wait()


def blocking_app(pauser: Pauser, gate: threading.Event, inside: threading.Event):
    """A WSGI app, counted by ``pauser``, whose requests stay in it until ``gate`` is set."""

    def app(environ, start_response):
        inside.set()
        gate.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return pauser.wrap(app)


def test_a_long_query_is_stopped_while_a_request_is_in_the_app(spinner):
    pauser = Pauser(after=0.25, quiet=0.05)
    gate, inside, done = threading.Event(), threading.Event(), threading.Event()
    app = blocking_app(pauser, gate, inside)
    try:
        watcher = threading.Thread(target=lambda: _hold(pauser, spinner.pid, done))
        watcher.start()
        assert until(lambda: pauser.watched() == [spinner.pid])
        assert state(spinner.pid) == "R" and pauser.pauses == 0
        request = threading.Thread(target=app, args=({}, lambda *a: None))
        request.start()
        assert inside.wait(5)
        assert until(lambda: state(spinner.pid) == "T"), "not stopped during the request"
        before = cpu_seconds(spinner.pid)
        time.sleep(0.3)
        assert cpu_seconds(spinner.pid) - before <= 0.02  # no CPU while stopped
        gate.set()
        request.join(5)
        # continued once the app has had no request for `quiet` seconds
        assert until(lambda: state(spinner.pid) == "R"), "not continued after the request"
        assert pauser.pauses == 1
        done.set()
        watcher.join(5)
        assert pauser.watched() == []
    finally:
        gate.set()
        done.set()
        pauser.close()


def _hold(pauser: Pauser, pid: int, done: threading.Event) -> None:
    with pauser.yielding(pid):
        done.wait(10)


def test_a_request_waiting_for_the_long_query_does_not_stop_it(spinner):
    """The request whose own query is long (or that waits for another's run, or for a free
    worker) must not hold up what it waits for."""
    pauser = Pauser(after=0.25, quiet=0.05)
    seen: list[str] = []

    def app(environ, start_response):
        with pauser.yielding(spinner.pid):
            time.sleep(0.2)
            seen.append(state(spinner.pid))
        # Another request's long query meanwhile: this request is not counted.
        with pauser.waiting(), pauser.yielding(spinner.pid):
            time.sleep(0.2)
            seen.append(state(spinner.pid))
        start_response("200 OK", [])
        return [b"ok"]

    try:
        assert pauser.wrap(app)({}, lambda *a: None) == [b"ok"]
        assert seen == ["R", "R"] and pauser.pauses == 0
    finally:
        pauser.close()


def test_a_stopped_worker_is_continued_when_its_watch_ends(spinner):
    """A long query that ends (answer, time limit) while stopped is continued, so a worker
    given back to the pool, or about to be killed, is never left stopped."""
    pauser = Pauser(after=0.25, quiet=60)  # no continuing because the app is quiet
    gate, inside, done = threading.Event(), threading.Event(), threading.Event()
    app = blocking_app(pauser, gate, inside)
    try:
        watcher = threading.Thread(target=lambda: _hold(pauser, spinner.pid, done))
        watcher.start()
        assert until(lambda: pauser.watched() == [spinner.pid])
        request = threading.Thread(target=app, args=({}, lambda *a: None))
        request.start()
        assert until(lambda: state(spinner.pid) == "T")
        done.set()
        watcher.join(5)
        assert until(lambda: state(spinner.pid) == "R")
    finally:
        gate.set()
        done.set()
        pauser.close()


def test_signals_never_reach_a_process_that_has_ended():
    pauser = Pauser()
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    until(lambda: state(proc.pid) == "Z")
    try:
        with pauser.yielding(proc.pid):  # ended, not yet reaped: a pidfd, no error
            # A request comes and goes: the ended worker is "stopped" and "continued".
            assert pauser.wrap(lambda environ, start: [b"ok"])({}, None) == [b"ok"]
            assert pauser.pauses == 1
        proc.wait()
        with pauser.yielding(proc.pid):  # reaped: no pidfd, not watched at all
            assert pauser.watched() == []
    finally:
        pauser.close()


@pytest.mark.parametrize("after", [0.25, 0])
def test_a_runaway_query_gets_no_cpu_while_pages_are_served(store_path, tmp_path, after):
    """Through the web app: pages asked for one after another keep the runaway query's
    worker stopped (PAUSE_LONG_QUERIES=0: it takes a core meanwhile), and it is still
    answered 503 at its time limit."""
    app = make_app(store_path, tmp_path, WRITABLE=False, PAUSE_LONG_QUERIES=after)
    outcome: dict = {}
    try:
        with waitress_serving(app, threads=4) as url:
            runaway = threading.Thread(target=_get, args=(url, RUNAWAY, outcome))
            runaway.start()
            time.sleep(0.5)  # past the grace: a long query now
            busy = _busiest_child()
            before, deadline = cpu_seconds(busy), time.monotonic() + 1.0
            pages = 0
            while time.monotonic() < deadline:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as resp:
                    assert resp.status == 200
                pages += 1
            used = cpu_seconds(busy) - before
            runaway.join(30)
        assert pages > 20
        assert outcome["status"] == 503 and 2.9 < outcome["seconds"] < 6
        if after:
            assert used < 0.15, f"the runaway query's worker used {used:.2f} s of CPU"
            assert app.extensions["cpo.pauser"].pauses >= 1
        else:
            assert used > 0.5, f"the runaway query's worker used only {used:.2f} s of CPU"
            assert app.extensions["cpo.pauser"] is None
    finally:
        close_app(app)


def _get(url: str, query: str, outcome: dict) -> None:
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(
            f"{url}/sparql?" + urllib.parse.urlencode({"query": query}), timeout=30
        ) as resp:
            outcome["status"] = resp.status
    except urllib.error.HTTPError as exc:
        outcome["status"] = exc.code
    outcome["seconds"] = time.perf_counter() - start


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (query workers are the fork server's children)."""
    found, todo = [], [pid]
    while todo:
        for path in Path(f"/proc/{todo.pop()}/task").glob("*/children"):
            kids = [int(p) for p in path.read_text().split()]
            found += kids
            todo += kids
    return found


def _busiest_child() -> int:
    """The process below this one (query workers of every app the tests made) using the
    most CPU over 0.3 s: the one running the runaway query."""
    pids = _descendants(os.getpid())
    before = {p: cpu_seconds(p) for p in pids}
    time.sleep(0.3)
    used = {p: cpu_seconds(p) - before[p] for p in pids}
    busiest = max(used, key=used.__getitem__)
    assert used[busiest] > 0.2, used
    return busiest


def test_visitors_of_one_long_query_and_of_a_busy_pool_all_get_answers(store_path):
    """Requests waiting for another's run, or for a free worker, do not stop the run they
    wait for: every one is answered well inside the time limit."""
    pauser = Pauser(after=0.25, quiet=0.02)
    db = Database(store_path, lambda: "v1", workers=1, timeout=8, pauser=pauser)

    def visit(text: str):
        def app(environ, start_response):
            start_response("200 OK", [])
            return [db.query(text, trusted=True)]

        start = time.perf_counter()
        (result,) = pauser.wrap(app)({}, lambda *a: None)
        return str(result.rows[0][0].value), time.perf_counter() - start

    try:
        with ThreadPoolExecutor(3) as pool:
            first = pool.submit(visit, SLOW)
            started(db.flights)
            same = pool.submit(visit, SLOW)  # joins the first's run
            # A query of its own (4,000 x 4,000), which waits for the one worker.
            other = pool.submit(visit, SLOW.replace("5000", "4000"))
            answers = [f.result() for f in (first, same, other)]
        assert [a for a, _ in answers] == ["25000000", "25000000", "16000000"]
        assert max(s for _, s in answers) < 6, answers
        assert db.flights.joined == 1 and db.pool.jobs == 2
    finally:
        db.close()
        pauser.close()
