"""`query` and `sparql` as a user runs them: answer formats, --limit, -p and --file."""

import os
import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest

from webapp.database import Result
from webapp.renderer import sparql_csv, sparql_tsv

from .conftest import CLI, run_cli

CPO = "https://w3id.org/clusterpolisee/ontology#"
ASK_YES = f"ASK {{ ?c a <{CPO}Cluster> }}"
ASK_NO = "ASK { ?s a <https://example.org/Nothing> }"
#: Every triple of the store: more than any --limit below.
EVERYTHING = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
#: The region-profile question's graph formats, in the order messages list them.
GRAPH_FORMATS = "jsonld, ntriples, rdfxml, turtle"


def cli_bytes(*args: str) -> subprocess.CompletedProcess:
    """The CLI with its output as bytes: ``run_cli``'s text mode turns CSV's CRLF into LF."""
    return subprocess.run([str(CLI), *args], capture_output=True, timeout=600)


@pytest.mark.parametrize(
    ("query", "answer", "fmt", "expected"),
    [
        (ASK_YES, True, "csv", b"boolean\r\ntrue\r\n"),
        (ASK_NO, False, "csv", b"boolean\r\nfalse\r\n"),
        (ASK_YES, True, "tsv", b"?boolean\ntrue\n"),
        (ASK_NO, False, "tsv", b"?boolean\nfalse\n"),
    ],
)
def test_an_ask_answer_in_csv_and_tsv_is_one_boolean_column(
    demo_store: Path, query: str, answer: bool, fmt: str, expected: bytes
):
    """The SPARQL CSV and TSV formats define no form for ASK, and the CLI wrote the empty
    header only ("\\r\\n" and "\\n"). The choice: a column named "boolean" (TSV: the variable
    "?boolean") and a line true or false, the form the web's /sparql already writes, so a
    file from either is the same."""
    proc = cli_bytes("sparql", query, "--format", fmt, "--store", str(demo_store))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected
    web = {"csv": sparql_csv, "tsv": sparql_tsv}[fmt](Result("ask", boolean=answer))
    assert proc.stdout == web


