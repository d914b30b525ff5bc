"""Per-partner upload tokens, stored only as SHA-256 hashes (JSON file, one writer)."""

import hashlib
import hmac
import json
import secrets
from pathlib import Path


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokensError(ValueError):
    """The tokens file is not what ``create`` writes; the message names it and what to do."""


def _load(path: Path) -> dict[str, list[str]]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _not_tokens(path, f"it is not JSON ({exc})") from None
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
