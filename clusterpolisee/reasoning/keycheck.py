"""Whether the stored search keys (``cpo:searchKey``) are the ones ``catalog.fold_text`` gives
today.

The reasoning step stores each label's key, and the search question folds the user's text with
the current ``fold_text``: when the folding changes (dashes became spaces, curly quotes
straight...), a store whose keys an older version wrote misses exact labels without a word
("Emilia-Romagna" found nothing) until ``clusterpolisee materialise`` runs.

The keys are checked against the data itself, not against a recorded fold version: no write
(so it works on a read-only or remote store, and on a store that any former version built or
that a dump restored: graph/meta is never exported), no new term in graph/inferred (which
holds only inferences), and no version to remember to bump when the table changes. It reads a
bounded sample of labels, favouring those whose key a change of the folding most likely moves:
labels with a character that ``fold_text``'s own table maps (dash, curly quote, soft hyphen,
Ł...); so a later change to that table aims the check at the new characters by itself.
"""

from dataclasses import dataclass

# fold_text's own table, so the sample follows what it maps (kept private in catalog).
from ..catalog import _TYPED, fold_text
from ..namespaces import CPO
from ..store.base import Row, Store
from .materialise import RDFS_LABEL

#: Labels with a mapped character compared per check, among at most SCAN labels read: the
#: keys are all written by one run, so a few stale ones tell; at 1M triples (112,638 labels)
#: the check takes 1-10 ms, where comparing 200 took 50-130 ms (the matches are sparse: 264).
SAMPLE = 50
SCAN = 10000
#: Labels compared whatever their characters: a store where the first SCAN labels have
#: none of them is still checked (for keys missing, say).
PLAIN = 20
#: What the CLI, the server's log and the search page say while the keys are stale.
STALE = (
    "the search keys were made by an older version of the program or before the latest "
    "data was loaded, so searches may miss labels; run 'clusterpolisee materialise'"
)


def _spell(c: str) -> str:
    """One character of the class in a SPARQL string: regex-escaped where the class needs
    it, and any but printable ASCII as a SPARQL \\u escape of its four hex digits (so no
    invisible character stands in the query's text)."""
    if c in "\\]-^[":
        return "\\\\" + c
    return c if " " < c < "\x7f" and c != '"' else f"\\u{ord(c):04X}"


def _pattern() -> str:
    """A SPARQL string: a regular-expression class of the characters fold_text maps, in both
    cases (its table holds lower case: it applies after case folding)."""
    chars = {chr(k) for k in _TYPED}
    chars |= {c.upper() for c in chars if len(c.upper()) == 1 and c.upper().casefold() == c}
    return '"[' + "".join(_spell(c) for c in sorted(chars)) + ']"'


#: The pattern is spliced as a constant, not bound: Oxigraph compiles a constant pattern once,
#: a bound one for every label. The innermost LIMIT bounds the labels read whatever the size
#: of the store.
QUERY = f"""SELECT ?r ?l ?k WHERE {{
  {{ SELECT ?r ?l WHERE {{
      {{ SELECT ?r ?l WHERE {{ ?r <{RDFS_LABEL}> ?l }} LIMIT {SCAN} }}
      FILTER(isLiteral(?l) && REGEX(STR(?l), {_pattern()}))
  }} LIMIT {SAMPLE} }}
  UNION
  {{ SELECT ?r ?l WHERE {{ ?r <{RDFS_LABEL}> ?l FILTER(isLiteral(?l)) }} LIMIT {PLAIN} }}
  OPTIONAL {{ ?r <{CPO}searchKey> ?k FILTER(LANG(?k) = LANG(?l)) }}
}}"""


@dataclass(frozen=True)
class KeyCheck:
    """The labels a check compared, and those whose current key is not stored."""

    sampled: int
    stale: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.stale


def check_rows(rows: list[Row]) -> KeyCheck:
    """Compare the rows of QUERY: every sampled label must have the key fold_text gives it,
    in its language (a label without any key is stale too: loaded after the last run)."""
    keys: dict[tuple[str, str, str], set[str]] = {}
    for row in rows:
        label = row["l"]
        lang = getattr(label, "language", None) or ""
        have = keys.setdefault((row["r"].value, label.value, lang), set())
        if "k" in row:
            have.add(row["k"].value)
    stale = tuple(text for (_r, text, _l), have in keys.items() if fold_text(text) not in have)
    return KeyCheck(len(keys), stale)


def stale_search_keys(store: Store) -> KeyCheck:
    """Check a sample of the store's labels (one bounded query; any ``Store``-like object
    with ``select``, such as the web app's engine adapter)."""
    return check_rows(store.select(QUERY))
