"""The store: one interface, an embedded Oxigraph backend (default)."""

from .base import Store, StoreError
from .oxigraph import OxigraphStore

__all__ = ["Store", "StoreError", "OxigraphStore", "open_store"]


def open_store(path: str | None = None, read_only: bool = False) -> Store:
    """Open the embedded store at ``path`` (default ``var/store``)."""
    from ..paths import DEFAULT_STORE

    return OxigraphStore(path or DEFAULT_STORE, read_only=read_only)
