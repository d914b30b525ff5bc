"""The command line: help everywhere, build into a fresh store, idempotently."""

import pytest

from clusterpolisee import paths

from .conftest import run_cli

COMMANDS = ["build", "check-ontology", "graphs"]


def test_help_lists_every_command():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for cmd in COMMANDS:
        assert cmd in proc.stdout


def test_each_command_has_help():
    for cmd in COMMANDS:
        proc = run_cli(cmd, "--help")
        assert proc.returncode == 0, cmd
        assert "Usage: clusterpolisee " + cmd in proc.stdout


def reference_size() -> int:
    """Distinct triples in the reference files (the store keeps a set)."""
    import pyoxigraph as ox

    return len(
        {
            q.triple
            for f in paths.reference_files()
            for q in ox.parse(path=str(f), format=ox.RdfFormat.TURTLE)
        }
    )


def test_build_is_idempotent_and_reports_graphs(tmp_path):
    store = tmp_path / "store"
    first = run_cli("build", "--store", str(store))
    assert first.returncode == 0, first.stderr
    assert "https://w3id.org/clusterpolisee/graph/ontology:" in first.stdout
    reference_files = len(paths.reference_files())
    assert f"graph/reference: {reference_size()} triples from {reference_files} file(s)" in (
        first.stdout
    )
    listing1 = run_cli("graphs", "--store", str(store)).stdout
    second = run_cli("build", "--store", str(store))
    assert second.returncode == 0
    listing2 = run_cli("graphs", "--store", str(store)).stdout
    assert listing1 == listing2
    # ontology, reference, inferences, submissions' provenance and one graph per demo partner
    partners = len(list(paths.PARTNERS_DIR.glob("*.ttl")))
    assert len(listing1.strip().splitlines()) == 4 + partners


def test_graphs_without_store_is_a_clear_error(tmp_path):
    proc = run_cli("graphs", "--store", str(tmp_path / "missing"))
    assert proc.returncode == 2
    assert "no store at" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("seconds", ["3000000", "1e20", "inf", "nan", "-1", "0"])
@pytest.mark.parametrize("command", [["query", "overview"], ["sparql", "ASK {}"], ["materialise"]])
def test_a_time_limit_out_of_range_is_refused_by_name(tmp_path, command, seconds):
    """Huge, infinite or NaN limits ended in tracebacks; zero or negative ones were taken.
    The option is checked before the store is looked for: a path with no store, so that a
    writer such as materialise could touch nothing if that check were lost."""
    proc = run_cli(*command, "--timeout", seconds, "--store", str(tmp_path / "none"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "is not a time limit from 0.1 to 86,400 s" in proc.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["materialise"],
        ["submit", str(paths.PARTNERS_DIR / "aida.ttl"), "--partner", "aida"],
        ["restore", "20261206T180044Z-087972d9"],
        ["submissions"],  # it listed the archive beside a mistyped path, or none: 0 attempts
        ["links", "review"],
        ["graphs"],
        ["query", "overview"],
        ["sparql", "ASK {}"],
    ],
)
def test_a_store_that_is_not_there_is_named_and_not_made(tmp_path, command):
    """Opening a store to write creates one: a mistyped --store made an empty store and the
    command went on ("unknown partner", "0 triples"); an empty folder gave RocksDB's error."""
    missing, empty = tmp_path / "nope", tmp_path / "empty"
    empty.mkdir()
    for store in (missing, empty):
        proc = run_cli(*command, "--store", str(store))
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert f"no store at {store}; run 'clusterpolisee build' first" in proc.stderr
    assert not missing.exists() and list(empty.iterdir()) == []


TOKENS_ADVICE = (
    "; repair it, or move it away and create the tokens again with 'clusterpolisee token create'"
)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"[1, 2]", "it must be a JSON object of partner ids and lists of hashes"),
        (b'"tokens"', "it must be a JSON object of partner ids and lists of hashes"),
        (b'{"aida": "0123"}', "it must be a JSON object of partner ids and lists of hashes"),
        (
            b"{aida",
            "it is not JSON (Expecting property name enclosed in double quotes: line 1 "
            "column 2 (char 1))",
        ),
    ],
)
def test_a_tokens_file_that_is_not_a_json_object_is_named_and_kept(tmp_path, content, why):
    """A list or a string in the file ended in an AttributeError traceback, bad JSON in a
    JSONDecodeError one."""
    tokens = tmp_path / "tokens.json"
    tokens.write_bytes(content)
    proc = run_cli("token", "create", "--partner", "aida", "--tokens", str(tokens))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"error: {tokens} is not a tokens file: {why}{TOKENS_ADVICE}\n"
    assert tokens.read_bytes() == content


