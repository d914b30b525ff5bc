"""Findings of the security review, each through the real CLI where it shows there: the
access line of a path with spaces (F3), the tokens file's mode kept (F4), a bad
CLUSTERPOLISEE_QUERY_TIMEOUT (F2) and a short CLUSTERPOLISEE_SECRET_KEY (F6) as one error
line, partner and submission ids with a trailing line break (F5)."""

import os
import stat
from pathlib import Path

import pytest

from clusterpolisee.serve import CUT, PATH_SHOWN
from clusterpolisee.submissions import (
    ATTEMPT_ID_RE,
    PID_RE,
    SubmissionError,
    check_partner,
    find_attempt,
    history,
)
from webapp.tokens import partner_for

from .conftest import built_store, run_cli
from .test_ops_serve_tokens import Server, free_port

ACCESS = " clusterpolisee.access: "


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return built_store(tmp_path_factory, "security")


def access_lines(log: str) -> list[list[str]]:
    """The access lines' fields after the logger's name: method, path, status, ms, client."""
    return [line.split(ACCESS, 1)[1].split(" ") for line in log.splitlines() if ACCESS in line]


# -- F3: one field per path --------------------------------------------------------------


def test_a_path_cannot_forge_the_fields_of_its_access_line(store, tmp_path, monkeypatch):
    # F6 too: a key of 32 characters or more is taken
    monkeypatch.setenv("CLUSTERPOLISEE_SECRET_KEY", "k" * 40)
    server = Server(store, tmp_path / "log")
    forged = "/id/a%20200%201.0ms%20198.51.100.7"
    try:
        assert server.get(forged)[0] == 404
        assert server.get("/id/x%0Ay%25z%09")[0] == 404
        assert server.get("/id/caf%C3%A9")[0] == 404
        assert server.get("/id/" + "a" * 5000)[0] == 404
        assert server.get("/health")[0] == 200
    finally:
        log = server.stop()
    lines = access_lines(log)
    assert lines and all(len(fields) == 5 for fields in lines), log
    by_path = {fields[1]: fields for fields in lines}
    method, _, status, ms, client = by_path[forged]
    assert (method, status, client) == ("GET", "404", "127.0.0.1") and ms.endswith("ms")
    assert " 198.51.100.7 " not in log
    assert by_path["/id/x%0Ay%25z%09"][2] == "404"  # '%' too: the raw path, unambiguous
    assert by_path["/id/caf%C3%A9"][2] == "404"  # the bytes sent, not their Latin-1 reading
    long = next(path for path in by_path if path.startswith("/id/aaa"))
    assert long == "/id/" + "a" * (PATH_SHOWN - 4) + CUT
    assert "Traceback" not in log


# -- F4: the tokens file keeps its mode ----------------------------------------------------


def test_token_create_keeps_the_mode_of_the_tokens_file(tmp_path):
    tokens = tmp_path / "tokens.json"
    tokens.write_text("{}")
    tokens.chmod(0o640)
    group = tokens.stat().st_gid
    proc = run_cli("token", "create", "--partner", "aida", "--tokens", str(tokens))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o640  # 0600 before: serve's group shut out
    assert tokens.stat().st_gid == group
    assert partner_for(tokens, proc.stdout.split()[-1]) == "aida"
    tokens.chmod(0o644)
    assert run_cli("token", "revoke", "--partner", "aida", "--tokens", str(tokens)).returncode == 0
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o644


def test_a_new_tokens_file_is_private(tmp_path):
    tokens = tmp_path / "new.json"
    assert run_cli("token", "create", "--partner", "aida", "--tokens", str(tokens)).returncode == 0
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# -- F2, F6: settings of the web app -------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf", "1e9"])
def test_a_bad_query_timeout_is_one_error_line_for_serve(store, value):
    proc = run_cli(
        "serve", "--store", str(store), "--port", str(free_port()),
        env={"CLUSTERPOLISEE_QUERY_TIMEOUT": value}, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        "error: CLUSTERPOLISEE_QUERY_TIMEOUT must be a number of seconds above 0, at most "
        f"86,400 (got {value!r})\n"
    )
    assert "Serving" not in proc.stderr


def test_token_commands_do_not_need_the_query_timeout(tmp_path):
    """Every `token` command ended in a traceback: webapp.config read it at import."""
    env = {"CLUSTERPOLISEE_QUERY_TIMEOUT": "abc"}
    tokens = str(tmp_path / "tokens.json")
    for args in (("create", "--partner", "aida"), ("list",), ("revoke", "--partner", "aida")):
        proc = run_cli("token", *args, "--tokens", tokens, env=env)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("key", ["k", "s3cr3t-but-only-31-characters-x"])
def test_serve_refuses_a_short_secret_key(store, key):
    assert len(key) < 32
    proc = run_cli(
        "serve", "--store", str(store), "--port", str(free_port()),
        env={"CLUSTERPOLISEE_SECRET_KEY": key}, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: CLUSTERPOLISEE_SECRET_KEY must be at least 32 ")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert (key not in proc.stderr) if len(key) > 1 else True  # the secret is not echoed


def test_an_empty_secret_key_is_unset(store, tmp_path, monkeypatch):
    """As before: no key (or an empty one) is a random key per process."""
    monkeypatch.setenv("CLUSTERPOLISEE_SECRET_KEY", "")
    server = Server(store, tmp_path / "log")
    try:
        assert server.get("/submit")[0] == 200
    finally:
        server.stop()


# -- F5: ids with a trailing line break ----------------------------------------------------


def test_ids_with_a_trailing_line_break_are_refused(tmp_path):
    assert PID_RE.match("aida") and not PID_RE.match("aida\n")  # as webapp.views.submit uses it
    attempt = "20261206T180044Z-087972d9"
    assert ATTEMPT_ID_RE.match(attempt) and not ATTEMPT_ID_RE.match(attempt + "\n")
    with pytest.raises(SubmissionError, match="not valid"):
        check_partner(None, "aida\n")  # refused before the store is asked
    with pytest.raises(SubmissionError, match="not valid"):
        history(tmp_path, "aida\n")
    with pytest.raises(SubmissionError, match="is not a submission id"):
        find_attempt(tmp_path, attempt + "\n")


def test_submissions_refuses_a_partner_with_a_line_break(tmp_path):
    os.makedirs(tmp_path / "aida")
    proc = run_cli("submissions", "--archive", str(tmp_path), "--partner", "aida\n")
    assert proc.returncode == 2 and "not valid" in proc.stderr, proc.stderr
