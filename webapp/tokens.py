"""Per-partner upload tokens, stored only as SHA-256 hashes (JSON file, one writer)."""

import hashlib
import hmac
import json
import secrets
from pathlib import Path


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _load(path: Path) -> dict[str, list[str]]:
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


#: The one token holder who is not a partner: who reviews link candidates (views/links.py).
CURATOR = "curator"


def create(path: Path, partner: str) -> str:
    """Make a new token for ``partner``; return it (shown once, only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    data = _load(path)
    data.setdefault(partner, []).append(_hash(token))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return token


def partner_for(path: Path, token: str) -> str | None:
    """The partner a token belongs to, or None (constant-time comparison of hashes)."""
    if not token:
        return None
    wanted = _hash(token)
    found = None
    for partner, hashes in _load(path).items():
        for h in hashes:
            if hmac.compare_digest(h, wanted):
                found = partner
    return found
