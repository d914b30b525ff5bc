"""The partner submission pipeline: read safely, validate, archive, commit atomically.

Order matters for "nothing is ever lost": every attempt is written to the archive (original
bytes, checksum, report, outcome) and fsynced *before* an accepted one is committed to the
store. A crash before the commit leaves an archive entry marked ``pending`` and the old graph;
a crash after it leaves the new graph and its archive entry. The store commit itself replaces
the partner graph and adds the provenance record in one transaction.

A submission is one file or several (e.g. one CSV template per class plus a Turtle file):
they are read, merged and validated together, archived as one attempt and committed in one
transaction, because the submission replaces the partner's whole graph.
"""

import datetime as dt
import errno
import hashlib
import json
import os
import re
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from . import paths
from .gcpause import paused_collection
from .names import english_by_default
from .namespaces import BASE, graph_iri
from .store.base import Store

if TYPE_CHECKING:  # validation is imported when needed: it loads pyshacl and the shapes
    from .validation import ValidationReport

PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
XSD = "http://www.w3.org/2001/XMLSchema#"
# \Z, not $: "$" also matches before a final line break, so "aida\n" passed (fullmatch too).
PID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*\Z")
PARTNER_EXISTS = """
SELECT ?partner WHERE { ?partner a <https://w3id.org/clusterpolisee/ontology#ProjectPartner> }"""
MAX_FILES = 50  # files in one submission: one per class and a few more, with room to spare
# The archive's names for the originals: "original.ttl" (one file, as always), else
# "original-1.csv", "original-2.ttl", ... Nothing the sender chose reaches the file system.
STORED_RE = re.compile(r"^original(-[1-9][0-9]*)?\.[a-z0-9_-]{1,9}$")
_SUFFIX_RE = re.compile(r"^\.[a-z0-9_-]{1,9}$")
# C0, DEL, C1 and the non-characters: nothing a file name or an echoed id needs, and XML
# cannot carry some of them.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffe\uffff]")
EXAMPLES_PER_FILE = 5  # resources with problems named per file in the text report


class SubmissionError(ValueError):
    """The submission cannot be taken at all (unknown partner, unreadable input)."""


class ArchiveUnwritable(SubmissionError):
    """The attempt could not be written to the archive (a full disk): nothing was changed,
    and the fault is the server's, not the sender's."""


@dataclass(frozen=True)
class SubmittedFile:
    """One file of a submission: the name its sender gave it (used in messages, for the
    format and in the records, never as a path) and its bytes."""

    name: str
    data: bytes


@dataclass
class ArchivedFile:
    """What meta.json records of one file of an attempt."""

    name: str  # as sent
    stored: str  # the archive's name for it (STORED_RE)
    sha256: str
    size: int
    triples: int = 0  # read from it, before merging with the other files


@dataclass
class Attempt:
    """What the archive keeps about one attempt (meta.json).

    For one file ``filename``, ``sha256`` and ``size`` are the file's; for several they are
    the names joined by ", ", the checksum of the list of "sha256  name" lines (the output of
    ``sha256sum`` run on the files in that order) and the total size; ``files`` has each
    file's own. Entries archived before submissions could have several files have no
    ``files``: ``originals()`` describes their one file."""

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
    files: list[ArchivedFile] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.files = [f if isinstance(f, ArchivedFile) else ArchivedFile(**f) for f in self.files]

    def originals(self) -> list[ArchivedFile]:
        """Every file of the attempt, also for an entry written before ``files`` existed."""
        if self.files:
            return self.files
        return [ArchivedFile(self.filename, _legacy_stored(self.filename), self.sha256, self.size)]

    def files_label(self) -> str:
        """The file, or "N files: a, b", for listings."""
        names = [f.name for f in self.originals()]
        return names[0] if len(names) == 1 else f"{len(names)} files: {', '.join(names)}"


