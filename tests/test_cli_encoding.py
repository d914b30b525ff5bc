"""Answers in a data format under a terminal whose encoding lacks some letters: a redirected
Windows console writes cp1252, which has no "ș" or "ț". The commands stopped with a
UnicodeEncodeError traceback; data formats are UTF-8 by definition, so they are written as
UTF-8 bytes, and text for reading shows "?" for what the terminal cannot show."""

import json
import os
import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest

from .conftest import CLI

CP1252 = {**os.environ, "PYTHONIOENCODING": "cp1252"}
NAME = "București ț"
DATA = (
    "@prefix cpo: <https://w3id.org/clusterpolisee/ontology#> .\n"
    f'<https://w3id.org/clusterpolisee/id/partner/nerda/cluster/x> cpo:numberOfMembers "{NAME}" ;'
    " a cpo:Cluster .\n"
)


def cp1252(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *args], capture_output=True, env=CP1252, timeout=600)


@pytest.fixture(scope="module")
def bad_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("enc") / "members.ttl"
    path.write_text(DATA, encoding="utf-8")
    return path


def test_a_validation_report_as_json_keeps_the_value(bad_file: Path):
    proc = cp1252("validate", str(bad_file), "--partner", "nerda", "--format", "json")
    assert (proc.returncode, proc.stderr) == (1, b"")
    values = [r.get("value") for r in json.loads(proc.stdout.decode("utf-8"))["results"]]
    assert f'"{NAME}"' in values


def test_a_validation_report_as_turtle_keeps_the_value(bad_file: Path):
    proc = cp1252("validate", str(bad_file), "--partner", "nerda", "--format", "turtle")
    assert (proc.returncode, proc.stderr) == (1, b"")
    report = ox.parse(proc.stdout, format=ox.RdfFormat.TURTLE)
    values = {t.object.value for t in report if t.predicate.value.endswith("#value")}
    assert NAME in values


def test_a_validation_report_as_text_shows_what_the_terminal_can(bad_file: Path):
    proc = cp1252("validate", str(bad_file), "--partner", "nerda")
    assert (proc.returncode, proc.stderr) == (1, b"")
    assert "Bucure?ti ?" in proc.stdout.decode("cp1252")
