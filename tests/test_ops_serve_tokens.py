"""Operator-facing behaviour of `token` and `serve`, as real CLI processes: tokens made at
once all kept, `token list`/`revoke`, refused options and addresses, the start-up warning
about tokens, the access log, and SIGTERM letting an answer finish and ending the workers."""

import json
import os
import signal
import socket
import stat
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from webapp.tokens import partner_for

from .conftest import CLI, built_store, run_cli

PARTNERS = [
    "aida", "ancs", "aws", "bsmepa", "corallia", "ecoplus",
    "ida", "ipe", "mag", "marche-region", "mecma", "mra",
]  # fmt: skip


def test_tokens_made_at_once_are_all_kept(tmp_path):
    """12 `token create` at once kept only some tokens, and one failed on the shared
    temporary file ("No such file or directory: '....tmp'")."""
    tokens = tmp_path / "tokens.json"
    procs = [
        subprocess.Popen(
            [str(CLI), "token", "create", "--partner", p, "--tokens", str(tokens)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in PARTNERS
    ]
    made = {p: proc.communicate(timeout=120) for p, proc in zip(PARTNERS, procs, strict=True)}
    assert [proc.returncode for proc in procs] == [0] * 12, made
    assert {p: partner_for(tokens, out.strip()) for p, (out, _) in made.items()} == {
        p: p for p in PARTNERS
    }
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    assert sorted(f.name for f in tmp_path.iterdir()) == ["tokens.json", "tokens.json.lock"]


def test_token_create_refuses_a_missing_folder(tmp_path):
    """A typo in --tokens made whole folders."""
    tokens = tmp_path / "no" / "such" / "t.json"
    proc = run_cli("token", "create", "--partner", "aida", "--tokens", str(tokens))
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"error: the folder {tokens.parent} does not exist; create it first\n"
    assert not (tmp_path / "no").exists()


def create(tokens: Path, partner: str) -> str:
    proc = run_cli("token", "create", "--partner", partner, "--tokens", str(tokens))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_token_list_and_revoke(tmp_path):
    tokens = tmp_path / "tokens.json"
    first, second, other = create(tokens, "mecma"), create(tokens, "mecma"), create(tokens, "aida")
    hashes = json.loads(tokens.read_text())
    listed = run_cli("token", "list", "--tokens", str(tokens))
    assert listed.returncode == 0
    assert listed.stdout == (
        f"aida\t1\t{hashes['aida'][0][:12]}\n"
        f"mecma\t2\t{hashes['mecma'][0][:12]} {hashes['mecma'][1][:12]}\n"
    )
    assert hashes["mecma"][0] not in listed.stdout  # never a whole hash
    revoke = ["token", "revoke", "--tokens", str(tokens), "--partner"]
    typo = run_cli(*revoke, "mecma", "--prefix", "zz")
    assert typo.returncode == 2
    assert typo.stderr == f"error: mecma has no token whose hash starts with 'zz' in {tokens}\n"
    one = run_cli(*revoke, "mecma", "--prefix", hashes["mecma"][0][:8])
    assert (one.returncode, one.stderr) == (0, "revoked 1 token(s) of mecma\n")
    assert (partner_for(tokens, first), partner_for(tokens, second)) == (None, "mecma")
    every = run_cli(*revoke, "aida")
    assert (every.returncode, every.stderr) == (0, "revoked 1 token(s) of aida\n")
    assert partner_for(tokens, other) is None and list(json.loads(tokens.read_text())) == ["mecma"]
    again = run_cli(*revoke, "aida")
    assert (again.returncode, again.stderr) == (2, f"error: aida has no token at all in {tokens}\n")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--port", "99999", "Invalid value for '--port': 99999 is not in the range 1<=x<=65535."),
        ("--port", "-1", "Invalid value for '--port': -1 is not in the range 1<=x<=65535."),
        ("--workers", "0", "Invalid value for '--workers': 0 is not in the range x>=1."),
        ("--cache-size", "-5", "Invalid value for '--cache-size': -5 is not in the range x>=0."),
    ],
)
def test_serve_refuses_numbers_out_of_range(tmp_path, option, value, message):
    """--port 99999 listened on a random port, --workers 0 answered nothing."""
    proc = run_cli("serve", "--store", str(tmp_path), option, value, timeout=60)
    assert proc.returncode == 2 and proc.stderr.endswith(f"Error: {message}\n")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return built_store(tmp_path_factory, "ops")


def free_port() -> int:
    """A free port of the range these tests may use."""
    for port in range(5501, 5520):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port in 5501-5519")


