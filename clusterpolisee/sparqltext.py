"""Reading SPARQL text: parse it, say what form it is, find its variables and SERVICE calls,
and find where a VALUES block can be placed.

rdflib's parser is used only to *inspect* queries (it never runs them here); execution is the
store's job.
"""

import re
from dataclasses import dataclass

from pyparsing import ParseException
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import URIRef, Variable

KINDS = {
    "SelectQuery": "select",
    "AskQuery": "ask",
    "ConstructQuery": "construct",
    "DescribeQuery": "describe",
}


class QuerySyntaxError(ValueError):
    """The text is not a SPARQL 1.1 query; the message gives the parser's position."""


@dataclass
class QueryInfo:
    kind: str
    variables: set[str]
    services: list[str]


def _walk(node, found_vars: set[str], services: list[str]) -> None:
    if isinstance(node, Variable):
        found_vars.add(str(node))
    elif isinstance(node, CompValue):
        if node.name == "ServiceGraphPattern":
            term = node.get("term")
            services.append(str(term) if isinstance(term, URIRef) else "?" + str(term))
        for value in node.values():
            _walk(value, found_vars, services)
    elif isinstance(node, dict):
        for value in node.values():
            _walk(value, found_vars, services)
    elif isinstance(node, list | tuple | set):
        for value in node:
            _walk(value, found_vars, services)


def inspect(text: str) -> QueryInfo:
    """Parse ``text`` as a SPARQL query and describe it; raise QuerySyntaxError if it isn't."""
    try:
        query = prepareQuery(text)
    except ParseException as exc:
        raise QuerySyntaxError(
            f"SPARQL syntax error at line {exc.lineno}, column {exc.col}: {exc.msg}"
        ) from exc
    except Exception as exc:  # rdflib raises assorted errors for semantic problems
        raise QuerySyntaxError(f"invalid SPARQL query: {exc}") from exc
    found: set[str] = set()
    services: list[str] = []
    _walk(query.algebra, found, services)
    return QueryInfo(KINDS.get(query.algebra.name, "select"), found, services)


# Tokens that may contain braces or the word WHERE without being syntax: comments (which end
# at a carriage return too, as in Oxigraph), strings (escapes included), IRIs (with \u
# escapes; no character up to the space) and the backslash escapes of prefixed names
# (``ex:a\)``). Order matters: long strings before short ones.
_SKIP = re.compile(
    r'#[^\r\n]*|"""(?:\\.|[^\\])*?"""|\'\'\'(?:\\.|[^\\])*?\'\'\'|"(?:\\.|[^"\\\r\n])*"'
    r"|'(?:\\.|[^'\\\r\n])*'"
    r"|<(?:[^<>\"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>"
    r"|\\[_~.!$&'()*+,;=/?#@%-]",
    re.DOTALL,
)
_WORD = re.compile(r"[A-Za-z_][\w:-]*")


def names_service(text: str) -> bool:
    """Whether the text holds the word SERVICE in any case, the one way a query reaches the
    network. Oxigraph matches keywords in ASCII and expands no escape outside strings and
    IRIs, so without the word it cannot call a service (casefold also maps "ſ" to "s")."""
    return "service" in text.casefold()


def hides_from_inspection(text: str) -> bool:
    """Whether rdflib (which finds the SERVICE calls here) and Oxigraph (which runs the
    query) may read different queries. rdflib expands every \\u escape before it parses,
    Oxigraph only inside strings and IRIs, so an escaped quote can end a string earlier for
    Oxigraph; and a comment ends at a carriage return for Oxigraph, at a line feed only for
    rdflib, so ``# note\\r SERVICE ...`` is a call to one and a comment to the other. True
    when the text names SERVICE and has such an escape or a carriage return without a line
    feed after it; such a text is refused, not inspected."""
    if not names_service(text):
        return False
    return "\\u" in text.casefold() or _LONE_CR.search(text) is not None


