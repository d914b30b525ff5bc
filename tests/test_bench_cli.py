"""The benchmark scripts' command lines: ``--help`` gives every option's default, and a value
a script cannot use is refused with a usage error naming it, before any store is built."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        ("run.py", ["--build-sizes", "1e6"], "--build-sizes: '1e6' is not a comma-separated"),
        ("run.py", ["--sections", "queries,speed"], "unknown section(s): speed"),
        ("query_bench.py", ["--peers", "ours,blazegraph"], "unknown peer(s): blazegraph"),
        ("store_bench.py", ["--systems", "embedded,fuseki"], "unknown system(s): fuseki"),
        ("validation_bench.py", ["--sizes", "1000,x"], "--sizes: '1000,x' is not"),
        ("web_bench.py", ["--clients", "1,many"], "--clients: '1,many' is not"),
    ],
)
def test_a_value_the_script_cannot_use_is_a_usage_error(script, args, message):
    proc = _run(script, *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("script", "shown"),
    [
        ("run.py", ["(default: quick)", "(default: machine,queries,"]),
        ("query_bench.py", ["(default: 1000000)", "(default: 7)"]),
        ("store_bench.py", ["(default: embedded,virtuoso,native)", "(default: 1)"]),
        ("validation_bench.py", ["(default: 10000,100000)"]),
        ("web_bench.py", ["(default: 5.0)", "(default: 1,8,32)"]),
        ("soak.py", ["(default: 10.0)", "(default: 4)"]),
    ],
)
def test_help_names_the_defaults_once(script, shown):
    proc = _run(script, "--help")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())  # argparse wraps lines where the terminal ends
    for default in shown:
        assert default in text, (default, text)
    assert "(default: None)" not in text and "(default: False)" not in text
    options = re.split(r" (?=--?[a-z])", text.split("options:", 1)[1])
    assert all(o.count("(default:") <= 1 for o in options), options
