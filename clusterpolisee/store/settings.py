"""The store configuration file (``CLUSTERPOLISEE_STORE_CONFIG``): read in one place, for the
choice of backend and for the remote store's settings."""

import configparser

from .base import StoreError


def remote_section(path: str) -> dict[str, str]:
    """The ``[remote]`` section of the INI file at ``path``, values as written ({} without
    the section). No ``%`` interpolation: a password may hold ``%``, and an interpolation
    error printed it. A broken file is a StoreError that quotes none of its lines (they may
    hold the password)."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        if not parser.read(path, encoding="utf-8"):
            raise StoreError(f"cannot read the store configuration file {path}")
        return dict(parser["remote"]) if parser.has_section("remote") else {}
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise StoreError(
            f"the store configuration file {path} is not a valid INI file "
            f"({type(exc).__name__}); see README, 'Store'"
        ) from None
