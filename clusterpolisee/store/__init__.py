"""The store: one interface, an embedded Oxigraph backend (default) and a remote SPARQL 1.1
backend (Virtuoso in the tests)."""

import os

from .base import QueryTimeout, Store, StoreError
from .oxigraph import OxigraphStore
from .settings import remote_section

__all__ = [
    "Store",
    "StoreError",
    "QueryTimeout",
    "OxigraphStore",
    "open_store",
    "configured_endpoint",
]


def configured_endpoint() -> str | None:
    """The remote store's query endpoint, if one is set: ``CLUSTERPOLISEE_ENDPOINT`` (which
    the CLI's ``--endpoint`` sets), else ``endpoint`` under ``[remote]`` in the file named by
    ``CLUSTERPOLISEE_STORE_CONFIG``; None selects the embedded store. Raises StoreError when
    that file cannot be read (falling back to the embedded store would write elsewhere)."""
    if os.environ.get("CLUSTERPOLISEE_ENDPOINT"):
        return os.environ["CLUSTERPOLISEE_ENDPOINT"]
    path = os.environ.get("CLUSTERPOLISEE_STORE_CONFIG")
    if not path:
        return None
    return remote_section(path).get("endpoint") or None


def open_store(
    path: str | None = None, endpoint: str | None = None, read_only: bool = False
) -> Store:
    """Open the remote store at ``endpoint`` or the embedded one at ``path``.

    A configured endpoint (``configured_endpoint``: ``--endpoint``, then
    ``CLUSTERPOLISEE_ENDPOINT``, then the ``[remote]`` section of
    ``CLUSTERPOLISEE_STORE_CONFIG``) selects the remote backend even when a path is given, so
    every command honours it; without one the embedded store at ``path`` /
    ``CLUSTERPOLISEE_STORE`` / ``var/store`` is used. ``read_only`` only applies to the
    embedded store (a remote server's rights come from its credentials).
    """
    if endpoint is None:
        endpoint = configured_endpoint()
    if endpoint:
        from .remote import open_remote

        return open_remote(endpoint)
    from ..paths import DEFAULT_STORE

    return OxigraphStore(path or DEFAULT_STORE, read_only=read_only)