def test_validate_refuses_an_unknown_partner_as_submit_does(tmp_path):
    """`validate --partner nobody` went on and reported every resource as outside nobody's
    space (exit 1); `submit` refuses the partner (exit 2): the same check, the same line."""
    data = str(paths.PARTNERS_DIR / "aida.ttl")
    refused = (
        "error: unknown partner 'nobody': it is not a project partner in the reference data "
        "(data/reference/partners.ttl)\n"
    )
    proc = run_cli("validate", data, "--partner", "nobody")
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", refused)
    store = tmp_path / "store"
    assert run_cli("build", "--no-partners", "--store", str(store)).returncode == 0
    submitted = run_cli("submit", data, "--partner", "nobody", "--store", str(store))
    assert (submitted.returncode, submitted.stderr) == (2, refused)
    badly_written = run_cli("validate", data, "--partner", "No-Body")
    assert badly_written.returncode == 2 and badly_written.stderr == (
        "error: partner id 'No-Body' is not valid: use lower-case words joined by hyphens, "
        "e.g. marche-region\n"
    )
    known = run_cli("validate", data, "--partner", "aida")
    assert known.returncode == 0, known.stdout + known.stderr


def test_validate_refuses_file_sets_that_submit_refuses(tmp_path):
    """Two files of one name, or 51 files, were "conforms" (exit 0) for validate and
    refused (exit 2) by submit; now both refuse them with the same line."""
    data = (paths.PARTNERS_DIR / "aida.ttl").read_bytes()
    (tmp_path / "d").mkdir()
    for path in (tmp_path / "aida.ttl", tmp_path / "d" / "aida.ttl"):
        path.write_bytes(data)
    twice = run_cli("validate", str(tmp_path / "aida.ttl"), str(tmp_path / "d" / "aida.ttl"))
    assert (twice.returncode, twice.stdout) == (2, "")
    assert twice.stderr == (
        "error: two files are named aida.ttl; every file of a submission needs its own name, "
        "so that the report can say which file a problem is in\n"
    )
    many = []
    for i in range(51):
        many.append(tmp_path / f"part-{i}.ttl")
        many[-1].write_bytes(data if i == 0 else b"@prefix x: <http://example.org/> .\n")
    proc = run_cli("validate", *map(str, many), "--partner", "aida")
    assert (proc.returncode, proc.stderr) == (
        2,
        "error: a submission has at most 50 files, not 51; put resources of one kind in one file\n",
    )
    assert run_cli("validate", *map(str, many[:50]), "--partner", "aida").returncode == 0


FORMATS = "turtle, trig, ntriples, nquads, jsonld, rdfxml, csv"


def test_the_input_format_messages_list_csv(tmp_path):
    """Both messages listed the RDF formats only, though a CSV template is taken too."""
    data = tmp_path / "aida.data"
    data.write_bytes((paths.PARTNERS_DIR / "aida.ttl").read_bytes())
    unknown = run_cli("validate", str(data))
    assert unknown.returncode == 2 and unknown.stderr == (
        f"error: {data}: cannot tell the format from the extension '.data'; use one of .csv, "
        ".json, .jsonld, .nq, .nt, .owl, .rdf, .trig, .ttl, .turtle, .xml or give the format "
        f"({FORMATS})\n"
    )
    named = run_cli("validate", str(data), "--input-format", "yaml")
    assert named.returncode == 2
    assert named.stderr == f"error: {data}: unknown input format 'yaml'; use one of {FORMATS}\n"
    for command in ("validate", "submit"):
        shown = run_cli(command, "--help").stdout
        assert "turtle, trig, ntriples, nquads, jsonld, rdfxml or csv" in " ".join(shown.split())


def test_an_input_format_named_in_capitals_is_that_format(tmp_path):
    """`submit --input-format CSV` sent a template to the RDF parser ("unknown input format
    'CSV'"), which would now list csv among the formats it does not know."""
    store = tmp_path / "store"
    assert run_cli("build", "--no-partners", "--store", str(store)).returncode == 0
    data = tmp_path / "clusters.data"
    data.write_text("Name\nx\n", encoding="utf-8")
    read_as_csv = f"{data.name}: row 1: the first column must be the id column of a template"
    for command in (["submit", "--store", str(store)], ["validate"]):
        proc = run_cli(*command, str(data), "--input-format", "CSV", "--partner", "aida")
        assert proc.returncode == 2 and read_as_csv in proc.stderr, proc.stderr
