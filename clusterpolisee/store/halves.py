"""A long stored listing evaluated in two halves, one on each core.

Oxigraph 0.5 evaluates a query on one thread, and a listing of 16,000 rows spends nearly all
its time looking up each row's patterns and reading its terms. pyoxigraph lets go of the
interpreter lock while it does so, so two queries on two threads run side by side: at a
million triples, on the two-core machine, `knowledge-transfers` took 575 ms instead of 870
and `clusters` 420 instead of 570 (BENCHMARKS.md, "Two halves, one per core").

A stored question marks where its rows can be cut with a comment line, ``# split here``,
right after the WHERE group of a sub-select that lists the rows' subjects (``SELECT
DISTINCT ?transfer ?toRegion WHERE { ... }``). The first half adds ``LIMIT n`` there, the
second ``OFFSET n``; n is half of what that sub-select finds together with what stands
before it in the WHERE clause (a parameters' VALUES block and `narrows` patterns, so a
question narrowed to a short answer runs whole), counted once per text on each read-only
snapshot (so one data version always cuts, and orders equal keys, alike). Oxigraph
reads a sub-select without ORDER BY, grouping or aggregates in the same order every time on
one snapshot (DISTINCT keeps the first of each), so the halves hold every row once. The rows
are then sorted in Python (store/ordering.py), as any listing is; where Oxigraph sorts
(``sort: store``), it sorts each half, and a stable sort here merges them.

``locate`` checks that the mark stands where this holds: the sub-select is SELECT DISTINCT
of plain variables, so each of its rows is in one half only; the query, and each sub-select
the mark stands in (`transfer-candidates` groups its practices in one), has no DISTINCT,
LIMIT, OFFSET, HAVING or final VALUES of its own, and where it groups every one of those
variables is a key, so no group spans both halves; such a sub-select keeps those variables,
so the levels above can be checked by them; the query sorts, if at all, by projected
variables; and the mark is not inside OPTIONAL, MINUS, EXISTS or SERVICE, nor in a UNION
branch of a SELECT or under a sub-select, where each half would see the rest of the query
whole. A text that does not balance its braces is refused too. Functions that give a new
value on each evaluation (RAND, NOW, UUID, BNODE) are not looked for: two runs of the whole
text differ as well. Other stores, and other systems given the same text, see a comment.
"""

import re
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple, TypeVar

import pyoxigraph as ox

from ..sparqltext import scan_tokens
from .base import QueryResult
from .ordering import split_order

MARK = "# split here"
#: Fewer rows than this are not worth a second query and thread (about 100 ms of work).
MIN_ROWS = 4_000
#: Counts kept per snapshot; a text is one question with one set of parameters.
MAX_COUNTS = 256
AGGREGATES = {"COUNT", "SUM", "MIN", "MAX", "AVG", "SAMPLE", "GROUP_CONCAT"}
FORMS = ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE")
_MARK_LINE = re.compile(rf"^[ \t]*{MARK}[ \t]*$", re.MULTILINE)
_HEAD = re.compile(r"\s*SELECT\s+DISTINCT\s+((?:[?$]\w+\s+)+)WHERE\s*$", re.IGNORECASE)
_COMMENT = re.compile(r"#[^\r\n]*")
T = TypeVar("T")


class Cut(NamedTuple):
    """Offsets in one text: the query form's first word, what comes before the sub-select in
    the WHERE clause (when the sub-select stands in it directly), the sub-select's group
    (from its ``{`` to just after its ``}``) and the mark."""

    form: int
    lead: tuple[int, int]
    group: tuple[int, int]
    mark: tuple[int, int]

    def count_query(self, text: str) -> str:
        """Counts the sub-select's rows, joined with what comes before it: a parameters'
        VALUES block and `narrows` patterns that stand there, so a question that a parameter
        narrows to a short answer runs whole. Any count gives the same rows; it only decides
        whether, and where, to cut."""
        lead, end = self.lead[0], self.group[1]
        return f"{text[: self.form]}SELECT (COUNT(*) AS ?n) WHERE {{{text[lead:end]}}}"

    def halves(self, text: str, n: int) -> tuple[str, str]:
        start, end = self.mark
        return (f"{text[:start]}LIMIT {n}{text[end:]}", f"{text[:start]}OFFSET {n}{text[end:]}")


