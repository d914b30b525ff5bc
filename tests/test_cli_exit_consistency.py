"""The commands end alike for the same kind of trouble (real runs of the installed script):
an --output that cannot be written is exit 2 with one line, a reader that stops early
(``| head``) is a normal end, Ctrl+C is exit 130 with nothing half-written, unreadable input
is exit 2, and no login name is exit 2 for every command that records one."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from clusterpolisee import cli_output
from clusterpolisee.cli import main

from .conftest import CLI, built_with_archive, dataset, run_cli
from .linking.conftest import EVAL, EVAL_OPTIONS

#: Every triple with every other, twice over: runs far longer than a test waits.
SLOW_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
NO_LOGIN = (
    "error: cannot tell who decides (this system gives no login name): give --reviewer NAME\n"
)


def one_error_line(stderr: str) -> None:
    """The project's refusal: one line starting 'error: ', no traceback."""
    assert "Traceback" not in stderr, stderr
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr


@pytest.fixture
def store_copy(demo_store: Path, tmp_path: Path) -> Path:
    """The demo store, copied: for commands that write to it."""
    copy = tmp_path / "store"
    shutil.copytree(demo_store, copy)
    return copy


def link(store: Path, *extra: str, **kw) -> subprocess.CompletedProcess:
    return run_cli(
        "link", "--store", str(store), "--source", str(EVAL / "organisations.csv"),
        "--type", "organisation", *EVAL_OPTIONS, *extra, **kw,
    )  # fmt: skip


# 1. template --output as query/sparql --output


def test_template_to_an_unwritable_output_exits_2_with_one_line(tmp_path: Path):
    """It ended in a FileNotFoundError traceback, exit 1."""
    target = tmp_path / "no-such-folder" / "cluster.csv"
    proc = run_cli("template", "Cluster", "-o", str(target))
    assert proc.returncode == 2
    one_error_line(proc.stderr)
    assert f"cannot write {target}" in proc.stderr
    assert not target.parent.exists()


def test_template_and_sparql_say_the_same_of_an_unwritable_output(tmp_path: Path, demo_store):
    target = tmp_path / "no-such-folder" / "answer.csv"
    template = run_cli("template", "Cluster", "-o", str(target))
    sparql = run_cli(
        "sparql", "ASK {}", "--format", "csv", "--output", str(target), "--store", str(demo_store)
    )
    assert (template.returncode, sparql.returncode) == (2, 2)
    assert template.stderr.split(":")[:2] == sparql.stderr.split(":")[:2]


# 2. a reader that stops early is a normal end


