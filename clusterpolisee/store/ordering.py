"""A query's final ORDER BY, done in Python on the rows Oxigraph returns unsorted.

Oxigraph 0.5 reads both texts from the store at every comparison while it sorts: at a
million triples `clusters` spends about 250 of its 740 ms sorting 15,938 rows by three
labels, `region-barriers` 32 of 97 ms sorting 1,687. The rows reach Python with their texts
anyway, and Python sorts them in a fraction of that.

Only a clause that ends a SELECT query and sorts by projected variables (``?v``,
``ASC(?v)``, ``DESC(?v)``) is taken over. The order is SPARQL's, as Oxigraph has it:
unbound first, then blank nodes, IRIs (by text), literals; numbers by value, strings (see
below), strings of one language likewise, dates and times without a time zone (and a column
of dateTimes that all have one, by instant), booleans.
Where it has none (a string against a number, two languages: it calls them equal), this
puts numbers before strings, then other types, and strings by their key, then language. A
column with a value it cannot place (a date with a time zone, NaN, a duration) leaves the
sorting to Oxigraph: the caller runs the query as written. Rows with equal keys keep the
order Oxigraph found them in (its own sort is not stable, so they may come out in another
order than from Oxigraph): SPARQL leaves that order open, and it is the same on every run
for one data version.

In a stored question's answer (``collate``), strings (plain, xsd:string, language-tagged)
are sorted for the people who read the listings, not by code point as SPARQL engines do
(Oxigraph, Virtuoso: the same .rq run anywhere else); any other text (/sparql, a query
file) keeps SPARQL's code-point order, so an analyst's ORDER BY answers as elsewhere. By
code point "Čačak", "Ștei" and "Örkény" come after every name that begins with "Z", and
"aws Austria" after "Zagreb". The key (``text_key``) is the text
case-folded, decomposed (NFD), without the combining marks of Latin, Greek and Cyrillic: a
letter with marks sorts among the words of its base letter (č with c, ș and ş with s, ő
with o, ά with α). That is a compromise between languages that rank such letters apart
(Hungarian ö, Croatian č) and those that do not; digraphs (Hungarian cs, Croatian lj) are
two letters too. ASCII case folds as well, or "de Gasperi" would still follow "Zagreb", and
one key for every text keeps the order total: an ASCII text takes the fast path,
``lower()``, which is what the full fold gives it. Latin letters NFD leaves whole (đ, ł, ø,
ı, ħ, æ, œ) fold as the search does (catalog.fold_text). The Serbian and Macedonian letters
ђ ѓ ј љ њ ћ ќ џ ѕ, and й, are letters of their own, each after every word of the letter
its alphabet puts before it, so those alphabets come out in their order (by code point
they stood before А, or after я). Texts that fold alike ("Cluj", "cluj", "Čluj") go by
code point, so the order is total and the same on every run. IRIs stay in code-point order
(identifiers, not words). Where Oxigraph sorts (``sort: store``; a /sparql answer the
server knows to be long, never a stored question's), strings are in its code-point order,
and halves it sorted are merged in that order (``collate=False``), not re-sorted in ours.

Keys cost little: a column of ASCII texts is folded by one ``lower()`` of them all joined,
and a column that repeats its texts keys each distinct one once. `clusters` at 1M (15,938
rows, three labels, 4 of 19 region labels not ASCII): its sort 29.5 to 30.3 ms (medians of
31, CPU time); `instruments` unchanged.
"""

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

import pyoxigraph as ox

XSD = "http://www.w3.org/2001/XMLSchema#"
STRING, INTEGER = f"{XSD}string", f"{XSD}integer"
NUMBERS = {INTEGER, f"{XSD}decimal"}
FLOATS = {f"{XSD}double", f"{XSD}float"}
_DATES = {f"{XSD}date", f"{XSD}dateTime"}
_BY_TEXT = {*_DATES, f"{XSD}boolean"}  # ordered as their texts (dates: no time zone)
_INTEGER = re.compile(r"[+-]?\d+")
_DATE = re.compile(r"\d{4}-\d\d-\d\d(?:T\d\d:\d\d:\d\d(?:\.\d+)?)?")
# A dateTime with a time zone, to the microsecond (what Python's datetime keeps).
_ZONED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")
#: Rows the web worker reads and sorts at a time, keeping only its row limit's best
#: (store/oxigraph.py builds every row anyway).
SORT_CAP = 50_000
_KEY = r"(?:(?:ASC|DESC)\s*\(\s*[?$]\w+\s*\)|[?$]\w+)"
# The clause at the very end of the text (possessive: a near miss is not retried in other
# splits); scan_tokens then confirms it is not in a comment.
_TAIL = re.compile(rf"\bORDER\s+BY((?:\s*+{_KEY})++)\s*+$", re.IGNORECASE)
_KEYS = re.compile(r"(ASC|DESC)?\s*\(?\s*[?$](\w+)", re.IGNORECASE)


