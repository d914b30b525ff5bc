"""Where the project's sources of truth live on disk.

The package is installed in editable mode from the checkout, so the checkout root is the
parent of this package. ``CLUSTERPOLISEE_HOME`` overrides it (e.g. for an installed copy).
"""

import os
from pathlib import Path

ROOT = Path(os.environ.get("CLUSTERPOLISEE_HOME", Path(__file__).resolve().parent.parent))
ONTOLOGY_DIR = ROOT / "ontology"
ONTOLOGY_FILE = ONTOLOGY_DIR / "clusterpolisee.ttl"
SCHEMES_DIR = ONTOLOGY_DIR / "schemes"
SHAPES_DIR = ROOT / "shapes"
REFERENCE_DIR = ROOT / "data" / "reference"
PARTNERS_DIR = ROOT / "data" / "partners"
QUERIES_DIR = ROOT / "queries"
DEFAULT_STORE = Path(os.environ.get("CLUSTERPOLISEE_STORE", ROOT / "var" / "store"))


def ontology_files() -> list[Path]:
    """The ontology file followed by every SKOS scheme file, in a stable order."""
    return [ONTOLOGY_FILE, *sorted(SCHEMES_DIR.glob("*.ttl"))]


def reference_files() -> list[Path]:
    return sorted(REFERENCE_DIR.glob("*.ttl"))
