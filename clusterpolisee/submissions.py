"""The partner submission pipeline: read safely, validate, archive, commit atomically.

Order matters for "nothing is ever lost": every attempt is written to the archive (original
bytes, checksum, report, outcome) and fsynced *before* an accepted one is committed to the
store. A crash before the commit leaves an archive entry marked ``pending`` and the old graph;
a crash after it leaves the new graph and its archive entry. The store commit itself replaces
the partner graph and adds the provenance record in one transaction.
"""

import datetime as dt
import hashlib
import json
import os
import re
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyoxigraph as ox

from .gcpause import paused_collection
from .namespaces import BASE, graph_iri
from .store.base import Store

PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
XSD = "http://www.w3.org/2001/XMLSchema#"
PID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
PARTNER_EXISTS = """
SELECT ?partner WHERE { ?partner a <https://w3id.org/clusterpolisee/ontology#ProjectPartner> }"""


class SubmissionError(ValueError):
    """The submission cannot be taken at all (unknown partner, unreadable input)."""


@dataclass
class Attempt:
    """What the archive keeps about one attempt (meta.json)."""

    id: str
    partner: str
    received: str
    filename: str
    format: str | None
    sha256: str
    size: int
    outcome: str  # pending | accepted | rejected | unreadable
    triples: int = 0
    shapes_version: str = ""
    message: str = ""
    restored_from: str | None = None


@dataclass
class SubmissionResult:
    attempt: Attempt
    report: object | None = None  # validation.ValidationReport when the input was readable
    errors: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.attempt.outcome == "accepted"


def partner_iri(pid: str) -> str:
    return f"{BASE}id/partner/{pid}"


def partner_graph(pid: str) -> str:
    return graph_iri(f"partner/{pid}")


def default_archive(store_path: str | Path | None) -> Path:
    env = os.environ.get("CLUSTERPOLISEE_ARCHIVE")
    if env:
        return Path(env)
    return Path(store_path).parent / "archive" if store_path else Path("var/archive")


def check_partner(store: Store, pid: str) -> None:
    if not PID_RE.match(pid):
        raise SubmissionError(
            f"partner id {pid!r} is not valid: use lower-case words joined "
            "by hyphens, e.g. marche-region"
        )
    rows = store.select(PARTNER_EXISTS + " LIMIT 1000")
    if not any(r["partner"].value == partner_iri(pid) for r in rows):
        raise SubmissionError(
            f"unknown partner '{pid}': it is not a project partner in the "
            "reference data (data/reference/partners.ttl)"
        )


# -- archive -----------------------------------------------------------------------------------


