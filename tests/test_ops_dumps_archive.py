"""Operations that must not lose data: a dump cut short is refused by `import`, `export`
refuses a file name it cannot tell the format of, a full disk during `submit` changes nothing
and leaves nothing behind, and `submissions` says when a partner id is unknown."""

import gzip
import io
import re
import resource
import shutil
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from clusterpolisee import paths
from webapp import close_app, tokens

from .conftest import built_store, built_with_archive, cli_on, dataset, run_cli
from .web.conftest import make_app

END_RE = re.compile(r"# end of clusterpolisee dump: ([0-9]+) quads in ([0-9]+) graphs")
NO_END = (
    "ends without the end line that `export` writes ('# end of clusterpolisee dump: ...'): "
    "it may be cut short; nothing was changed. To import a dump written by another tool or "
    "before 2026-12-07, give --no-end-check\n"
)
# Past this many bytes a file cannot grow (RLIMIT_FSIZE): writes fail with EFBIG, a real
# error from the kernel, as a full disk's ENOSPC is. The `submit` command's store writes
# files of a few MB at most (the whole demo store is 6 MB), which stay below it.
CLI_FILE_LIMIT = 16 << 20
# In the web app's own process: below the upload, which the form parser keeps in memory
# (werkzeug writes an uploaded file to disk only past 500 KB).
WEB_FILE_LIMIT = 200 << 10


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """A built store the tests here only read."""
    return built_store(tmp_path_factory, "dumps")


def sizes(store: Path) -> dict[str, int]:
    proc = run_cli("graphs", "--store", str(store))
    assert proc.returncode == 0, proc.stderr
    return {g: int(n) for n, g in (line.split() for line in proc.stdout.splitlines())}


def export(store: Path, output: Path) -> None:
    proc = run_cli("export", "--store", str(store), "--output", str(output))
    assert proc.returncode == 0, proc.stderr


# -- A: the end line --------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # rdflib's own, inside parse
@pytest.mark.parametrize("name", ["d.nq", "d.trig", "d.nq.gz", "d.trig.gz", "-"])
def test_every_dump_ends_with_the_end_line_and_imports_whole(store, tmp_path, name):
    expected = sizes(store)
    end = f"# end of clusterpolisee dump: {sum(expected.values())} quads in {len(expected)} graphs"
    if name == "-":  # standard output, N-Quads
        proc = run_cli("export", "--store", str(store))
        assert proc.returncode == 0, proc.stderr
        dump = tmp_path / "stdout.nq"
        dump.write_text(proc.stdout)
        text = proc.stdout
    else:
        dump = tmp_path / name
        export(store, dump)
        raw = dump.read_bytes()
        text = (gzip.decompress(raw) if name.endswith(".gz") else raw).decode()
    assert text.endswith(end + "\n")
    # A comment: another reader takes the dump as it is (rdflib), with every quad.
    rdf = rdflib.Dataset()
    rdf.parse(data=text, format="trig" if ".trig" in name else "nquads")
    assert len(rdf) == sum(expected.values())
    target = tmp_path / "target"
    proc = run_cli("import", str(dump), "--store", str(target))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith(
        f"Imported {sum(expected.values())} triples into {len(expected)} graphs\n"
    )
    assert sizes(target) == expected


def test_a_dump_cut_at_a_line_break_is_refused_and_changes_nothing(store, tmp_path):
    """`head -n 8000 d.nq > t.nq` parsed, and importing it replaced graph/ontology (1,993
    triples) with its first 242."""
    dump, cut = tmp_path / "d.nq", tmp_path / "t.nq"
    export(store, dump)
    lines = dump.read_text().splitlines(keepends=True)
    cut.write_text("".join(lines[:8000]))
    target = tmp_path / "target"
    shutil.copytree(store, target)
    before = dataset(target)
    proc = run_cli("import", str(cut), "--store", str(target))
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"error: t.nq {NO_END}")
    assert dataset(target) == before
    # ... and into a new store: none is left behind.
    proc = run_cli("import", str(cut), "--store", str(tmp_path / "new"))
    assert proc.returncode == 2 and not (tmp_path / "new").exists()
    # Cut short and compressed whole: refused the same way.
    packed = tmp_path / "t.nq.gz"
    packed.write_bytes(gzip.compress(cut.read_bytes()))
    proc = run_cli("import", str(packed), "--store", str(target))
    assert (proc.returncode, proc.stderr) == (2, f"error: t.nq.gz {NO_END}")
    assert dataset(target) == before