@dataclass
class SubmissionResult:
    attempt: Attempt
    report: object | None = None  # validation.ValidationReport when the input was readable
    errors: list[str] = field(default_factory=list)  # one per unreadable file
    # resource IRI -> the files describing it (as subject); kept for several files only
    sources: dict[str, list[str]] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.attempt.outcome == "accepted"

    def to_text(self) -> str:
        """The text report; for several files it starts with each file and the resources
        with problems that it describes, so the sender knows which file to fix."""
        if self.report is None:
            return "\n".join(self.errors) + "\n"
        text = self.report.to_text()
        if len(self.attempt.originals()) < 2:
            return text
        return "\n".join(_files_lines(self)) + "\n\n" + text

    def to_dict(self) -> dict:
        """The JSON report: the validation report's, and for several files ``files``, which
        says which file describes each resource with a problem (as `submit --format json`)."""
        doc = self.report.to_dict()
        if len(self.attempt.originals()) > 1:
            doc["files"] = self.files()
        return doc

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_turtle(self) -> str:
        """The SHACL report; for several files each result is prov:wasDerivedFrom the files
        describing its focus node, named as in provenance() (#file-N, with the sent name as
        dcterms:title and the checksum of the archived original as dcterms:identifier)."""
        originals = self.attempt.originals()
        if len(originals) < 2:
            return self.report.to_turtle()
        nodes = {f.name: _member(self.attempt, i) for i, f in enumerate(originals, start=1)}
        origins = {
            r.focus: [nodes[name] for name in self.sources[r.focus]]
            for r in self.report.listed_results
            if r.focus in self.sources
        }
        about = [
            t for f in originals for t in _file_entity(nodes[f.name], f.name, f.sha256, f.size)
        ]
        return self.report.to_turtle(origins, about)

    def files(self) -> list[dict]:
        """Each file of the attempt: its name, triples and the resources with problems that it
        describes (for several files; one file's problems are the whole report's)."""
        flawed: dict[str, set[str]] = {}
        for r in self.report.results if self.report is not None else ():
            for name in self.sources.get(r.focus, ()):
                flawed.setdefault(name, set()).add(r.focus)
        return [
            {"name": f.name, "triples": f.triples, "problems_in": sorted(flawed.get(f.name, ()))}
            for f in self.attempt.originals()
        ]


def _files_lines(result: SubmissionResult) -> list[str]:
    files = result.files()
    lines = [f"{len(files)} files, validated together as one submission:"]
    for f in files:
        foci = f["problems_in"]
        if not foci:
            lines.append(f"  {f['name']}: {f['triples']:,} triples, no problems")
            continue
        shown = ", ".join(foci[:EXAMPLES_PER_FILE])
        more = (
            f" and {len(foci) - EXAMPLES_PER_FILE:,} more" if len(foci) > EXAMPLES_PER_FILE else ""
        )
        lines.append(
            f"  {f['name']}: {f['triples']:,} triples, problems in {len(foci):,} resource(s): "
            f"{shown}{more}"
        )
    return lines


def partner_iri(pid: str) -> str:
    return f"{BASE}id/partner/{pid}"


def partner_graph(pid: str) -> str:
    return graph_iri(f"partner/{pid}")


def default_archive(store_path: str | Path | None) -> Path:
    """The submission archive: ``CLUSTERPOLISEE_ARCHIVE``, else ``archive`` beside the store
    path (``--store`` / ``CLUSTERPOLISEE_STORE``, default ``var/store``). One rule for every
    command, on a remote store too (which has no folder of its own): ``build`` once archived
    a remote store's submissions under the working directory, where ``submissions`` never
    looked."""
    env = os.environ.get("CLUSTERPOLISEE_ARCHIVE")
    if env:
        return Path(env)
    return Path(store_path or paths.DEFAULT_STORE).parent / "archive"


def check_partner(store: Store, pid: str) -> None:
    if not PID_RE.fullmatch(pid):
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


def _legacy_stored(filename: str) -> str:
    """The name archive_attempt gave the one original before attempts recorded ``files``."""
    return f"original{Path(filename).suffix.lower()[:10] or '.bin'}"


def _stored_name(name: str, index: int | None) -> str:
    """original[-{index}].{suffix}: the suffix of the sent name if it is plain, else .bin."""
    suffix = Path(name).suffix.lower()[:10]
    suffix = suffix if _SUFFIX_RE.match(suffix) else ".bin"
    return f"original{'' if index is None else f'-{index}'}{suffix}"


