"""`drop-staging` while others write, on a live Virtuoso: it drops the scratch graphs of
commits that are no longer running and leaves a running commit's alone. Before, it dropped
every scratch graph, so a commit held between its upload and its swap emptied the graph it
replaced and reported success."""

import re
import time
import types

import pyoxigraph as ox
import pytest

from clusterpolisee.namespaces import graph_iri
from clusterpolisee.store import StoreError
from clusterpolisee.store import remote as remote_module
from clusterpolisee.store.base import META_GRAPH
from clusterpolisee.store.remote import RemoteStore

from ..conftest import run_cli
from .conftest import answering, backdate, remote_config
from .test_remote_answers import Relay

EX = "https://example.org/"
WAIT = "if no commit is running, 'clusterpolisee drop-staging --older-than 0' drops them now"


def triples(tag: str, n: int = 20) -> list[ox.Triple]:
    p = ox.NamedNode(EX + "p")
    return [
        ox.Triple(ox.NamedNode(f"{EX}{tag}/{i}"), p, ox.Literal(f"{tag} {i}")) for i in range(n)
    ]


def is_check(request: bytes) -> bool:
    """The commit's check that the server holds its uploads (``_holding``), form-encoded."""
    return b"EXISTS" in request and b"staging" in request


def test_drop_staging_during_a_commit_leaves_its_graphs_and_the_commit_succeeds(
    virtuoso, remote, cli_env
):
    """drop-staging runs while a commit is held between its upload (checked) and its swap.
    Before, it dropped the commit's scratch graphs; the swap then deleted every triple of the
    partner graph that the (now empty) scratch graph lacked, and the commit said done."""
    g = graph_iri("test/held")
    remote.replace_graph(g, triples("old"))
    version = remote.data_version()
    ran: list = []

    def drop_staging_meanwhile(request: bytes, _answer: bytes) -> None:
        if is_check(request) and not ran:
            ran.append(run_cli("drop-staging", env=cli_env))
            ran.append(remote.scratch_graphs())

    relay = Relay(virtuoso.endpoint, drop_staging_meanwhile)
    try:
        RemoteStore(remote_config(virtuoso, endpoint=relay.url)).replace_graph(g, triples("new"))
    finally:
        relay.close()
    proc, during = ran
    assert set(remote.graph_triples(g)) == set(triples("new"))  # before: empty
    assert remote.data_version() != version and remote.scratch_graphs() == []
    assert proc.returncode == 0, proc.stderr
    assert {x.value.split("#")[0] for x in during} == {g, META_GRAPH}
    assert re.fullmatch(
        r"left 2 scratch graphs of 1 commit seen \d+ s ago, which may still be running: "
        rf"they go once not seen for 60 min; {re.escape(WAIT)}\n",
        proc.stdout,
    ), proc.stdout


def interrupted_commit(virtuoso, graph: str, tag: str) -> list[str]:
    """A commit whose swap went to a web page: its scratch graphs stay, as after a crash."""
    before = {x.value for x in RemoteStore(remote_config(virtuoso)).scratch_graphs()}
    with answering() as (url, _):
        fake = RemoteStore(remote_config(virtuoso, update_endpoint=f"{url}/update"))
        with pytest.raises(StoreError, match="The commit did not take effect"):
            fake.replace_graph(graph, triples(tag))
    left = {x.value for x in RemoteStore(remote_config(virtuoso)).scratch_graphs()}
    assert len(left - before) == 2, left  # the data's and the commit's marker
    return sorted(left - before)


