"""The message when the embedded store cannot be opened names the cause: a full disk, the
one-writer lock, or the error itself (issue 9)."""

import errno
import subprocess
import sys
from pathlib import Path

import pytest

from clusterpolisee.store import OxigraphStore, StoreError
from clusterpolisee.store.oxigraph import open_error

LOCK_HINT = "Only one process may open it read-write"
OPEN_IN_CHILD = """
import sys
from clusterpolisee.store import OxigraphStore, StoreError
try:
    OxigraphStore(sys.argv[1])
except StoreError as exc:
    print(exc)
    sys.exit(3)
"""


def test_second_writer_process_gets_the_lock_hint(tmp_path: Path):
    with OxigraphStore(tmp_path / "store"):
        proc = subprocess.run(
            [sys.executable, "-c", OPEN_IN_CHILD, str(tmp_path / "store")],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert LOCK_HINT in proc.stdout
    # the usual other writer is the server: the operator's session had to guess it
    assert "a running `clusterpolisee serve` holds it: upload through its /submit page" in (
        proc.stdout
    )
    assert "No space left" not in proc.stdout


def test_second_writer_in_the_same_process_gets_the_lock_hint(tmp_path: Path):
    with OxigraphStore(tmp_path / "store"), pytest.raises(StoreError, match=LOCK_HINT):
        OxigraphStore(tmp_path / "store")


# RocksDB's own wording when the disk fills while it opens the store (seen on a full tmpfs).
ROCKSDB_FULL = "IO error: While appending to file: /s/MANIFEST-000005: No space left on device"


@pytest.mark.parametrize(
    "exc",
    [OSError(ROCKSDB_FULL), OSError(errno.ENOSPC, "No space left on device")],
    ids=["rocksdb-text", "errno"],
)
def test_full_disk_message_has_no_lock_hint(exc: OSError):
    message = open_error(Path("/s"), exc)
    assert message.startswith("No space left on device for the store at /s: free some space")
    assert "nothing was changed" in message
    assert LOCK_HINT not in message


def test_other_errors_are_reported_as_they_are(tmp_path: Path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(StoreError) as caught:
        OxigraphStore(not_a_dir)
    assert str(caught.value).startswith(f"cannot open the store at {not_a_dir}: ")
    assert LOCK_HINT not in str(caught.value) and "No space" not in str(caught.value)
