"""Link discovery: match our clusters and organisations against other databases' lists,
propose candidates with score and evidence, and record reviewed links in graph/links."""

from dataclasses import dataclass

from ..store import Store
from .candidates import (
    CANDIDATES_GRAPH,
    LINKS_GRAPH,
    Candidate,
    ReviewError,
    Run,
    decided_pairs,
    linked_ends,
    load,
    review,
    save_proposals,
    withdraw,
)
from .local import TYPES, Places, Sectors, load_entities
from .match import Match, match
from .records import ExternalRecord, SourceError, is_ours

__all__ = [
    "CANDIDATES_GRAPH",
    "LINKS_GRAPH",
    "Candidate",
    "Discovery",
    "ExternalRecord",
    "Match",
    "ReviewError",
    "Run",
    "SourceError",
    "discover",
    "discovery",
    "load",
    "review",
    "withdraw",
    "save_proposals",
]


@dataclass
class Discovery:
    """The candidates of one run, and how many records and entities it left out."""

    candidates: list[Candidate]
    ours: int = 0  # external records whose id is one of our own IRIs
    linked_records: int = 0  # external records already linked to one of ours
    linked_entities: int = 0  # our entities already linked to this source


def discovery(
    store: Store, records: list[ExternalRecord], kind: str, source: str, threshold: float
) -> Discovery:
    """``discover`` with the counts of what was left out: records that are our own IRIs,
    and (links being one-to-one) records and entities already in an accepted link."""
    if kind not in TYPES:
        raise ValueError(f"unknown type {kind!r}; use one of {', '.join(TYPES)}")
    existing = load(store)
    linked_ours, linked_theirs = linked_ends(existing, source)
    theirs = [r for r in records if not is_ours(r.iri)]
    free = [r for r in theirs if r.iri not in linked_theirs]
    entities = load_entities(store, kind)
    unlinked = [e for e in entities if e.iri not in linked_ours]
    found = match(unlinked, free, Places(store), Sectors(), decided_pairs(existing))
    candidates = [
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
    left_out = len(records) - len(theirs), len(theirs) - len(free), len(entities) - len(unlinked)
    return Discovery(candidates, *left_out)


def discover(
    store: Store, records: list[ExternalRecord], kind: str, source: str, threshold: float
) -> list[Candidate]:
    """Candidates scoring at least ``threshold`` for ``records`` against our entities of
    ``kind`` ('cluster' or 'organisation'), best first; pairs already accepted or rejected
    are not proposed again, nor records whose id is one of our own IRIs, nor records and
    entities already in an accepted link (to this source, for ours)."""
    return discovery(store, records, kind, source, threshold).candidates
