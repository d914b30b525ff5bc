"""Default settings; ``create_app(config)`` overrides any of them."""

import math
import os
import secrets

from clusterpolisee import namespaces, paths
from clusterpolisee.paths import ConfigError

#: The longest query time limit, as the commands' --timeout and the remote store take (a day).
LONGEST_TIMEOUT = 86_400.0
#: The shortest CLUSTERPOLISEE_SECRET_KEY taken: it signs the session cookie, which carries
#: the upload form's CSRF token (32 characters: what ``secrets.token_hex(16)`` makes).
SHORTEST_SECRET_KEY = 32


def query_timeout() -> float:
    """CLUSTERPOLISEE_QUERY_TIMEOUT (seconds, default 10), checked: a ConfigError naming the
    variable unless it is a finite number above 0, at most LONGEST_TIMEOUT."""
    text = os.environ.get("CLUSTERPOLISEE_QUERY_TIMEOUT") or "10"  # empty: unset
    try:
        seconds = float(text.strip())
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= LONGEST_TIMEOUT):
        raise ConfigError(
            "CLUSTERPOLISEE_QUERY_TIMEOUT must be a number of seconds above 0, at most "
            f"{LONGEST_TIMEOUT:,.0f} (got {text!r})"
        )
    return seconds


def secret_key() -> str | None:
    """CLUSTERPOLISEE_SECRET_KEY, or None when unset or empty (a random key per process);
    a ConfigError naming the variable (never its value) when it is shorter than
    SHORTEST_SECRET_KEY characters: a 1-character key let anyone sign a session cookie."""
    key = os.environ.get("CLUSTERPOLISEE_SECRET_KEY") or None
    if key is not None and len(key) < SHORTEST_SECRET_KEY:
        raise ConfigError(
            f"CLUSTERPOLISEE_SECRET_KEY must be at least {SHORTEST_SECRET_KEY} characters "
            f"(it has {len(key)}); make one with: python3 -c 'import secrets; "
            "print(secrets.token_hex(32))', or unset it for a random key per process"
        )
    return key


def check() -> None:
    """Raise ConfigError for the first environment setting of the app that cannot be used.
    ``serve`` calls it before it starts; ``import webapp`` does not raise (the ``token``
    commands import it and need neither setting), so DEFAULTS falls back to safe values."""
    query_timeout()
    secret_key()


def _or_none(read):
    try:
        return read()
    except ConfigError:
        return None


# The largest file the web upload takes: a fifth of the CLI's (rdfio.DEFAULT_MAX_BYTES),
# because the serving process parses and validates it itself while it serves (1M triples,
# 41 MB, peak at 1.5 GB in the submission benchmark, and a server of 10M triples uses 1.4 GB).
UPLOAD_LIMIT = 10_000_000
# The upload form around the file (token, CSRF token, multipart framing): a few hundred bytes,
# allowed on top of the file so that a file of the size limit still fits in the request.
FORM_ALLOWANCE = 64 * 1024

DEFAULTS: dict = {
    "STORE_PATH": str(paths.DEFAULT_STORE),
    # IRIs {BASE}id/... are answered under /id/...
    "BASE": namespaces.BASE,
    # Query limits of the public endpoint and every page.
    # (CLUSTERPOLISEE_QUERY_TIMEOUT; one that cannot be used: 10 here, refused by check()).
    "QUERY_TIMEOUT": _or_none(query_timeout) or 10.0,
    "ROW_LIMIT": 10000,
    "PAGE_SIZE": 100,
    "WORKERS": 3,
    # Address-space cap of each query worker (MB); a query that needs more ends its worker.
    "WORKER_MEMORY_MB": 4096,
    # Query results kept for the current data version: at most this many, and CACHE_MB in all.
    "CACHE_SIZE": 256,
    "CACHE_MB": 64,
    # Run every stored question with its defaults in the background after start and after
    # each new data version, so first visitors read cached results (webapp.warmup; `serve`
    # turns it on, --no-warm off; needs CACHE_SIZE > 0).
    "WARM_QUERIES": False,
    # Rendered pages kept for the current data version (0 turns the page cache off).
    "PAGE_CACHE_SIZE": 512,
    "PAGE_CACHE_MB": 64,
    # A query worker whose resident memory passes this (MB) after a job is replaced.
    "WORKER_RECYCLE_MB": 512,
    # Query workers run this much nicer than the serving process, so a long query takes the
    # CPU the pages leave (0: the same priority). Time limits are wall-clock: on a machine
    # kept busy by other work, a nice worker gets less of it.
    "WORKER_NICE": 10,
    # A query that has run this many seconds is stopped while the app answers other requests
    # and continued when it has none (webapp/pausing.py; 0: never stopped).
    "PAUSE_LONG_QUERIES": 0.25,
    # SERVICE endpoints a federated query may call (exact IRIs).
    "SERVICE_ALLOWLIST": (),
    # Reverse proxies in front of the server whose X-Forwarded-For/-Proto/-Host/-Prefix are
    # believed (the last N of each): this server's own URLs (VoID, the service description,
    # links) then name the public address, and the access log the client. 0: ignored, as
    # any client could send them.
    "TRUSTED_PROXIES": 0,
    # The serving process is the one writer (uploads); False opens the store read-only.
    "WRITABLE": True,
    "TOKENS_FILE": str(paths.ROOT / "var" / "tokens.json"),
    # Largest request (werkzeug answers 413 past it, /submit with the limit in words): a file
    # of the upload limit and the form around it.
    "MAX_CONTENT_LENGTH": UPLOAD_LIMIT + FORM_ALLOWANCE,
    # The session holds only the CSRF token of the upload form.
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_HTTPONLY": True,
    # Signs the session cookie; random per process unless set (forms then expire on restart).
    # A key too short to keep is never used: random here, refused by check() (serve).
    "SECRET_KEY": _or_none(secret_key) or secrets.token_hex(32),
}