def test_a_stored_yes_or_no_question_in_csv(demo_store: Path):
    proc = cli_bytes(
        "query", "region-has-instrument", "--format", "csv", "--store", str(demo_store)
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"boolean\r\ntrue\r\n"


def n_triples(text: str) -> list[ox.Triple]:
    return list(ox.parse(text.encode(), format=ox.RdfFormat.N_TRIPLES))


def test_limit_cuts_a_construct_answer_to_that_many_triples(demo_store: Path):
    """--limit cut rows only: a CONSTRUCT with --limit 3 wrote every triple of the store."""
    whole = run_cli("sparql", EVERYTHING, "--format", "ntriples", "--store", str(demo_store))
    total = len(set(n_triples(whole.stdout)))
    proc = run_cli(
        "sparql", EVERYTHING, "--format", "ntriples", "--limit", "3", "--store", str(demo_store)
    )
    assert proc.returncode == 0, proc.stderr
    kept = n_triples(proc.stdout)
    assert len(kept) == 3 and len(set(kept)) == 3
    assert set(kept) <= set(n_triples(whole.stdout))
    assert proc.stderr == f"note: showing 3 of {total} triples (--limit)\n"


def test_limit_cuts_a_describe_answer_and_a_stored_graph_question(demo_store: Path):
    describe = f"DESCRIBE ?c WHERE {{ ?c a <{CPO}Cluster> }} LIMIT 1"
    proc = run_cli(
        "sparql", describe, "--format", "ntriples", "--limit", "2", "--store", str(demo_store)
    )
    assert proc.returncode == 0, proc.stderr
    assert len(n_triples(proc.stdout)) == 2
    assert proc.stderr.startswith("note: showing 2 of ")
    stored = run_cli(
        "query",
        "region-profile",
        "--format",
        "ntriples",
        "--limit",
        "1",
        "--store",
        str(demo_store),
    )
    assert stored.returncode == 0, stored.stderr
    assert len(n_triples(stored.stdout)) == 1


def test_a_limit_above_the_answer_keeps_it_whole_and_says_nothing(demo_store: Path):
    args = ["--format", "ntriples", "--store", str(demo_store)]
    whole = run_cli("query", "region-profile", *args)
    proc = run_cli("query", "region-profile", *args, "--limit", "100000")
    assert proc.returncode == 0 and proc.stderr == ""
    # the same graph, each triple once, with or without --limit (duplicates were removed
    # only when a limit was given)
    assert proc.stdout == whole.stdout
    # a CONSTRUCT that makes each triple many times (one per statement of a class)
    typed = "CONSTRUCT { ?c a <https://example.org/Class> } WHERE { ?c a ?k . ?x a ?c }"
    plain = run_cli("sparql", typed, *args)
    limited = run_cli("sparql", typed, *args, "--limit", "100000")
    assert plain.returncode == 0 and plain.stdout == limited.stdout and limited.stderr == ""
    listed = n_triples(plain.stdout)
    assert len(listed) == len(set(listed)) > 20


def test_a_graph_question_without_format_is_turtle(demo_store: Path):
    """The default format was a table for every question, so `query region-profile` alone
    failed with "a CONSTRUCT result cannot be shown as table"."""
    proc = run_cli("query", "region-profile", "--store", str(demo_store))
    assert proc.returncode == 0, proc.stderr
    turtle = list(ox.parse(proc.stdout.encode(), format=ox.RdfFormat.TURTLE))
    as_nt = run_cli("query", "region-profile", "--format", "ntriples", "--store", str(demo_store))
    assert set(turtle) == set(n_triples(as_nt.stdout)) and len(turtle) > 100
    sparql = run_cli("sparql", EVERYTHING, "--limit", "1", "--store", str(demo_store))
    assert sparql.returncode == 0, sparql.stderr
    assert len(list(ox.parse(sparql.stdout.encode(), format=ox.RdfFormat.TURTLE))) == 1


def test_a_select_question_without_format_is_still_a_table(demo_store: Path):
    proc = run_cli("query", "overview", "--limit", "1", "--store", str(demo_store))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == [
        "country",
        "countryLabel",
        "theme",
        "themeLabel",
        "clusters",
        "barriers",
        "instruments",
        "goodPractices",
    ]
    assert set(lines[1]) == {"-", " "} and lines[2].split()[1] == "Albania"
    assert lines[3:] == ["(1 rows)"]


@pytest.mark.parametrize(
    ("command", "kind"),
    [
        (["query", "region-profile"], "CONSTRUCT"),
        (["sparql", "DESCRIBE <https://example.org/x>"], "DESCRIBE"),
    ],
)
def test_a_table_of_a_graph_is_refused_naming_the_formats_that_work(
    demo_store: Path, command: list[str], kind: str
):
    proc = run_cli(*command, "--format", "table", "--store", str(demo_store))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == (
        f"error: a {kind} result cannot be shown as table; use one of: {GRAPH_FORMATS}\n"
    )


def test_a_parameter_given_twice_is_refused_by_name(demo_store: Path):
    """The second -p region=... replaced the first without a word."""
    region = "https://w3id.org/clusterpolisee/id/region/"
    proc = run_cli(
        "query",
        "region-has-instrument",
        "-p",
        f"region={region}ITI3",
        "-p",
        f"region={region}ITI4",
        "--store",
        str(demo_store),
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == (
        "error: parameter 'region' is given more than once; a parameter takes one value\n"
    )


def test_a_query_file_that_is_not_utf8_is_a_one_line_error(demo_store: Path, tmp_path: Path):
    """Latin-1 text ended in a UnicodeDecodeError traceback."""
    query = tmp_path / "latin1.rq"
    query.write_bytes('ASK { ?s ?p "café" }'.encode("latin-1"))
    proc = run_cli("sparql", "--file", str(query), "--store", str(demo_store))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        f"error: {query}: byte 0xe9 at offset 16 is not UTF-8; save the query as UTF-8\n"
    )


def test_an_answer_with_letters_the_terminal_lacks_is_written_not_a_traceback(
    demo_store: Path,
):
    """Windows writes redirected output in cp1252, which has no "ț" (NERDA's name): the CLI
    stopped with a UnicodeEncodeError traceback. Data formats are UTF-8 whatever the
    terminal; the table for reading shows "?" for what the terminal cannot show."""
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    args = [str(CLI), "query", "search", "-p", "text=nord-est", "--store", str(demo_store)]
    name = "Agenția pentru Dezvoltare Regională Nord-Est"
    csv_proc = subprocess.run([*args, "--format", "csv"], capture_output=True, env=env, timeout=600)
    assert (csv_proc.returncode, csv_proc.stderr) == (0, b"")
    assert f"/id/partner/nerda,{name},".encode() in csv_proc.stdout
    table = subprocess.run(args, capture_output=True, env=env, timeout=600)
    assert (table.returncode, table.stderr) == (0, b"")
    assert "Agen?ia pentru Dezvoltare Regional? Nord-Est" in table.stdout.decode("cp1252")
