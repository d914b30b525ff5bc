"""Prints the fault figures at the end of the run and writes them to test-output/."""

import json

from clusterpolisee import paths

from .test_faults import FIGURES


def pytest_terminal_summary(terminalreporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("faults survived")
    for name, value in FIGURES.items():
        terminalreporter.write_line(f"{name}: {value}")
    out = paths.ROOT / "test-output" / "reliability"
    out.mkdir(parents=True, exist_ok=True)
    (out / "faults.json").write_text(json.dumps(FIGURES, indent=1))


import pytest  # noqa: E402 - appended: the Virtuoso figures get a hook of their own


@pytest.hookimpl(specname="pytest_terminal_summary")
def pytest_terminal_summary_virtuoso(terminalreporter) -> None:
    """The Virtuoso stop/restart figures (tests/faults/test_virtuoso_faults.py), likewise."""
    from .test_virtuoso_faults import FIGURES as VIRTUOSO

    if not VIRTUOSO:
        return
    terminalreporter.section("virtuoso stopped and restarted")
    for name, value in VIRTUOSO.items():
        terminalreporter.write_line(f"{name}: {value}")
    out = paths.ROOT / "test-output" / "reliability"
    out.mkdir(parents=True, exist_ok=True)
    (out / "virtuoso-faults.json").write_text(json.dumps(VIRTUOSO, indent=1))