@lru_cache(maxsize=64)
def locate(text: str) -> Cut | str:
    """Where ``text`` can be cut in two, or why it cannot (a message naming the rule)."""
    marks = list(_MARK_LINE.finditer(text))
    if len(marks) != 1 or text.count(MARK) != 1:
        return f"'{MARK}' must stand once, on a line of its own"
    mark = marks[0]
    tokens = list(scan_tokens(text))
    if not _balanced(tokens):
        return f"the braces around '{MARK}' do not balance"
    after = next((i for i, (at, _, _) in enumerate(tokens) if at > mark.start()), len(tokens))
    closes = 0 < after < len(tokens) and (tokens[after - 1][1], tokens[after][1]) == ("}", "}")
    depth = tokens[after][2] if closes else 0  # the depth outside the sub-select's braces
    opens = [i for i in range(after) if tokens[i][1] == "{" and tokens[i][2] == depth]
    if not (closes and opens):  # a mark not right after a sub-select's WHERE group
        return f"'{MARK}' must follow the WHERE group of a sub-select, before its closing brace"
    inner = next((i for i in range(opens[-1] + 1, after) if tokens[i][1] == "{"), None)
    head = None
    if inner is not None:
        head = _HEAD.fullmatch(_COMMENT.sub(" ", text[tokens[opens[-1]][0] + 1 : tokens[inner][0]]))
    if head is None:
        return f"the sub-select before '{MARK}' must be SELECT DISTINCT of plain variables"
    if _closing(tokens, inner) != after - 1:  # e.g. after its VALUES
        return f"'{MARK}' must follow the WHERE group of a sub-select, before its closing brace"
    keys = set(re.findall(r"\w+", head[1]))
    braces = _open_braces(tokens, opens[-1])
    refused = _where_in(tokens, [*braces, opens[-1]])
    if refused:
        return refused
    form: int | str = 0
    for level, top, stop in _enclosing(tokens, braces, len(text)):  # the query itself last
        form = _check_level(text[:stop], top, keys, outermost=level is None)
        if isinstance(form, str):
            return form
    group = (tokens[opens[-1]][0], tokens[after][0] + 1)
    where = [at for at, token, d in tokens[: opens[-1]] if token == "{" and d == depth - 1]
    lead = (where[-1] + 1 if depth == 1 else group[0], group[0])
    at = text.index(MARK, mark.start())
    return Cut(form, lead, group, (at, at + len(MARK)))


def _balanced(tokens: list) -> bool:
    """Whether every brace closes, and none closes before it opens."""
    opened = sum((t == "{") - (t == "}") for _, t, _ in tokens)
    return opened == 0 and all(d >= 0 for _, t, d in tokens if t == "}")


def _open_braces(tokens: list, cut: int) -> list[int]:
    """Indexes of the braces still open at ``tokens[cut]``, outermost first."""
    braces: list[int] = []
    for i in range(cut):
        if tokens[i][1] == "{":
            braces.append(i)
        elif tokens[i][1] == "}":
            braces.pop()
    return braces


def _closing(tokens: list, i: int) -> int:
    """Index of the brace that closes ``tokens[i]``."""
    return next(
        j for j in range(i + 1, len(tokens)) if tokens[j][1] == "}" and tokens[j][2] == tokens[i][2]
    )


