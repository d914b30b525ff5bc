"""Where the project's sources of truth live on disk.

The package is installed in editable mode from the checkout, so the checkout root is the
parent of this package. ``CLUSTERPOLISEE_HOME`` overrides it (e.g. for an installed copy).
"""

import os
from pathlib import Path


class ConfigError(Exception):
    """A setting from the environment that cannot be used (CLUSTERPOLISEE_BASE,
    CLUSTERPOLISEE_HOME). The CLI prints it as ``error: ...`` and exits 2."""


_HOME_SET = bool(os.environ.get("CLUSTERPOLISEE_HOME"))  # empty: unset
ROOT = Path(os.environ.get("CLUSTERPOLISEE_HOME") or Path(__file__).resolve().parent.parent)
ONTOLOGY_DIR = ROOT / "ontology"
ONTOLOGY_FILE = ONTOLOGY_DIR / "clusterpolisee.ttl"
SCHEMES_DIR = ONTOLOGY_DIR / "schemes"
SHAPES_DIR = ROOT / "shapes"
REFERENCE_DIR = ROOT / "data" / "reference"
PARTNERS_DIR = ROOT / "data" / "partners"
QUERIES_DIR = ROOT / "queries"
DEFAULT_STORE = Path(os.environ.get("CLUSTERPOLISEE_STORE", ROOT / "var" / "store"))


def required_paths() -> list[Path]:
    """What every command may read from the checkout: the ontology, the SHACL shapes, the
    stored questions and the reference data (partner files and schemes are optional)."""
    return [ONTOLOGY_FILE, SHAPES_DIR, QUERIES_DIR, REFERENCE_DIR]


def check_home() -> None:
    """Raise ConfigError unless ROOT is a checkout holding ``required_paths()``. A wrong
    CLUSTERPOLISEE_HOME ended 'submit' in a FileNotFoundError traceback, and 'serve' started
    and then answered 500 on /ontology and /submit and 404 on every stored question."""
    missing = next(
        (p for p in required_paths() if not (p.is_file() if p.suffix else p.is_dir())), None
    )
    if missing is None:
        return
    relative = missing.relative_to(ROOT).as_posix()
    if _HOME_SET:
        where = f"CLUSTERPOLISEE_HOME={ROOT}"
        fix = "set it to the root of a ClusterPoliSEE checkout, or unset it"
    else:
        where = f"{ROOT} (the default CLUSTERPOLISEE_HOME, the package's parent)"
        fix = "set CLUSTERPOLISEE_HOME to the root of a ClusterPoliSEE checkout"
    raise ConfigError(f"{where} is not a ClusterPoliSEE checkout: it has no {relative}; {fix}")


def ontology_files() -> list[Path]:
    """The ontology file followed by every SKOS scheme file, in a stable order."""
    return [ONTOLOGY_FILE, *sorted(SCHEMES_DIR.glob("*.ttl"))]


def reference_files() -> list[Path]:
    return sorted(REFERENCE_DIR.glob("*.ttl"))
