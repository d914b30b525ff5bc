"""`clusterpolisee serve`: the web app under waitress (a production WSGI server)."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def serve(store_path: Path, host: str, port: int, threads: int = 8, **config) -> None:
    """Serve until interrupted. The serving process is the store's one writer (uploads);
    query workers open it read-only."""
    import signal
    import sys

    import waitress

    from webapp import close_app, create_app

    # Warnings as before; the web app's own notes (warm-up, recycled workers) too.
    logging.basicConfig(format="%(asctime)s %(name)s: %(message)s", level=logging.WARNING)
    logging.getLogger("webapp").setLevel(logging.INFO)
    app = create_app({"STORE_PATH": str(store_path), **config})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        _warn_stale_keys(app)
        waitress.serve(app, host=host, port=port, threads=threads, ident="clusterpolisee")
    finally:
        close_app(app)


def _warn_stale_keys(app: "Flask") -> None:
    """Log once when the store's search keys are not today's folding: searches then miss
    labels without a word, and only `materialise` mends it (a long-lived store is not rebuilt
    by an upgrade). Through the app's engine, so the search page's own check finds the
    answer in its cache."""
    from webapp.access import EngineStore
    from webapp.database import EngineError

    from .reasoning.keycheck import STALE, stale_search_keys

    try:
        check = stale_search_keys(EngineStore(app.extensions["cpo.db"]))
    except EngineError as exc:  # advisory: never keeps the server from starting
        logging.getLogger(__name__).warning("could not check the search keys: %s", exc)
        return
    if not check.ok:
        logging.getLogger(__name__).warning(
            "%s (%d of %d labels checked, e.g. %r)",
            STALE,
            len(check.stale),
            check.sampled,
            check.stale[0],
        )