def marked(mark: str) -> list[int]:
    """Live (not zombie) processes whose environment carries ``mark``: a server and all it
    started, however deep."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            ours = mark.encode() in (proc / "environ").read_bytes()
            if ours and ") Z" not in (proc / "stat").read_text():
                found.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return found


def gone(mark: str) -> bool:
    for _ in range(50):
        if not marked(mark):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("host", ["127.0.0.1", "999.1.1.1"])
def test_serve_on_an_address_it_cannot_have(store, host):
    """A port in use gave "Serving ... at" and then an OSError traceback; a host that is not
    an address a ValueError one."""
    mark = f"OPS_{uuid.uuid4().hex}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run_cli(
            "serve", "--store", str(store), "--host", host, "--port", str(port),
            env={"OPS_MARK": mark}, timeout=60,
        )  # fmt: skip
    why = "Address already in use" if host == "127.0.0.1" else "Invalid host/port specified."
    assert (proc.returncode, proc.stderr) == (2, f"error: cannot listen on {host}:{port}: {why}\n")
    assert gone(mark)  # no query workers, no fork server left behind


class Server:
    """`clusterpolisee serve` on a built store, its stderr in a file."""

    def __init__(self, store: Path, log: Path, *args: str) -> None:
        self.port, self.log, self.mark = free_port(), log, f"OPS_{uuid.uuid4().hex}"
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [str(CLI), "serve", "--store", str(store), "--port", str(self.port), *args]
        with log.open("w") as err:
            env = {**os.environ, "OPS_MARK": self.mark}
            self.proc = subprocess.Popen(cmd, stdout=err, stderr=err, env=env)
        for _ in range(300):
            if self.get("/health")[0] == 200:
                return
            time.sleep(0.1)
        self.proc.kill()
        raise AssertionError(log.read_text())

    def get(self, path: str, data: bytes | None = None, timeout: float = 10) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, data, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError as exc:
            return 0, repr(exc)

    def stop(self) -> str:
        """SIGTERM; the return code must be 0 and every process it started gone."""
        assert marked(self.mark)  # the server and its workers, before
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=60) == 0
        assert gone(self.mark)
        return self.log.read_text()


def test_serve_logs_requests_warns_of_missing_tokens_and_stops_on_sigterm(store, tmp_path):
    """No access log at all before; a missing tokens file went unmentioned (every upload a
    403); SIGTERM ended the server at once, cutting off the answer being made."""
    tokens = tmp_path / "typo.json"
    server = Server(store, tmp_path / "log", "--tokens", str(tokens), "--timeout", "8")
    assert server.get("/health?token=SECRET-IN-QUERY")[0] == 200
    # Lines are written in batches by a thread of their own, a quarter second apart at most:
    # they show while the server runs, not only when it stops.
    deadline = time.monotonic() + 10
    while " GET /health 200 " not in server.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert " GET /health 200 " in server.log.read_text()
    assert server.get("/no/such/page")[0] == 404
    form = urllib.parse.urlencode({"token": "SECRET-IN-FORM"}).encode()
    refused = server.get("/submit", form)[0]
    assert refused in (400, 403)
    # A query still running when SIGTERM comes, and 7 s after it (waitress alone waits 5 s):
    # its answer, the time-out's 503, must still arrive.
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    answer: list[int] = []
    ask = threading.Thread(
        target=lambda: answer.append(
            server.get("/sparql?" + urllib.parse.urlencode({"query": slow}), timeout=30)[0]
        )
    )
    ask.start()
    time.sleep(1)
    log = server.stop()
    ask.join(30)
    assert answer == [503], log  # answered, not cut off (0)
    lines = log.splitlines()
    assert any(" GET /health 200 " in line and line.endswith(" 127.0.0.1") for line in lines)
    assert any(" GET /no/such/page 404 " in line for line in lines)
    assert any(f" POST /submit {refused} " in line for line in lines)
    assert any(f" GET /sparql {answer[0]} " in line for line in lines)
    assert "SECRET" not in log and "Traceback" not in log
    assert f"no tokens file {tokens}: every upload is refused" in log
    assert log.index("no tokens file") < log.index(f"Serving {store} at {server.url}/")


def test_serve_warns_of_a_damaged_tokens_file_and_can_log_no_requests(store, tmp_path):
    tokens = tmp_path / "tokens.json"
    tokens.write_text("{aida")
    server = Server(store, tmp_path / "log", "--tokens", str(tokens), "--no-access-log")
    assert server.get("/health")[0] == 200
    log = server.stop()
    assert f"{tokens} is not a tokens file: it is not JSON" in log
    assert "meanwhile every upload is refused" in log
    assert "/health" not in log and "Traceback" not in log


def test_token_revoke_refuses_a_prefix_that_fits_several(tmp_path):
    tokens = tmp_path / "tokens.json"
    written = json.dumps({"mecma": ["ab" + "1" * 62, "ab" + "2" * 62]})
    tokens.write_text(written)
    proc = run_cli(
        "token", "revoke", "--partner", "mecma", "--prefix", "AB", "--tokens", str(tokens)
    )
    assert (proc.returncode, proc.stderr) == (
        2,
        "error: the prefix 'AB' fits 2 tokens of mecma; give more of it\n",
    )
    assert tokens.read_text() == written