def test_drop_staging_drops_a_stale_commits_graphs_and_leaves_a_recent_ones(
    virtuoso, remote, cli_env
):
    """Two commits left scratch graphs: one seen two hours ago (crashed), one seen just now
    (it may be running). Before, both went."""
    stale = interrupted_commit(virtuoso, graph_iri("test/crashed"), "crashed")
    backdate(remote, next(x for x in stale if x.startswith(META_GRAPH)), hours=2)
    recent = interrupted_commit(virtuoso, graph_iri("test/recent"), "recent")
    proc = run_cli("drop-staging", env=cli_env)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(
        r"dropped 2 scratch graphs of 1 commit \(not seen for 60 min or more\); left 2 "
        r"scratch graphs of 1 commit seen \d+ s ago, which may still be running: they go once "
        rf"not seen for 60 min; {re.escape(WAIT)}\n",
        proc.stdout,
    ), proc.stdout
    assert sorted(x.value for x in remote.scratch_graphs()) == recent
    # A threshold of its own: the recent commit was seen under a minute ago.
    again = run_cli("drop-staging", "--older-than", "5", env=cli_env)
    assert again.returncode == 0 and again.stdout.startswith("left 2 scratch graphs"), again
    assert sorted(x.value for x in remote.scratch_graphs()) == recent
    gone = run_cli("drop-staging", "--older-than", "0", env=cli_env)
    assert gone.stdout == (
        "dropped 2 scratch graphs of 1 commit (all, as --older-than 0 asks)\n"
    ), gone
    assert remote.scratch_graphs() == []
    assert run_cli("drop-staging", env=cli_env).stdout == "no scratch graphs in the store\n"


def test_a_commit_still_uploading_is_seen_again_though_it_started_long_ago(
    virtuoso, remote, monkeypatch
):
    """A commit's time is renewed while it uploads (every HEARTBEAT s; here every graph), so
    a sweep during a commit that started two hours ago, but uploaded a graph just now,
    leaves its graphs. Uploads go as INSERT DATA here, through a relay that backdates the
    commit's marker once the first graph is in."""
    monkeypatch.setattr(remote_module, "HEARTBEAT", 0)
    first, second = graph_iri("test/slow-1"), graph_iri("test/slow-2")
    swept: list = []

    def started_long_ago(request: bytes, _answer: bytes) -> None:
        token = re.search(rb"staging-([0-9a-f]{32})", request)
        if b"INSERT+DATA" in request and b"slow-1" in request and token and not swept:
            backdate(remote, f"{META_GRAPH}#staging-{token.group(1).decode()}", hours=2)
            swept.append("backdated")

    def sweep_meanwhile(request: bytes, _answer: bytes) -> None:
        if is_check(request) and len(swept) == 1:
            swept.append(remote.sweep_staging(3600))

    updates = Relay(virtuoso.update_endpoint, started_long_ago)
    queries = Relay(virtuoso.endpoint, sweep_meanwhile)
    config = remote_config(
        virtuoso, endpoint=queries.url, update_endpoint=updates.url, gsp_endpoint=None
    )
    try:
        RemoteStore(config).commit(replace={first: triples("one"), second: triples("two")})
    finally:
        updates.close()
        queries.close()
    _, sweep = swept
    assert (sweep.dropped, len(sweep.running), sweep.untimed) == ([], 1, [])
    assert sweep.running[0].silent < 60
    assert set(remote.graph_triples(first)) == set(triples("one"))
    assert set(remote.graph_triples(second)) == set(triples("two"))
    assert remote.scratch_graphs() == []


def test_older_than_below_what_the_heartbeat_guarantees_is_refused(virtuoso, remote, cli_env):
    """A commit renews its time once a minute: --older-than 1 dropped a running commit's
    graphs. 0 (all, while nothing writes) and 5 or more are taken."""
    proc = run_cli("drop-staging", "--older-than", "4", env=cli_env)
    assert (
        proc.returncode == 2
        and "must be 0 (drop all, only while nothing writes) or at least 5" in proc.stderr
    ), proc
    with pytest.raises(StoreError, match="not seen for 5 min or more"):
        remote.sweep_staging(60)


OLD = "if drop-staging ran meanwhile"
SWEPT = (
    r"this commit's scratch graphs were removed by drop-staging \(it was not seen for 120 "
    r"min\); nothing was changed; run it again"
)