#: Sorts after every character: "д" + this comes after every word that begins with "д".
_AFTER = "\U0010ffff"
#: Latin letters NFD leaves whole (after case folding): their base letter, as the search's
#: fold (catalog.fold_text) has them.
_BASES = {"đ": "d", "ł": "l", "ø": "o", "ı": "i", "ħ": "h", "æ": "ae", "œ": "oe"}
#: Serbian and Macedonian Cyrillic letters, and й, as case folding and NFD leave them: the
#: letter their alphabets put before them (ѓ and ќ, г and к with an acute, take the places
#: of their Serbian kin ђ and ћ).
_FOLLOW = {
    **{"ђ": "д", "г\u0301": "д", "ѕ": "з", "ј": "и", "и\u0306": "и", "љ": "л", "њ": "н"},
    **{"ћ": "т", "к\u0301": "т", "џ": "ч"},
}
_OWN = _BASES | {letter: before + _AFTER for letter, before in _FOLLOW.items()}
_LETTER = re.compile("|".join(map(re.escape, _OWN)))
#: The combining marks NFD splits off Latin, Greek and Cyrillic letters (and their blocks'
#: others); other scripts' marks (Indic vowel signs) stay, as parts of their letters.
_MARKS = re.compile(
    "[\u0300-\u036f\u0483-\u0487\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+"
)


class Order(NamedTuple):
    unordered: str  # the text without the clause
    keys: tuple[tuple[str, bool], ...]  # (variable, descending)


@lru_cache(maxsize=64)  # /sparql texts may be 100,000 characters each
def split_order(text: str) -> Order | None:
    """The query's final ORDER BY by projected variables, split off; None if it has none."""
    from ..sparqltext import scan_tokens  # here: sparqltext loads rdflib's parser

    tail = text[-2000:]
    m = _TAIL.search(tail)
    if m is None:
        return None
    at = len(text) - len(tail) + m.start()
    top = [(pos, token.upper()) for pos, token, depth in scan_tokens(text) if depth == 0]
    select = next((pos for pos, token in top if token == "SELECT"), None)
    head_end = next(
        (pos for pos, token in top if token in ("WHERE", "{") and pos > (select or 0)), 0
    )
    if select is None or [pos for pos, token in top if token == "ORDER"][-1:] != [at]:
        return None  # not a SELECT, or the clause is in a comment or a sub-query
    projection = text[select:head_end]
    keys = tuple((k[2], (k[1] or "").upper() == "DESC") for k in _KEYS.finditer(m[1]))
    every = re.search(r"SELECT\s+(?:DISTINCT\s+|REDUCED\s+)?\*", projection, re.IGNORECASE)
    if not every and any(not re.search(rf"[?$]{n}\b", projection) for n, _ in keys):
        return None  # sorted by a variable the rows do not carry
    return Order(text[:at], keys)


def sort_solutions(
    rows: list,
    names: Sequence[str],
    order: Order,
    cell: Callable[[Any, str], Any],
    collate: bool = True,
) -> list | None:
    """``rows`` (of the variables ``names``) in ``order``; ``cell(row, name)`` gives a row's
    term or None. None when a key is not among ``names`` (named in the projection only
    inside an expression) or its column holds values this does not order: the caller then
    lets Oxigraph sort. ``collate=False``: strings by code point, as Oxigraph sorts them
    (to merge halves it sorted)."""
    if any(name not in names for name, _ in order.keys):
        return None
    keys = [((lambda row, name=name: cell(row, name)), desc) for name, desc in order.keys]
    return sort_rows(rows, keys, collate)


def order_key(term: Any, collate: bool = True) -> tuple | None:
    """A term's place in SPARQL's order as a tuple Python compares: unbound, blank nodes,
    IRIs, then literals (numbers by value, then strings by ``text_key`` (by text where not
    ``collate``) and language, then the rest by datatype and text). None for a value whose
    order this does not know (a date with a time zone, NaN, a duration): the query is then
    sorted by Oxigraph."""
    if term is None:
        return (0,)
    if isinstance(term, ox.BlankNode):
        return (1, term.value)
    if isinstance(term, ox.NamedNode):
        return (2, term.value)  # code points, as Oxigraph compares UTF-8 bytes
    dtype, text = term.datatype.value, term.value
    if term.language or dtype == STRING:
        return (3, 1, text_key(text) if collate else text, term.language or "")
    try:
        if dtype in NUMBERS:
            return (3, 0, Decimal(text), "")
        if dtype in FLOATS:
            number = float(text)
            return None if number != number else (3, 0, number, "")  # NaN has no place
    except (ValueError, ArithmeticError):
        return None  # not a number after all
    if dtype in _BY_TEXT and (dtype.endswith("boolean") or _DATE.fullmatch(text)):
        return (3, 2, dtype, text)  # no time zone: the text's order is the time's
    return None