def archive_attempt(
    archive: Path, attempt: Attempt, data: bytes | list[bytes], reports: dict[str, str]
) -> Path:
    """Write the attempt under archive/{partner}/{id}/ durably, via a rename: each original
    (``data``, in the order of ``attempt.originals()``) under its stored name, the reports
    and meta.json.

    An attempt that cannot be written (a full disk) is a SubmissionError, and what was
    written of it is removed again: a half-written ``.{id}.tmp`` folder kept the disk full,
    and the submission is not committed (the store is written after the archive)."""
    folder = archive / attempt.partner
    tmp = folder / f".{attempt.id}.tmp"
    originals = [data] if isinstance(data, bytes) else data
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        for record, body in zip(attempt.originals(), originals, strict=True):
            _fsync_write(tmp / record.stored, body)
        for name, text in reports.items():
            _fsync_write(tmp / name, text.encode())
        _write_meta(tmp, attempt)
        entry = folder / attempt.id
        os.replace(tmp, entry)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ArchiveUnwritable(_unwritable(archive, exc)) from None
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return entry


def _unwritable(archive: Path, exc: OSError) -> str:
    """Why an attempt could not be archived, and what to do: nothing was changed."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return (
            f"no space left for the archive at {archive} ({exc.strerror}): nothing was "
            "changed. Free space there (or ask the server's operator to) and submit again"
        )
    return (
        f"cannot write the archive at {archive} ({exc.strerror}): nothing was changed. "
        "Make it writable (or ask the server's operator to) and submit again"
    )


def history(
    archive: Path, partner: str | None = None, unreadable: list[str] | None = None
) -> list[Attempt]:
    """Every archived attempt, oldest first. A folder ``.{id}.tmp`` is an entry a crash
    stopped before its rename (archive_attempt): it is not an attempt, and its submission
    never reached the store, which is written after the entry. An entry whose meta.json
    cannot be read is left out (and named in ``unreadable``), so that one damaged entry
    does not stop every listing and submission."""
    if partner is not None and not PID_RE.fullmatch(partner):
        raise SubmissionError(f"partner id {partner!r} is not valid")
    attempts = []
    for meta in archive.glob(f"{partner or '*'}/*/meta.json"):
        if meta.parent.name.startswith("."):
            continue
        try:
            attempts.append(_read_meta(meta))
        except SubmissionError as exc:
            if unreadable is not None:
                unreadable.append(str(exc))
    return sorted(attempts, key=lambda a: (a.received, a.id))


def _read_meta(meta: Path) -> Attempt:
    try:
        return Attempt(**json.loads(meta.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise SubmissionError(f"archive entry {meta.parent} cannot be read: {exc}") from None


#: What submit names its attempts: received time and 8 hex digits.
ATTEMPT_ID_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}\Z")


def find_attempt(archive: Path, attempt_id: str) -> tuple[Attempt, Path]:
    if not ATTEMPT_ID_RE.fullmatch(attempt_id):  # it becomes part of a path pattern below
        raise SubmissionError(
            f"{attempt_id[:80]!r} is not a submission id (like 20261206T180044Z-087972d9; "
            "'clusterpolisee submissions' lists them)"
        )
    for meta in archive.glob(f"*/{attempt_id}/meta.json"):
        return _read_meta(meta), meta.parent
    raise SubmissionError(f"no archived submission with id '{attempt_id}'")


# -- provenance --------------------------------------------------------------------------------


def _lit(v: str, dtype: str = "string") -> ox.Literal:
    return ox.Literal(v, datatype=ox.NamedNode(XSD + dtype))


def _t(s, p: str, o) -> ox.Triple:
    return ox.Triple(s, ox.NamedNode(p), o)


def _file_entity(node: ox.NamedNode, title: str, sha256: str, size: int) -> list[ox.Triple]:
    return [
        ox.Triple(node, RDF_TYPE, ox.NamedNode(PROV + "Entity")),
        _t(node, DCT + "title", _lit(title)),
        _t(node, DCT + "identifier", _lit("sha256:" + sha256)),
        _t(node, DCT + "extent", _lit(str(size), "integer")),
    ]


def _submission(attempt: Attempt) -> ox.NamedNode:
    return ox.NamedNode(f"{BASE}id/submission/{attempt.id}")


def _member(attempt: Attempt, index: int) -> ox.NamedNode:
    """The entity of the index-th (from 1) of several files of an attempt."""
    return ox.NamedNode(f"{_submission(attempt).value}#file-{index}")


def provenance(attempt: Attempt) -> list[ox.Triple]:
    """The PROV-O record of an accepted attempt. The activity uses one entity with a
    checksum (current_checksum reads it): the file (#file), or for several files the set
    (#files, a prov:Collection with the set's checksum) whose members #file-1, #file-2, ...
    carry their own."""
    sub = _submission(attempt)
    shapes = ox.NamedNode(f"{sub.value}#shapes")
    lit, t = _lit, _t
    if len(attempt.originals()) == 1:
        file = ox.NamedNode(f"{sub.value}#file")
        files = _file_entity(file, attempt.filename, attempt.sha256, attempt.size)
    else:
        file = ox.NamedNode(f"{sub.value}#files")
        files = _file_entity(file, attempt.filename, attempt.sha256, attempt.size)
        files.append(ox.Triple(file, RDF_TYPE, ox.NamedNode(PROV + "Collection")))
        for i, f in enumerate(attempt.files, start=1):
            member = _member(attempt, i)
            files.append(t(file, PROV + "hadMember", member))
            files.extend(_file_entity(member, f.name, f.sha256, f.size))
    return [
        ox.Triple(sub, RDF_TYPE, ox.NamedNode(PROV + "Activity")),
        ox.Triple(sub, RDFS_LABEL, ox.Literal(f"Submission by {attempt.partner}", language="en")),
        t(sub, PROV + "wasAssociatedWith", ox.NamedNode(partner_iri(attempt.partner))),
        t(sub, PROV + "endedAtTime", lit(attempt.received, "dateTime")),
        t(sub, PROV + "used", file),
        t(sub, PROV + "used", shapes),
        t(sub, PROV + "generated", ox.NamedNode(partner_graph(attempt.partner))),
        *files,
        ox.Triple(shapes, RDF_TYPE, ox.NamedNode(PROV + "Entity")),
        t(shapes, DCT + "hasVersion", lit(attempt.shapes_version)),
        t(sub, DCT + "extent", lit(str(attempt.triples), "integer")),
    ]


# -- the pipeline ------------------------------------------------------------------------------


def _read(
    data: bytes, filename: str, partner: str, input_format: str | None, notes: list[str]
) -> list[ox.Triple]:
    from . import rdfio

    if filename.lower().endswith(".csv") or input_format == "csv":
        from .templates import csv_to_triples

        return rdfio.read_as_stored(csv_to_triples(data, partner), filename, notes)
    from .xlsx_template import is_workbook_name, xlsx_to_triples

    if is_workbook_name(filename) or input_format == "xlsx":
        return rdfio.read_as_stored(xlsx_to_triples(data, partner, filename), filename, notes)
    return rdfio.refuse_named_graphs(rdfio.read_rdf(data, filename, input_format, notes=notes))


def _read_files(
    files: list[SubmittedFile], partner: str, input_format: str | None, notes: list[str]
) -> tuple[list[list[ox.Triple]], list[str]]:
    """Each file's triples, and one message per file that cannot be read, naming it. Every
    file is read, so one attempt reports the problems of all of them. What reading changed
    (rdfio's notes) goes to ``notes``."""
    from . import rdfio

    parts, errors = [], []
    for f in files:
        try:
            parts.append(_read(f.data, f.name, partner, input_format, notes))
        except rdfio.InputError as exc:
            message = str(exc)  # rdfio names the file; the CSV and named-graph checks do not
            errors.append(message if message.startswith(f"{f.name}: ") else f"{f.name}: {message}")
    return parts, errors


def add_notes(report: "ValidationReport", notes: list[str]) -> None:
    """Put what reading changed in the files (rdfio's notes, e.g. https schema.org IRIs read
    as http, former NACE IRIs read in the EU's form) first in the validation report, as
    results of severity Info about the submission as a whole: it conforms all the same, and
    the sender learns that its data was read otherwise than written, in every form of the
    report (text, JSON, SHACL)."""
    from .validation import ValidationResult

    report.results[:0] = [ValidationResult("", note, severity="Info") for note in notes]


def _merge(parts: list[list[ox.Triple]]) -> list[ox.Triple]:
    """One list of triples; a triple stated in two files counts once. (Blank nodes are
    renamed per file by the parser, so two files never share one by accident.)"""
    if len(parts) == 1:
        return parts[0]
    return list(dict.fromkeys(t for part in parts for t in part))


def _sources(files: list[SubmittedFile], parts: list[list[ox.Triple]]) -> dict[str, list[str]]:
    """Resource IRI -> the files that describe it, to say where a problem came from."""
    where: dict[str, list[str]] = {}
    for f, part in zip(files, parts, strict=True):
        for subject in {t.subject.value for t in part if type(t.subject) is ox.NamedNode}:
            where.setdefault(subject, []).append(f.name)
    return where


def printable(text: str) -> str:
    """``text`` with each control character as "?", to echo what a client sent."""
    return _CONTROL_RE.sub("?", text)


def clean_name(name: str) -> str:
    """The last part of a sent name (a browser may send a path), without control characters:
    it only names the file in messages and records."""
    last = re.split(r"[\\/]", name)[-1]
    return printable(last)[:200] or "unnamed"


def _checked(files: list[SubmittedFile], input_format: str | None) -> list[SubmittedFile]:
    """The files with clean names; SubmissionError for a set that cannot be one submission."""
    files = [SubmittedFile(clean_name(f.name), f.data) for f in files]
    check_file_set([f.name for f in files], input_format)
    return files


def check_file_set(names: list[str], input_format: str | None) -> None:
    """SubmissionError unless files of these (clean) names can be one submission; `validate`
    asks the same, so that it never calls conforming what `submit` would refuse."""
    if not names:
        raise SubmissionError("a submission needs at least one file")
    if len(names) > MAX_FILES:
        raise SubmissionError(
            f"a submission has at most {MAX_FILES} files, not {len(names)}; "
            "put resources of one kind in one file"
        )
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SubmissionError(
            f"two files are named {twice[0]}; every file of a submission needs its own name, "
            "so that the report can say which file a problem is in"
        )
    suffixes = sorted({Path(n).suffix.lower() for n in names})
    if input_format and len(suffixes) > 1:
        raise SubmissionError(
            f"the input format {input_format!r} would apply to every file, but the files have "
            f"different extensions ({', '.join(s or '(none)' for s in suffixes)}); leave the "
            "input format out so that each file's extension gives its format"
        )


def _set_checksum(records: list[ArchivedFile]) -> str:
    """sha256 of "sha256  name" lines, i.e. of `sha256sum FILE...` run in the files' folder."""
    lines = "".join(f"{r.sha256}  {r.name}\n" for r in records)
    return hashlib.sha256(lines.encode()).hexdigest()


def _new_attempt(
    partner: str, files: list[SubmittedFile], input_format: str | None, restored_from: str | None
) -> Attempt:
    now = dt.datetime.now(dt.UTC)
    single = len(files) == 1
    records = [
        ArchivedFile(
            name=f.name,
            stored=_stored_name(f.name, None if single else i),
            sha256=hashlib.sha256(f.data).hexdigest(),
            size=len(f.data),
        )
        for i, f in enumerate(files, start=1)
    ]
    return Attempt(
        id=f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}",
        partner=partner,
        # Milliseconds: two submissions of one partner can come within a second, and the
        # history is ordered by this time.
        received=now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        filename=records[0].name if single else ", ".join(r.name for r in records),
        format=input_format,
        sha256=records[0].sha256 if single else _set_checksum(records),
        size=sum(r.size for r in records),
        outcome="pending",
        restored_from=restored_from,
        files=records,
    )


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
    """Take a submission of one file (see submit_files)."""
    return submit_files(
        store,
        [SubmittedFile(filename, data)],
        partner,
        archive,
        input_format,
        restored_from=restored_from,
        after_commit=after_commit,
    )


def submit_files(
    store: Store,
    files: list[SubmittedFile],
    partner: str,
    archive: Path,
    input_format: str | None = None,
    restored_from: str | None = None,
    after_commit=None,
) -> SubmissionResult:
    """Take one submission of one or more files, read, merged and validated together; the
    store changes only if it is accepted, and then holds exactly these files' data.

    ``input_format`` applies to every file (so they must share one extension).
    ``after_commit(store)`` runs after an accepted commit (the reasoning step).
    """
    from .validation import validate

    check_partner(store, partner)
    files = _checked(files, input_format)
    attempt = _new_attempt(partner, files, input_format, restored_from)
    originals = [f.data for f in files]
    notes: list[str] = []
    with paused_collection():
        parts, errors = _read_files(files, partner, input_format, notes)
        if not errors:
            triples = english_by_default(_merge(parts))  # as the shapes read them (names.py)
            report = validate(triples, partner=partner)
            add_notes(report, notes)
    if errors:
        result = SubmissionResult(attempt, None, errors)
        attempt.outcome, attempt.message = "unreadable", "; ".join(errors)
        archive_attempt(archive, attempt, originals, {"report.txt": result.to_text()})
        return result
    for record, part in zip(attempt.files, parts, strict=True):
        record.triples = len(part)
    sources = _sources(files, parts) if len(files) > 1 else {}
    del parts
    attempt.triples, attempt.shapes_version = len(triples), report.shapes_version
    result = SubmissionResult(attempt, report, sources=sources)
    # The archived reports list at most validation.DETAIL_LIMIT results with exact totals;
    # the original files are archived too, so the full list can be recomputed.
    reports = {
        "report.txt": result.to_text(),
        "report.json": result.to_json(),
        "report.ttl": result.to_turtle(),
    }
    if not report.conforms:
        attempt.outcome = "rejected"
        attempt.message = f"{report.count('Violation'):,} violation(s)"
        archive_attempt(archive, attempt, originals, reports)
        return result
    entry = archive_attempt(archive, attempt, originals, reports)
    store.commit(
        replace={partner_graph(partner): triples},
        add={graph_iri("submissions"): provenance(attempt)},
    )
    attempt.outcome = "accepted"
    _write_meta(entry, attempt)
    if after_commit is not None:
        after_commit(store)
    return result


def archived_files(attempt: Attempt, entry: Path) -> list[SubmittedFile]:
    """The original files of an archive entry, each with the name it was sent under."""
    if not attempt.files:  # written before attempts recorded their files: one original
        original = next(entry.glob("original*"))
        return [SubmittedFile(attempt.filename, original.read_bytes())]
    files = []
    for record in attempt.files:
        if not STORED_RE.match(record.stored):  # meta.json names only files we wrote
            raise SubmissionError(
                f"submission {attempt.id}: meta.json names an unexpected file {record.stored!r}"
            )
        data = (entry / record.stored).read_bytes()
        if hashlib.sha256(data).hexdigest() != record.sha256:
            raise SubmissionError(
                f"submission {attempt.id}: the archived {record.name} ({record.stored}) no "
                "longer has the checksum it was received with"
            )
        files.append(SubmittedFile(record.name, data))
    return files


def restore(store: Store, archive: Path, attempt_id: str, after_commit=None) -> SubmissionResult:
    """Submit an earlier accepted version again, all its files as one submission (validated
    against today's shapes)."""
    attempt, entry = find_attempt(archive, attempt_id)
    if attempt.outcome != "accepted":
        raise SubmissionError(
            f"submission {attempt_id} was {attempt.outcome}, not accepted; "
            "only accepted versions can be restored"
        )
    return submit_files(
        store,
        archived_files(attempt, entry),
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


#: A sector named in the former NACE form (.../nace2/C29), which a graph stored before
#: 2026-12-07 may hold (clusterpolisee.nace); one is enough.
FORMER_NACE = """
SELECT ?s WHERE {
  GRAPH ?g { ?s <https://w3id.org/clusterpolisee/ontology#sector> ?sector }
  FILTER(REGEX(STR(?sector), "^http://data[.]europa[.]eu/ux2/nace2/[A-U][0-9]"))
} LIMIT 1"""


def current_checksum(store: Store, pid: str) -> str | None:
    """The sha256 of the file behind the partner's current graph, if any. None too while
    that graph still names a sector in the former NACE form: the same file sent again is
    then read anew, and its sectors stored in the EU's form (it would be skipped as
    unchanged otherwise, and the former IRIs kept for good)."""
    rows = store.select(
        LATEST_CHECKSUM,
        {"partner": ox.NamedNode(partner_iri(pid)), "g": ox.NamedNode(graph_iri("submissions"))},
    )
    if not rows or store.select(FORMER_NACE, {"g": ox.NamedNode(partner_graph(pid))}):
        return None
    return rows[0]["id"].value.removeprefix("sha256:")


def unchanged(store: Store, files: list[SubmittedFile], partner: str) -> bool:
    """Whether the partner's current graph came from exactly these files (same names and
    bytes), by the checksum its provenance records: a form sent again (a reload) would
    archive and commit the same data once more, with a new data version."""
    attempt = _new_attempt(partner, _checked(files, None), None, None)
    return current_checksum(store, partner) == attempt.sha256


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