def into_closed_pipe(*args: str) -> tuple[int, bytes, str]:
    """Run the CLI into a pipe whose reader takes one line and closes it: exit code, the
    line, standard error."""
    proc = subprocess.Popen([str(CLI), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=300)
    return proc.returncode, first, err


def test_generate_into_head_ends_with_exit_0_and_no_message():
    """It said "error: [Errno 32] Broken pipe" and exited 2; export always ended quietly."""
    code, first, err = into_closed_pipe("generate", "--triples", "1000000")
    assert first.startswith(b"<https://w3id.org/clusterpolisee/id/")
    assert (code, err) == (0, "")


@pytest.mark.parametrize("fmt", ["csv", "table"])  # data bytes; text through click.echo
def test_sparql_into_head_ends_with_exit_0_and_no_message(demo_store: Path, fmt: str):
    """click made it exit 1, the code of "rejected". The answer (2.7 MB as CSV) is far more
    than a pipe holds, so the reader's close is met while writing."""
    query = "SELECT * WHERE { ?s ?p ?o }"
    code, first, err = into_closed_pipe(
        "sparql", query, "--format", fmt, "--store", str(demo_store)
    )
    assert first
    assert (code, err) == (0, "")


# 3. link's output files: refused before the store changes


def test_link_to_an_unwritable_output_exits_2_before_the_store_changes(
    store_copy: Path, tmp_path: Path
):
    """The files were written after the run had stored its candidates, outside the error
    handling: a traceback, exit 1, and a changed store."""
    before = dataset(store_copy)
    for option in ("--output-csv", "--output-rdf"):
        target = tmp_path / "no-such-folder" / "candidates"
        proc = link(store_copy, option, str(target))
        assert proc.returncode == 2, proc.stderr
        one_error_line(proc.stderr)
        assert f"cannot write {target}" in proc.stderr
    assert dataset(store_copy) == before
    assert link(store_copy).returncode == 0  # the same run, with no output, stores candidates
    assert dataset(store_copy) != before


def test_link_output_that_fails_when_written_exits_2_with_one_line(
    store_copy: Path, tmp_path: Path, monkeypatch
):
    """A write that fails after the check (a full disk) is a message too, not a traceback
    (in process: a full disk cannot be had on demand)."""

    def full(path: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(cli_output, "write_file", full)
    target = tmp_path / "candidates.csv"
    result = CliRunner().invoke(
        main,
        ["link", "--store", str(store_copy), "--source", str(EVAL / "organisations.csv")]
        + ["--type", "organisation", *EVAL_OPTIONS, "--output-csv", str(target)],
    )
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"error: cannot write {target}: No space left on device\n" in result.output


# 4. restore: unreadable archived files are "could not do its work"


def test_restore_of_unreadable_archived_files_exits_2(tmp_path_factory):
    """A missing archived file ended in a FileNotFoundError traceback, exit 1 ("rejected");
    submit says 2 for input it cannot read."""
    store, archive = built_with_archive(tmp_path_factory, "restore-unreadable")
    meta = next(archive.glob("*/*/meta.json"))
    attempt = json.loads(meta.read_text(encoding="utf-8"))
    assert attempt["outcome"] == "accepted"
    for original in meta.parent.glob("original*"):
        original.unlink()
    before = dataset(store)
    proc = run_cli("restore", attempt["id"], "--store", str(store), "--archive", str(archive))
    assert proc.returncode == 2, proc.stderr
    one_error_line(proc.stderr)
    assert "cannot read the file" in proc.stderr
    assert dataset(store) == before


# 5. Ctrl+C: exit 130, one line, nothing half-written


def interrupt_when(proc: subprocess.Popen, ready, timeout: float = 60) -> tuple[str, str]:
    """Send SIGINT once ``ready()`` holds (the command is at work); its stdout and stderr."""
    end = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "the command never got to work"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=120)


def test_ctrl_c_during_generate_exits_130_and_keeps_the_old_file(tmp_path: Path):
    """It was click's "Aborted!" and exit 1, with the file cut off where it stopped."""
    output = tmp_path / "data.nt"
    output.write_text("old\n", encoding="utf-8")
    proc = subprocess.Popen(
        [str(CLI), "generate", "--triples", "10000000", "--output", str(output)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def writing() -> bool:  # written beside the file (now), or into it (before)
        return any(f.stat().st_size > 100_000 for f in tmp_path.iterdir())

    _out, err = interrupt_when(proc, writing)
    assert (proc.returncode, err) == (130, "error: interrupted\n")
    assert output.read_text(encoding="utf-8") == "old\n"
    assert [f.name for f in tmp_path.iterdir()] == ["data.nt"]  # no part file left


def test_ctrl_c_during_a_query_exits_130_and_writes_no_output(demo_store: Path, tmp_path: Path):
    output = tmp_path / "answer.csv"
    command = ["sparql", SLOW_QUERY, "--timeout", "300", "--format", "csv"]
    proc = subprocess.Popen(
        [str(CLI), *command, "--output", str(output), "--store", str(demo_store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = time.monotonic()

    def store_open() -> bool:  # the query runs once the store is open
        fds = Path(f"/proc/{proc.pid}/fd")
        if not fds.is_dir():  # no /proc: time enough to start
            return time.monotonic() - started > 5
        try:
            held = [os.readlink(fd) for fd in fds.iterdir()]
        except OSError:
            return False
        return any(link.startswith(str(demo_store)) for link in held)

    _out, err = interrupt_when(proc, store_open)
    assert (proc.returncode, err) == (130, "error: interrupted\n")
    assert list(tmp_path.iterdir()) == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ctrl_c_still_stops_serve_cleanly_with_exit_0(store_copy: Path, tmp_path: Path):
    """serve's own way to stop (its --help says 0): the top level's 130 must not reach it.
    (A guard for the change: the former code gave 0 too.)"""
    serve = [str(CLI), "serve", "--store", str(store_copy), "--port", str(free_port())]
    options = ["--workers", "1", "--no-warm", "--tokens", str(tmp_path / "tokens.json")]
    proc = subprocess.Popen(
        [*serve, *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines = [proc.stderr.readline()]
    while lines[-1] and not lines[-1].startswith("Serving"):
        lines.append(proc.stderr.readline())
    assert lines[-1].startswith("Serving"), ("".join(lines), proc.wait(timeout=60))
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "interrupted" not in err


def help_ending(*path: str) -> str:
    result = CliRunner().invoke(main, [*path, "--help"])
    return " ".join(result.output.split())


def test_helps_state_130_for_ctrl_c_except_serve():
    assert "130 when interrupted (Ctrl+C)" in help_ending("generate")
    assert "130 when interrupted (Ctrl+C)" in help_ending("links", "review")
    assert "130" not in help_ending("serve")


# 6. no login name: link refuses as links review and withdraw do


@pytest.mark.skipif(os.geteuid() != 0, reason="running as a uid with no user needs root")
def test_link_by_a_uid_with_no_user_asks_for_a_reviewer(store_copy: Path):
    """It recorded the run with an empty name, exit 0."""
    gone = ("USER", "LOGNAME", "LNAME", "USERNAME")
    env = {k: v for k, v in os.environ.items() if k not in gone}
    env["CLUSTERPOLISEE_MALLOC"] = "system"  # no restart: that uid may not run the venv's python
    # setpriv (util-linux) keeps root's capabilities, so the venv and the store still open.
    setpriv = ["setpriv", "--reuid", "54321", "--regid", "54321", "--clear-groups"]
    assert subprocess.run(["getent", "passwd", "54321"]).returncode == 2
    before = dataset(store_copy)
    proc = subprocess.run(
        [*setpriv, str(CLI), "link", "--store", str(store_copy), "--type", "organisation"]
        + ["--source", str(EVAL / "organisations.csv"), *EVAL_OPTIONS],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        timeout=120,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", NO_LOGIN)
    assert dataset(store_copy) == before


@pytest.mark.parametrize("fmt", ["xml", "rdfxml"])
def test_an_answer_xml_cannot_carry_is_exit_1_with_one_line(demo_store: Path, fmt: str):
    """U+0001 has no form in XML 1.0: the format cannot take the answer (exit 1, as the help
    says), where the writer's refusal ended in a traceback."""
    query = (
        'SELECT ?x WHERE { BIND("a\\u0001b" AS ?x) }'
        if fmt == "xml"
        else 'CONSTRUCT { <http://example.org/a> <http://example.org/b> "a\\u0001b" } WHERE {}'
    )
    done = run_cli("sparql", query, "--format", fmt, "--store", str(demo_store))
    assert done.returncode == 1, done.stderr
    one_error_line(done.stderr)
    assert "U+0001" in done.stderr and "XML 1.0" in done.stderr, done.stderr
    assert done.stdout == ""


def test_a_query_process_ended_by_a_real_time_signal_is_said_without_a_traceback():
    from clusterpolisee.execution import _ended_without_answer

    assert _ended_without_answer(-40) == "the query process ended without an answer (signal 40)"
    assert _ended_without_answer(-15).endswith("(signal SIGTERM)")
    assert _ended_without_answer(3).endswith("(exit status 3)")


def test_the_query_process_ends_with_the_cli(demo_store: Path):
    """kill -9 of `sparql` leaves no query running: the query's process is killed with it
    (a Ctrl+C had left one running, orphaned, holding the caller's pipes open)."""
    command = ["sparql", SLOW_QUERY, "--timeout", "300", "--format", "csv"]
    proc = subprocess.Popen(
        [str(CLI), *command, "--store", str(demo_store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    end = time.monotonic() + 60
    while not (children := _children(proc.pid)):
        assert proc.poll() is None and time.monotonic() < end, "no query process started"
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    end = time.monotonic() + 10
    while not all(_ended(pid) for pid in children):
        assert time.monotonic() < end, f"the query process {children} outlived the CLI"
        time.sleep(0.05)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _ended(pid: int) -> bool:
    """Gone, or a zombie waiting for its new parent to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True  # gone