def _fsync_write(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _write_meta(entry: Path, attempt: Attempt) -> None:
    tmp = entry / "meta.json.tmp"
    _fsync_write(tmp, json.dumps(asdict(attempt), indent=2).encode())
    os.replace(tmp, entry / "meta.json")


def archive_attempt(archive: Path, attempt: Attempt, data: bytes, reports: dict[str, str]) -> Path:
    """Write the attempt under archive/{partner}/{id}/ durably, via a rename."""
    folder = archive / attempt.partner
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{attempt.id}.tmp"
    tmp.mkdir()
    suffix = Path(attempt.filename).suffix.lower()[:10] or ".bin"
    _fsync_write(tmp / f"original{suffix}", data)
    for name, text in reports.items():
        _fsync_write(tmp / name, text.encode())
    _write_meta(tmp, attempt)
    entry = folder / attempt.id
    os.replace(tmp, entry)
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return entry


def history(archive: Path, partner: str | None = None) -> list[Attempt]:
    """Every archived attempt, oldest first. A folder ``.{id}.tmp`` is an entry a crash
    stopped before its rename (archive_attempt): it is not an attempt, and its submission
    never reached the store, which is written after the entry."""
    metas = archive.glob(f"{partner or '*'}/*/meta.json")
    done = (p for p in metas if not p.parent.name.startswith("."))
    attempts = [Attempt(**json.loads(p.read_text())) for p in done]
    return sorted(attempts, key=lambda a: (a.received, a.id))


def find_attempt(archive: Path, attempt_id: str) -> tuple[Attempt, Path]:
    for meta in archive.glob(f"*/{attempt_id}/meta.json"):
        return Attempt(**json.loads(meta.read_text())), meta.parent
    raise SubmissionError(f"no archived submission with id '{attempt_id}'")


# -- provenance --------------------------------------------------------------------------------


def provenance(attempt: Attempt) -> list[ox.Triple]:
    sub = ox.NamedNode(f"{BASE}id/submission/{attempt.id}")
    file = ox.NamedNode(f"{sub.value}#file")
    shapes = ox.NamedNode(f"{sub.value}#shapes")

    def lit(v: str, dtype: str = "string") -> ox.Literal:
        return ox.Literal(v, datatype=ox.NamedNode(XSD + dtype))

    def t(s, p: str, o) -> ox.Triple:
        return ox.Triple(s, ox.NamedNode(p), o)

    return [
        ox.Triple(sub, RDF_TYPE, ox.NamedNode(PROV + "Activity")),
        ox.Triple(sub, RDFS_LABEL, ox.Literal(f"Submission by {attempt.partner}", language="en")),
        t(sub, PROV + "wasAssociatedWith", ox.NamedNode(partner_iri(attempt.partner))),
        t(sub, PROV + "endedAtTime", lit(attempt.received, "dateTime")),
        t(sub, PROV + "used", file),
        t(sub, PROV + "used", shapes),
        t(sub, PROV + "generated", ox.NamedNode(partner_graph(attempt.partner))),
        ox.Triple(file, RDF_TYPE, ox.NamedNode(PROV + "Entity")),
        t(file, DCT + "title", lit(attempt.filename)),
        t(file, DCT + "identifier", lit("sha256:" + attempt.sha256)),
        t(file, DCT + "extent", lit(str(attempt.size), "integer")),
        ox.Triple(shapes, RDF_TYPE, ox.NamedNode(PROV + "Entity")),
        t(shapes, DCT + "hasVersion", lit(attempt.shapes_version)),
        t(sub, DCT + "extent", lit(str(attempt.triples), "integer")),
    ]


# -- the pipeline ------------------------------------------------------------------------------


def _read(data: bytes, filename: str, partner: str, input_format: str | None) -> list[ox.Triple]:
    from . import rdfio

    if filename.lower().endswith(".csv") or input_format == "csv":
        from .templates import csv_to_triples

        return csv_to_triples(data, partner)
    return rdfio.refuse_named_graphs(rdfio.read_rdf(data, filename, input_format))


def submit(
    store: Store,
    data: bytes,
    filename: str,
    partner: str,
    archive: Path,
    input_format: str | None = None,
    restored_from: str | None = None,
    after_commit=None,
) -> SubmissionResult:
    """Take one submission; the store changes only if it is accepted.

    ``after_commit(store)`` runs after an accepted commit (the reasoning step).
    """
    from . import rdfio
    from .validation import validate

    check_partner(store, partner)
    now = dt.datetime.now(dt.UTC)
    attempt = Attempt(
        id=f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}",
        partner=partner,
        # Milliseconds: two submissions of one partner can come within a second, and the
        # history is ordered by this time.
        received=now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        filename=filename,
        format=input_format,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        outcome="pending",
        restored_from=restored_from,
    )
    try:
        with paused_collection():
            triples = _read(data, filename, partner, input_format)
            report = validate(triples, partner=partner)
    except rdfio.InputError as exc:
        attempt.outcome, attempt.message = "unreadable", str(exc)
        archive_attempt(archive, attempt, data, {"report.txt": str(exc) + "\n"})
        return SubmissionResult(attempt, None, [str(exc)])
    attempt.triples, attempt.shapes_version = len(triples), report.shapes_version
    # The archived reports list at most validation.DETAIL_LIMIT results with exact totals;
    # the original file is archived too, so the full list can be recomputed.
    reports = {
        "report.txt": report.to_text(),
        "report.json": report.to_json(),
        "report.ttl": report.to_turtle(),
    }
    if not report.conforms:
        attempt.outcome = "rejected"
        attempt.message = f"{report.count('Violation'):,} violation(s)"
        archive_attempt(archive, attempt, data, reports)
        return SubmissionResult(attempt, report)
    entry = archive_attempt(archive, attempt, data, reports)
    store.commit(
        replace={partner_graph(partner): triples},
        add={graph_iri("submissions"): provenance(attempt)},
    )
    attempt.outcome = "accepted"
    _write_meta(entry, attempt)
    if after_commit is not None:
        after_commit(store)
    return SubmissionResult(attempt, report)


