"""Deployment settings read from the environment are checked before any command runs: a bad
CLUSTERPOLISEE_BASE, CLUSTERPOLISEE_HOME or remote-store setting is one actionable message
naming the variable, with exit 2, never a traceback (nor a server that starts and then fails).

Each test runs the installed console script with a real environment, as an operator would.
"""

import os
import socket
import subprocess
from pathlib import Path

import pytest

from clusterpolisee import paths
from clusterpolisee.store import open_store

from .conftest import CLI

PARTNER_FILE = paths.PARTNERS_DIR / "aida.ttl"


def run(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """The CLI with no CLUSTERPOLISEE_* setting of this shell, plus ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CLUSTERPOLISEE_")}
    return subprocess.run(
        [str(CLI), *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_endpoint() -> str:
    """A loopback SPARQL endpoint URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}/sparql"


def assert_one_error(proc: subprocess.CompletedProcess, *parts: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    for part in parts:
        assert part in proc.stderr, proc.stderr


# -- G: CLUSTERPOLISEE_BASE ---------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("graphs",),
        ("--help",),
        ("--version",),
        ("graphs", "--help"),
        ("submit", str(PARTNER_FILE), "--partner", "aida"),
        ("queries",),
    ],
    ids=" ".join,
)
def test_a_base_that_is_not_an_iri_is_one_message_for_every_command(args, tmp_path):
    proc = run(*args, CLUSTERPOLISEE_BASE="notanIRI", CLUSTERPOLISEE_STORE=str(tmp_path / "s"))
    assert_one_error(
        proc, "error: CLUSTERPOLISEE_BASE must be an absolute http(s) IRI", "(got 'notanIRI')"
    )


@pytest.mark.parametrize(
    ("base", "why"),
    [
        ("https://example.org/kg", "does not end in '/'"),
        ("https://example.org/my kg/", "invalid IRI code point ' '"),
        ("https://example.org/kg#", "query or fragment"),
        ("ftp://example.org/kg/", "not an absolute http(s) IRI"),
        ("https:///kg/", "not an absolute http(s) IRI"),
        ("http://[kg/", "Invalid IPv6 URL"),
        ("https://example.org/%zz/", "percent encoding"),
    ],
)
def test_a_base_iris_cannot_be_minted_under_is_refused(base, why, tmp_path):
    proc = run("graphs", CLUSTERPOLISEE_BASE=base, CLUSTERPOLISEE_STORE=str(tmp_path / "s"))
    assert_one_error(proc, "CLUSTERPOLISEE_BASE must be", why, f"(got {base!r})")


def serve(store: Path, **env: str) -> subprocess.CompletedProcess:
    """`serve` on a free port with ``env``; a server that starts never exits, so a test
    whose setting is not refused fails on TimeoutExpired."""
    return run("serve", "--store", str(store), "--port", str(free_port()), timeout=60, **env)


def test_serve_with_a_bad_base_stops_before_the_web_app_starts(tmp_path):
    store = tmp_path / "store"
    open_store(str(store)).close()
    proc = serve(store, CLUSTERPOLISEE_BASE="notanIRI")
    assert_one_error(proc, "CLUSTERPOLISEE_BASE must be", "(got 'notanIRI')")


def test_a_valid_own_base_is_taken(tmp_path):
    proc = run(
        "graphs",
        CLUSTERPOLISEE_BASE="https://kg.example.org/cps/",
        CLUSTERPOLISEE_STORE=str(tmp_path / "missing"),
    )
    assert proc.returncode == 2  # the store is missing: the base itself was accepted
    assert proc.stderr.startswith("error: no store at"), proc.stderr


# -- H: CLUSTERPOLISEE_HOME ---------------------------------------------------------------


def test_submit_with_a_home_that_does_not_exist_names_the_variable(tmp_path):
    proc = run(
        "submit",
        str(PARTNER_FILE),
        "--partner",
        "aida",
        "--store",
        str(tmp_path / "store"),
        CLUSTERPOLISEE_HOME="/nonexistent",
    )
    assert_one_error(
        proc,
        "error: CLUSTERPOLISEE_HOME=/nonexistent is not a ClusterPoliSEE checkout: "
        "it has no ontology/clusterpolisee.ttl",
    )
    assert not (tmp_path / "store").exists()


def test_serve_refuses_an_empty_home_instead_of_answering_500(tmp_path):
    """It used to start, then answer 500 on /ontology and /submit and 404 on questions."""
    store, home = tmp_path / "store", tmp_path / "home"
    open_store(str(store)).close()
    home.mkdir()
    proc = serve(store, CLUSTERPOLISEE_HOME=str(home))
    assert_one_error(proc, f"CLUSTERPOLISEE_HOME={home} is not a ClusterPoliSEE checkout")


