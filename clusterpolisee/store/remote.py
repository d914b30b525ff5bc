"""Remote backend: any SPARQL 1.1 server, over the SPARQL 1.1 Protocol (queries and updates,
through SPARQLWrapper) and the Graph Store HTTP Protocol (bulk uploads, plain HTTP).

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
graph listings ignore; :meth:`RemoteStore.drop_staging` removes them after a crash). Queries
over the union default graph can see scratch triples while an upload is in progress.

A replaced graph gets only the difference (delete what the new contents lack, insert what the
old ones lack), never ``MOVE``: Virtuoso 7.2.5 replays a transaction that deletes and inserts
the same quad wrongly when it rolls its log forward after a crash or a stop without a
checkpoint, and loses such quads (a graph replaced by an overlapping version came back with
hundreds of triples missing; tests/faults/test_virtuoso_faults.py).

A server that stops during a request gives a :class:`StoreError` naming the endpoint, never a
raw network exception; the same store object works again once the server is back.
"""

import configparser
import contextlib
import http.client
import json
import os
import re
import urllib.error
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import requests
from requests.auth import HTTPBasicAuth, HTTPDigestAuth
from SPARQLWrapper import ASK, CONSTRUCT, DESCRIBE, DIGEST, POST, SELECT, URLENCODED, SPARQLWrapper
from SPARQLWrapper import BASIC as BASIC_AUTH
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from ..namespaces import GRAPH
from .base import META_GRAPH, QueryResult, QueryTimeout, Row, Store, StoreError, Term
from .bindings import bind
from .termtext import fact_pairs

VERSION_PRED = "https://w3id.org/clusterpolisee/ontology#dataVersion"
STAGING = "#staging-"
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

    @classmethod
    def load(cls, endpoint: str | None = None, config_file: str | None = None) -> "RemoteConfig":
        """Settings from (highest first) the arguments, the environment, and the ``[remote]``
        section of the file in ``CLUSTERPOLISEE_STORE_CONFIG``."""
        values: dict[str, str] = {}
        path = config_file or os.environ.get("CLUSTERPOLISEE_STORE_CONFIG")
        if path:
            parser = configparser.ConfigParser()
            if not parser.read(path):
                raise StoreError(f"cannot read the store configuration file {path}")
            values.update(parser["remote"] if parser.has_section("remote") else {})
        for key, var in cls.ENV.items():
            if os.environ.get(var):
                values[key] = os.environ[var]
        if endpoint:
            values["endpoint"] = endpoint
        if not values.get("endpoint"):
            raise StoreError("no SPARQL endpoint: give --endpoint or CLUSTERPOLISEE_ENDPOINT")
        try:
            for key in ("max_rows",):
                if key in values:
                    values[key] = int(values[key])  # type: ignore[assignment]
            if "timeout" in values:
                values["timeout"] = float(values["timeout"])  # type: ignore[assignment]
        except ValueError as exc:
            raise StoreError(f"bad store setting: {exc}") from exc
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


def swap_in(mode: str, scratch: ox.NamedNode, target: ox.NamedNode) -> list[str]:
    """Update operations that put a scratch graph's triples into ``target``: all of them
    (ADD), or in place of its contents (MOVE), then drop the scratch graph.

    Replacing writes only the difference, so no quad is deleted and inserted in the same
    transaction: Virtuoso 7.2.5 loses such quads when it replays its log after a crash.
    """
    if mode == "ADD":
        return [f"ADD SILENT GRAPH {scratch} TO {target}", f"DROP SILENT GRAPH {scratch}"]
    return [
        f"DELETE {{ GRAPH {target} {{ ?s ?p ?o }} }} WHERE {{ GRAPH {target} {{ ?s ?p ?o }} "
        f"FILTER NOT EXISTS {{ GRAPH {scratch} {{ ?s ?p ?o }} }} }}",
        f"INSERT {{ GRAPH {target} {{ ?s ?p ?o }} }} WHERE {{ GRAPH {scratch} {{ ?s ?p ?o }} "
        f"FILTER NOT EXISTS {{ GRAPH {target} {{ ?s ?p ?o }} }} }}",
        f"DROP SILENT GRAPH {scratch}",
    ]