def _where_in(tokens: list, braces: list[int]) -> str | None:
    """Why no group around the cut may hold it, if one may not: in OPTIONAL, MINUS, EXISTS or
    SERVICE each half would match its own rows against a part; in a UNION of a SELECT, or
    under a sub-select, the other branch's rows would come from both halves (a CONSTRUCT
    keeps each triple once, but not a sub-select's aggregates)."""
    select = (
        next((w.upper() for _, w, d in tokens if d == 0 and w.upper() in FORMS), "") == "SELECT"
    )
    for n, i in enumerate(braces):
        before = tokens[i - 1][1].upper() if i else ""
        if _after_service(tokens, i):
            return f"'{MARK}' cannot stand inside SERVICE"
        if before in ("OPTIONAL", "MINUS", "EXISTS"):
            return f"'{MARK}' cannot stand inside {before}"
        close = _closing(tokens, i)
        after = tokens[close + 1][1].upper() if close + 1 < len(tokens) else ""
        under_select = any(tokens[j + 1][1].upper() == "SELECT" for j in braces[:n])
        if "UNION" in (before, after) and (select or under_select):
            return f"'{MARK}' in a UNION: the other branch would be read by both halves"
    return None


def _after_service(tokens: list, i: int) -> bool:
    """Whether the brace ``tokens[i]`` opens a SERVICE group: ``SERVICE [SILENT] endpoint {``,
    where an IRI endpoint is no token and a prefixed name or variable is one."""
    j = i - 1
    if j >= 0 and tokens[j][1] not in "{}" and tokens[j][1].upper() not in ("SERVICE", "SILENT"):
        j -= 1
    if j >= 0 and tokens[j][1].upper() == "SILENT":
        j -= 1
    return j >= 0 and tokens[j][1].upper() == "SERVICE"


def _enclosing(tokens: list, braces: list[int], length: int) -> list[tuple]:
    """Each query level around the braces ``braces`` (open at the cut), innermost first: the
    index of a sub-select's ``{`` (None for the query itself), that level's own words and
    braces as (offset, token), those of nested groups left out, and where the level ends."""
    subs = [i for i in braces if i + 1 < len(tokens) and tokens[i + 1][1].upper() == "SELECT"]
    levels: list[tuple] = []
    for i in reversed(subs):
        depth, close = tokens[i][2], _closing(tokens, i)
        own = [(at, w) for at, w, d in tokens[i + 1 : close] if d == depth + 1]
        levels.append((i, own, tokens[close][0]))
    levels.append((None, [(at, w) for at, w, d in tokens if d == 0], length))
    return levels


def _check_level(
    text: str, top: list[tuple[int, str]], keys_needed: set[str], outermost: bool
) -> int | str:
    """The offset of the level's query form, or why rows of the two halves could meet in it:
    in a group, a DISTINCT, a limit or an aggregate over all rows. ``text`` ends with the
    level. A sub-select around the cut must also keep the cut's variables, so that the levels
    above can be checked by them."""
    upper = [w.upper() for _, w in top]
    forms = [i for i, w in enumerate(upper) if w in FORMS]
    if not forms or upper[forms[0]] not in ("SELECT", "CONSTRUCT"):
        return "only a SELECT or CONSTRUCT query can be cut in two"
    start = forms[0]
    where = "a query cut in two" if outermost else "a sub-select around the cut"
    if upper[start + 1 : start + 2] in (["DISTINCT"], ["REDUCED"]):
        return f"{where} cannot be DISTINCT: the halves would not know each other"
    opening = next(i for i in range(start, len(upper)) if upper[i] == "{")
    end = next(i for i in range(opening, len(upper)) if upper[i] == "}")  # its WHERE group's
    tail = upper[end + 1 :]
    for word in ("LIMIT", "OFFSET", "HAVING", "VALUES"):
        if any(re.fullmatch(rf"{word}\d*", w) for w in tail):  # Oxigraph reads `LIMIT3` too
            return f"{where} cannot end with {word}: it would apply to each half"
    if not outermost:
        body = next(i for i in range(start, len(upper)) if upper[i] in ("WHERE", "{"))
        dropped = _dropped(text[top[start][0] + len("SELECT") : top[body][0]], keys_needed)
        if dropped:
            return f"{where} must keep the cut's variables: ?{min(dropped)} is dropped"
    if "GROUP" in tail:
        stop = top[end + 1 + tail.index("ORDER")][0] if "ORDER" in tail else len(text)
        clause = text[top[end + 1 + tail.index("GROUP")][0] : stop]
        keys = _plain_variables(clause)  # a key computed from ?s, (STR(?s)), is not ?s
        if keys_needed - keys:
            return (
                "every variable of the sub-select must be a GROUP BY key: "
                f"?{min(keys_needed - keys)} is not"
            )
    elif AGGREGATES & set(upper[start:]):
        return f"{where} cannot aggregate without GROUP BY"
    if outermost and "ORDER" in tail and split_order(text) is None:
        return "a query cut in two must sort by projected variables only"
    return top[start][0]


