"""/graph/...: every named graph IRI of ours dereferences: size, provenance, the triples."""

import contextlib
import hashlib
import threading
import time
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    render_template,
    request,
    send_file,
    url_for,
)

from .. import renderer, url_builder
from ..access import db, download
from ..database import Database, EngineError, QueryTimedOut, Result
from ..errors import error_response
from ..pagecache import cached_page
from ..present import pick_label
from .link_provenance import LinkProvenance, link_provenance
from .resource import require_iri, split_suffix

bp = Blueprint("graphs", __name__)

PROV = "http://www.w3.org/ns/prov#"
#: The PROV-O times an activity or entity may carry, in the order a line shows them, with the
#: word it is shown with (submissions record prov:endedAtTime, the link review also
#: prov:generatedAtTime).
TIME_WORDS = {
    PROV + "startedAtTime": "started",
    PROV + "endedAtTime": "ended",
    PROV + "generatedAtTime": "generated",
    PROV + "atTime": "at",
}
# When each subject of a statement about the graph happened, latest first.
PROVENANCE_TIMES = """
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT DISTINCT ?about ?property ?time WHERE {
  ?about ?p ?graph .
  VALUES ?property { prov:startedAtTime prov:endedAtTime prov:generatedAtTime prov:atTime }
  ?about ?property ?time .
} ORDER BY DESC(?time)"""
Dated = tuple[ox.Triple, list[tuple[str, ox.Literal]]]


@bp.route("/graph/<path:path>")
@cached_page
def page(path: str):
    path, suffix = split_suffix(path)
    iri = url_builder.base() + "graph/" + path
    require_iri(iri)
    data = db().graph(iri)
    if data["count"] == 0:
        abort(404, f"there is no named graph {iri}")
    if suffix:
        fmt = renderer.by_suffix(suffix, "named")
        if fmt is None:
            offered = ", ".join("." + s for s in renderer.suffixes("named"))
            abort(404, f"no .{suffix} view of a graph; use {offered}")
    else:
        fmt = renderer.negotiate(request.accept_mimetypes, "named", "html")
    if fmt is None:
        return error_response(
            406,
            "Not Acceptable",
            "graphs are available as HTML, Turtle, N-Triples, JSON-LD, RDF/XML, TriG and N-Quads",
        )
    if not fmt.is_html:
        # Content-Location (RFC 9110 8.7): which document an answer by Accept is.
        location = None if suffix else url_for("graphs.page", path=f"{path}.{fmt.suffix}")
        extra = {"Content-Location": location} if location else {}
        if data["truncated"]:  # a 200 is the whole graph: never its first rows alone
            return _whole(iri, data["count"], fmt, extra)
        result = Result(kind="graph", triples=data["triples"], graph=iri)
        return download(fmt, result, extra)
    about = db().describe(iri)
    provenance, links, unread = _histories(iri, path, about["in"])
    resp = make_response(
        render_template(
            "graph.html",
            iri=iri,
            path=path,
            count=data["count"],
            truncated=data["truncated"],
            shown=len(data["triples"]),
            provenance=provenance,
            links=links,
            unread=unread,
            labels=about["labels"],
            label=pick_label(about["labels"].get(iri)) or iri,
            suffixes=renderer.suffixes("named"),
        )
    )
    if unread:  # a page short of its history for a busy moment is not kept for the version
        resp.headers["Cache-Control"] = "no-store"
    return resp


def _histories(
    iri: str, path: str, incoming: list[ox.Triple]
) -> tuple[list[Dated], LinkProvenance | None, str]:
    """The graph's provenance lines, its link lines, and why they could not be read ('' when
    they were): a query past the time limit leaves the page its size and downloads."""
    try:
        provenance = _provenance(iri, incoming)
    except EngineError as e:
        return [], None, e.message
    links = link_provenance(path)
    return provenance, links, links.error if links else ""