def sort_rows(
    rows: list, keys: Sequence[tuple[Callable[[Any], Any], bool]], collate: bool = True
) -> list | None:
    """``rows`` sorted by ``keys`` (a getter of each row's term, None for unbound, and
    whether descending), or None when a key column holds a value ``order_key`` cannot
    place. Each key is a stable sort of one list of row numbers, so the rows are placed
    once (`clusters`' three labels at 1M: 28 to 22 ms)."""
    columns = []
    for get, descending in keys:
        terms = list(map(get, rows))
        places = _plain_places(terms, collate) or [order_key(t, collate) for t in terms]
        if None in places:
            return None
        columns.append((places, descending))
    ranked = list(range(len(rows)))
    for places, descending in reversed(columns):  # a stable sort per key, the last key first
        ranked.sort(key=places.__getitem__, reverse=descending)
    return [rows[i] for i in ranked]


def _plain_places(terms: list, collate: bool) -> list | None:
    """The places of a column of one kind, without ``order_key`` per value (16,000 rows:
    about 5 ms instead of 40): the texts of IRIs or of strings of one language, (text,
    language) pairs for strings mixed with strings of one language (a label column that
    takes English or untagged labels: 16,000 rows 18 to 14 ms with the sort), the values of
    integers, the texts of dates without a time zone. None for any other column, unbound
    cells included."""
    if None in terms or not terms:
        return None
    kinds = {type(t) for t in terms}
    if kinds == {ox.NamedNode}:
        return [t.value for t in terms]
    if kinds != {ox.Literal}:
        return None
    # Languages first: reading a literal's datatype builds a new term each time.
    languages = {t.language for t in terms}
    if None not in languages:
        return _texts([t.value for t in terms], collate) if len(languages) == 1 else None
    plain = [t for t in terms if t.language is None]
    datatypes = {t.datatype.value for t in plain}
    if len(languages) == 2 and datatypes == {STRING}:  # strings and one language's strings
        texts = _texts([t.value for t in terms], collate)
        return list(zip(texts, [t.language or "" for t in terms], strict=True))
    if len(languages) != 1 or len(datatypes) != 1:
        return None
    values = [t.value for t in terms]
    dtype = datatypes.pop()
    if dtype == STRING:
        return _texts(values, collate)
    if dtype == INTEGER and all(map(_INTEGER.fullmatch, values)):
        return [int(v) for v in values]
    if dtype in _DATES and all(map(_DATE.fullmatch, values)):
        return values  # no time zone: the text's order is the time's
    if dtype == f"{XSD}dateTime" and all(map(_ZONED.fullmatch, values)):
        return _instants(values)
    return None


def _instants(values: list[str]) -> list | None:
    """dateTimes that all have a time zone as the instants they name, which is how SPARQL
    compares them. Records' times (`prov:endedAtTime`, "...Z") were left to Oxigraph, which
    ran each such query a second time: the link graph's review decisions 4.4 to 8.8 s at
    140,000. None for a text that is no time Python knows (24:00:00, a leap second)."""
    try:
        return [dt.datetime.fromisoformat(v) for v in values]
    except ValueError:
        return None


def text_key(text: str) -> str:
    """A string's place among strings (see the module's notes): its fold, NUL, the text
    itself, so that texts with one fold are ordered by their code points."""
    return f"{_fold(text)}\0{text}"


def _fold(text: str) -> str:
    """The text as it sorts: case-folded, decomposed, without marks. Without NUL (made
    U+0001), so that NUL ends it in ``text_key``."""
    bare = text.lower() if text.isascii() else _bare(text)  # lower() is casefold() there
    return bare.replace("\0", "\1")


def _bare(text: str) -> str:
    """``text`` case-folded, decomposed (NFD), the letters of ``_OWN`` mapped, marks dropped.
    Each step maps characters alone, so NUL-joined texts come out joined alike."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return _MARKS.sub("", _LETTER.sub(_own, decomposed))


def _own(match: re.Match) -> str:
    return _OWN[match[0]]


def _texts(values: list[str], collate: bool) -> list[str]:
    """``text_key`` of each text, or the texts themselves where not ``collate``. A column
    that repeats its texts (labels of regions, countries) keys each distinct text once."""
    if not collate:
        return values
    distinct = list(dict.fromkeys(values))
    if 2 * len(distinct) > len(values):  # mostly distinct: looking keys up costs more
        return _keys(values)
    keyed = dict(zip(distinct, _keys(distinct), strict=True))
    return list(map(keyed.__getitem__, values))


def _keys(texts: list[str]) -> list[str]:
    return list(map("\0".join, zip(_folds(texts), texts, strict=True)))


def _folds(texts: list[str]) -> list[str]:
    """``_fold`` of each text, each step run once on the texts joined by NUL: ASCII texts
    by one ``lower()`` of them all, the others by one ``_bare`` (one by one where a text
    holds NUL)."""
    joined = "\0".join(texts)
    if joined.count("\0") != len(texts) - 1:
        return list(map(_fold, texts))
    if joined.isascii():
        return joined.lower().split("\0")
    wide = [t for t in texts if not t.isascii()]
    folded = dict(zip(wide, _bare("\0".join(wide)).split("\0"), strict=True))
    return [t.lower() if t.isascii() else folded[t] for t in texts]
