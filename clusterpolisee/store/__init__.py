"""The store: one interface, an embedded Oxigraph backend (default) and a remote SPARQL 1.1
backend (Virtuoso in the tests)."""

import os

from .base import QueryTimeout, Store, StoreError
from .oxigraph import OxigraphStore

__all__ = ["Store", "StoreError", "QueryTimeout", "OxigraphStore", "open_store"]


def open_store(
    path: str | None = None, endpoint: str | None = None, read_only: bool = False
) -> Store:
    """Open the remote store at ``endpoint`` or the embedded one at ``path``.

    ``CLUSTERPOLISEE_ENDPOINT`` (set by the CLI's ``--endpoint``) selects the remote backend
    even when a path is given, so every command honours it; without it the embedded store at
    ``path`` / ``CLUSTERPOLISEE_STORE`` / ``var/store`` is used. ``read_only`` only applies to
    the embedded store (a remote server's rights come from its credentials).
    """
    if endpoint is None:
        endpoint = os.environ.get("CLUSTERPOLISEE_ENDPOINT") or None
    if endpoint:
        from .remote import open_remote

        return open_remote(endpoint)
    from ..paths import DEFAULT_STORE

    return OxigraphStore(path or DEFAULT_STORE, read_only=read_only)