def _provenance(iri: str, incoming: list[ox.Triple]) -> list[Dated]:
    """The statements about the graph (``Submission by ancs prov:generated``), each with when
    its subject happened: a partner graph lists every submission that replaced it, so the
    lines are ordered latest first, undated ones last."""
    found = db().query(PROVENANCE_TIMES, {"graph": ox.NamedNode(iri)}, trusted=True)
    times: dict[object, list[tuple[str, ox.Literal]]] = defaultdict(list)
    for rec in found.records():
        times[rec["about"]].append((rec["property"].value, rec["time"]))
    order = {about: n for n, about in enumerate(times)}  # latest first, as queried
    lines = sorted(incoming, key=lambda t: order.get(t.subject, len(order)))
    return [(t, _in_order(times.get(t.subject, []))) for t in lines]


def _in_order(times: list[tuple[str, ox.Literal]]) -> list[tuple[str, ox.Literal]]:
    """(word, time) in the order of ``TIME_WORDS``: started before ended."""
    words = list(TIME_WORDS)
    return [(TIME_WORDS[p], when) for p, when in sorted(times, key=lambda x: words.index(x[0]))]


# -- a graph above the row limit: written whole by a worker, kept on disk per data version --

#: The formats whose writer takes prefixes, as ``renderer`` gives them.
WITH_PREFIXES = {"ttl", "rdf", "trig"}
_WRITING = threading.Lock()  # one graph file written at a time: each is a worker's 6 s at 1M
#: Seconds a request waits for another's write before a 503: a crawler asking for six
#: formats of a large graph must not hold every server thread for a minute.
WAIT_FOR_WRITER = 2.0
#: Files of other data versions are removed once this many seconds old: a request that read
#: the version before a commit may still be sending its file.
KEEP_OTHERS = 600.0
#: The time limit of writing one, in query time limits: written once for a data version (as
#: the dumps, which have none), where a visitor's query has one. At 1M, with the default 10 s,
#: the first answer took 7-10 s (RDF/XML over 10 s): at one limit it was a coin toss.
WRITE_LIMITS = 6
#: Writes that failed for the current data version, (version stamp, graph, suffix) -> the
#: refusal (status, message) or None for a write past its time limit: not tried again.
_FAILED: dict[tuple[str, str, str], tuple[int, str] | None] = {}


class WriterBusy(Exception):
    """Another request is writing a graph file."""


def _whole(iri: str, count: int, fmt: renderer.Format, extra: dict[str, str]):
    """The whole graph ``iri`` in ``fmt``: from the file a query worker writes for this data
    version (``worker.graph_file_job``), or a refusal that says why and where the whole
    data is, when the worker cannot write it within ``WRITE_LIMITS`` query time limits.

    Chosen over the first rows with ``X-Result-Truncated``: a client such as rdflib reads
    any 200 as the whole graph, and never looks at that header."""
    try:
        path = _graph_file(iri, fmt)
    except QueryTimedOut:
        return _too_large(count)
    except WriterBusy:
        resp = error_response(
            503, "Service Unavailable", "another graph is being written; try again in a minute"
        )
        resp.headers["Retry-After"] = "60"
        return resp
    except OSError as exc:  # the folder cannot be made or written: as for the dumps
        current_app.logger.error("cannot write a graph file for %s: %s", iri, exc)
        return error_response(503, "Service Unavailable", "the graph cannot be written here")
    resp = send_file(path, mimetype=fmt.mimetype, conditional=True, max_age=0)
    resp.headers["Content-Type"] = fmt.mimetype + ("" if fmt.suffix == "rdf" else "; charset=utf-8")
    resp.headers["Vary"] = "Accept"
    resp.headers["Cache-Control"] = "no-cache"  # checked by its ETag: the next version's differs
    resp.headers.update(extra)
    return resp


