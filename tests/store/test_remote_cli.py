"""The CLI on a remote store (a live Virtuoso built by the real `build`): where submissions
are archived, a submission whose write the server ignored, `--limit` and `--timeout` sent to
the server, and the config file's endpoint selecting the remote store."""

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee import paths
from clusterpolisee.namespaces import graph_iri
from clusterpolisee.store.remote import RemoteStore
from clusterpolisee.store.virtuoso_server import VirtuosoServer, free_port

from ..conftest import CLI
from .conftest import answering, remote_config, wipe

EX = "https://example.org/"
BIG = graph_iri("test/cli-big")
ROWS = 10_050  # just above Virtuoso's default ResultSetMaxRows (10,000)
PARTNER = "aida"
SLOW = "SELECT ?a ?b WHERE { ?a ?p ?o . ?b ?p ?o2 . FILTER(STR(?o) = CONCAT(STR(?o2), 'x')) }"


def clean_env() -> dict[str, str]:
    """The environment without any of our settings (the tests' own may leak into it)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CLUSTERPOLISEE_")}


def cli(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600
    )


@dataclass
class Built:
    env: dict[str, str]  # points the CLI at the server; CLUSTERPOLISEE_STORE is `home`/store
    work: Path  # the working directory of every command
    home: Path
    store: RemoteStore
    build: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def built(virtuoso: VirtuosoServer, tmp_path_factory) -> Iterator[Built]:
    """The demo data built into the emptied Virtuoso by `build`, run from a working
    directory other than the store path's folder."""
    store = RemoteStore(remote_config(virtuoso))
    wipe(store)
    root = tmp_path_factory.mktemp("remote-cli")
    work, home = root / "work", root / "home"
    work.mkdir()
    env = {**clean_env(), **virtuoso.env(), "CLUSTERPOLISEE_STORE": str(home / "store")}
    proc = cli("build", env=env, cwd=work)
    assert proc.returncode == 0, proc.stderr
    yield Built(env, work, home, store, proc)
    store.close()


@pytest.fixture(scope="module")
def big(built: Built) -> Built:
    p = ox.NamedNode(EX + "p")
    built.store.replace_graph(
        BIG, [ox.Triple(ox.NamedNode(f"{EX}s{i}"), p, ox.Literal(f"v {i}")) for i in range(ROWS)]
    )
    return built


def test_build_archives_where_submissions_looks(built):
    partners = sorted(p.stem for p in paths.PARTNERS_DIR.glob("*.ttl"))
    assert f"Partner submissions: {len(partners)} accepted, 0 rejected" in built.build.stdout
    listed = cli("submissions", "--format", "json", env=built.env, cwd=built.work)
    assert listed.returncode == 0, listed.stderr
    attempts = json.loads(listed.stdout)
    assert sorted(a["partner"] for a in attempts) == partners
    assert {a["outcome"] for a in attempts} == {"accepted"}
    assert (built.home / "archive" / PARTNER).is_dir()
    assert not (built.work / "var").exists()  # where build put them before


def test_a_submission_the_update_endpoint_ignored_is_not_accepted(built):
    graph = graph_iri(f"partner/{PARTNER}")
    before, version = set(built.store.graph_triples(graph)), built.store.data_version()
    with answering() as (url, _):
        env = {**built.env, "CLUSTERPOLISEE_UPDATE_ENDPOINT": f"{url}/update"}
        file = str(paths.PARTNERS_DIR / f"{PARTNER}.ttl")
        proc = cli("submit", file, "--partner", PARTNER, env=env, cwd=built.work)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr == (
        f"error: the server at {url}/update accepted the commit's update, but the store read at "
        f"{built.env['CLUSTERPOLISEE_ENDPOINT']} did not change: {url}/update is not a SPARQL "
        "update endpoint of that store; check CLUSTERPOLISEE_UPDATE_ENDPOINT (update_endpoint "
        "under [remote] in CLUSTERPOLISEE_STORE_CONFIG). The commit did not take effect; "
        "remove the scratch graphs it left with 'clusterpolisee drop-staging' in an hour, or "
        "with its --older-than 0 now if no other commit is running\n"
    )
    assert "ACCEPTED" not in proc.stdout
    assert set(built.store.graph_triples(graph)) == before
    assert built.store.data_version() == version
    # the partner graph's, the provenance's and the commit's marker
    assert built.store.drop_staging() == 3
    listed = cli("submissions", "--partner", PARTNER, "--format", "json", env=built.env)
    assert json.loads(listed.stdout)[-1]["outcome"] == "pending"  # settled by the next one


