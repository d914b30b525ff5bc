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
