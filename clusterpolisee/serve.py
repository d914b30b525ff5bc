"""`clusterpolisee serve`: the web app under waitress (a production WSGI server)."""

from pathlib import Path


def serve(store_path: Path, host: str, port: int, threads: int = 8, **config) -> None:
    """Serve until interrupted. The serving process is the store's one writer (uploads);
    query workers open it read-only."""
    import logging
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
        waitress.serve(app, host=host, port=port, threads=threads, ident="clusterpolisee")
    finally:
        close_app(app)