def test_limit_runs_an_adhoc_listing_longer_than_the_row_limit(big):
    listing = f"SELECT ?s ?o WHERE {{ GRAPH <{BIG}> {{ ?s ?p ?o }} }} ORDER BY ?o"
    proc = cli("sparql", listing, "--limit", "3", "--format", "csv", env=big.env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["s,o", f"{EX}s0,v 0", f"{EX}s1,v 1", f"{EX}s10,v 10"]
    assert proc.stderr == "note: showing the first 3 rows; the answer has more (--limit)\n"
    whole = cli("sparql", listing, "--format", "csv", env=big.env)
    assert whole.returncode == 2
    assert whole.stderr == (
        "error: the server cut the answer at its row limit (10000); add LIMIT/OFFSET or "
        "narrow the query\n"
    )


def test_limit_runs_a_stored_listing_longer_than_the_row_limit(big, tmp_path):
    """A catalog (CLUSTERPOLISEE_HOME) whose one question lists the big graph."""
    for name in ("ontology", "shapes", "data"):
        (tmp_path / name).symlink_to(paths.ROOT / name)
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "everything.rq").write_text(
        "#+ summary: Every value of the test graph\n#+ tags: [test]\n"
        f"SELECT ?s ?o WHERE {{ GRAPH <{BIG}> {{ ?s ?p ?o }} }} ORDER BY DESC(?o)\n"
    )
    env = {**big.env, "CLUSTERPOLISEE_HOME": str(tmp_path)}
    proc = cli("query", "everything", "--limit", "2", "--format", "tsv", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "?s\t?o",
        f'<{EX}s9999>\t"v 9999"',
        f'<{EX}s9998>\t"v 9998"',
    ]
    assert proc.stderr == "note: showing the first 2 rows; the answer has more (--limit)\n"
    exact = cli("query", "everything", "--limit", str(ROWS), "--format", "tsv", env=env)
    assert exact.returncode == 2 and "row limit (10000)" in exact.stderr  # the server's cap


def test_a_query_that_asks_for_exactly_the_row_limit_is_not_cut(big):
    ten_thousand = f"SELECT ?s WHERE {{ GRAPH <{BIG}> {{ ?s ?p ?o }} }} LIMIT 10000"
    assert len(big.store.select(ten_thousand)) == 10_000
    proc = cli("sparql", ten_thousand, "--format", "csv", env=big.env)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 1 + 10_000 and proc.stderr == ""
    limited = cli("sparql", ten_thousand, "--limit", "10000", "--format", "csv", env=big.env)
    assert limited.returncode == 0, limited.stderr
    assert len(limited.stdout.splitlines()) == 1 + 10_000 and limited.stderr == ""


def test_timeout_is_sent_to_the_server(big):
    started = time.monotonic()
    proc = cli("sparql", SLOW, "--timeout", "1", env=big.env)
    took = time.monotonic() - started
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.startswith("error: the query ran past 1 s"), proc.stderr
    assert took < 25  # the server's own limit is 60 s


def test_the_config_file_endpoint_selects_the_remote_store(built, virtuoso, tmp_path):
    ini = tmp_path / "store.ini"
    ini.write_text(
        f"[remote]\nendpoint = {virtuoso.endpoint}\nupdate_endpoint = {virtuoso.update_endpoint}"
        f"\ngsp_endpoint = {virtuoso.gsp_endpoint}\nuser = {virtuoso.user}\n"
        f"password = {virtuoso.password}\n"
    )
    nowhere = tmp_path / "nowhere" / "store"
    env = {
        **clean_env(),
        "CLUSTERPOLISEE_STORE_CONFIG": str(ini),
        "CLUSTERPOLISEE_STORE": str(nowhere),
    }
    proc = cli("graphs", env=env)
    assert proc.returncode == 0, proc.stderr
    assert graph_iri("ontology") in proc.stdout
    assert graph_iri(f"partner/{PARTNER}") in proc.stdout
    assert not nowhere.parent.exists()
    dead = f"http://127.0.0.1:{free_port()}/sparql"  # the variable wins over the file
    proc = cli("graphs", env={**env, "CLUSTERPOLISEE_ENDPOINT": dead})
    assert proc.returncode == 2
    assert proc.stderr == (
        f"error: cannot reach the SPARQL server at {dead} (Connection refused); check that it "
        "is running, then retry\n"
    )
    proc = cli(
        "graphs", "--endpoint", virtuoso.endpoint, env={**env, "CLUSTERPOLISEE_ENDPOINT": dead}
    )
    assert proc.returncode == 0 and graph_iri("ontology") in proc.stdout
    served = cli("serve", env=env)  # refused as with the variable, before anything starts
    assert served.returncode == 2
    assert served.stderr.startswith("error: serve runs on the embedded store (--store)")
