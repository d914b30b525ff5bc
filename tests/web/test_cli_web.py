"""`clusterpolisee serve` as a real process, and `clusterpolisee token create`."""

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

from ..conftest import CLI, run_cli
from .conftest import free_port


def test_token_create_prints_once_and_stores_hash(tmp_path):
    tokens = tmp_path / "tokens.json"
    proc = run_cli("token", "create", "--partner", "marche-region", "--tokens", str(tokens))
    assert proc.returncode == 0, proc.stderr
    token = proc.stdout.strip()
    assert len(token) >= 40
    stored = json.loads(tokens.read_text())
    assert list(stored) == ["marche-region"] and token not in tokens.read_text()
    bad = run_cli("token", "create", "--partner", "Bad Id", "--tokens", str(tokens))
    assert bad.returncode == 2 and "lower-case" in bad.stderr
    # Not a partner: no token (it used to be made, and refused only at its first upload).
    unknown = run_cli("token", "create", "--partner", "no-such-agency", "--tokens", str(tokens))
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert "unknown partner 'no-such-agency'" in unknown.stderr
    assert "marche-region, mecma" in unknown.stderr  # the partners it could be, in order
    assert list(json.loads(tokens.read_text())) == ["marche-region"]
    curator = run_cli("token", "create", "--partner", "curator", "--tokens", str(tokens))
    assert curator.returncode == 0 and len(curator.stdout.strip()) >= 40


def nice_of(pid: int) -> int | None:
    try:
        return os.getpriority(os.PRIO_PROCESS, pid)
    except ProcessLookupError:  # the warm-up's worker ended meanwhile
        return None


def test_serve_answers_and_stops(tmp_path):
    store = tmp_path / "store"
    assert run_cli("build", "--store", str(store)).returncode == 0
    port = free_port()
    proc = subprocess.Popen(
        [
            str(CLI),
            "serve",
            "--store",
            str(store),
            "--port",
            str(port),
            "--workers",
            "1",
            "--tokens",
            str(tmp_path / "t.json"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    body = json.load(r)
                    break
            except OSError:
                time.sleep(0.1)
        assert body is not None and body["status"] == "ok"
        # The launcher restarted the server under jemalloc; its query workers inherit it.
        assert "libjemalloc.so.2" in mapped_libraries(proc.pid)
        # Workers are forked by multiprocessing's fork server, which imported them once.
        (server,) = [c for c in children(proc.pid) if "forkserver" in cmdline(c)]
        assert "libjemalloc.so.2" in mapped_libraries(server)
        workers = children(server)
        # The warm-up's own worker (nice 19) comes and goes; the visitors' one stays (nice 10).
        visitors = [w for w in workers if nice_of(w) == 10]
        assert len(visitors) == 1 and "libjemalloc.so.2" in mapped_libraries(visitors[0])
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert f"http://127.0.0.1:{port}/" in err and "Traceback" not in err


def test_serve_without_store_is_a_clear_error(tmp_path):
    missing = tmp_path / "missing"
    proc = run_cli("serve", "--store", str(missing), "--port", str(free_port()), timeout=60)
    # Only the error: "Serving ... at http://..." came first and told of a server that was not
    assert (proc.returncode, proc.stderr) == (
        2,
        f"error: no store at {missing}; run 'clusterpolisee build' first\n",
    )
    assert not missing.exists()


def test_serve_refuses_a_remote_endpoint(tmp_path):
    """serve has no --endpoint (its help offered one it always refused); a remote store
    named by the environment is refused with the reason."""
    assert "--endpoint" not in run_cli("serve", "--help").stdout
    option = run_cli("serve", "--endpoint", "http://127.0.0.1:9/sparql", timeout=60)
    assert option.returncode == 2 and "No such option '--endpoint'" in option.stderr
    env = {"CLUSTERPOLISEE_ENDPOINT": "http://127.0.0.1:9/sparql"}
    proc = run_cli("serve", "--port", str(free_port()), env=env, timeout=60)
    assert proc.returncode == 2 and proc.stderr == (
        "error: serve runs on the embedded store (--store); with a remote store, let clients "
        "use that server's own SPARQL endpoint\n"
    )


def mapped_libraries(pid: int) -> set[str]:
    lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {line.rsplit("/", 1)[-1] for line in lines if "/" in line}


def children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task").iterdir()
    return [int(c) for task in tasks for c in (task / "children").read_text().split()]


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
