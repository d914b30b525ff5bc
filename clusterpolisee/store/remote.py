"""Remote backend: any SPARQL 1.1 server, over the SPARQL 1.1 Protocol (queries and updates)
and the Graph Store HTTP Protocol (bulk uploads), both plain HTTP with requests.

Checked against Virtuoso 7.2.5, whose quirks shape this module:

- a POST with ``Content-Type: application/sparql-query`` never gets an answer, so queries and
  updates go as form-encoded POSTs;
- results are cut at ``ResultSetMaxRows`` (10,000) and the only sign is an ``X-SPARQL-MaxRows``
  header (CONSTRUCT and Graph Store GETs are cut with no sign at all): a cut answer raises
  :class:`ResultTruncated`, and whole graphs are read in pages below the limit;
- a per-request time limit gives HTTP 200 with partial rows flagged only by
  ``X-SQL-State: S1TAT`` (or an error SR203 / HY008): both raise :class:`QueryTimeout`;
- ``INSERT DATA`` fails above ~1,000 triples and refuses blank nodes: bulk data goes through
  the Graph Store Protocol, or in small chunks when no Graph Store endpoint is configured;
- updates need HTTP Digest authentication;
- the default graph is the union of all graphs, like our embedded store's, but it includes
  the server's own system graphs: graph listings are limited to graphs under ``graph_prefix``.

Commit guarantee: new graph contents are uploaded to scratch graphs (``{graph}#staging-{token}``)
and then swapped in by ONE SPARQL update request (the difference for a replaced graph, ADD for
an added one, plus the data-version change). Virtuoso runs one request as one transaction, so
a failed or interrupted upload leaves the old graphs untouched (only scratch graphs, which
graph listings ignore). Queries over the union default graph can see scratch triples while an
upload is in progress. Each commit's marker graph (``{meta}#staging-{token}``) says when it
was last seen (its start, then at most every HEARTBEAT s between its upload requests), so
:meth:`RemoteStore.sweep_staging` drops only the scratch graphs of commits long unseen (a
crash), never those of a running one. A commit silent that long (suspended, one request
stuck) that goes on finds its marker gone and fails: the time is renewed only in a marker
still there, and every change of the swap is joined with the marker, so a swept commit
never swaps in the part of a graph it sent after the sweep.

A replaced graph gets only the difference (delete what the new contents lack, insert what the
old ones lack), never ``MOVE``: Virtuoso 7.2.5 replays a transaction that deletes and inserts
the same quad wrongly when it rolls its log forward after a crash or a stop without a
checkpoint, and loses such quads (a graph replaced by an overlapping version came back with
hundreds of triples missing; tests/faults/test_virtuoso_faults.py).

A server that stops during a request gives a :class:`StoreError` naming the endpoint, never a
raw network exception; the same store object works again once the server is back. A server
that answers but is not what the setting says (an HTML page, a wrong path, an update
endpoint that ignores updates) is named as such: every commit checks that the server holds
its uploads and took its swap, since an HTTP 200 alone proves nothing.
"""

import contextlib
import html
import itertools
import json
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph as ox
import requests
from requests.auth import HTTPBasicAuth, HTTPDigestAuth
from SPARQLWrapper import ASK, CONSTRUCT, DESCRIBE, SELECT, SPARQLWrapper
from urllib3.exceptions import NewConnectionError

from ..namespaces import GRAPH
from ..sparqltext import has_dataset, scan_tokens
from .base import (
    META_GRAPH,
    STAGING,
    SWEEP_MIN_MINUTES,
    QueryResult,
    QueryTimeout,
    Row,
    StagedCommit,
    StagingSweep,
    Store,
    StoreError,
    Term,
    staged_commits,
)
from .bindings import bind
from .settings import remote_section
from .termtext import fact_pairs

VERSION_PRED = "https://w3id.org/clusterpolisee/ontology#dataVersion"
#: When a commit was last seen, in its marker graph (``sweep_staging``).
SEEN_PRED = "https://w3id.org/clusterpolisee/ontology#stagingSeen"
XSD_DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
#: Seconds between a commit's signs of life while it uploads: a sweep with a threshold well
#: above it leaves a running commit's scratch graphs alone.
HEARTBEAT = 60
#: Seconds of a commit's silence after which a marker graph found gone was dropped by a
#: sweep: one needs SWEEP_MIN_MINUTES of silence; the margin is for clocks a minute apart.
#: (A marker gone after a shorter silence never got in: the upload went elsewhere.)
SWEPT_SILENCE = SWEEP_MIN_MINUTES * 60 - 60
TIMEOUT_MARKERS = ("S1TAT", "SR203", "HY008", "SR171")
#: Virtuoso's "Transaction aborted because it's log after image size went above the limit":
#: one commit of 2.7 million inferred triples (10M) went past the packaged 50 MB.
TOO_BIG_MARKER = "SR325"
#: Triples per request when no Graph Store endpoint is configured (Virtuoso: < ~1,000).
INSERT_CHUNK = 500
#: Triples per Graph Store upload request (keeps memory bounded for big graphs).
GSP_CHUNK = 100_000
#: Seconds a query's answer may take past its limit before we stop waiting (Virtuoso sends
#: its partial "anytime" answer at the limit; a server that sends nothing may be stuck).
ANSWER_SLACK = 30
#: Seconds to open a connection: a dead or unreachable host is said at once, not after the
#: query's whole time limit (the read timeout).
CONNECT_TIMEOUT = 10


#: Statuses a SPARQL or Graph Store endpoint never gives to a well-formed request: the URL
#: is some other web resource (404 a wrong path; 405 and 501 a server without POST/PUT).
NOT_AN_ENDPOINT = (404, 405, 501)
#: How much of a server's error text goes into a message.
ERROR_TEXT = 300
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>|<[!?][^<>]*>")
_PROLOGUE = re.compile(
    r"(?:\s+|#[^\r\n]*|BASE\s*<[^<>]*>|PREFIX\s*[^\s:<>]*:\s*<[^<>]*>)*", re.IGNORECASE
)


