"""Per-partner upload tokens, stored only as SHA-256 hashes (JSON file).

Every change (create, revoke) holds an exclusive lock on ``<file>.lock`` beside the file
around its read-change-write, so commands run at once lose no token; the file is replaced
whole from a temporary file (0600 until given the old file's owner, group and mode), so
readers never see half of it.
"""

import fcntl
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokensError(ValueError):
    """The tokens file is not what ``create`` writes; the message names it and what to do."""


def load(path: Path) -> dict[str, list[str]]:
    """Partner ids and their token hashes; {} when the file does not exist."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _not_tokens(path, f"it is not JSON ({exc})") from None
    except OSError as exc:  # unreadable (permissions, a folder): an OSError went to a 500
        raise TokensError(f"cannot read the tokens file {path}: {exc.strerror}") from None
    # Anything but partner ids mapped to lists of hashes ended in an AttributeError.
    if not isinstance(data, dict) or not all(
        isinstance(hashes, list) and all(isinstance(h, str) for h in hashes)
        for hashes in data.values()
    ):
        raise _not_tokens(path, "it must be a JSON object of partner ids and lists of hashes")
    return data


def _not_tokens(path: Path, why: str) -> TokensError:
    return TokensError(
        f"{path} is not a tokens file: {why}; repair it, or move it away and create the "
        "tokens again with 'clusterpolisee token create'"
    )


#: The one token holder who is not a partner: who reviews link candidates (views/links.py).
CURATOR = "curator"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``path``'s tokens (a lock file beside it)."""
    if not path.parent.is_dir():  # a typo made whole folders (mkdir parents=True) before
        raise TokensError(f"the folder {path.parent} does not exist; create it first")
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write(path: Path, data: dict[str, list[str]]) -> None:
    """Replace ``path`` whole; the temporary file is unique and private from its creation,
    and takes the replaced file's owner, group and mode (``_keep_access``) before it has any
    content: a 0640 file readable by the server's group stayed 0600 after `token create`,
    and every upload then got a 503. A new file stays 0600."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        _keep_access(fd, path)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(data, indent=1, sort_keys=True))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _keep_access(fd: int, path: Path) -> None:
    """Give the open file ``fd`` the owner, group and permission bits of ``path``, as far as
    this user may: the owner only for root (PermissionError otherwise, ignored); the group
    when this user is in it. When the group cannot be kept, the group's permissions are not
    given to this user's own group instead. Nothing when ``path`` does not exist."""
    try:
        old = os.stat(path)
    except FileNotFoundError:
        return
    mode = old.st_mode & 0o7777
    try:
        os.fchown(fd, old.st_uid, old.st_gid)
    except PermissionError:
        with suppress(PermissionError):
            os.fchown(fd, -1, old.st_gid)
    if os.fstat(fd).st_gid != old.st_gid:
        mode &= ~0o070
    os.fchmod(fd, mode)


def _change(path: Path, edit: Callable[[dict[str, list[str]]], bool]) -> None:
    """Read, ``edit`` in place and, when it says it changed them, write the tokens; all
    under the lock."""
    with _locked(path):
        data = load(path)
        if edit(data):
            _write(path, data)


def create(path: Path, partner: str) -> str:
    """Make a new token for ``partner``; return it (shown once, only its hash is kept)."""
    token = secrets.token_urlsafe(32)

    def edit(data: dict[str, list[str]]) -> bool:
        data.setdefault(partner, []).append(_hash(token))
        return True

    _change(path, edit)
    return token


def revoke(path: Path, partner: str, prefix: str = "") -> int:
    """Remove ``partner``'s tokens, or only the one whose hash starts with ``prefix``;
    return how many were removed. A prefix that fits several hashes removes none."""
    removed = 0

    def edit(data: dict[str, list[str]]) -> bool:
        nonlocal removed
        hashes = data.get(partner, [])
        gone = [h for h in hashes if h.startswith(prefix.lower())]
        if prefix and len(gone) > 1:
            raise TokensError(
                f"the prefix {prefix!r} fits {len(gone)} tokens of {partner}; give more of it"
            )
        kept = [h for h in hashes if h not in gone]
        if kept:
            data[partner] = kept
        else:
            data.pop(partner, None)
        removed = len(gone)
        return removed > 0

    _change(path, edit)
    return removed


def partner_for(path: Path, token: str) -> str | None:
    """The partner a token belongs to, or None (constant-time comparison of hashes)."""
    if not token:
        return None
    wanted = _hash(token)
    found = None
    for partner, hashes in load(path).items():
        for h in hashes:
            if hmac.compare_digest(h, wanted):
                found = partner
    return found