_LONE_CR = re.compile(r"\r(?!\n)")


def max_nesting(text: str) -> int:
    """Deepest nesting of brackets ``{ ( [`` outside strings and comments: a linear scan, so
    a hostile query can be refused before a parser spends long on it.

    What looks like an IRI may be brackets to the parser (``1 <((1>0))``: less than, then
    brackets), so its brackets count up; its unmatched ``)`` do not count down, or a list of
    ``<x:)>`` would hide any depth after it."""
    depth = deepest = i = 0
    while i < len(text):
        m = _SKIP.match(text, i)
        if m and text[i] == "<":
            inner, net = _brackets(m.group())
            deepest = max(deepest, depth + inner)
            depth += max(net, 0)
        elif not m and text[i] in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif not m and text[i] in "})]":
            depth -= 1
        i = m.end() if m else i + 1
    return deepest


def _brackets(token: str) -> tuple[int, int]:
    """Deepest nesting inside ``token`` and its balance (opened minus closed)."""
    depth = deepest = 0
    for ch in token:
        if ch in "([":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]":
            depth -= 1
    return deepest, depth


def scan_tokens(text: str):
    """(offset, token, depth) for each brace and word outside strings, IRIs and comments;
    a brace carries the depth outside it."""
    i, depth = 0, 0
    while i < len(text):
        m = _SKIP.match(text, i)
        if m:
            i = m.end()
            continue
        ch = text[i]
        if ch == "{":
            yield i, ch, depth
            depth += 1
        elif ch == "}":
            depth -= 1
            yield i, ch, depth
        else:
            w = _WORD.match(text, i)
            if w and (i == 0 or not text[i - 1].isalnum()):
                yield i, w.group(), depth
                i = w.end()
                continue
        i += 1


def has_dataset(text: str) -> bool:
    """Whether the query names its own dataset (``FROM`` or ``FROM NAMED``: the only use of
    the word outside braces). Such a query must run without Oxigraph's union default graph,
    which would otherwise replace the graphs it names (``FROM <g>`` counted the whole store)."""
    if not _FROM.search(text):  # most texts: no tokens to scan
        return False
    for at, token, depth in scan_tokens(text):
        if not depth and token.upper() == "FROM" and (at == 0 or text[at - 1] not in "?$:"):
            return True
    return False


#: FROM before an IRI, a prefixed name or NAMED: what a dataset clause needs, and what the
#: English "from" in a comment seldom has.
_FROM = re.compile(r"(?i)\bfrom\s*(?:<|named\b|[A-Za-z_][\w.-]*:|:)")


def where_brace(text: str) -> int:
    """Offset just after the ``{`` that opens the top-level WHERE clause, or -1."""
    after_where = False
    for at, token, depth in scan_tokens(text):
        if depth:
            continue
        if token == "{" and after_where:
            return at + 1
        after_where = after_where or token.upper() == "WHERE"
    return -1


def first_solution(text: str) -> str | None:
    """A SELECT query cut down to whether it has a solution: its prologue and WHERE group as
    ``SELECT * WHERE { ... } LIMIT 1``, without DISTINCT, projections and ORDER BY, so
    Oxigraph stops at the first match instead of finding and sorting them all. None when the
    text is not a plain SELECT (grouping, HAVING or a trailing VALUES change what a solution
    is)."""
    select = body = end = None
    for at, token, depth in scan_tokens(text):
        word = token.upper()
        if depth:
            continue
        if end is not None:
            if word in ("GROUP", "HAVING", "VALUES"):
                return None
        elif select is None:
            if word in ("ASK", "CONSTRUCT", "DESCRIBE", "WHERE"):
                return None
            select = at if word == "SELECT" else None
        elif token == "{":
            body = at + 1
        elif token == "}" and body is not None:
            end = at
    if end is None:
        return None
    return f"{text[:select]}SELECT * WHERE {{{text[body:end]}}} LIMIT 1"