def suspended_then_swept(remote, monkeypatch, when):
    """A hook for a relay: at the first answered request that ``when(request)`` picks, the
    commit is as if suspended for two hours (its clock jumps, its marker says two hours ago)
    and another process sweeps with the default threshold. Returns the sweeps done."""
    jump = [0.0]
    clock = types.SimpleNamespace(monotonic=lambda: time.monotonic() + jump[0])
    monkeypatch.setattr(remote_module, "time", clock)
    sweeps: list = []

    def hook(request: bytes, answer: bytes) -> None:
        token = re.search(rb"staging-([0-9a-f]{32})", request)
        if token and answer.startswith(b"HTTP/1.1 2") and when(request) and not sweeps:
            jump[0] = 7200.0
            backdate(remote, f"{META_GRAPH}#staging-{token.group(1).decode()}", hours=2)
            sweeps.append(remote.sweep_staging(3600))

    return hook, sweeps


def commit_through(virtuoso, hook, on_updates: bool, **graphs) -> None:
    """Commit (INSERT DATA chunks) with ``hook`` on the update or the query relay."""
    relay = Relay(virtuoso.update_endpoint if on_updates else virtuoso.endpoint, hook)
    where = "update_endpoint" if on_updates else "endpoint"
    config = remote_config(virtuoso, gsp_endpoint=None, **{where: relay.url})
    try:
        RemoteStore(config).commit(replace=graphs)
    finally:
        relay.close()


@pytest.mark.parametrize("where", ["in the middle of a graph", "between graphs"])
def test_a_commit_swept_while_it_uploads_fails_and_changes_nothing(
    virtuoso, remote, monkeypatch, where
):
    """A commit silent past the threshold (suspended) is swept while it uploads, in the
    middle of a graph (1,200 triples: three INSERT DATA chunks) or between two graphs. It
    then went on: in the middle of a graph, its next sign of life made its marker again and
    the swap put in only the chunks sent after the sweep (700 of 1,200 triples), with no
    error; between graphs, it failed saying the update endpoint was not one."""
    first, second = graph_iri("test/swept-1"), graph_iri("test/swept-2")
    remote.commit(replace={first: triples("old"), second: triples("old2")})
    version = remote.data_version()
    mid = where == "in the middle of a graph"
    new = {first: triples("new", 1200 if mid else 20), second: triples("new2")}
    hook, sweeps = suspended_then_swept(
        remote, monkeypatch, lambda r: b"INSERT+DATA" in r and b"swept-1%23staging" in r
    )
    with pytest.raises(StoreError, match=f"^{SWEPT}$"):
        commit_through(virtuoso, hook, True, **new)
    assert [len(c.graphs) for c in sweeps[0].dropped] == [2]
    assert set(remote.graph_triples(first)) == set(triples("old"))
    assert set(remote.graph_triples(second)) == set(triples("old2"))
    assert remote.data_version() == version and remote.scratch_graphs() == []


def test_a_commit_swept_between_its_check_and_its_swap_changes_nothing(
    virtuoso, remote, monkeypatch
):
    """The sweep lands after the commit checked its uploads and before its swap: every
    change of the swap is joined with the commit's marker, so it changes nothing, and the
    commit says so. Before, the swap emptied the graph (its scratch graph was gone) and the
    commit said done."""
    g = graph_iri("test/swept-late")
    remote.commit(replace={g: triples("old")})
    version = remote.data_version()
    hook, sweeps = suspended_then_swept(remote, monkeypatch, is_check)
    with pytest.raises(StoreError, match=f"not seen for 120 min before its swap: {OLD}"):
        commit_through(virtuoso, hook, False, **{g: triples("new")})
    assert [len(c.graphs) for c in sweeps[0].dropped] == [2]
    assert set(remote.graph_triples(g)) == set(triples("old"))  # before: empty
    assert remote.data_version() == version and remote.scratch_graphs() == []
