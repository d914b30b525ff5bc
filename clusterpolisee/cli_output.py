"""Writing an answer in a data format (CSV, JSON, Turtle ...) to standard output.

Those formats are UTF-8 by their definitions, so they are written as UTF-8 bytes whatever the
terminal's encoding: a redirected Windows console is cp1252, which has no "ș", and the
command stopped with a traceback. Text for reading (tables, messages) keeps the terminal's
encoding, with "?" for what it lacks (``cli.main``).
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, NoReturn

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


def reader_gone() -> NoReturn:
    """End with exit 0 and no message: standard output's reader stopped reading (``| head``),
    which is a normal end, not a failure. Standard output goes to /dev/null first, so the
    flush at exit does not print a BrokenPipeError of its own. ``cli._Main`` calls this for a
    BrokenPipeError from any command (click made it exit 1, a command that caught OSError
    "error: [Errno 32] Broken pipe" and exit 2)."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(0)


@contextmanager
def replacing(path: Path) -> Iterator[IO[bytes]]:
    """``path`` to write, written beside it and renamed into place at the end: a failed or
    interrupted (Ctrl+C) write leaves the file that was there, and no part of a new one."""
    part = path.with_name(f".{path.name}.part")
    try:
        with part.open("wb") as fh:
            yield fh
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)


def write_file(path: Path, data: bytes) -> None:
    """``data`` into ``path``, written beside it and renamed into place: a failed write
    leaves the file that was there."""
    with replacing(path) as fh:
        fh.write(data)


def cannot_write(path: Path, exc: OSError) -> NoReturn:
    """Exit 2 with one line: ``path`` cannot be written, and why."""
    click.echo(f"error: cannot write {path}: {exc.strerror or exc}", err=True)
    sys.exit(2)


def check_writable(path: Path) -> None:
    """Exit 2 (``cannot_write``'s line) when ``path`` plainly cannot be written: a folder, or
    one in a folder that does not exist or this user cannot write to. Checked before the
    work whose result it is to hold (a query, a link run that changes the store); the write
    itself is still checked (a full disk)."""
    import errno

    folder = path.parent
    if path.is_dir():
        cannot_write(path, OSError(errno.EISDIR, "it is a folder"))
    if not folder.is_dir():
        cannot_write(path, OSError(errno.ENOENT, f"no folder {folder}"))
    if not os.access(folder, os.W_OK | os.X_OK):  # written beside it, then renamed
        cannot_write(path, OSError(errno.EACCES, f"the folder {folder} cannot be written"))


def write_output(data: bytes, output: Path | None) -> None:
    """``data`` to the file ``output``, or to standard output; exit 2 when the file cannot be
    written (the answer is lost, as when the work fails)."""
    if output is None:
        write_bytes(data)
        return
    try:
        write_file(output, data)
    except OSError as exc:
        cannot_write(output, exc)