def restore(store: Store, archive: Path, attempt_id: str, after_commit=None) -> SubmissionResult:
    """Submit an earlier accepted version again (validated against today's shapes)."""
    attempt, entry = find_attempt(archive, attempt_id)
    if attempt.outcome != "accepted":
        raise SubmissionError(
            f"submission {attempt_id} was {attempt.outcome}, not accepted; "
            "only accepted versions can be restored"
        )
    original = next(entry.glob("original*"))
    return submit(
        store,
        original.read_bytes(),
        attempt.filename,
        attempt.partner,
        archive,
        attempt.format,
        restored_from=attempt_id,
        after_commit=after_commit,
    )


SUBMISSION_RECORDED = """
SELECT ?s WHERE { GRAPH <%s> { ?s a <http://www.w3.org/ns/prov#Activity> } }"""


def reconcile(store: Store, archive: Path) -> int:
    """Settle attempts left ``pending`` by a crash: accepted if the store holds their
    provenance record (the commit happened), otherwise ``interrupted``. Returns how many."""
    pending = [a for a in history(archive) if a.outcome == "pending"]
    if not pending:
        return 0
    rows = store.select(SUBMISSION_RECORDED % graph_iri("submissions"))
    recorded = {r["s"].value.rsplit("/", 1)[-1] for r in rows}
    for attempt in pending:
        attempt.outcome = "accepted" if attempt.id in recorded else "interrupted"
        _write_meta(archive / attempt.partner / attempt.id, attempt)
    return len(pending)


LATEST_CHECKSUM = """
SELECT ?id ?time ?partner ?g WHERE {
  GRAPH ?g {
    ?s <http://www.w3.org/ns/prov#wasAssociatedWith> ?partner ;
       <http://www.w3.org/ns/prov#endedAtTime> ?time ;
       <http://www.w3.org/ns/prov#used> ?file .
    ?file <http://purl.org/dc/terms/identifier> ?id .
  }
} ORDER BY DESC(?time) LIMIT 1"""


def current_checksum(store: Store, pid: str) -> str | None:
    """The sha256 of the file behind the partner's current graph, if any."""
    rows = store.select(
        LATEST_CHECKSUM,
        {"partner": ox.NamedNode(partner_iri(pid)), "g": ox.NamedNode(graph_iri("submissions"))},
    )
    return rows[0]["id"].value.removeprefix("sha256:") if rows else None


def submit_folder(
    store: Store, folder: Path, archive: Path, progress=lambda _p: None
) -> list[SubmissionResult]:
    """Submit every ``{pid}.ttl`` of ``folder`` as partner ``pid`` through the pipeline.

    A file identical to the one behind the partner's current graph is skipped, so running
    this twice changes nothing the second time.
    """
    results = []
    for path in sorted(folder.glob("*.ttl")):
        data = path.read_bytes()
        if current_checksum(store, path.stem) != hashlib.sha256(data).hexdigest():
            results.append(submit(store, data, path.name, path.stem, archive))
        progress(path)
    return results
