"""Writing an answer in a data format (CSV, JSON, Turtle ...) to standard output.

Those formats are UTF-8 by their definitions, so they are written as UTF-8 bytes whatever the
terminal's encoding: a redirected Windows console is cp1252, which has no "ș", and the
command stopped with a traceback. Text for reading (tables, messages) keeps the terminal's
encoding, with "?" for what it lacks (``cli.main``).
"""

import sys
from pathlib import Path

import click


def write_data(text: str, nl: bool = False) -> None:
    """``text`` (plus a line break with ``nl``) to standard output as UTF-8."""
    data = text + "\n" if nl else text
    if getattr(sys.stdout, "buffer", None) is None:  # text only: it chose its encoding
        click.echo(data, nl=False)
        return
    write_bytes(data.encode("utf-8"))


def write_bytes(data: bytes) -> None:
    """``data`` (UTF-8 text, a workbook) to standard output as it is."""
    sys.stdout.flush()  # anything already written as text goes first
    out = getattr(sys.stdout, "buffer", None)
    if out is None:  # a stream of text only: click writes bytes to what lies beneath
        click.echo(data, nl=False)
        return
    out.write(data)
    out.flush()


def write_file(path: Path, data: bytes) -> None:
    """``data`` into ``path``, written beside it and renamed into place: a failed write
    leaves the file that was there."""
    part = path.with_name(f".{path.name}.part")
    try:
        part.write_bytes(data)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
