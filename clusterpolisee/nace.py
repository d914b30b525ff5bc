"""NACE Rev.2 codes and the EU's IRIs for them: the one place that knows how a code as the
regulation writes it ("C", "29", "29.1", "29.10") becomes an IRI, and which section each
division belongs to.

The Publications Office's NACE Rev.2 vocabulary (concept scheme
http://data.europa.eu/ux2/nace2/nace2) names a section by its letter (.../nace2/C), a
division by its two digits (.../nace2/29) and a group or class by its code without the dot
(29.1 -> .../nace2/291, 29.10 -> .../nace2/2910). Unrelated projects link so (Norway's
Brønnøysund register in the STIRData model, .../nace2/8411; a Swiss NOGA-to-NACE mapping,
.../nace2/6201 and .../nace2/J); we could not dereference the IRIs from here (no network).

Before 2026-12-07 we wrote a section letter before the division and kept the dot
(.../nace2/C29, .../nace2/C29.1): IRIs the EU never minted. Submissions in that former form
are still read, as the current one (:func:`current_iri`, used by rdfio and the templates).
"""

import re

NAMESPACE = "http://data.europa.eu/ux2/nace2/"

# Each section's first and last division (Regulation (EC) No 1893/2006, Annex I); the
# shapes' sh:pattern for cpo:sector lists the same divisions.
_SECTIONS = {
    "A": (1, 3),
    "B": (5, 9),
    "C": (10, 33),
    "D": (35, 35),
    "E": (36, 39),
    "F": (41, 43),
    "G": (45, 47),
    "H": (49, 53),
    "I": (55, 56),
    "J": (58, 63),
    "K": (64, 66),
    "L": (68, 68),
    "M": (69, 75),
    "N": (77, 82),
    "O": (84, 84),
    "P": (85, 85),
    "Q": (86, 88),
    "R": (90, 93),
    "S": (94, 96),
    "T": (97, 98),
    "U": (99, 99),
}
#: The section letter of each division ("29" -> "C").
SECTION_OF = {
    f"{d:02d}": letter
    for letter, (first, last) in _SECTIONS.items()
    for d in range(first, last + 1)
}

# A code as people write it: a section letter, a division, or both ("C29", the form we used
# to write), then a group or class after a dot ("29.1", "29.10"; a group may be 0, as in 62.0).
_WRITTEN = re.compile(r"([A-U])?(?:([0-9]{2})(?:\.([0-9]{1,2}))?)?")
# The former IRI form's local name: always a letter and a division ("C29", "C29.10").
_FORMER = re.compile(r"[A-U][0-9]{2}(?:\.[0-9]{1,2})?")


def local_name(code: str) -> str | None:
    """The EU's local name for a code as written ("C" -> "C", "29" and "C29" -> "29",
    "29.1" -> "291", "C29.10" -> "2910"), or None when it is no NACE code, or names a letter
    that is not the division's own section ("J29"): guessing which of the two was meant
    would file the cluster under a sector its partner did not choose."""
    m = _WRITTEN.fullmatch(code)
    if not m or not code:
        return None
    letter, division, rest = m.groups()
    if division is None:
        return letter
    if SECTION_OF.get(division) is None or letter not in (None, SECTION_OF[division]):
        return None
    return division + (rest or "")


def code_iri(code: str) -> str | None:
    """The IRI of a code as written (see :func:`local_name`), or None."""
    name = local_name(code)
    return None if name is None else NAMESPACE + name


def current_iri(iri: str) -> str | None:
    """The current IRI for one in the former form (.../nace2/C29 -> .../nace2/29,
    .../nace2/C29.1 -> .../nace2/291), or None for any other IRI, a current one included. A
    letter that is not the division's section (.../nace2/J29) is left alone, so the shape
    refuses it with its message."""
    if not iri.startswith(NAMESPACE):
        return None
    former = iri[len(NAMESPACE) :]
    return code_iri(former) if _FORMER.fullmatch(former) else None