def test_an_end_line_with_other_counts_is_refused(store, tmp_path):
    dump = tmp_path / "d.nq"
    export(store, dump)
    lines = dump.read_text().splitlines(keepends=True)
    quads, graphs = (int(n) for n in END_RE.fullmatch(lines[-1].strip()).groups())
    gap = tmp_path / "gap.nq"  # one line lost in the middle
    gap.write_text("".join(lines[:100] + lines[101:]))
    target = tmp_path / "target"
    proc = run_cli("import", str(gap), "--store", str(target))
    assert proc.returncode == 2
    assert proc.stderr == (
        f"error: gap.nq ends with the end line of a dump of {quads} quads in {graphs} graphs, "
        f"but holds {quads - 1} quads in {graphs} graphs: it may be cut short or put together "
        "from several files; nothing was changed. To import a dump written by another tool "
        "or before 2026-12-07, give --no-end-check\n"
    )
    assert not target.exists()
    # Two dumps joined: the first one's end line is no longer the last one.
    joined = tmp_path / "joined.nq"
    joined.write_text(dump.read_text() + "".join(lines[:10]) + lines[-1])
    proc = run_cli("import", str(joined), "--store", str(target))
    assert proc.returncode == 2 and f"but holds {quads + 10} quads" in proc.stderr


def test_no_end_check_imports_a_dump_of_another_tool(store, tmp_path):
    """A dump without the end line (another tool's, or an older export) needs the option."""
    dump = tmp_path / "d.nq"
    export(store, dump)
    lines = dump.read_text().splitlines(keepends=True)
    other = tmp_path / "other.nq"
    other.write_text("".join(lines[:-1]))
    target = tmp_path / "target"
    refused = run_cli("import", str(other), "--store", str(target))
    assert (refused.returncode, refused.stderr) == (2, f"error: other.nq {NO_END}")
    assert not target.exists()
    taken = run_cli("import", str(other), "--store", str(target), "--no-end-check")
    assert taken.returncode == 0, taken.stderr
    assert sizes(target) == sizes(store)
    # The operator's case: cut at a line break, imported knowingly; 100 lines into the
    # dump's second graph (where that falls depends on the first graph's size).
    graphs = [
        next(ox.parse(line.encode(), format=ox.RdfFormat.N_QUADS)).graph_name for line in lines[:-1]
    ]
    keep = next(i for i, g in enumerate(graphs) if g != graphs[0]) + 100
    assert len(set(graphs[:keep])) == 2
    cut = tmp_path / "t.nq"
    cut.write_text("".join(lines[:keep]))
    taken = run_cli("import", str(cut), "--store", str(tmp_path / "t"), "--no-end-check")
    assert taken.returncode == 0, taken.stderr
    assert taken.stdout.endswith(f"Imported {keep} triples into 2 graphs\n")


# -- N: export refuses an ending it does not know -------------------------------------------


def test_export_refuses_a_file_name_it_cannot_tell_the_format_of(store, tmp_path):
    out = tmp_path / "x.json"
    proc = run_cli("export", "--store", str(store), "--output", str(out))
    assert (proc.returncode, proc.stderr) == (
        2,
        "error: cannot tell the format of x.json; give --format, or name the file .nq, "
        ".trig, .nq.gz or .trig.gz\n",
    )
    assert not out.exists() and list(tmp_path.iterdir()) == []
    proc = run_cli("export", "--store", str(store), "--output", str(out), "--format", "trig")
    assert proc.returncode == 0, proc.stderr
    assert END_RE.fullmatch(out.read_text().splitlines()[-1])