def _dropped(projection: str, keys: set[str]) -> set[str]:
    """Which of ``keys`` a SELECT clause does not give its level: a variable only read inside
    an expression is not given; ``*`` gives every one."""
    if "*" in _outside_parentheses(projection):
        return set()
    named = set(re.findall(r"\bAS\s+[?$](\w+)", _COMMENT.sub(" ", projection), re.IGNORECASE))
    return keys - named - _plain_variables(projection)


def _plain_variables(clause: str) -> set[str]:
    """The variables that stand on their own in ``clause``, not inside an expression."""
    return set(re.findall(r"[?$](\w+)", _outside_parentheses(clause)))


def _outside_parentheses(clause: str) -> str:
    """``clause`` without comments and parenthesised expressions, innermost first."""
    plain = _COMMENT.sub(" ", clause)
    while True:
        shorter = re.sub(r"\([^()]*\)", " ", plain)
        if shorter == plain:
            return plain
        plain = shorter


def in_two(first: Callable[[], T], second: Callable[[], T]) -> tuple[T, T]:
    """``first()`` on this thread while ``second()`` runs on another: both results, or the
    error one of them raised (the first's, if both did)."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = second()
        except BaseException as exc:  # handed to the caller below
            # Without its frames: pyo3 frees an Oxigraph answer only on the thread that made
            # it, and a frame of this thread may hold one (RELIABILITY.md).
            box["error"] = exc.with_traceback(None)

    helper = threading.Thread(target=run, name="second-half", daemon=True)
    helper.start()
    try:
        value = first()
    finally:
        helper.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return value, box["value"]  # type: ignore[return-value]


class Halves:
    """Where to cut texts on one read-only snapshot of the store."""

    def __init__(self, store: ox.Store) -> None:
        self._store = store
        self._counts: dict[str, int] = {}

    def _count(self, query: str) -> int:
        solution = next(iter(self._store.query(query, use_default_graph_as_union=True)))
        return int(solution[0].value)

    def of(self, text: str) -> tuple[str, str] | None:
        """The two halves of ``text``, or None to run it whole (no mark, or few rows)."""
        cut = locate(text)
        if isinstance(cut, str):
            return None
        if text not in self._counts:
            if len(self._counts) >= MAX_COUNTS:
                self._counts.clear()
            self._counts[text] = self._count(cut.count_query(text))
        rows = self._counts[text]
        return cut.halves(text, (rows + 1) // 2) if rows >= MIN_ROWS else None


def joined(first: QueryResult, second: QueryResult) -> QueryResult:
    """One answer from the answers of the two halves. A CONSTRUCT query gives each triple once,
    so a triple both halves built is kept once."""
    if first.kind == "construct":
        return QueryResult("construct", triples=list(dict.fromkeys(first.triples + second.triples)))
    return QueryResult("select", variables=first.variables, rows=first.rows + second.rows)
