"""Prints the fault figures at the end of the run and writes them to test-output/."""

import json

from clusterpolisee import paths

from .test_faults import FIGURES
from .test_virtuoso_faults import FIGURES as VIRTUOSO

#: (section title, figures, file name) per fault suite.
SUITES = [
    ("faults survived", FIGURES, "faults.json"),
    ("virtuoso stopped and restarted", VIRTUOSO, "virtuoso-faults.json"),
]


def pytest_terminal_summary(terminalreporter) -> None:
    out = paths.ROOT / "test-output" / "reliability"
    for title, figures, filename in SUITES:
        if not figures:
            continue
        terminalreporter.section(title)
        for name, value in figures.items():
            terminalreporter.write_line(f"{name}: {value}")
        out.mkdir(parents=True, exist_ok=True)
        (out / filename).write_text(json.dumps(figures, indent=1))
