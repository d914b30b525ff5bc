"""Default settings; ``create_app(config)`` overrides any of them."""

import os
import secrets

from clusterpolisee import namespaces, paths

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
    "QUERY_TIMEOUT": float(os.environ.get("CLUSTERPOLISEE_QUERY_TIMEOUT", "10")),
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
    "SECRET_KEY": os.environ.get("CLUSTERPOLISEE_SECRET_KEY") or secrets.token_hex(32),
}
