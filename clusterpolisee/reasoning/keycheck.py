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

The one query reads alike on Oxigraph and Virtuoso 7.2.5 (the remote backend), whose REGEX
misreads characters beyond ASCII (see ``_filter``). Where it cannot run, that is said once
(``stale_search_keys``), not passed over.
"""

import logging
from dataclasses import dataclass

# fold_text's own table, so the sample follows what it maps (kept private in catalog).
from ..catalog import _TYPED, fold_text
from ..namespaces import CPO
from ..store.base import Row, Store
from .materialise import RDFS_LABEL

#: Labels with a mapped character compared per check, among at most SCAN labels read: the
#: keys are all written by one run, so a few stale ones tell; at 1M triples (112,638 labels)
#: the check takes 8 ms on Oxigraph and 16 ms on Virtuoso, where comparing 200 took 50-130 ms
#: (the matches are sparse: 264).
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
#: What is said, once, when the check cannot run (``%s``: why).
UNCHECKED = (
    "could not check the search keys (%s): if an older version of the program made them, "
    "searches may miss labels; 'clusterpolisee materialise' makes them anew"
)


def _string(c: str) -> str:
    """One character as a SPARQL string: printable ASCII as it is, any other as a SPARQL
    \\u escape of its code point (so no invisible character stands in the query's text)."""
    if " " <= c < "\x7f" and c not in '"\\':
        return f'"{c}"'
    return f'"\\u{ord(c):04X}"' if ord(c) <= 0xFFFF else f'"\\U{ord(c):08X}"'


def _in_class(c: str) -> str:
    """A printable ASCII character as a member of a regular-expression class in a SPARQL
    string: escaped for the class where it needs it, and for the string."""
    if c == '"':
        return '\\"'
    if c == "\\":
        return "\\\\\\\\"
    return "\\\\" + c if c in "]-^[" else c


def _mapped() -> list[str]:
    """The characters fold_text maps, in both cases (its table holds lower case: it applies
    after case folding)."""
    chars = {chr(k) for k in _TYPED}
    chars |= {c.upper() for c in chars if len(c.upper()) == 1 and c.upper().casefold() == c}
    return sorted(chars)


def _filter() -> str:
    """A SPARQL expression true of ``?l`` when its text holds a character fold_text maps.

    Each character is a CONTAINS of its own. Virtuoso 7.2.5 matches REGEX against a label's
    UTF-8 bytes: a pattern with a character beyond ASCII in a class or an alternation matched
    nothing there (a class of the en dash missed "MAG - Magyar" written with one, and the
    en dash or a hyphen missed even "semi-trailers"), while single bytes of such characters
    matched others (a class of the left guillemet took the e with diaeresis of
    "Shqiperia", which shares its last byte). CONTAINS compares characters on both. Oxigraph
    evaluates every operand of || and &&: 53 CONTAINS on each of 10,000 labels took 50 ms
    at 1M, the one REGEX 6 ms. So an IF evaluates them only where a REGEX of ASCII alone
    (read alike by both engines) finds a mapped ASCII character or any character that is
    not printable ASCII."""
    chars = _mapped()
    ascii_ = "".join(map(_in_class, (c for c in chars if " " <= c < "\x7f")))
    guard = "[^ -~]" + (f"|[{ascii_}]" if ascii_ else "")
    each = " || ".join(f"CONTAINS(STR(?l), {_string(c)})" for c in chars)
    return f'IF(REGEX(STR(?l), "{guard}"), {each}, false)'


#: The innermost LIMIT bounds the labels read whatever the size of the store.
QUERY = f"""SELECT ?r ?l ?k WHERE {{
  {{ SELECT ?r ?l WHERE {{
      {{ SELECT ?r ?l WHERE {{ ?r <{RDFS_LABEL}> ?l }} LIMIT {SCAN} }}
      FILTER(isLiteral(?l) && {_filter()})
  }} LIMIT {SAMPLE} }}
  UNION
  {{ SELECT ?r ?l WHERE {{ ?r <{RDFS_LABEL}> ?l FILTER(isLiteral(?l)) }} LIMIT {PLAIN} }}
  OPTIONAL {{ ?r <{CPO}searchKey> ?k FILTER(LANG(?k) = LANG(?l)) }}
}}"""


@dataclass(frozen=True)
class KeyCheck:
    """The labels a check compared, those whose current key is not stored, and why the check
    could not run ('' when it ran)."""

    sampled: int
    stale: tuple[str, ...]
    error: str = ""

    @property
    def ok(self) -> bool:
        """No stale key was found: also when the check could not run (``error``), which
        ``stale_search_keys`` has said."""
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


_log = logging.getLogger(__name__)
_told = False  # whether this process has said that the check could not run, since it last ran


def stale_search_keys(store: Store) -> KeyCheck:
    """Check a sample of the store's labels (one bounded query; any ``Store``-like object
    with ``select``, such as the web app's engine adapter).

    The check is advisory, so what stops its query (a server's error or row limit, a time
    limit) never stops the search it comes with; but it is said, once (UNCHECKED, logged as
    a warning: the CLI's stderr, the server's log), for a search that misses labels without
    a word, where the check would have said why, is what it exists to prevent. The search
    page says nothing then: its reader cannot mend it, and the operator has been told. Said
    again only after a check has run since."""
    global _told
    try:
        rows = store.select(QUERY)
    except Exception as exc:  # the engine's and the stores' errors: all are told, not raised
        reason = " ".join(str(exc).split()) or type(exc).__name__
        if not _told:
            _log.warning(UNCHECKED, reason)
            _told = True
        return KeyCheck(0, (), reason)
    _told = False
    return check_rows(rows)