# -- O: submissions --partner ---------------------------------------------------------------


def test_submissions_names_an_unknown_partner_and_the_known_ones(tmp_path_factory):
    built = built_with_archive(tmp_path_factory, "listed")
    proc = cli_on(built, "submissions", "--partner", "nosuch")
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.startswith(
        "error: unknown partner 'nosuch': not a project partner in "
        "data/reference/partners.ttl; the partners are: aida, ancs, "
    )
    assert "marche-region" in proc.stderr and "(0 attempts)" not in proc.stderr
    known = cli_on(built, "submissions", "--partner", "aida")
    assert known.returncode == 0 and known.stderr == "(1 attempts)\n"


# -- C: a full disk during submit -----------------------------------------------------------


def file_limit(limit: int) -> Callable[[], None]:
    """For preexec_fn: files of the child cannot grow past ``limit`` bytes."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def padded(partner: str, size: int) -> bytes:
    """The partner's demo file, made ``size`` bytes large with comments."""
    data = (paths.PARTNERS_DIR / f"{partner}.ttl").read_bytes()
    line = b"# padding to make the archived copy large\n"
    return data + line * ((size - len(data)) // len(line))


def archive_listing(archive: Path) -> list[str]:
    return sorted(str(p.relative_to(archive)) for p in archive.rglob("*"))


def test_submit_on_a_full_disk_says_so_and_changes_nothing(tmp_path, tmp_path_factory):
    store, archive = built = built_with_archive(tmp_path_factory, "full")
    sent = tmp_path / "aida.ttl"
    sent.write_bytes(padded("aida", 2 * CLI_FILE_LIMIT))
    before, files = dataset(store), archive_listing(archive)
    proc = run_cli(
        "submit",
        str(sent),
        "--partner",
        "aida",
        "--store",
        str(store),
        "--archive",
        str(archive),
        preexec_fn=file_limit(CLI_FILE_LIMIT),
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (
        f"error: no space left for the archive at {archive} (File too large): nothing was "
        "changed. Free space there (or ask the server's operator to) and submit again\n"
    )
    assert archive_listing(archive) == files  # no .{id}.tmp folder left
    assert dataset(store) == before
    # With room, the same submission is taken.
    again = cli_on(built, "submit", str(sent), "--partner", "aida")
    assert again.returncode == 0, again.stderr


@contextmanager
def files_limited(limit: int) -> Iterator[None]:
    """This process's files cannot grow past ``limit`` bytes for the block."""
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


def test_upload_on_a_full_disk_answers_a_clear_503(tmp_path, tmp_path_factory):
    """It was a 500 with a traceback in the log, and a half-written archive entry."""
    store, archive = built_with_archive(tmp_path_factory, "full-web")
    app = make_app(store, tmp_path, ARCHIVE=str(archive))
    try:
        client = app.test_client()
        html = client.get("/submit").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)[1]
        token = tokens.create(Path(app.config["TOKENS_FILE"]), "aida")
        before, files = dataset(store), archive_listing(archive)
        form = {"csrf_token": csrf, "token": token}
        with files_limited(WEB_FILE_LIMIT):
            resp = client.post(
                "/submit",
                data={**form, "file": (io.BytesIO(padded("aida", 400 << 10)), "aida.ttl")},
                headers={"Accept": "text/plain"},
            )
        assert resp.status_code == 503
        assert resp.get_data(as_text=True) == (
            f"Service Unavailable: no space left for the archive at {archive} (File too "
            "large): nothing was changed. Free space there (or ask the server's operator to) "
            "and submit again\n"
        )
        assert archive_listing(archive) == files
    finally:
        close_app(app)
    assert dataset(store) == before