def query_form(text: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE, as SPARQLWrapper reads the text."""
    w = SPARQLWrapper("http://localhost/sparql")
    w.setQuery(text)
    return w.queryType


def own_limit(query: str) -> int | None:
    """The query's own outermost LIMIT, if any: the one outside every brace, found by a scan
    that skips comments, strings and IRIs ("# was LIMIT 5" is none)."""
    at = None
    for offset, token, depth in scan_tokens(query):
        if not depth and token.upper() == "LIMIT":
            at = offset
    found = re.match(r"LIMIT\s+(\d+)", query[at:], re.IGNORECASE) if at is not None else None
    return int(found.group(1)) if found else None


def limited(query: str, n: int) -> str | None:
    """A SELECT that keeps the first ``n`` rows of ``query``'s answer, in its order, as a
    sub-select with LIMIT (right whatever the query ends with: ORDER BY, GROUP BY, its own
    LIMIT); the prologue stays outside. None for a query with FROM, which a sub-select may
    not have, or with VALUES after its WHERE clause, which Virtuoso 7.2.5 answers with no
    rows inside a sub-select."""
    if has_dataset(query) or any(
        not depth and token.upper() == "VALUES" for _, token, depth in scan_tokens(query)
    ):
        return None
    head = _PROLOGUE.match(query).end()  # type: ignore[union-attr]  # matches "" at worst
    body = query[head:]
    # The newline ends a comment on the query's last line, which would hide the braces.
    return f"{query[:head]}\nSELECT * WHERE {{ {{\n{body}\n}} }} LIMIT {n}"


def _maybe_sent(exc: StoreError) -> bool:
    """Whether a request that failed on the network may have reached the server: anything
    but a connection never made (refused, unknown host, connect timeout)."""
    cause = exc.__cause__
    if not isinstance(cause, requests.ConnectionError) or isinstance(
        cause, requests.ConnectTimeout
    ):
        return False
    inner: BaseException | None = cause
    for _ in range(6):  # requests wraps urllib3's errors, which wrap the socket's
        if inner is None or isinstance(inner, NewConnectionError):
            return inner is None
        reason = getattr(inner, "reason", None)
        inner = reason if isinstance(reason, BaseException) else inner.__context__
    return True


def _is_html(headers: dict) -> bool:
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in ("text/html", "application/xhtml+xml")


def _one_line(body: bytes, headers: dict) -> str:
    """A server's error text as one short line: an HTML page's text without its tags, or
    the first line of plain text (Virtuoso puts the query it refused after its message)."""
    text = body.decode("utf-8", errors="replace")
    if _is_html(headers) or text.lstrip().startswith("<"):
        text = re.sub(r"(?is)<(head|script|style)\b.*?</\1\s*>", " ", text)
        text = html.unescape(_HTML_TAG.sub(" ", text))
        text = " ".join(text.split())
    else:
        text = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not text:
        return "no explanation given"
    return text if len(text) <= ERROR_TEXT else text[: ERROR_TEXT - 3].rstrip() + "..."


def _credentials(server: str, status: int, config: "RemoteConfig") -> str:
    """What to check when the server refuses us (401) or our rights (403)."""
    names = (
        "CLUSTERPOLISEE_USER and CLUSTERPOLISEE_PASSWORD (user and password under [remote] "
        "in CLUSTERPOLISEE_STORE_CONFIG)"
    )
    if status == 403:
        return f"{server} refused access (HTTP 403): check that the user in {names} may write"
    if not config.user:
        return f"{server} asks for credentials (HTTP 401): set {names}"
    return (
        f"{server} refused the credentials (HTTP 401): check {names}, and "
        f"CLUSTERPOLISEE_AUTH (auth: digest or basic; now {config.auth})"
    )


def _unreachable(server: str, exc: BaseException, who: str) -> StoreError:
    return StoreError(
        f"cannot reach {server} ({_reason(exc)}); check that {who} is running, then retry"
    )


def _reason(exc: BaseException) -> str:
    """The innermost cause of a network error, short ("Connection refused")."""
    errno = re.search(r"\[Errno -?\d+\] ([^'\"()]+)", str(exc))
    if errno:
        return errno.group(1).strip()
    inner = exc
    for _ in range(6):  # requests wraps urllib3's errors, which wrap http.client's
        nxt = getattr(inner, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = next((a for a in reversed(inner.args) if isinstance(a, BaseException)), None)
        if nxt is None:
            break
        inner = nxt
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror
    text = str(inner) or type(inner).__name__
    return text if len(text) <= ERROR_TEXT else text[: ERROR_TEXT - 3] + "..."


class ResultTruncated(StoreError):
    """The server cut the answer at its row limit; the partial answer is never returned."""


@dataclass
class RemoteConfig:
    """Where the server is and who we are. Credentials come from the environment or a config
    file, never from the repository."""

    endpoint: str
    update_endpoint: str | None = None
    gsp_endpoint: str | None = None
    user: str | None = None
    password: str | None = None
    auth: str = "digest"  # or "basic"
    max_rows: int = 10_000
    timeout: float = 60.0  # seconds per query (sent to Virtuoso as its ``timeout`` in ms)
    graph_prefix: str = str(GRAPH)

    ENV = {
        "endpoint": "CLUSTERPOLISEE_ENDPOINT",
        "update_endpoint": "CLUSTERPOLISEE_UPDATE_ENDPOINT",
        "gsp_endpoint": "CLUSTERPOLISEE_GSP_ENDPOINT",
        "user": "CLUSTERPOLISEE_USER",
        "password": "CLUSTERPOLISEE_PASSWORD",
        "auth": "CLUSTERPOLISEE_AUTH",
        "max_rows": "CLUSTERPOLISEE_MAX_ROWS",
        "timeout": "CLUSTERPOLISEE_QUERY_TIMEOUT",
        "graph_prefix": "CLUSTERPOLISEE_GRAPH_PREFIX",
    }
    #: What CLUSTERPOLISEE_AUTH may name: requests' HTTP Digest or Basic authentication.
    AUTH_SCHEMES = ("digest", "basic")
    #: The longest query timeout, as the commands' --timeout takes (a day).
    LONGEST_TIMEOUT = 86_400.0

    @staticmethod
    def _setting(text: str, convert, acceptable, source: str, expected: str):
        """``text`` converted, or a StoreError naming where it was set and what it takes."""
        try:
            value = convert(text.strip())
        except ValueError:
            value = None
        if value is None or not acceptable(value):
            raise StoreError(f"bad store setting: {source} must be {expected} (got {text!r})")
        return value

    @classmethod
    def load(cls, endpoint: str | None = None, config_file: str | None = None) -> "RemoteConfig":
        """Settings from (highest first) the arguments, the environment, and the ``[remote]``
        section of the file in ``CLUSTERPOLISEE_STORE_CONFIG``."""
        values: dict[str, str] = {}
        source: dict[str, str] = {}  # where each setting came from, for the messages
        path = config_file or os.environ.get("CLUSTERPOLISEE_STORE_CONFIG")
        if path:
            values.update(remote_section(path))
            source.update({key: f"{key} under [remote] in {path}" for key in values})
        for key, var in cls.ENV.items():
            if os.environ.get(var):
                values[key], source[key] = os.environ[var], var
        if endpoint:
            values["endpoint"], source["endpoint"] = endpoint, "--endpoint"
        if values.get("endpoint") == os.environ.get(cls.ENV["endpoint"]):
            source["endpoint"] = f"--endpoint or {cls.ENV['endpoint']}"  # the CLI sets it
        if not values.get("endpoint"):
            raise StoreError(
                "no SPARQL endpoint: give --endpoint, CLUSTERPOLISEE_ENDPOINT, or endpoint "
                "under [remote] in CLUSTERPOLISEE_STORE_CONFIG"
            )
        for key in ("endpoint", "update_endpoint", "gsp_endpoint"):
            try:
                netloc = urlsplit(values.get(key) or "").netloc
            except ValueError as exc:  # "Invalid IPv6 URL" was a traceback
                raise StoreError(
                    f"bad store setting: {source[key]} is not a URL ({exc}), e.g. "
                    "http://localhost:8890/sparql"
                ) from None
            if "@" in netloc:
                # requests would send them as Basic auth, and every message names the URL
                raise StoreError(
                    f"{cls.ENV[key]} holds a user name or password in its URL: give them as "
                    "CLUSTERPOLISEE_USER and CLUSTERPOLISEE_PASSWORD instead"
                )
        # Checked here, before any request: 'abc' gave "could not convert string to float"
        # without naming the setting, and a timeout of -5 or an auth of 'kerberos' were taken.
        if "max_rows" in values:
            values["max_rows"] = cls._setting(  # type: ignore[assignment]
                values["max_rows"],
                int,
                lambda n: n >= 1,
                source["max_rows"],
                "a whole number of rows, at least 1, e.g. 10000",
            )
        if "timeout" in values:
            values["timeout"] = cls._setting(  # type: ignore[assignment]
                values["timeout"],
                float,
                lambda t: 0 < t <= cls.LONGEST_TIMEOUT,
                source["timeout"],
                f"a number of seconds above 0, at most {cls.LONGEST_TIMEOUT:,.0f}, e.g. 60",
            )
        if "auth" in values:
            values["auth"] = cls._setting(
                values["auth"],
                str.lower,
                lambda a: a in cls.AUTH_SCHEMES,
                source["auth"],
                " or ".join(cls.AUTH_SCHEMES),
            )
        known = {k: v for k, v in values.items() if k in cls.ENV}
        return cls(**known)  # type: ignore[arg-type]


def term_from_json(b: dict) -> Term:
    """A SPARQL JSON results binding as a pyoxigraph term."""
    kind, value = b["type"], b["value"]
    if kind == "uri":
        return ox.NamedNode(value)
    if kind == "bnode":
        # Virtuoso names blank nodes ``nodeID://b10000``; keep the stable part as the label.
        return ox.BlankNode(re.sub(r"[^A-Za-z0-9_]", "_", value.removeprefix("nodeID://")))
    if b.get("xml:lang"):
        return ox.Literal(value, language=b["xml:lang"])
    if b.get("datatype"):
        return ox.Literal(value, datatype=ox.NamedNode(b["datatype"]))
    return ox.Literal(value)


def ntriples(triples: Iterable[ox.Triple]) -> Iterator[list[str]]:
    """N-Triples lines in chunks of GSP_CHUNK."""
    chunk: list[str] = []
    for t in triples:
        chunk.append(f"{t.subject} {t.predicate} {t.object} .")
        if len(chunk) >= GSP_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _merged(
    replace: Mapping[str, Iterable[ox.Triple]], add: Mapping[str, Iterable[ox.Triple]]
) -> tuple[dict[str, Iterable[ox.Triple]], dict[str, Iterable[ox.Triple]]]:
    """A graph both replaced and added to is replaced by both, as on the embedded store: each
    graph has one scratch graph per commit, so its two uploads would overwrite each other."""
    both = replace.keys() & add.keys()
    merged = {g: [*ts, *add[g]] if g in both else ts for g, ts in replace.items()}
    return merged, {g: ts for g, ts in add.items() if g not in both}


def guard(token: str) -> str:
    """A pattern that matches once while the commit ``token``'s marker graph is there, and
    never once a sweep dropped it: every change a swap makes joins it, so a swept commit's
    swap changes nothing (its scratch graphs may hold only what it sent after the sweep).
    A join, not FILTER EXISTS: Virtuoso 7.2.5 answers an EXISTS with no variable wrongly."""
    meta = ox.NamedNode(META_GRAPH)
    return f"GRAPH {_marker(token)} {{ {meta} <{VERSION_PRED}> {ox.Literal(token)} }}"


def swap_in(mode: str, scratch: ox.NamedNode, target: ox.NamedNode, token: str) -> list[str]:
    """Update operations that put a scratch graph's triples into ``target``: all of them
    (ADD), or in place of its contents (MOVE), then drop the scratch graph; only while the
    commit's marker is there (``guard``; INSERT rather than ADD for that: Virtuoso keeps
    blank nodes as they are, checked).

    Replacing writes only the difference, so no quad is deleted and inserted in the same
    transaction: Virtuoso 7.2.5 loses such quads when it replays its log after a crash.
    """
    g, drop = guard(token), f"DROP SILENT GRAPH {scratch}"
    if mode == "ADD":
        return [
            f"INSERT {{ GRAPH {target} {{ ?s ?p ?o }} }} WHERE {{ {g} "
            f"GRAPH {scratch} {{ ?s ?p ?o }} }}",
            drop,
        ]
    return [
        f"DELETE {{ GRAPH {target} {{ ?s ?p ?o }} }} WHERE {{ {g} GRAPH {target} {{ ?s ?p ?o }} "
        f"FILTER NOT EXISTS {{ GRAPH {scratch} {{ ?s ?p ?o }} }} }}",
        f"INSERT {{ GRAPH {target} {{ ?s ?p ?o }} }} WHERE {{ {g} GRAPH {scratch} {{ ?s ?p ?o }} "
        f"FILTER NOT EXISTS {{ GRAPH {target} {{ ?s ?p ?o }} }} }}",
        drop,
    ]


def emptied(target: ox.NamedNode, token: str) -> str:
    """Empty ``target`` (replaced by nothing) while the commit's marker is there."""
    pattern = f"GRAPH {target} {{ ?s ?p ?o }}"
    return f"DELETE {{ {pattern} }} WHERE {{ {guard(token)} {pattern} }}"


