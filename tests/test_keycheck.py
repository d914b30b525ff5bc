"""Search keys that an older folding wrote are told, not silently missed (reasoning/keycheck):
by `query search` on stderr, by `serve` in its log, until `materialise` mends them."""

import logging
import subprocess
import time
import unicodedata
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest

from clusterpolisee.namespaces import CPO
from clusterpolisee.reasoning import keycheck
from clusterpolisee.reasoning.keycheck import STALE, UNCHECKED, stale_search_keys
from clusterpolisee.reasoning.materialise import INFERRED, RDFS_LABEL
from clusterpolisee.store import OxigraphStore, Store, StoreError, open_store

from .conftest import CLI, built_store, run_cli
from .web.conftest import free_port

SEARCH_KEY = ox.NamedNode(f"{CPO}searchKey")
WARNING = f"warning: {STALE}\n"


def former_fold(text: str) -> str:
    """The folding before dashes, quotes and invisible characters were mapped."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def write_former_keys(path: Path) -> None:
    """Give every label of the store at ``path`` the key the former folding gave it, as a
    store that version built holds (the way test_folding writes old keys)."""
    with OxigraphStore(str(path)) as s:
        rewrite_keys_formerly(s)


def rewrite_keys_formerly(store: Store) -> None:
    """Every label's key in ``store`` (embedded or remote) as the former folding wrote it."""
    kept = [t for t in store.graph_triples(INFERRED) if t.predicate != SEARCH_KEY]
    labels = store.select(f"SELECT ?r ?l WHERE {{ ?r <{RDFS_LABEL}> ?l FILTER(isLiteral(?l)) }}")
    kept += [
        ox.Triple(r["r"], SEARCH_KEY, ox.Literal(former_fold(r["l"].value), language=lang))
        for r in labels
        for lang in [r["l"].language]
    ]
    store.commit(replace={INFERRED: kept})


@pytest.fixture()
def old_store(tmp_path_factory) -> Path:
    path = built_store(tmp_path_factory, "former-keys")
    write_former_keys(path)
    return path


def search(store: Path, text: str) -> subprocess.CompletedProcess:
    return run_cli("query", "search", "-p", f"text={text}", "--store", str(store),
                   "--format", "csv")  # fmt: skip


def test_the_check_tells_former_keys_from_current_ones(old_store, demo_store):
    with open_store(str(old_store), read_only=True) as s:
        old = stale_search_keys(s)
    with open_store(str(demo_store), read_only=True) as s:
        current = stale_search_keys(s)
    assert not old.ok and "Emilia-Romagna" in old.stale
    assert current.ok and current.sampled >= 20


def test_query_search_warns_until_materialise_mends_the_keys(old_store):
    before = search(old_store, "Emilia-Romagna")
    assert before.returncode == 0 and before.stderr == WARNING
    assert before.stdout == "resource,label,types\n"  # what the warning is about
    other = run_cli("query", "overview", "--store", str(old_store), "--format", "csv")
    assert other.returncode == 0 and other.stderr == ""  # no folded text: nothing to say
    assert run_cli("materialise", "--store", str(old_store)).returncode == 0
    after = search(old_store, "Emilia-Romagna")
    assert after.returncode == 0 and after.stderr == ""
    assert len(after.stdout.splitlines()) > 1
    assert search(old_store, "Nord-Est").stdout.count("\n") > 1


def served_log(store: Path, tmp_path: Path) -> str:
    """What `serve` on ``store`` writes to stderr until it answers /health and is stopped."""
    port = free_port()
    cmd = [str(CLI), "serve", "--store", str(store), "--port", str(port), "--workers", "1",
           "--tokens", str(tmp_path / "t.json")]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert f"http://127.0.0.1:{port}/" in err, err
    return err


def test_serve_logs_one_warning_at_start_naming_the_fix(old_store, tmp_path):
    err = served_log(old_store, tmp_path)
    warned = [line for line in err.splitlines() if STALE in line]
    assert len(warned) == 1, err
    assert "clusterpolisee.serve: " in warned[0] and "labels checked, e.g. '" in warned[0]
    assert run_cli("materialise", "--store", str(old_store)).returncode == 0
    assert STALE not in served_log(old_store, tmp_path)


class Failing:
    """A store-like object whose queries fail while ``down`` (a server's error, a time
    limit), and otherwise are answered by ``store``."""

    def __init__(self, store) -> None:
        self.store, self.down = store, True

    def select(self, query: str, bindings=None):
        if self.down:
            raise StoreError("the SPARQL server timed out\nafter 10 s")
        return self.store.select(query, bindings)


def test_a_check_that_cannot_run_is_said_once(demo_store, caplog, monkeypatch):
    """Its query failing was passed over in silence by the CLI and the search page (only
    `serve` logged it): it is said once, until a check runs again; the search goes on."""
    monkeypatch.setattr(keycheck, "_told", False)  # as in a new process
    caplog.set_level(logging.WARNING, logger="clusterpolisee.reasoning.keycheck")
    with open_store(str(demo_store), read_only=True) as s:
        store = Failing(s)
        first, second = stale_search_keys(store), stale_search_keys(store)
        assert first.ok and first.sampled == 0
        assert first.error == second.error == "the SPARQL server timed out after 10 s"
        told = [r.getMessage() for r in caplog.records]
        assert told == [UNCHECKED % "the SPARQL server timed out after 10 s"]
        store.down = False
        assert stale_search_keys(store).error == ""
        store.down = True
        stale_search_keys(store)
        assert len(caplog.records) == 2  # said again: it had run since