class RemoteStore(Store):
    def __init__(self, config: RemoteConfig) -> None:
        self.config = config
        self.session = requests.Session()
        if config.user:
            cls = HTTPBasicAuth if config.auth == "basic" else HTTPDigestAuth
            self.session.auth = cls(config.user, config.password or "")

    # -- the SPARQL protocol -------------------------------------------------------------
    def _wrapper(self, url: str, text: str, accept: str | None) -> SPARQLWrapper:
        w = SPARQLWrapper(url)
        # Virtuoso never answers application/sparql-query POSTs: use form-encoded POST.
        w.setMethod(POST)
        w.setRequestMethod(URLENCODED)
        w.setTimeout(int(self.config.timeout) + ANSWER_SLACK)
        if self.config.user:
            w.setHTTPAuth(BASIC_AUTH if self.config.auth == "basic" else DIGEST)
            w.setCredentials(self.config.user, self.config.password or "")
        w.setQuery(text)
        if accept:
            w.setOnlyConneg(True)
            w.addCustomHttpHeader("Accept", accept)
        return w

    def _request(self, url: str, text: str, accept: str | None) -> tuple[bytes, dict, str]:
        """Send one query or update; return body, headers and the detected query form."""
        w = self._wrapper(url, text, accept)
        if accept:  # a query, not an update: ask Virtuoso for its anytime time limit
            w.addParameter("timeout", str(int(self.config.timeout * 1000)))
        try:
            res = w.query()
            body, headers = res.response.read(), dict(res.info())
        except SPARQLWrapperException as exc:
            message = str(exc)
            if any(m in message for m in TIMEOUT_MARKERS):
                raise QueryTimeout(f"the query ran past {self.config.timeout} s") from exc
            if TOO_BIG_MARKER in message:
                raise _too_big(f"the SPARQL server at {url}", "update") from exc
            raise StoreError(
                f"the SPARQL server at {url} refused the request: {message[:800]}"
            ) from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            if isinstance(exc, TimeoutError):  # connected and sent, then no answer in time
                raise self._silent(url, w.timeout, accept is not None) from exc
            # HTTPException: the server went away in mid-answer (IncompleteRead, ...).
            raise StoreError(
                f"cannot reach the SPARQL server at {url} ({type(exc).__name__}: {exc}); "
                "check that it is running, then retry"
            ) from exc
        headers = {k.lower(): v for k, v in headers.items()}
        if headers.get("x-sql-state", "") in TIMEOUT_MARKERS:
            raise QueryTimeout(
                f"the query ran past {self.config.timeout} s; the server returned partial "
                "results, which are discarded"
            )
        return body, headers, w.queryType

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

    def _check_rows(self, count: int, headers: dict) -> None:
        cap = headers.get("x-sparql-maxrows")
        if cap is not None or count >= self.config.max_rows:
            raise ResultTruncated(
                f"the server cut the answer at its row limit ({cap or self.config.max_rows}); "
                "add LIMIT/OFFSET or narrow the query"
            )

    def _bad_answer(self, what: str, exc: Exception) -> StoreError:
        # A cut-off body (server stopped mid-answer) lands here too: say where it came from.
        return StoreError(
            f"the answer of the SPARQL server at {self.config.endpoint} is not {what}: {exc}"
        )

    def _select_json(self, query: str) -> tuple[list[str], list[Row], dict]:
        body, headers, _ = self._request(
            self.config.endpoint, query, "application/sparql-results+json"
        )
        try:
            data = json.loads(body)
            names = data["head"].get("vars", [])
            rows = [
                {k: term_from_json(v) for k, v in b.items() if k in names}
                for b in data["results"]["bindings"]
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self._bad_answer("SPARQL JSON results", exc) from exc
        return names, rows, headers

    def update(self, text: str) -> None:
        """Run one SPARQL update request (form-encoded POST with authentication)."""
        self._request(self.config.update_endpoint or self.config.endpoint, text, None)

    # -- reading -------------------------------------------------------------------------
    def select(self, query: str, bindings: Mapping[str, Term] | None = None) -> list[Row]:
        if bindings:
            query = bind(query, bindings)
        _, rows, headers = self._select_json(query)
        self._check_rows(len(rows), headers)
        return rows

    def run_query(self, query: str, store_sorts: bool = False, split: bool = False) -> QueryResult:
        # Virtuoso always sorts its answers itself and runs a query on its own threads:
        # ``store_sorts`` and ``split`` change nothing here.
        kind = self._wrapper(self.config.endpoint, query, None).queryType
        if kind in (CONSTRUCT, DESCRIBE):
            body, headers, _ = self._request(self.config.endpoint, query, "application/n-triples")
            try:
                triples = [q.triple for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)]
            except SyntaxError as exc:
                raise self._bad_answer("N-Triples", exc) from exc
            self._check_rows(len(triples), headers)
            return QueryResult("construct", triples=triples)
        if kind == ASK:
            body, _, _ = self._request(
                self.config.endpoint, query, "application/sparql-results+json"
            )
            try:
                return QueryResult("ask", boolean=bool(json.loads(body)["boolean"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise self._bad_answer("a SPARQL JSON boolean", exc) from exc
        if kind != SELECT:
            raise StoreError("only SELECT, ASK, CONSTRUCT and DESCRIBE queries can be run")
        names, rows, headers = self._select_json(query)
        self._check_rows(len(rows), headers)
        return QueryResult("select", variables=names, rows=rows)

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
    def _upload(self, graph: ox.NamedNode, triples: Iterable[ox.Triple]) -> int:
        """Put triples into a (scratch) graph; return how many. Graph Store Protocol when
        configured (no size limit, blank nodes allowed), else INSERT DATA in small chunks."""
        count = 0
        if self.config.gsp_endpoint:
            for i, chunk in enumerate(ntriples(triples)):
                method = "PUT" if i == 0 else "POST"
                self._gsp(method, graph, "\n".join(chunk).encode())
                count += len(chunk)
            return count
        chunk: list[str] = []
        for t in triples:
            if isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode):
                raise StoreError("blank nodes need a Graph Store endpoint (INSERT DATA refuses)")
            chunk.append(f"{t.subject} {t.predicate} {t.object} .")
            if len(chunk) >= INSERT_CHUNK:
                count += self._insert(graph, chunk)
                chunk = []
        return count + (self._insert(graph, chunk) if chunk else 0)

    def _insert(self, graph: ox.NamedNode, lines: list[str]) -> int:
        self.update(f"INSERT DATA {{ GRAPH {graph} {{\n" + "\n".join(lines) + "\n} }")
        return len(lines)

    def _gsp(self, method: str, graph: ox.NamedNode, body: bytes) -> None:
        url = self.config.gsp_endpoint or ""
        try:
            resp = self._gsp_send(method, url, graph, body)
        except requests.RequestException as exc:
            raise StoreError(
                f"cannot reach the Graph Store endpoint {url} ({type(exc).__name__}: {exc}); "
                "check that the server is running, then retry"
            ) from exc
        if resp.status_code not in (200, 201, 204):
            if TOO_BIG_MARKER in resp.text:
                raise _too_big(f"the Graph Store endpoint {url}", f"{method} of one chunk")
            raise StoreError(
                f"the Graph Store endpoint answered {resp.status_code} to {method}: "
                f"{resp.text[:500]}"
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
                    timeout=max(self.config.timeout, 600),
                )
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                if attempt == 2 or isinstance(exc, requests.Timeout):
                    raise
                # A graph nobody has: the answer (404 once authenticated) carries no data.
                self.session.get(url, params={"graph": f"{GRAPH}handshake"}, timeout=60)
        raise AssertionError("unreachable")

    def commit(
        self,
        replace: Mapping[str, Iterable[ox.Triple]] | None = None,
        add: Mapping[str, Iterable[ox.Triple]] | None = None,
    ) -> None:
        token = uuid.uuid4().hex
        ops: list[str] = []
        staged: list[ox.NamedNode] = []
        try:
            for mode, graphs in (("MOVE", replace or {}), ("ADD", add or {})):
                for graph, triples in graphs.items():
                    target = ox.NamedNode(graph)
                    scratch = ox.NamedNode(f"{graph}{STAGING}{token}")
                    staged.append(scratch)
                    if self._upload(scratch, triples) == 0:
                        if mode == "MOVE":
                            ops.append(f"DROP SILENT GRAPH {target}")
                        continue
                    ops.extend(swap_in(mode, scratch, target))
            meta, version = ox.NamedNode(META_GRAPH), ox.Literal(token)
            ops.append(f"DELETE WHERE {{ GRAPH {meta} {{ {meta} <{VERSION_PRED}> ?v }} }}")
            ops.append(f"INSERT DATA {{ GRAPH {meta} {{ {meta} <{VERSION_PRED}> {version} }} }}")
            self.update(" ;\n".join(ops))
        except (StoreError, ValueError) as exc:
            self._drop_quietly(staged)
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot write: {exc}") from exc

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
                count = self._upload(target, parsed)
        except (OSError, SyntaxError) as exc:
            raise StoreError(f"cannot load {path}: {exc}") from exc
        self.commit()  # a new data version
        return count

    def scratch_graphs(self) -> list[ox.NamedNode]:
        """Scratch graphs of commits (their own, running, or left by interrupted ones)."""
        _, rows, _ = self._select_json(
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
            f'FILTER(CONTAINS(STR(?g), "{STAGING}")) }}'
        )
        return [r["g"] for r in rows if isinstance(r["g"], ox.NamedNode)]

    def drop_staging(self) -> int:
        """Drop scratch graphs left by interrupted commits (only when no commit is running)."""
        graphs = self.scratch_graphs()
        if graphs:
            self.update(" ;\n".join(f"DROP SILENT GRAPH {g}" for g in graphs))
        return len(graphs)

    def describe(self) -> str:
        return self.config.endpoint

    def close(self) -> None:
        self.session.close()


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
