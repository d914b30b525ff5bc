"""Pause Python's cyclic garbage collector while a submission is parsed and validated, or
while an embedded-store answer is turned into rows.

Parsing and validating a large submission creates millions of objects (terms, and the lists
and dicts that index them) and no reference cycles. Each time the youngest generation fills,
the collector runs, and its full passes walk every tracked object again: measured on the
reference machine, a 1,000,000-triple submission spent 3-4 s of its 42 s there (parsing 6.7-8.4
s with the collector, 4.2-4.8 s without). Reference counting still frees everything as usual;
only cycle detection waits until the pause ends. The pause is process-wide (the collector has
no other switch): in the web app, cyclic garbage from other requests waits too, for as long as
uploads are being parsed and validated, which the upload size limit bounds (50 MB: about 40 s),
and while the reasoning step runs after an accepted upload (which also pauses it: about 20 s
at 1M triples in the store, minutes at 10M).
Turning a query's answer into rows (dicts of terms), and sorting them, pauses it for as
long as the query runs: in the web app's query workers that is under the time limit, but
the selects the serving process runs itself (link counts for the catalogue, link review,
submission checks) have none, and overlapping ones keep the collector off until the last
one ends. The serving process also pauses it while it reads a worker's answer off the pipe
(unpickling 10,000 rows).
"""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0  # pauses in progress (uploads may overlap: the last one to end resumes)
_was_enabled = False


@contextmanager
def paused_collection() -> Iterator[None]:
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