@pytest.mark.parametrize(
    "missing", ["ontology/clusterpolisee.ttl", "shapes", "queries", "data/reference"]
)
def test_a_home_missing_any_source_of_truth_names_it(missing, tmp_path):
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    for name in ("ontology", "shapes", "queries", "data/reference"):
        if not missing.startswith(name):
            (home / name).symlink_to(paths.ROOT / name)
    if missing == "ontology/clusterpolisee.ttl":
        (home / "ontology").mkdir()  # the directory alone is not enough
    proc = run("queries", CLUSTERPOLISEE_HOME=str(home))
    assert_one_error(proc, f"CLUSTERPOLISEE_HOME={home} is not a ClusterPoliSEE", f"no {missing}")


def test_a_complete_home_elsewhere_is_used(tmp_path):
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    for name in ("ontology", "shapes", "data/reference"):
        (home / name).symlink_to(paths.ROOT / name)
    (home / "queries").mkdir()
    (home / "queries" / "only.rq").write_text(
        "#+ summary: The one question\n#+ tags: [test]\nSELECT ?s WHERE { ?s ?p ?o } LIMIT 1\n"
    )
    proc = run("queries", CLUSTERPOLISEE_HOME=str(home))
    assert proc.returncode == 0, proc.stderr
    assert "only" in proc.stdout


def test_help_and_version_need_no_checkout():
    for args in (("--help",), ("--version",), ("graphs", "--help")):
        proc = run(*args, CLUSTERPOLISEE_HOME="/nonexistent")
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""


# -- I: remote-store settings -------------------------------------------------------------


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("CLUSTERPOLISEE_QUERY_TIMEOUT", "abc", "a number of seconds above 0"),
        ("CLUSTERPOLISEE_QUERY_TIMEOUT", "-5", "a number of seconds above 0"),
        ("CLUSTERPOLISEE_QUERY_TIMEOUT", "0", "a number of seconds above 0"),
        ("CLUSTERPOLISEE_QUERY_TIMEOUT", "nan", "a number of seconds above 0"),
        ("CLUSTERPOLISEE_QUERY_TIMEOUT", "inf", "a number of seconds above 0, at most 86,400"),
        ("CLUSTERPOLISEE_MAX_ROWS", "xyz", "a whole number of rows, at least 1"),
        ("CLUSTERPOLISEE_MAX_ROWS", "0", "a whole number of rows, at least 1"),
        ("CLUSTERPOLISEE_MAX_ROWS", "2.5", "a whole number of rows, at least 1"),
        ("CLUSTERPOLISEE_AUTH", "kerberos", "digest or basic"),
    ],
)
def test_a_bad_remote_setting_names_its_variable_before_connecting(var, value, expected):
    proc = run("graphs", CLUSTERPOLISEE_ENDPOINT=closed_endpoint(), **{var: value})
    assert_one_error(proc, f"{var} must be {expected}", f"(got {value!r})")
    assert "cannot reach" not in proc.stderr  # checked before any request


def test_a_bad_setting_in_the_config_file_names_the_key_and_file(tmp_path):
    ini = tmp_path / "store.ini"
    ini.write_text(f"[remote]\nendpoint = {closed_endpoint()}\ntimeout = soon\n")
    proc = run("graphs", CLUSTERPOLISEE_STORE_CONFIG=str(ini))
    assert_one_error(proc, f"timeout under [remote] in {ini} must be", "(got 'soon')")


@pytest.mark.parametrize(
    "env",
    [
        {"CLUSTERPOLISEE_QUERY_TIMEOUT": "2.5", "CLUSTERPOLISEE_MAX_ROWS": "500"},
        {"CLUSTERPOLISEE_AUTH": "Basic", "CLUSTERPOLISEE_USER": "u"},
    ],
)
def test_good_remote_settings_go_on_to_the_server(env):
    proc = run("graphs", CLUSTERPOLISEE_ENDPOINT=closed_endpoint(), **env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: cannot reach the SPARQL server"), proc.stderr


def test_an_endpoint_that_is_not_a_url_names_its_variable():
    proc = run("graphs", CLUSTERPOLISEE_ENDPOINT="http://[x/sparql")
    assert_one_error(proc, "CLUSTERPOLISEE_ENDPOINT is not a URL (Invalid IPv6 URL)")
    assert "--endpoint or CLUSTERPOLISEE_ENDPOINT" in proc.stderr  # the CLI copies one to the other
    given = run("graphs", "--endpoint", "http://[x/sparql")
    assert_one_error(given, "--endpoint or CLUSTERPOLISEE_ENDPOINT is not a URL")
