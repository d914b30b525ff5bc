"""How a worker's answer crosses the pipe to the serving process.

Pickle writes a pyoxigraph triple as three fresh term objects, so a graph answer writes the
subjects and predicates it repeats again and again: 10,000 triples of ``region-profile`` at
1M took 70 ms to pickle and 42 ms to unpickle (2.1 MB), the second part in the serving
process. Sent as tuples of shared terms, each distinct term is written once and referred back
to (4 + 4 ms, 0.3 MB), and rebuilding the triples takes 6 ms. Rows of a SELECT answer are
shared this way where they are built (worker._batches).
"""

from typing import Any

import pyoxigraph as ox

#: The keys of a worker's answer that hold lists of triples (query, graph and describe jobs).
TRIPLE_KEYS = ("triples", "out", "in", "hash")


def pack(payload: dict) -> dict:
    """The answer with its triples as (subject, predicate, object) of shared term objects."""
    same: dict[Any, Any] = {}
    for key in TRIPLE_KEYS:
        if key in payload:
            payload[key] = [
                (same.setdefault(s, s), same.setdefault(p, p), same.setdefault(o, o))
                for s, p, o in payload[key]
            ]
    return payload


def unpack(payload: dict) -> dict:
    """The answer with its triples as pyoxigraph triples again."""
    for key in TRIPLE_KEYS:
        if key in payload:
            payload[key] = [ox.Triple(*t) for t in payload[key]]
    return payload