def new_version(token: str) -> list[str]:
    """Set the data version to ``token`` while the commit's marker is there."""
    meta, g = ox.NamedNode(META_GRAPH), guard(token)
    old = f"GRAPH {meta} {{ {meta} <{VERSION_PRED}> ?v }}"
    new = f"GRAPH {meta} {{ {meta} <{VERSION_PRED}> {ox.Literal(token)} }}"
    return [f"DELETE {{ {old} }} WHERE {{ {g} {old} }}", f"INSERT {{ {new} }} WHERE {{ {g} }}"]


class Heartbeat:
    """A commit's signs of life in its marker graph (``sweep_staging``): the marker as the
    commit starts, then its time renewed when HEARTBEAT s old, at any call between upload
    requests. A renewal writes only into a marker that is still there and then looks: a
    marker a sweep dropped is never made again, so the commit fails instead of swapping in
    what it sent after the sweep."""

    def __init__(self, store: "RemoteStore", token: str) -> None:
        self.store, self.token, self.marker = store, token, _marker(token)
        self.last = 0.0  # monotonic time of the last sign of life
        self.silence = 0.0  # the longest time between two signs of life
        self.held = False  # a renewal found the marker there: gone later, it was dropped

    def start(self) -> None:
        self.last = time.monotonic()
        version, now = ox.Literal(self.token), _time_literal(datetime.now(UTC))
        meta = ox.NamedNode(META_GRAPH)
        self.store._upload(
            self.marker,
            [
                ox.Triple(meta, ox.NamedNode(VERSION_PRED), version),
                ox.Triple(self.marker, ox.NamedNode(SEEN_PRED), now),
            ],
        )

    def __call__(self) -> None:
        if time.monotonic() - self.last >= HEARTBEAT:
            self._renew()

    def _renew(self) -> None:
        now = time.monotonic()
        self.silence, self.last = max(self.silence, now - self.last), now
        m, seen = self.marker, ox.NamedNode(SEEN_PRED)
        at = _time_literal(datetime.now(UTC))
        self.store.update(
            f"DELETE {{ GRAPH {m} {{ {m} {seen} ?t }} }} INSERT {{ GRAPH {m} {{ {m} {seen} {at} "
            f"}} }} WHERE {{ {guard(self.token)} OPTIONAL {{ GRAPH {m} {{ {m} {seen} ?t }} }} }}"
        )
        if self.marker.value in self.store._holding([self.marker]):
            self.held = True
        else:
            self.check_swept()

    def check_swept(self) -> None:
        """Raise if the marker, found gone, was dropped by a sweep: it was there before, or
        the commit was silent long enough to be swept (else the upload went elsewhere)."""
        if self.held or self.silence >= SWEPT_SILENCE:
            raise StoreError(
                "this commit's scratch graphs were removed by drop-staging (it was not seen "
                f"for {int(self.silence // 60)} min); nothing was changed; run it again"
            )


