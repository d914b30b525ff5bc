"""Link discovery: match our clusters and organisations against other databases' lists,
propose candidates with score and evidence, and record reviewed links in graph/links."""

from ..store import Store
from .candidates import (
    CANDIDATES_GRAPH,
    LINKS_GRAPH,
    Candidate,
    ReviewError,
    decided_pairs,
    load,
    review,
    save_proposals,
)
from .local import TYPES, Places, Sectors, load_entities
from .match import Match, match
from .records import ExternalRecord, SourceError

__all__ = [
    "CANDIDATES_GRAPH",
    "LINKS_GRAPH",
    "Candidate",
    "ExternalRecord",
    "Match",
    "ReviewError",
    "SourceError",
    "discover",
    "load",
    "review",
    "save_proposals",
]


def discover(
    store: Store, records: list[ExternalRecord], kind: str, source: str, threshold: float
) -> list[Candidate]:
    """Candidates scoring at least ``threshold`` for ``records`` against our entities of
    ``kind`` ('cluster' or 'organisation'), best first; pairs already accepted or rejected
    are not proposed again."""
    if kind not in TYPES:
        raise ValueError(f"unknown type {kind!r}; use one of {', '.join(TYPES)}")
    entities = load_entities(store, kind)
    skip = decided_pairs(load(store))
    found = match(entities, records, Places(store), Sectors(store), skip)
    return [
        Candidate(
            m.local.iri,
            m.record.iri,
            m.score,
            m.evidence,
            external_name=m.record.name,
            source=source,
        )
        for m in found
        if m.score >= threshold
    ]
