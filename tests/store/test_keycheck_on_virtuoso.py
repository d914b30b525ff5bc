"""The stale-search-key check (reasoning/keycheck) on the remote backend, a real Virtuoso
7.2.5 loaded with the demo data: it had only run on Oxigraph (RELIABILITY.md: "Not tried on
Virtuoso: if its check fails, nothing is said"). Tried, its sample missed labels there:
Virtuoso's REGEX reads a label's UTF-8 bytes, so a class of the characters the folding maps
matched nothing of an en dash or a curly quote, and bytes of others (the e with diaeresis).
Where the check cannot run at all, that is now said once, not passed over."""

from collections.abc import Iterator

import pyoxigraph as ox
import pytest

from clusterpolisee.catalog import fold_text
from clusterpolisee.reasoning import keycheck
from clusterpolisee.reasoning.keycheck import STALE, UNCHECKED, stale_search_keys
from clusterpolisee.reasoning.materialise import INFERRED, RDFS_LABEL
from clusterpolisee.store import OxigraphStore, Store, open_store
from clusterpolisee.store.remote import RemoteStore

from ..conftest import run_cli
from ..test_keycheck import SEARCH_KEY, WARNING, former_fold, rewrite_keys_formerly
from .conftest import remote_config, wipe

EX = "https://example.org/keycheck/"
GRAPH = "https://w3id.org/clusterpolisee/graph/partner/keycheck-test"


@pytest.fixture(scope="module")
def loaded(virtuoso, demo_store) -> Iterator[tuple[RemoteStore, dict[str, list[ox.Triple]]]]:
    """The remote store with the demo store's graphs, as the other remote tests load it, and
    those graphs (keys current) to put back."""
    remote = RemoteStore(remote_config(virtuoso))
    wipe(remote)
    with open_store(str(demo_store), read_only=True) as local:
        demo = {graph: list(local.graph_triples(graph)) for graph in local.graph_sizes()}
    for graph, triples in demo.items():
        remote.replace_graph(graph, triples)
    yield remote, demo
    wipe(remote)
    remote.close()


@pytest.fixture()
def remote(loaded) -> Iterator[RemoteStore]:
    """The loaded store, as loaded again after the test."""
    store, demo = loaded
    yield store
    if store.graph_sizes() != {graph: len(triples) for graph, triples in demo.items()}:
        wipe(store)
        for graph, triples in demo.items():
            store.replace_graph(graph, triples)
    else:
        store.commit(replace={INFERRED: demo[INFERRED]})


def search(env: dict[str, str], text: str = "Emilia-Romagna"):
    return run_cli("query", "search", "-p", f"text={text}", "--format", "csv", env=env)


def test_current_keys_pass_and_former_keys_are_told(remote, cli_env):
    check = stale_search_keys(remote)
    assert check.ok and check.error == "" and check.sampled >= 20
    current = search(cli_env)
    assert current.returncode == 0 and current.stderr == ""
    assert len(current.stdout.splitlines()) > 1  # found, as the keys are today's

    rewrite_keys_formerly(remote)
    check = stale_search_keys(remote)
    assert not check.ok and check.error == ""
    assert all(former_fold(text) != fold_text(text) for text in check.stale)
    stale = search(cli_env)
    assert stale.returncode == 0 and stale.stderr == WARNING
    assert stale.stdout == "resource,label,types\n"  # what the warning is about
    assert STALE in stale.stderr


def missed_characters(store: Store) -> list[str]:
    """The characters fold_text maps (both cases) whose label the check does not find stale:
    one label each, with the key the former folding gave it, among 100 plain labels whose
    keys are current, in a store holding nothing else. The labels sort after the plain ones,
    so the check's 20 labels of any kind do not take them up by chance."""
    plain = [ox.Literal(f"Plain label {i:03}") for i in range(100)]
    mapped = keycheck._mapped()
    assert len(mapped) > keycheck.SAMPLE  # in two halves, each within the sample
    missed = []
    for half in (mapped[::2], mapped[1::2]):
        labels = [(ox.NamedNode(f"{EX}a{i:03}"), text) for i, text in enumerate(plain)]
        odd = {ox.Literal(f"zz{c}zz"): c for c in half}
        labels += [(ox.NamedNode(f"{EX}z{ord(c):05X}"), text) for text, c in odd.items()]
        assert all(former_fold(t.value) != fold_text(t.value) for t in odd)
        keys = [
            ox.Triple(r, SEARCH_KEY, ox.Literal((former_fold if t in odd else fold_text)(t.value)))
            for r, t in labels
        ]
        label = ox.NamedNode(RDFS_LABEL)
        store.commit(replace={GRAPH: [ox.Triple(r, label, t) for r, t in labels], INFERRED: keys})
        check = stale_search_keys(store)
        missed += [f"U+{ord(odd[t]):04X}" for t in odd if t.value not in check.stale]
        assert check.error == "" and not [t for t in check.stale if not t.startswith("zz")]
    return missed


def test_every_character_the_folding_maps_is_sampled(remote):
    """The former sample (one REGEX class) missed 43 of the 53 on Virtuoso: all but the two
    ASCII ones and eight whose UTF-8 bytes the class's bytes happened to match."""
    wipe(remote)  # the demo's labels would fill the sample
    assert missed_characters(remote) == []


def test_every_character_the_folding_maps_is_sampled_on_oxigraph(tmp_path):
    """The same query on the embedded store: the two read it alike."""
    with OxigraphStore(tmp_path / "store") as store:
        assert missed_characters(store) == []


def test_a_check_that_cannot_run_is_said_once(remote, cli_env):
    """A server's row limit below the check's answer (its 70 rows): the search is answered
    as it was, and a line says the keys could not be checked, instead of nothing."""
    rewrite_keys_formerly(remote)  # what the check would have told
    env = {**cli_env, "CLUSTERPOLISEE_MAX_ROWS": "60"}
    proc = search(env)
    assert proc.returncode == 0
    assert proc.stdout == "resource,label,types\n"
    (line,) = proc.stderr.splitlines()
    before, after = UNCHECKED.split("%s")
    assert line.startswith(before) and line.endswith(after)
    assert "row limit (60)" in line and STALE not in line