class RemoteStore(Store):
    def __init__(self, config: RemoteConfig) -> None:
        self.config = config
        self.session = requests.Session()
        if config.user:
            cls = HTTPBasicAuth if config.auth == "basic" else HTTPDigestAuth
            self.session.auth = cls(config.user, config.password or "")

    # -- the SPARQL protocol -------------------------------------------------------------
    def _request(
        self, url: str, text: str, accept: str | None, timeout: float | None = None
    ) -> tuple[bytes, dict]:
        """Send one query (``accept`` given) or update; return the body and the headers
        (lower-case names). ``timeout``: this query's limit in s (default: the setting)."""
        limit = timeout or self.config.timeout
        waited = int(limit) + ANSWER_SLACK
        # Virtuoso never answers application/sparql-query POSTs: form-encoded POST. A new
        # connection each time, as urllib made: a kept-alive one the server closes while we
        # send an update would fail it for nothing.
        headers = {"Connection": "close"}
        if accept:  # a query: ask Virtuoso for its anytime time limit, in ms
            form = {"query": text, "timeout": str(int(limit * 1000))}
            headers["Accept"] = accept
        else:
            form = {"update": text}
        try:
            resp = self.session.post(
                url,
                data=form,
                headers=headers,
                timeout=(CONNECT_TIMEOUT, waited),
                allow_redirects=False,
            )
            body = resp.content
        except requests.ReadTimeout as exc:  # connected and sent, then no answer in time
            raise self._silent(url, waited, accept is not None) from exc
        except requests.RequestException as exc:  # refused, reset, gone in mid-answer
            raise _unreachable(f"the SPARQL server at {url}", exc, "it") from exc
        found = {k.lower(): v for k, v in resp.headers.items()}
        if not 200 <= resp.status_code < 300:
            raise self._refused(url, resp.status_code, found, body, limit, accept is not None)
        if found.get("x-sql-state", "") in TIMEOUT_MARKERS:
            raise QueryTimeout(
                f"the query ran past {limit:g} s; the server returned partial results, "
                "which are discarded"
            )
        if accept and _is_html(found):  # a web page where SPARQL results were asked for
            raise self._not_endpoint(url, resp.status_code, found)
        return body, found

    def _refused(
        self, url: str, status: int, headers: dict, body: bytes, limit: float, query: bool
    ) -> StoreError:
        """A one-line error for a SPARQL request the server did not answer with 2xx."""
        # Virtuoso puts its error code on the first line and echoes the request after it: a
        # query that names "SR171" is no timeout.
        text = body.decode("utf-8", errors="replace").lstrip()
        first = text.split("\n", 1)[0]
        if any(m in first for m in TIMEOUT_MARKERS):
            return QueryTimeout(f"the {'query' if query else 'update'} ran past {limit:g} s")
        if TOO_BIG_MARKER in first:
            return _too_big(f"the SPARQL server at {url}", "update")
        if status in (401, 403):
            return StoreError(_credentials(f"the SPARQL server at {url}", status, self.config))
        if status in NOT_AN_ENDPOINT or 300 <= status < 400:
            return self._not_endpoint(url, status, headers)
        what = "query" if query else "update"
        return StoreError(
            f"the SPARQL server at {url} refused the {what} (HTTP {status}): "
            f"{_one_line(body, headers)}"
        )

    def _not_endpoint(
        self, url: str, status: int, headers: dict, kind: str = "SPARQL endpoint"
    ) -> StoreError:
        moved = f", redirected to {headers['location']}" if "location" in headers else ""
        return StoreError(
            f"the server at {url} answered (HTTP {status}, "
            f"{headers.get('content-type') or 'no content type'}{moved}) but is not a {kind}: "
            f"check {self._setting_of(url)}"
        )

    def _setting_of(self, url: str) -> str:
        """The settings that name ``url``, for messages that ask to check them."""
        keys = [
            k
            for k in ("endpoint", "update_endpoint", "gsp_endpoint")
            if getattr(self.config, k) == url
        ]
        return " and ".join(
            f"{self.config.ENV[k]} ({k} under [remote] in CLUSTERPOLISEE_STORE_CONFIG)"
            for k in keys or ["endpoint"]
        )

    @property
    def _update_url(self) -> str:
        """Where updates go: the query endpoint unless an update endpoint is set."""
        return self.config.update_endpoint or self.config.endpoint

    def _silent(self, url: str, waited: int, query: bool) -> StoreError:
        """The server took the request and sent nothing: stuck or overloaded (Virtuoso 7.2.5
        did this with an earlier form of `funding` at 10M triples; RELIABILITY.md)."""
        if not query:  # an update may still be applied after we stop waiting
            return StoreError(
                f"the SPARQL server at {url} gave no answer to the update in {waited} s; it "
                "may still apply it: check the store (clusterpolisee graphs) before retrying"
            )
        return QueryTimeout(
            f"the SPARQL server at {url} gave no answer in {waited} s (the query's time limit "
            f"plus {ANSWER_SLACK} s); it is overloaded or stuck: if it answers nothing else "
            "either, restart it"
        )

    def _check_rows(self, count: int, headers: dict, asked: int | None = None) -> None:
        """Raise if the server cut the answer at its row limit. Virtuoso sends its limit in
        ``X-SPARQL-MaxRows`` whenever an answer reaches it, also when the query's own LIMIT
        (``asked``) is that many rows: then the query got what it asked for."""
        if asked is not None and count == asked:  # more than asked: ``asked`` was misread
            return
        cap = headers.get("x-sparql-maxrows")
        if cap is not None or count >= self.config.max_rows:
            raise ResultTruncated(
                f"the server cut the answer at its row limit ({cap or self.config.max_rows}); "
                "add LIMIT/OFFSET or narrow the query"
            )

    def _bad_answer(self, what: str, exc: Exception, headers: dict) -> StoreError:
        # A cut-off body (server stopped mid-answer) lands here too: say where it came from.
        kind = headers.get("content-type") or "no content type"
        return StoreError(
            f"the answer of the SPARQL server at {self.config.endpoint} ({kind}) is not "
            f"{what}: {exc}"
        )

    def _select_json(
        self, query: str, timeout: float | None = None
    ) -> tuple[list[str], list[Row], dict]:
        body, headers = self._request(
            self.config.endpoint, query, "application/sparql-results+json", timeout
        )
        try:
            data = json.loads(body)
            names = data["head"].get("vars", [])
            rows = [
                {k: term_from_json(v) for k, v in b.items() if k in names}
                for b in data["results"]["bindings"]
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self._bad_answer("SPARQL JSON results", exc, headers) from exc
        return names, rows, headers

    def update(self, text: str) -> None:
        """Run one SPARQL update request (form-encoded POST with authentication)."""
        self._request(self._update_url, text, None)

    # -- reading -------------------------------------------------------------------------
    def select(self, query: str, bindings: Mapping[str, Term] | None = None) -> list[Row]:
        if bindings:
            query = bind(query, bindings)
        _, rows, headers = self._select_json(query)
        self._check_rows(len(rows), headers, own_limit(query))
        return rows

    def run_query(
        self,
        query: str,
        store_sorts: bool = False,
        split: bool = False,
        *,
        timeout: float | None = None,
        limit: int | None = None,
    ) -> QueryResult:
        """``Store.run_query``, within ``timeout`` s (default: the setting); ``limit`` keeps
        the first rows of a SELECT, asked of the server (``QueryResult.more`` says whether
        there were more), so a long listing is not refused as cut at the server's row
        limit."""
        # Virtuoso always sorts its answers itself and runs a query on its own threads:
        # ``store_sorts`` and ``split`` change nothing here.
        kind = query_form(query)
        if kind in (CONSTRUCT, DESCRIBE):
            body, headers = self._request(
                self.config.endpoint, query, "application/n-triples", timeout
            )
            try:
                triples = [q.triple for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)]
            except SyntaxError as exc:
                raise self._bad_answer("N-Triples", exc, headers) from exc
            self._check_rows(len(triples), headers)
            return QueryResult("construct", triples=triples)
        if kind == ASK:
            body, headers = self._request(
                self.config.endpoint, query, "application/sparql-results+json", timeout
            )
            try:
                return QueryResult("ask", boolean=bool(json.loads(body)["boolean"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise self._bad_answer("a SPARQL JSON boolean", exc, headers) from exc
        if kind != SELECT:
            raise StoreError("only SELECT, ASK, CONSTRUCT and DESCRIBE queries can be run")
        return self._run_select(query, timeout, limit)

    def _run_select(self, query: str, timeout: float | None, limit: int | None) -> QueryResult:
        asked = own_limit(query)
        if limit is not None and (wrapped := limited(query, limit + 1)) is not None:
            # One row more than shown tells whether the answer has more.
            query, asked = wrapped, min(limit + 1, asked or limit + 1)
        names, rows, headers = self._select_json(query, timeout)
        self._check_rows(len(rows), headers, asked)
        more = limit is not None and len(rows) > limit
        return QueryResult(
            "select", variables=names, rows=rows[:limit] if more else rows, more=more
        )

    def _ours(self, graph: str) -> bool:
        return (
            graph.startswith(self.config.graph_prefix)
            and graph != META_GRAPH
            and STAGING not in graph
        )

    def graph_sizes(self) -> dict[str, int]:
        prefix = ox.Literal(self.config.graph_prefix)
        _, rows, headers = self._select_json(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
            f"FILTER(STRSTARTS(STR(?g), {prefix})) }} GROUP BY ?g"
        )
        self._check_rows(len(rows), headers)
        sizes = {r["g"].value: int(r["n"].value) for r in rows if self._ours(r["g"].value)}
        return dict(sorted(sizes.items()))

    def graph_triples(self, graph: str) -> list[ox.Triple]:
        """All triples of a graph, read in pages below the server's row limit."""
        node = ox.NamedNode(graph)
        pages = self._pages("?s ?p ?o", f"GRAPH {node} {{ ?s ?p ?o }}", distinct=False)
        return [ox.Triple(r["s"], r["p"], r["o"]) for rows in pages for r in rows]

    def pairs(self, predicate: str, skip_graph: str) -> set[tuple[str, str]]:
        """``Store.pairs`` in pages below the server's row limit (the reasoning step reads
        every type this way: far more rows than one answer may have), from our graphs only
        (the server's own graphs type their resources too)."""
        where = (
            f"GRAPH ?g {{ ?s {ox.NamedNode(predicate)} ?o }} "
            f"FILTER(STRSTARTS(STR(?g), {ox.Literal(self.config.graph_prefix)}) "
            f"&& ?g != {ox.NamedNode(skip_graph)} && !CONTAINS(STR(?g), {ox.Literal(STAGING)}))"
        )
        pages = self._pages("?s ?o", where)
        return fact_pairs((str(r["s"]), str(r["o"])) for rows in pages for r in rows)

    def _pages(self, names: str, where: str, distinct: bool = True) -> Iterator[list[Row]]:
        """The rows of ``SELECT names WHERE { where }``, page by page below the server's row
        limit. Graph Store GETs and CONSTRUCTs are cut at the limit without any sign, so
        pages of an ordered SELECT are used; Virtuoso sorts only inside a subquery (SR353
        else). The terms in ``where`` are ours, written as N-Triples. Each page is a request
        of its own: a commit between two would shift the pages, so the data version is
        compared at the end and a changed store raises (nothing read is then used).

        Each page sorts the whole answer again, so the cost grows with its square: a large
        remote store wants a raised row limit (README, "Store")."""
        page, offset = max(1, self.config.max_rows // 2), 0
        version = self.data_version()
        form = "DISTINCT " if distinct else ""
        while True:
            _, rows, headers = self._select_json(
                f"SELECT {names} WHERE {{ {{ SELECT {form}{names} WHERE {{ {where} }} "
                f"ORDER BY {names} }} }} LIMIT {page} OFFSET {offset}"
            )
            if "x-sparql-maxrows" in headers:
                self._check_rows(len(rows), headers)
            yield rows
            if len(rows) < page:
                break
            offset += page
        if self.data_version() != version:
            raise StoreError(
                "the store changed while it was read page by page (another writer); "
                "nothing read was used: try again"
            )

    def data_version(self) -> str:
        meta = ox.NamedNode(META_GRAPH)
        _, rows, _ = self._select_json(
            f"SELECT ?v WHERE {{ GRAPH {meta} {{ {meta} <{VERSION_PRED}> ?v }} }} LIMIT 1"
        )
        return rows[0]["v"].value if rows else "empty"

    # -- writing -------------------------------------------------------------------------
    def _upload(
        self, graph: ox.NamedNode, triples: Iterable[ox.Triple], beat: Heartbeat | None = None
    ) -> int:
        """Put triples into a (scratch) graph; return how many. Graph Store Protocol when
        configured (no size limit, blank nodes allowed), else INSERT DATA in small chunks.
        ``beat`` is called after each request, so a long upload keeps its commit seen."""
        count = 0
        if self.config.gsp_endpoint:
            for i, chunk in enumerate(ntriples(triples)):
                method = "PUT" if i == 0 else "POST"
                self._gsp(method, graph, "\n".join(chunk).encode())
                count += len(chunk)
                if beat:
                    beat()
            return count
        chunk: list[str] = []
        for t in triples:
            if isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode):
                raise StoreError("blank nodes need a Graph Store endpoint (INSERT DATA refuses)")
            chunk.append(f"{t.subject} {t.predicate} {t.object} .")
            if len(chunk) >= INSERT_CHUNK:
                count += self._insert(graph, chunk)
                chunk = []
                if beat:
                    beat()
        return count + (self._insert(graph, chunk) if chunk else 0)

    def _insert(self, graph: ox.NamedNode, lines: list[str]) -> int:
        self.update(f"INSERT DATA {{ GRAPH {graph} {{\n" + "\n".join(lines) + "\n} }")
        return len(lines)

    def _gsp(self, method: str, graph: ox.NamedNode, body: bytes) -> None:
        url = self.config.gsp_endpoint or ""
        server = f"the Graph Store endpoint {url}"
        try:
            resp = self._gsp_send(method, url, graph, body)
        except requests.RequestException as exc:
            raise _unreachable(server, exc, "the server") from exc
        status = resp.status_code
        if status in (200, 201, 204):
            return
        headers = {k.lower(): v for k, v in resp.headers.items()}
        if TOO_BIG_MARKER in resp.text:
            raise _too_big(server, f"{method} of one chunk")
        if status in (401, 403):
            raise StoreError(_credentials(server, status, self.config))
        if status in NOT_AN_ENDPOINT or 300 <= status < 400:
            raise self._not_endpoint(url, status, headers, "Graph Store endpoint")
        raise StoreError(
            f"{server} refused the {method} (HTTP {status}): {_one_line(resp.content, headers)}"
        )

    def _gsp_send(
        self, method: str, url: str, graph: ox.NamedNode, body: bytes
    ) -> requests.Response:
        """One Graph Store request, sent again once if the connection drops before an answer.

        With digest authentication a session's first request goes without credentials;
        Virtuoso answers 401 without reading a large body and may reset the connection while
        the client reads that answer (seen once in a test run, and in two of three bulk loads
        of 1M triples in a row on 2026-12-05). The challenge is then lost with the answer, so
        before sending again the handshake is done with a request without a body. Both
        methods are safe to repeat on a scratch graph: PUT replaces it, and POST adds triples
        already there.
        """
        for attempt in (1, 2):
            try:
                return self.session.request(
                    method,
                    url,
                    params={"graph": graph.value},
                    data=body,
                    headers={"Content-Type": "text/turtle; charset=utf-8"},
                    timeout=(CONNECT_TIMEOUT, max(self.config.timeout, 600)),
                    allow_redirects=False,  # a 302 turned the PUT into a GET that "worked"
                )
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                if attempt == 2 or isinstance(exc, requests.Timeout):
                    raise
                # A graph nobody has: the answer (404 once authenticated) carries no data.
                self.session.get(
                    url, params={"graph": f"{GRAPH}handshake"}, timeout=(CONNECT_TIMEOUT, 60)
                )
        raise AssertionError("unreachable")

    def commit(
        self,
        replace: Mapping[str, Iterable[ox.Triple]] | None = None,
        add: Mapping[str, Iterable[ox.Triple]] | None = None,
    ) -> None:
        replace, add = _merged(replace or {}, add or {})
        token = uuid.uuid4().hex
        # A scratch graph the swap drops, so that its absence proves the swap took even when
        # nothing else was uploaded and another writer has changed the version. It also says
        # when the commit was last seen, so that drop-staging leaves a running one alone, and
        # the swap changes nothing without it (``guard``).
        beat = Heartbeat(self, token)
        ops: list[str] = []
        staged, uploaded = [beat.marker], [beat.marker]
        try:
            beat.start()
            for mode, graphs in (("MOVE", replace), ("ADD", add)):
                for graph, triples in graphs.items():
                    beat()
                    target = ox.NamedNode(graph)
                    scratch = ox.NamedNode(f"{graph}{STAGING}{token}")
                    staged.append(scratch)
                    if self._upload(scratch, triples, beat) == 0:
                        if mode == "MOVE":
                            ops.append(emptied(target, token))
                        continue
                    uploaded.append(scratch)
                    ops.extend(swap_in(mode, scratch, target, token))
            beat()
            self._check_uploaded(uploaded, beat)
            ops.extend([*new_version(token), f"DROP SILENT GRAPH {beat.marker}"])
            self._swap(" ;\n".join(ops), token, uploaded, beat)
        except (StoreError, ValueError) as exc:
            self._drop_quietly(staged)
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot write: {exc}") from exc

    def _swap(
        self, update: str, token: str, uploaded: list[ox.NamedNode], beat: Heartbeat | None
    ) -> None:
        """Send the swap and check that it took. A connection lost after the request went
        out is no failure yet: the server may have applied it and then closed without an
        answer (a retry of a commit that took would then be refused, or do it twice), so the
        store is asked which it was."""
        try:
            self.update(update)
        except StoreError as exc:
            if not _maybe_sent(exc):
                raise
            try:
                taken = self._took(token, uploaded)
            except StoreError:
                raise StoreError(
                    f"{exc} (the update may have been applied: check the store, "
                    "clusterpolisee graphs, before retrying)"
                ) from exc
            if not taken:
                raise
            return
        self._check_taken(token, uploaded)
        if beat is not None:
            self._check_not_swept(token, beat)

    def _check_not_swept(self, token: str, beat: Heartbeat) -> None:
        """Raise if the commit was silent long enough before its swap to be swept meanwhile
        and the version is not its own: its swap then changed nothing (``guard``), or took
        and another writer has committed since; only the store's contents can tell."""
        quiet = time.monotonic() - beat.last
        if quiet < SWEPT_SILENCE or self.data_version() == token:
            return
        raise StoreError(
            f"this commit was not seen for {int(quiet // 60)} min before its swap: if "
            "drop-staging ran meanwhile, the swap changed nothing; else it took and another "
            "writer has committed since: check the store (clusterpolisee graphs) before "
            "running it again"
        )

    def _took(self, token: str, uploaded: list[ox.NamedNode]) -> bool:
        """Whether the swap took: the data version is its token, or (another writer having
        changed the version since) its scratch graphs, the marker among them, are gone."""
        return self.data_version() == token or not self._holding(uploaded)

    def _holding(self, graphs: list[ox.NamedNode]) -> set[str]:
        """Which of ``graphs`` hold a triple, as the query endpoint sees them."""
        values = " ".join(str(g) for g in graphs)
        _, rows, _ = self._select_json(
            f"SELECT ?g WHERE {{ VALUES ?g {{ {values} }} "
            "FILTER EXISTS { GRAPH ?g { ?s ?p ?o } } }"
        )
        return {r["g"].value for r in rows}

    def _check_uploaded(self, graphs: list[ox.NamedNode], beat: Heartbeat | None = None) -> None:
        """Raise unless the store holds every graph uploaded. Any web server answers 200 to
        an upload it ignores (an HTML page), and Virtuoso's own answer is an empty HTML body,
        so only the store can tell. A commit's marker gone after a long silence was swept."""
        held = self._holding(graphs)
        missing = [g.value for g in graphs if g.value not in held]
        if not missing:
            return
        if beat is not None and beat.marker.value in missing:
            beat.check_swept()
        # Name the data's graph rather than the commit's marker, where both are missing.
        missing.sort(key=lambda g: g.startswith(META_GRAPH + STAGING))
        url = self.config.gsp_endpoint or self._update_url
        kind = "Graph Store endpoint" if self.config.gsp_endpoint else "SPARQL update endpoint"
        raise StoreError(
            f"the server at {url} accepted the upload to {missing[0]}, but the store read at "
            f"{self.config.endpoint} holds none of it: {url} is not a {kind} of that store; "
            f"check {self._setting_of(url)}. The store is unchanged"
        )

    def _check_taken(self, token: str, uploaded: list[ox.NamedNode]) -> None:
        """Raise unless the swap took: its update sets the data version to ``token`` and
        drops the scratch graphs (a later writer may have changed the version since)."""
        try:
            if self._took(token, uploaded):
                return
        except StoreError as exc:  # the server went away after it answered the swap
            raise StoreError(
                f"the commit's update was answered, then checking it failed: {exc} (the commit "
                "has most likely taken effect: check the store, clusterpolisee graphs, before "
                "retrying)"
            ) from exc
        url = self._update_url
        raise StoreError(
            f"the server at {url} accepted the commit's update, but the store read at "
            f"{self.config.endpoint} did not change: {url} is not a SPARQL update endpoint "
            f"of that store; check {self._setting_of(url)}. The commit did not take "
            "effect; remove the scratch graphs it left with 'clusterpolisee drop-staging' "
            "in an hour, or with its --older-than 0 now if no other commit is running"
        )

    def _drop_quietly(self, graphs: list[ox.NamedNode]) -> None:
        """Best effort: remove scratch graphs after a failed commit (the server may be gone)."""
        if not graphs:
            return
        with contextlib.suppress(StoreError):
            self.update(" ;\n".join(f"DROP SILENT GRAPH {g}" for g in graphs))

    def bulk_load(self, path: str | Path, graph: str) -> int:
        """Stream a big N-Triples file into ``graph`` in Graph Store chunks (PUT, then POSTs).
        Not atomic: readers see the graph grow. For building or benchmarks."""
        target = ox.NamedNode(graph)
        try:
            with open(path, "rb") as fh:
                parsed = (q.triple for q in ox.parse(fh, format=ox.RdfFormat.N_TRIPLES))
                first = next(parsed, None)
                count = self._upload(target, itertools.chain([first] if first else [], parsed))
        except (OSError, SyntaxError) as exc:
            raise StoreError(f"cannot load {path}: {exc}") from exc
        if first is not None:
            self._check_holds(target, first)
        self.commit()  # a new data version
        return count

    def _check_holds(self, graph: ox.NamedNode, triple: ox.Triple) -> None:
        """Raise unless ``graph`` holds ``triple``, the first of a bulk load: a graph that
        held triples before passes ``_check_uploaded`` even when the upload was ignored. A
        blank node cannot be looked up: such a load gets only ``_check_uploaded``."""
        if any(isinstance(t, ox.BlankNode) for t in triple):
            self._check_uploaded([graph])
            return
        pattern = f"{triple.subject} {triple.predicate} {triple.object}"
        _, rows, _ = self._select_json(
            f"SELECT ?g WHERE {{ VALUES ?g {{ {graph} }} GRAPH ?g {{ {pattern} }} }} LIMIT 1"
        )
        if not rows:
            url = self.config.gsp_endpoint or self._update_url
            raise StoreError(
                f"the server at {url} accepted the upload to {graph.value}, but the store read "
                f"at {self.config.endpoint} does not hold it; check {self._setting_of(url)}"
            )

    def scratch_graphs(self) -> list[ox.NamedNode]:
        """Scratch graphs of commits (their own, running, or left by interrupted ones)."""
        _, rows, _ = self._select_json(
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
            f'FILTER(CONTAINS(STR(?g), "{STAGING}")) }}'
        )
        return [r["g"] for r in rows if isinstance(r["g"], ox.NamedNode)]

    def sweep_staging(self, older_than: float) -> StagingSweep:
        """Drop the scratch graphs of commits not seen for ``older_than`` s (0: all). A commit
        records the time in its marker graph as it starts and every HEARTBEAT s while it
        uploads, so one seen since may be running: its graphs stay. Commits with no time
        (written before commits recorded it) get the time now, for a later sweep to judge.

        Times are UTC on the writers' clocks, compared with this host's: clocks must agree to
        well within ``older_than``. One clock, the server's NOW(), was the other choice, but
        Virtuoso 7.2.5 gives it in its local time without a zone: a change to summer time
        would age every running commit by an hour."""
        if 0 < older_than < SWEEP_MIN_MINUTES * 60:
            # A running commit renews its time once a minute: a shorter threshold would
            # drop its graphs (it would then fail, not change the store, but for nothing).
            raise StoreError(
                f"a sweep drops only commits not seen for {SWEEP_MIN_MINUTES} min or more "
                "(or all, with 0)"
            )
        commits = staged_commits(self.scratch_graphs())
        seen = self._seen_times() if commits and older_than > 0 else {}
        sweep = by_age(commits, seen, datetime.now(UTC), older_than)
        self._mark_seen(sweep.untimed)
        dropped = [g for c in sweep.dropped for g in c.graphs]
        if dropped:
            self.update(" ;\n".join(f"DROP SILENT GRAPH {g}" for g in dropped))
        return sweep

    def _seen_times(self) -> dict[str, datetime]:
        """When each commit (by token) was last seen: the latest time in its marker graph."""
        prefix = ox.Literal(f"{META_GRAPH}{STAGING}")
        _, rows, headers = self._select_json(
            f"SELECT ?m ?t WHERE {{ GRAPH ?m {{ ?m {ox.NamedNode(SEEN_PRED)} ?t }} "
            f"FILTER(STRSTARTS(STR(?m), {prefix})) }}"
        )
        self._check_rows(len(rows), headers)
        seen: dict[str, datetime] = {}
        for row in rows:
            token, at = row["m"].value.rsplit(STAGING, 1)[-1], _parse_time(row["t"])
            if at is not None and (token not in seen or at > seen[token]):
                seen[token] = at
        return seen

    def _mark_seen(self, commits: list[StagedCommit]) -> None:
        """Record the time now in the marker graph of commits that have none, unless their
        graphs went meanwhile (their commit ended: a marker made now would stay behind)."""
        if not commits:
            return
        pairs = " ".join(f"({_marker(c.token)} {c.graphs[0]})" for c in commits)
        now = _time_literal(datetime.now(UTC))
        self.update(
            f"INSERT {{ GRAPH ?m {{ ?m {ox.NamedNode(SEEN_PRED)} {now} }} }} WHERE {{ "
            f"VALUES (?m ?g) {{ {pairs} }} FILTER EXISTS {{ GRAPH ?g {{ ?s ?p ?o }} }} }}"
        )

    def describe(self) -> str:
        return self.config.endpoint

    def close(self) -> None:
        self.session.close()


def _marker(token: str) -> ox.NamedNode:
    """The marker graph of the commit ``token``: it holds when the commit was last seen."""
    return ox.NamedNode(f"{META_GRAPH}{STAGING}{token}")


def _time_literal(at: datetime) -> ox.Literal:
    """An xsd:dateTime in UTC, to the second (Virtuoso keeps this form as it is)."""
    return ox.Literal(at.strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=XSD_DATETIME)


def _parse_time(term: Term) -> datetime | None:
    """A recorded time as an aware datetime (one without a zone taken as UTC); None if it
    is not one, so its commit counts as having no time."""
    try:
        at = datetime.fromisoformat(term.value)
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def by_age(
    commits: list[StagedCommit], seen: Mapping[str, datetime], now: datetime, older_than: float
) -> StagingSweep:
    """Sort commits into those to drop (not seen for ``older_than`` s; with 0, all), those
    seen since (they may be running) and those with no time."""
    sweep = StagingSweep()
    for commit in commits:
        at = seen.get(commit.token)
        commit.silent = None if at is None else (now - at).total_seconds()
        if older_than <= 0 or (commit.silent is not None and commit.silent >= older_than):
            sweep.dropped.append(commit)
        elif commit.silent is None:
            sweep.untimed.append(commit)
        else:
            sweep.running.append(commit)
    return sweep


def _too_big(server: str, what: str) -> StoreError:
    """Virtuoso refused a write as too large for its transaction log (SR325). It rolled that
    request back; a commit then drops its scratch graphs, so the store is as it was."""
    return StoreError(
        f"{server} rolled the {what} back, as too large for its transaction log (Virtuoso's "
        "TransactionAfterImageLimit in virtuoso.ini [Parameters], 50,000,000 bytes unless "
        "set): raise it, restart the server and retry"
    )


def open_remote(endpoint: str | None = None, config_file: str | Path | None = None) -> RemoteStore:
    return RemoteStore(RemoteConfig.load(endpoint, str(config_file) if config_file else None))
