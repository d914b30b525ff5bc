"""Consistency under HermiT, and that owlready2 never follows imports or python_module."""

import socket
import threading
from pathlib import Path

import pytest

from clusterpolisee import paths
from clusterpolisee.reasoning.hermit import check
from clusterpolisee.reasoning.owlclean import UnsafeInput

from .conftest import run_cli

PREFIXES = """@prefix cpo: <https://w3id.org/clusterpolisee/ontology#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix region: <https://w3id.org/clusterpolisee/id/region/> .
@prefix maturity: <https://w3id.org/clusterpolisee/id/maturity/> .
"""


def test_ontology_schemes_and_reference_are_consistent(java):
    result = check(paths.ontology_files() + paths.reference_files())
    assert result.consistent is True
    assert result.unsatisfiable == []
    assert result.classes >= 38
    # The defined classes are classified under what their definitions say.
    cpo = "https://w3id.org/clusterpolisee/ontology#"
    assert result.new_superclasses[cpo + "LeadPartner"] == [cpo + "ProjectPartner"]
    assert result.new_superclasses[cpo + "MatureRegion"] == [cpo + "Region"]


def test_region_with_two_maturities_is_inconsistent(java, tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text(
        PREFIXES + "region:ITI3 cpo:policyMaturity maturity:mature , maturity:emerging .\n"
        "region:ITI3 a cpo:Region .\n"
    )
    result = check(paths.ontology_files() + [bad])
    assert result.consistent is False and not result.ok


def test_unsatisfiable_class_is_reported(java, tmp_path):
    bad = tmp_path / "unsat.ttl"
    bad.write_text(
        PREFIXES + "cpo:RegionCountry a owl:Class ; rdfs:subClassOf cpo:Region , cpo:Country .\n"
    )
    result = check(paths.ontology_files() + [bad])
    assert result.consistent is True
    assert result.unsatisfiable == ["https://w3id.org/clusterpolisee/ontology#RegionCountry"]


def _listener() -> tuple[socket.socket, list]:
    """A loopback server that counts connections made to it."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    hits: list = []

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            hits.append(1)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv, hits


def test_imports_and_python_module_are_never_followed(java, tmp_path, monkeypatch):
    srv, hits = _listener()
    port = srv.getsockname()[1]
    evil_dir = tmp_path / "mods"
    evil_dir.mkdir()
    marker = tmp_path / "imported.txt"
    (evil_dir / "cpo_evil_module.py").write_text(f"open({str(marker)!r}, 'w').write('executed')\n")
    monkeypatch.setenv("PYTHONPATH", str(evil_dir))
    hostile = tmp_path / "hostile.ttl"
    hostile.write_text(
        PREFIXES
        + f"""
<http://example.org/evil> a owl:Ontology ;
    owl:imports <http://127.0.0.1:{port}/remote.owl> , <file:///etc/passwd> ;
    <http://www.lesfleursdunormal.fr/static/_downloads/owlready_ontology.owl#python_module>
        "cpo_evil_module" .
cpo:Harmless a owl:Class ; rdfs:subClassOf cpo:Region .
"""
    )
    try:
        result = check(paths.ontology_files() + [hostile])
    finally:
        srv.close()
    assert result.consistent is True
    assert result.dropped_triples == 3
    assert hits == [], "owlready2 connected to the import IRI"
    assert not marker.exists(), "the python_module annotation was executed"


def test_rdfxml_is_refused_before_owlready(tmp_path):
    xml = tmp_path / "x.owl"
    xml.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r/>')
    with pytest.raises(UnsafeInput, match="only Turtle"):
        check([xml])


def test_check_ontology_command(java):
    proc = run_cli("check-ontology")
    assert proc.returncode == 0, proc.stderr
    assert "Consistent: yes" in proc.stdout
    assert "Unsatisfiable classes: 0" in proc.stdout
    assert "LeadPartner is a subclass of" in proc.stdout


def test_check_ontology_command_fails_on_inconsistency(java, tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text(PREFIXES + "region:X a cpo:Region , cpo:Country .\n")
    proc = run_cli("check-ontology", str(paths.ONTOLOGY_FILE), str(bad))
    assert proc.returncode == 1
    assert "Consistent: NO" in proc.stdout


def test_check_ontology_command_reports_unreadable_input(tmp_path):
    bad = tmp_path / "broken.ttl"
    bad.write_text("this is not turtle .")
    proc = run_cli("check-ontology", str(bad))
    assert proc.returncode == 2
    assert "broken.ttl" in proc.stderr and "Traceback" not in proc.stderr
    assert Path(bad).exists()