def _graph_file(iri: str, fmt: renderer.Format) -> Path:
    """The file of graph ``iri`` in ``fmt`` for the current data version, written if new.
    Raises WriterBusy when another request writes one, QueryTimedOut past the time limit (and
    at once for that graph, format and version after), EngineError when the worker fails,
    and answers a format that cannot carry the graph with its 406 (``abort``)."""
    from .publish import dumps_folder  # beside the dumps, which are kept per version too

    database = db()
    folder = dumps_folder() / "graphs"
    target = _target(folder, database.version(), iri, fmt)
    if target.exists():
        return target
    if not _WRITING.acquire(timeout=WAIT_FOR_WRITER):
        raise WriterBusy
    try:
        # The version now: a commit while this request waited makes its file the new one's.
        version = database.version()
        target = _target(folder, version, iri, fmt)
        key = (_digest(version), _digest(iri), fmt.suffix)
        if not target.exists():
            _failed_before(key)
            folder.mkdir(parents=True, exist_ok=True)
            _sweep(folder, key[0])
            _write(database, iri, fmt, version, target, key)
    finally:
        _WRITING.release()
    return target


def _target(folder: Path, version: str, iri: str, fmt: renderer.Format) -> Path:
    return folder / f"{_digest(version)}-{_digest(iri)}.{fmt.suffix}"


def _failed_before(key: tuple[str, str, str]) -> None:
    """Answer as the last write of this graph, format and version did, when it failed."""
    if key not in _FAILED:
        return
    if (refusal := _FAILED[key]) is None:
        raise QueryTimedOut("the graph could not be written within the time limit")
    abort(error_response(refusal[0], "Not Acceptable", refusal[1]))


def _write(
    database: Database, iri: str, fmt: renderer.Format, version: str, target: Path, key: tuple
) -> None:
    """Have a worker write the file; a refusal or a timeout is kept for the version."""
    job = {
        "op": "graph_file",
        "iri": iri,
        "media": fmt.mimetype,
        "target": str(target),
        "prefixes": renderer.PREFIXES if fmt.suffix in WITH_PREFIXES else None,
        "quads": "graph" not in fmt.kinds,  # TriG, N-Quads: the graph's name kept
        "version": version,
        "path": database.snapshot(version),
        "long": True,  # a long job from its start, for the pauser (webapp/pausing.py)
    }
    for old in [k for k in _FAILED if k[0] != key[0]]:  # only the current version's are kept
        del _FAILED[old]
    try:
        status, *said = database.pool.run(job, database.timeout * WRITE_LIMITS)
    except QueryTimedOut:
        _FAILED[key] = None
        raise
    finally:
        _sweep(folder=target.parent, stamp=key[0])  # a stopped write leaves its temporary file
    if status == "refused":
        _FAILED[key] = (said[0], said[1])
        abort(error_response(said[0], "Not Acceptable", said[1]))
    if status != "ok":
        raise EngineError(f"the graph could not be written: {said[-1]}")


def _sweep(folder: Path, stamp: str) -> None:
    """Remove the temporary files of stopped writes (under ``_WRITING``, so no write of this
    process is running) and the files of other data versions older than KEEP_OTHERS."""
    now = time.time()
    for old in folder.iterdir():
        if old.name.startswith(".graph-"):
            old.unlink(missing_ok=True)
        elif not old.name.startswith(stamp + "-"):
            with contextlib.suppress(FileNotFoundError):
                if now - old.stat().st_mtime > KEEP_OTHERS:
                    old.unlink(missing_ok=True)


def _too_large(count: int):
    """403 (RFC 9110 15.5.4: refused, the content says why) for a graph the server cannot
    write whole within its time limit. Not a 200 of its first rows, which a client takes as
    the graph; not 413, which is about the request's content."""
    dump = url_for("publish.dump", name="clusterpolisee.nq.gz")
    message = (
        f"this graph has {count:,} triples, more than this server writes in one answer "
        f"within its time limit. The whole data, this graph included, is at {dump} "
        "(N-Quads, gzip); parts of it are at /sparql (CONSTRUCT with LIMIT and OFFSET)."
    )
    resp = error_response(403, "Forbidden", message)
    # the dump holds every graph, so it is "related", not an "alternate" of this one
    resp.headers["Link"] = f'<{dump}>; rel="related"; type="application/gzip"'
    return resp


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]
