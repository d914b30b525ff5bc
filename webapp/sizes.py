"""Estimates of the memory a cached value holds, for the byte budgets of the caches.

Query workers estimate their own answers (``result_bytes``) and send the figure with them,
so the serving process does not walk every term of a large result while holding its GIL.
"""

import sys
from typing import Any

import pyoxigraph as ox

#: Memory of one pyoxigraph term besides its text (measured: ~110 bytes on CPython 3.11).
TERM_BYTES = 112
EMPTY_LIST, POINTER = sys.getsizeof([]), sys.getsizeof((0,)) - sys.getsizeof(())
#: A result object itself, without its parts.
RESULT_BYTES = 100


def nbytes(value: Any, seen: set[int] | None = None) -> int:
    """Containers by ``sys.getsizeof``, pyoxigraph terms and triples by their text plus a
    fixed overhead per term. An object held in several places (the workers send each
    distinct term once) counts once."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, dict):
        items = value.items()
        return sys.getsizeof(value) + sum(nbytes(k, seen) + nbytes(v, seen) for k, v in items)
    if isinstance(value, list):
        # Without the spare capacity, which depends on how the list was built: a sorted
        # slice in the worker has none, the same rows unpickled by the server have some.
        return EMPTY_LIST + POINTER * len(value) + sum(nbytes(x, seen) for x in value)
    if isinstance(value, tuple | set):
        return sys.getsizeof(value) + sum(nbytes(x, seen) for x in value)
    if isinstance(value, str | bytes | int | float | bool) or value is None:
        return sys.getsizeof(value)
    if isinstance(value, ox.Triple | ox.Quad):
        return 4 * TERM_BYTES + len(str(value))
    return TERM_BYTES + len(str(value))


def result_bytes(*parts: Any) -> int:
    """A query result from its parts (variables, rows, triples, labels), shared terms once."""
    seen: set[int] = set()
    return RESULT_BYTES + sum(nbytes(part, seen) for part in parts)
