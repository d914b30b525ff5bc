"""Decide whether a SPARQL text may run on the public endpoint, from its parse tree.

Read-only: an update (INSERT, DELETE, LOAD, CLEAR, ...) is refused, and so is SERVICE unless
its endpoint is on the allow-list. The decision is made on rdflib's parse of the query, so
comments and string literals that merely contain such words do not matter.

rdflib's parser is slow (7 ms for a ten-line query, 30-70 ms for a stored question), so only a
text that could call SERVICE is parsed before it runs. Any other text goes to the engine, whose
parser refuses updates as it refuses bad syntax; ``check_parsed`` then gives the message (the
position of the error, or the update refused as such).

The two parsers read \\u escapes differently: rdflib expands them all before it parses,
Oxigraph only inside strings and IRIs. A string holding an escaped quote can therefore end
earlier for Oxigraph than for rdflib, and a SERVICE call that rdflib reads as part of a long
string is a call for Oxigraph. A text that names SERVICE may therefore not use such escapes.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from pyparsing import ParseBaseException, ParseResults
from rdflib import URIRef
from rdflib.plugins.sparql import parser
from rdflib.plugins.sparql.algebra import translatePrologue
from rdflib.plugins.sparql.parserutils import CompValue

from clusterpolisee.sparqltext import hides_from_inspection, max_nesting, names_service

MAX_QUERY_CHARS = 100_000
#: The title of the 413 answer to a query over MAX_QUERY_CHARS.
TOO_LONG = "Query too long"
#: Brackets nested deeper than this are refused before parsing: rdflib's parser spends
#: seconds on thousands of levels before it gives up (stored queries use under 10).
MAX_NESTING = 500
KINDS = {
    "SelectQuery": "select",
    "AskQuery": "ask",
    "ConstructQuery": "construct",
    "DescribeQuery": "describe",
}


@dataclass(frozen=True)
class QueryRefused(Exception):
    """The query is not accepted; ``status`` 400 (malformed), 403 (not allowed) or 413 (over
    MAX_QUERY_CHARS)."""

    status: int
    message: str

    def __str__(self) -> str:
        return self.message


def _position(exc: ParseBaseException) -> str:
    return f"line {exc.lineno}, column {exc.col}: {exc.msg}"


def _refuse_update(text: str) -> None:
    """If the text is a SPARQL Update, refuse it as such (403)."""
    try:
        update = parser.parseUpdate(text)
    except (ParseBaseException, RecursionError, ValueError):
        return
    ops = [getattr(r, "name", "update") for r in update.get("request", [])]
    if ops:
        names = ", ".join(sorted({re.sub(r"(?<=[a-z])(?=[A-Z])", " ", op).upper() for op in ops}))
        raise QueryRefused(
            403, f"SPARQL Update ({names}) is not allowed: this endpoint is read-only"
        )


def _walk(node: object):
    if isinstance(node, CompValue):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list | tuple | ParseResults):
        for value in node:
            yield from _walk(value)


def too_long(text: str) -> str:
    """Why a text over MAX_QUERY_CHARS is refused (413), after the title TOO_LONG."""
    return (
        f"{len(text):,} characters, the limit is {MAX_QUERY_CHARS:,}; shorten it (a long "
        "VALUES list can be split over several queries)"
    )


def check_query(text: str, allowlist: tuple[str, ...] = ()) -> None:
    """Raise QueryRefused unless the text may be handed to the engine."""
    if not text.strip():
        raise QueryRefused(400, "the query is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRefused(413, too_long(text))
    if max_nesting(text) > MAX_NESTING:
        raise QueryRefused(400, f"the query is nested too deeply (over {MAX_NESTING} levels)")
    if not names_service(text):
        return
    if hides_from_inspection(text):
        raise QueryRefused(
            400,
            "a query that contains the word SERVICE may not use \\u or \\U escapes, nor a "
            "carriage return without a line feed (the query check and the query engine read "
            "them differently): write the characters themselves and end lines with a line feed",
        )
    check_parsed(text, allowlist)


@lru_cache(maxsize=1024)
def check_parsed(text: str, allowlist: tuple[str, ...] = ()) -> str:
    """The query kind ('select', 'ask', 'construct', 'describe') from rdflib's parse, or
    QueryRefused: for an update, a syntax error (with its line and column) or SERVICE."""
    try:
        parsed = parser.parseQuery(text)
    except ParseBaseException as exc:
        _refuse_update(text)
        raise QueryRefused(400, f"syntax error at {_position(exc)}") from None
    except RecursionError:
        raise QueryRefused(400, "the query is nested too deeply") from None
    prologue = translatePrologue(parsed[0], None)
    for node in _walk(parsed):
        if node.name == "ServiceGraphPattern":
            _check_service(node.get("term"), prologue, allowlist)
    return KINDS.get(parsed[1].name, "select")


def _check_service(term: object, prologue: object, allowlist: tuple[str, ...]) -> None:
    if isinstance(term, CompValue):
        term = prologue.absolutize(term)
    if not isinstance(term, URIRef):
        raise QueryRefused(403, "SERVICE with a variable endpoint is not allowed")
    if str(term) not in allowlist:
        raise QueryRefused(
            403,
            f"SERVICE <{term}> is not allowed: federated queries may only "
            "call endpoints on this server's allow-list",
        )
