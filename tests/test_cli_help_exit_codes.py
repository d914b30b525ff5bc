"""Every command's --help states its exit codes, and the codes it states are the ones it
exits with (real runs of the installed console script)."""

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from clusterpolisee.cli import main

from .conftest import run_cli

#: A help's exit code statement: a paragraph starting "Exit 0 ..." (a command) or "Exit with
#: the code of the command run ..." (a group).
STATEMENT = re.compile(r"^Exit (?:0 |with the code )")


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The group itself and every command and subcommand under it, as argument lists."""
    found = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += command_paths(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


COMMANDS = command_paths(main)


def help_text(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def exit_statement(path: tuple[str, ...]) -> str:
    """The help's exit code paragraph, on one line; '' when there is none."""
    paragraphs = [" ".join(p.split()) for p in help_text(path).split("\n\n")]
    return next((p for p in paragraphs if STATEMENT.match(p)), "")


def test_the_walk_finds_groups_and_their_subcommands():
    assert {("token",), ("token", "create"), ("links",), ("links", "review")} <= set(COMMANDS)
    assert len(COMMANDS) > 20


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "clusterpolisee")
def test_every_help_states_the_exit_codes(path):
    statement = exit_statement(path)
    assert statement, f"'clusterpolisee {' '.join(path)} --help' states no exit codes"
    assert "usage error" in statement  # click's usage errors: 2 everywhere


def states(statement: str, code: int) -> bool:
    """Whether the statement lists ``code`` ("Exit 1 ...", "; 1 ...", "also 2 ...")."""
    return re.search(rf"(?:^Exit|;|also) {code} ", statement) is not None


@pytest.fixture
def violating_file(tmp_path) -> Path:
    """A cluster with nothing but its type: it breaks the shapes."""
    path = tmp_path / "cluster.ttl"
    path.write_text(
        "@prefix cpo: <https://w3id.org/clusterpolisee/ontology#> .\n"
        "<https://w3id.org/clusterpolisee/id/cluster/x> a cpo:Cluster .\n",
        encoding="utf-8",
    )
    return path


def test_validate_exits_1_on_violations_as_its_help_says(violating_file):
    proc = run_cli("validate", str(violating_file))
    assert proc.returncode == 1, proc.stderr
    assert states(exit_statement(("validate",)), 1)


def test_validate_exits_2_on_a_syntax_error_as_its_help_says(tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text("this is not turtle", encoding="utf-8")
    proc = run_cli("validate", str(bad))
    assert proc.returncode == 2, proc.stderr
    assert states(exit_statement(("validate",)), 2)


def test_sparql_exits_1_for_a_format_the_answer_cannot_take_as_its_help_says(tmp_path):
    proc = run_cli(
        "sparql", "SELECT * { ?s ?p ?o }", "--format", "turtle", "--store", str(tmp_path / "s")
    )
    assert proc.returncode == 1, proc.stderr
    assert "cannot be shown as turtle" in proc.stderr
    assert states(exit_statement(("sparql",)), 1)


def test_query_exits_1_for_a_bad_parameter_as_its_help_says(demo_store):
    proc = run_cli("query", "clusters", "-p", "nonsense=1", "--store", str(demo_store))
    assert proc.returncode == 1, proc.stderr
    assert states(exit_statement(("query",)), 1)


def test_graphs_exits_2_without_a_store_as_its_help_says(tmp_path):
    proc = run_cli("graphs", "--store", str(tmp_path / "none"))
    assert proc.returncode == 2, proc.stderr
    assert "no store at" in proc.stderr
    assert states(exit_statement(("graphs",)), 2)


def test_token_revoke_exits_2_when_there_is_no_such_token_as_its_help_says(tmp_path):
    tokens = tmp_path / "tokens.json"
    proc = run_cli("token", "revoke", "--partner", "aida", "--tokens", str(tokens))
    assert proc.returncode == 2, proc.stderr
    assert states(exit_statement(("token", "revoke")), 2)


def test_import_exits_2_for_a_dump_cut_short_as_its_help_says(tmp_path):
    dump = tmp_path / "cut.nq"
    dump.write_text(
        "<https://example.org/s> <https://example.org/p> <https://example.org/o> "
        "<https://example.org/g> .\n",
        encoding="utf-8",
    )
    store = tmp_path / "store"
    proc = run_cli("import", str(dump), "--store", str(store))
    assert proc.returncode == 2, proc.stderr
    assert not store.exists()  # nothing is changed, as the help says
    assert states(exit_statement(("import",)), 2)


def test_a_usage_error_exits_2_as_every_help_says():
    proc = run_cli("template")  # CLASS is missing
    assert proc.returncode == 2
    assert "usage error" in exit_statement(("template",))
