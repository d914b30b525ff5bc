"""Provenance lines of /graph/link-candidates and /graph/links, read from the PROV-O records
the linking code writes (clusterpolisee.linking.candidates). No statement names either graph
(a partner graph's lines are its submissions' ``prov:generated``), so their lines are read
from the records of what made their contents:

- graph/link-candidates: the ``clusterpolisee link`` runs and the rejections. A run that
  stored candidates is an activity there (``prov:startedAtTime``/``prov:endedAtTime``, its
  agents, the list as ``dcterms:source``, its settings and counts as ``cpo:`` literals) that
  its candidates were ``prov:wasGeneratedBy``; a candidate made before runs were recorded has
  none, and its run is told, as before, by the list it came from (``dcterms:source``) and
  when it was made (``prov:generatedAtTime``). A rejection is an activity that ``prov:used``
  the rejected cell, with its agent and ``prov:endedAtTime`` (one decision, one time), and
  ``prov:wasInformedBy`` the run that proposed the cell, if recorded; rejections made before
  they were recorded have none and are not listed.
- graph/links: the review decisions (``prov:wasGeneratedBy`` a review activity, its agent and
  ``prov:endedAtTime``; one decision commits its links at one time; a review
  ``prov:wasInformedBy`` the run that proposed its candidate, if recorded: an automatic
  acceptance's, the run that accepted it) and the withdrawals
  (``prov:invalidatedAtTime``, ``prov:wasInvalidatedBy`` an activity in graph/link-candidates
  with its agent; the reason is on the candidate).
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pyoxigraph as ox

from clusterpolisee.linking.candidates import STATUSES, status_node
from clusterpolisee.store.bindings import values_clause

from .. import url_builder
from ..access import db
from ..database import EngineError, Result

_PREFIXES = """\
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX adms: <http://www.w3.org/ns/adms#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX align: <http://knowledgeweb.semanticweb.org/heterogeneity/alignment#>
PREFIX cpo: <https://w3id.org/clusterpolisee/ontology#>
"""
#: Lines shown of each kind, the latest: a store of 140,000 links has 140,000 review
#: decisions, whose page ran past the time limit (503) when every one was read.
LATEST = 50
# Each query first picks the latest LATEST + 1 times of its kind (one more, to tell that
# older lines exist) by a scan of one index, then reads the lines at those times by LATERAL,
# which looks each time up (a join read every decision: 4-8 s at 20,000 links). Each time has
# a line at least, so the latest LATEST lines are among them. An absent agent, run or reason
# is "" (as an unbound one showed).
#
# One row per recorded run and status of its candidates now (statuses folded into the run
# here); a run whose candidates later runs all proposed again has one row with no status.
# The person is the agent that is no software agent (one a run, so SAMPLE keeps it whole;
# NOT EXISTS runs on the latest runs' agents only). Keyed by the run (few; two may end in
# one second). A run's settings are looked up per run (LATERAL); its candidates' statuses
# are not: each lookup of a cell's status costs Oxigraph about 20 us, and the latest runs of
# 150,000 cells held 51,000 of them (1.2 s; 3 runs of 50,000, 1.4 s). The cells of the
# latest runs are joined instead with every cell's status, read once (a hash join of the
# two sub-selects: 0.16 s and 0.4 s).
RECORDED_RUNS = (
    _PREFIXES
    + """SELECT ?run ?time ?started ?source ?type ?threshold ?above ?records ?stored
       ?agent ?name ?status ?n
WHERE {
  { SELECT ?run ?time ?started ?source ?type ?threshold ?above ?records ?stored
      (SAMPLE(?person) AS ?agent) (MIN(?label) AS ?name)
    WHERE {
      { SELECT ?run ?time WHERE { #GRAPHS# GRAPH ?candidates {
          ?run cpo:candidateCount ?counted ; prov:endedAtTime ?time } }
        ORDER BY DESC(?time) ?run LIMIT #MORE# }
      LATERAL { GRAPH ?candidates {
        ?run cpo:candidateCount ?stored .
        OPTIONAL { ?run prov:startedAtTime ?started }
        OPTIONAL { ?run dcterms:source ?source }
        OPTIONAL { ?run cpo:matchedType ?type }
        OPTIONAL { ?run cpo:proposalThreshold ?threshold }
        OPTIONAL { ?run cpo:acceptanceThreshold ?above }
        OPTIONAL { ?run cpo:externalRecordCount ?records }
        OPTIONAL { ?run prov:wasAssociatedWith ?person
          FILTER NOT EXISTS { ?person a prov:SoftwareAgent }
          OPTIONAL { ?person rdfs:label ?label } } } }
    } GROUP BY ?run ?time ?started ?source ?type ?threshold ?above ?records ?stored }
  OPTIONAL { { SELECT ?run ?status (COUNT(DISTINCT ?cell) AS ?n) WHERE { #GRAPHS#
      { SELECT ?run WHERE { #GRAPHS# GRAPH ?candidates {
          ?run cpo:candidateCount ?counted ; prov:endedAtTime ?time } }
        ORDER BY DESC(?time) ?run LIMIT #MORE# }
      LATERAL { GRAPH ?candidates { ?cell prov:wasGeneratedBy ?run } }
      { SELECT ?cell ?status WHERE { #GRAPHS# GRAPH ?candidates { ?cell adms:status ?status } } }
    } GROUP BY ?run ?status } }
} ORDER BY DESC(?time) ?run ?status"""
)
# Whether any cell was made before runs were recorded, exactly, without a scan that pairs
# cells: the cells with a time or a run, less those with a run, are those with a time and no
# run (two distinct counts, 0.17 s at 150,000 cells; the former scan for them, a MINUS, took
# 0.65 s there to find none). How many there are picks the form of INFERRED_RUNS (``_inferred``).
UNRECORDED = (
    _PREFIXES
    + """SELECT (COUNT(DISTINCT ?cell) AS ?cells) (COUNT(DISTINCT ?ran) AS ?ran) WHERE {
  GRAPH ?candidates { { ?cell prov:generatedAtTime ?time }
    UNION { ?cell prov:wasGeneratedBy ?run BIND(?cell AS ?ran) } } }"""
)
# The same for candidates made before runs were recorded: a run per list and time. Where
# such cells are few (``_inferred``): they are those of the cells with a time or a run that
# have no run (one pass, 0.27 s at 150,000 cells; a MINUS, 0.5 s; a NOT EXISTS per cell,
# 3.5 s), and each one's time, then each cell at the latest times, is looked up (LATERAL):
# 1,000 among 150,000, 0.28 s (0.67 s with the MINUS).
INFERRED_RUNS = (
    _PREFIXES
    + """SELECT ?source ?time ?status (COUNT(?cell) AS ?n) WHERE {
  { SELECT DISTINCT ?time WHERE { #GRAPHS#
      { SELECT ?cell WHERE { #GRAPHS# GRAPH ?candidates { { ?cell prov:generatedAtTime ?at }
          UNION { ?cell prov:wasGeneratedBy ?run BIND(?cell AS ?ran) } } }
        GROUP BY ?cell HAVING (COUNT(?ran) = 0) }
      LATERAL { GRAPH ?candidates { ?cell prov:generatedAtTime ?time } } }
    ORDER BY DESC(?time) LIMIT #MORE# }
  LATERAL { GRAPH ?candidates {
      ?cell prov:generatedAtTime ?time ; a align:Cell ; adms:status ?status .
      OPTIONAL { ?cell dcterms:source ?given } OPTIONAL { ?cell prov:wasGeneratedBy ?run } }
    FILTER(!BOUND(?run)) }
  BIND(COALESCE(?given, "") AS ?source)
} GROUP BY ?source ?time ?status ORDER BY DESC(?time) ?source ?status"""
)
# The same rows where such cells are many: their latest times by a MINUS, then the cells at
# those times joined with every cell's type, status, list and run, each read once (150,000
# cells from before runs: 4.0 s looked up, 1.1 s so, 7.3 s by the form above; 75,000 of
# 150,000: 2.4 s, 1.1 s).
INFERRED_RUNS_WIDE = (
    _PREFIXES
    + """SELECT ?source ?time ?status (COUNT(?cell) AS ?n) WHERE {
  { SELECT DISTINCT ?time WHERE { #GRAPHS# GRAPH ?candidates {
      ?cell prov:generatedAtTime ?time MINUS { ?cell prov:wasGeneratedBy ?run } } }
    ORDER BY DESC(?time) LIMIT #MORE# }
  LATERAL { GRAPH ?candidates { ?cell prov:generatedAtTime ?time } }
  { SELECT ?cell WHERE { #GRAPHS# GRAPH ?candidates { ?cell a align:Cell } } }
  { SELECT ?cell ?status WHERE { #GRAPHS# GRAPH ?candidates { ?cell adms:status ?status } } }
  OPTIONAL { SELECT ?cell ?given WHERE { #GRAPHS# GRAPH ?candidates {
      ?cell dcterms:source ?given } } }
  MINUS { SELECT ?cell WHERE { #GRAPHS# GRAPH ?candidates { ?cell prov:wasGeneratedBy ?run } } }
  BIND(COALESCE(?given, "") AS ?source)
} GROUP BY ?source ?time ?status ORDER BY DESC(?time) ?source ?status"""
)
#: Past one cell in this many from before runs, INFERRED_RUNS_WIDE is read: a cell looked up
#: costs about what ten read once in a join do.
WIDE_SHARE = 10
# One row per rejecting decision and run: the candidates one agent rejected at one time, by
# the run that proposed them ("" where none is recorded). The times are those of every
# rejection, its time and its cell's status each read once and joined (looked up per
# rejection: 0.15 s at 5,000 rejections; 0.02 s so).
REJECTIONS = (
    _PREFIXES
    + """SELECT ?time ?agent ?run (MIN(?label) AS ?name) (COUNT(DISTINCT ?cell) AS ?n)
       (GROUP_CONCAT(DISTINCT ?source; separator="\\n") AS ?sources)
WHERE {
  { SELECT DISTINCT ?time WHERE {
      { SELECT ?rejection ?cell WHERE { #GRAPHS# GRAPH ?candidates {
          ?rejection prov:used ?cell } } }
      { SELECT ?cell WHERE { #GRAPHS# GRAPH ?candidates { ?cell adms:status ?rejected } } }
      { SELECT ?rejection ?time WHERE { #GRAPHS# GRAPH ?candidates {
          ?rejection prov:endedAtTime ?time } } } }
    ORDER BY DESC(?time) LIMIT #MORE# }
  LATERAL { GRAPH ?candidates {
      ?rejection prov:endedAtTime ?time ; prov:used ?cell . ?cell adms:status ?rejected .
      OPTIONAL { ?rejection prov:wasAssociatedWith ?who . OPTIONAL { ?who rdfs:label ?label } }
      OPTIONAL { ?rejection prov:wasInformedBy ?by }
      OPTIONAL { ?cell dcterms:source ?source } }
  }
  BIND(COALESCE(?who, "") AS ?agent) BIND(COALESCE(?by, "") AS ?run)
} GROUP BY ?time ?agent ?run ORDER BY DESC(?time) ?agent ?run"""
)
# One row per decision and run: the links one agent's review committed at one time, by the
# run that proposed them (an automatic acceptance's, the run that accepted them: two runs may
# end in one second). MIN keeps one name where an older record's agent IRI has two (names of
# one slug shared an IRI). Whether the agent is software is a join (an EXISTS per link took
# 4-8 s at 20,000 links).
REVIEWS = (
    _PREFIXES
    + """SELECT ?time ?agent ?run (MIN(?label) AS ?name) (MAX(?software) AS ?automatic)
       (COUNT(DISTINCT ?stmt) AS ?n) (COUNT(DISTINCT ?ended) AS ?withdrawn)
       (GROUP_CONCAT(DISTINCT ?source; separator="\\n") AS ?sources)
WHERE {
  { SELECT DISTINCT ?time WHERE { #GRAPHS# GRAPH ?links { ?review prov:endedAtTime ?time } }
    ORDER BY DESC(?time) LIMIT #MORE# }
  LATERAL { GRAPH ?links {
      ?review prov:endedAtTime ?time . ?stmt prov:wasGeneratedBy ?review .
      OPTIONAL { ?review prov:wasAssociatedWith ?who . OPTIONAL { ?who rdfs:label ?label }
        OPTIONAL { ?who a prov:SoftwareAgent BIND(true AS ?software) } }
      OPTIONAL { ?review prov:wasInformedBy ?by }
      OPTIONAL { ?stmt dcterms:source ?source }
      OPTIONAL { ?stmt prov:invalidatedAtTime ?gone BIND(?stmt AS ?ended) } }
  }
  BIND(COALESCE(?who, "") AS ?agent) BIND(COALESCE(?by, "") AS ?run)
} GROUP BY ?time ?agent ?run ORDER BY DESC(?time) ?agent ?run"""
)
# The same rows where the latest times hold many reviews (``_reviews``): a run that accepted
# 140,000 candidates automatically made 140,000 reviews of one time, and REVIEWS looked each
# one's link, agent, run, list and withdrawal up (18 s, past the page's time limit). Here
# the reviews at those times are joined with every review's link, agent and run and every
# link's list and withdrawal, each read once, and grouped before the agents' labels and
# types are looked up, once per group (3.5 s).
REVIEWS_WIDE = (
    _PREFIXES
    + """SELECT ?time ?agent ?run (MIN(?label) AS ?name) (MAX(?software) AS ?automatic)
       (SUM(?made) AS ?n) (SUM(?ended) AS ?withdrawn)
       (GROUP_CONCAT(DISTINCT ?listed; separator="\\n") AS ?sources)
WHERE {
  { SELECT ?time ?who ?by (COUNT(DISTINCT ?stmt) AS ?made) (COUNT(DISTINCT ?gone) AS ?ended)
      (GROUP_CONCAT(DISTINCT ?source; separator="\\n") AS ?listed)
    WHERE {
      { SELECT DISTINCT ?time WHERE { #GRAPHS# GRAPH ?links { ?review prov:endedAtTime ?time } }
        ORDER BY DESC(?time) LIMIT #MORE# }
      LATERAL { GRAPH ?links { ?review prov:endedAtTime ?time } }
      { SELECT ?stmt ?review WHERE { #GRAPHS# GRAPH ?links { ?stmt prov:wasGeneratedBy ?review } } }
      OPTIONAL { SELECT ?review ?who WHERE { #GRAPHS# GRAPH ?links {
          ?review prov:wasAssociatedWith ?who } } }
      OPTIONAL { SELECT ?review ?by WHERE { #GRAPHS# GRAPH ?links {
          ?review prov:wasInformedBy ?by } } }
      OPTIONAL { SELECT ?stmt ?source WHERE { #GRAPHS# GRAPH ?links {
          ?stmt dcterms:source ?source } } }
      OPTIONAL { SELECT ?stmt ?gone WHERE { #GRAPHS# GRAPH ?links {
          ?stmt prov:invalidatedAtTime ?at BIND(?stmt AS ?gone) } } }
    } GROUP BY ?time ?who ?by }
  OPTIONAL { GRAPH ?links { ?who rdfs:label ?label } }
  OPTIONAL { GRAPH ?links { ?who a prov:SoftwareAgent BIND(true AS ?software) } }
  BIND(COALESCE(?who, "") AS ?agent) BIND(COALESCE(?by, "") AS ?run)
} GROUP BY ?time ?agent ?run ORDER BY DESC(?time) ?agent ?run"""
)
# How many reviews the latest times hold, which picks the form (``_reviews``): 55 ms at
# 140,000 reviews of distinct times, 140 ms where they all have one.
LATEST_REVIEWS = (
    _PREFIXES
    + """SELECT (COUNT(?review) AS ?n) WHERE {
  { SELECT DISTINCT ?time WHERE { #GRAPHS# GRAPH ?links { ?any prov:endedAtTime ?time } }
    ORDER BY DESC(?time) LIMIT #MORE# }
  LATERAL { GRAPH ?links { ?review prov:endedAtTime ?time } }
}"""
)
# Every review, counted only where the latest are many.
ALL_REVIEWS = (
    _PREFIXES
    + """SELECT (COUNT(?review) AS ?n) WHERE { #GRAPHS#
  GRAPH ?links { ?review prov:endedAtTime ?time } }"""
)
#: Reviews at the latest times up to which REVIEWS is read whatever the graph holds (about
#: 0.25 s of lookups) ...
FEW_REVIEWS = 2_000
#: ... and past it, REVIEWS_WIDE where they are more than one in this many of all reviews: a
#: review looked up costs about what five read once in a join do.
REVIEWS_SHARE = 5
# One row per withdrawal: the links one agent took back at one time, for one reason.
WITHDRAWALS = (
    _PREFIXES
    + """SELECT ?time ?agent (MIN(?label) AS ?name) ?reason (COUNT(DISTINCT ?stmt) AS ?n)
WHERE {
  { SELECT DISTINCT ?time WHERE { #GRAPHS# GRAPH ?links { ?stmt prov:invalidatedAtTime ?time } }
    ORDER BY DESC(?time) LIMIT #MORE# }
  LATERAL { GRAPH ?links { ?stmt prov:invalidatedAtTime ?time .
      OPTIONAL { ?stmt prov:wasInvalidatedBy ?withdrawal }
      OPTIONAL { ?stmt prov:wasDerivedFrom ?cell } }
    OPTIONAL { GRAPH ?candidates { ?withdrawal prov:wasAssociatedWith ?who .
      OPTIONAL { ?who rdfs:label ?label } } }
    OPTIONAL { GRAPH ?candidates { ?cell dcterms:description ?why } }
  }
  BIND(COALESCE(?who, "") AS ?agent) BIND(COALESCE(?why, "") AS ?reason)
} GROUP BY ?time ?agent ?reason ORDER BY DESC(?time) ?agent ?reason"""
)


@dataclass(frozen=True)
class LinkLine:
    """One provenance line: a run, a review decision, a withdrawal or a rejection."""

    kind: str  # "run", "review", "withdrawal" or "rejection"
    when: ox.Literal | None
    count: int  # candidates made, links accepted, links withdrawn, candidates rejected
    agent: str = ""  # the agent's IRI, '' where none is recorded
    name: str = ""  # the agent's label
    sources: tuple[str, ...] = ()  # the external lists (file name or endpoint URL)
    statuses: tuple[tuple[str, int], ...] = ()  # a run's candidates by their status now
    automatic: bool = False  # accepted by ``link --accept-above``, not by a reviewer
    withdrawn: int = 0  # a review's links withdrawn since
    reason: str = ""  # a withdrawal's reason, as the reviewer gave it
    run: str = ""  # a recorded run's IRI, or the run a review or rejection was informed by
    started: ox.Literal | None = None  # when a recorded run started
    options: tuple[tuple[str, str], ...] = ()  # a recorded run's settings: ("--type", "cluster")
    records: int | None = None  # external records a recorded run read
    later: int = 0  # a recorded run's candidates that a later run proposed again


#: How each kind is named where its older lines are left out.
KIND_NAMES = {
    "run": "runs",
    "rejection": "rejections",
    "review": "review decisions",
    "withdrawal": "withdrawals",
}
#: Of two lines in one second, which came later (the higher): a decision comes after the run
#: that proposed its candidates, a withdrawal after the acceptance it takes back.
LATER = {"run": 0, "review": 1, "rejection": 2, "withdrawal": 2}


@dataclass
class LinkProvenance:
    lines: list[LinkLine]
    truncated: bool  # a query stopped at the row limit: older lines may be missing
    older: tuple[str, ...] = ()  # the kinds (KIND_NAMES) past LATEST whose older lines are cut
    error: str = ""  # why the lines could not be read; then there are none
    latest: int = LATEST  # lines shown of each kind at most


@dataclass
class Part:
    """One query's lines, latest first, and whether older ones were cut off."""

    lines: list[LinkLine]
    truncated: bool  # by the row limit
    capped: bool  # by LATEST


def link_provenance(path: str) -> LinkProvenance | None:
    """The lines of the link graph at /graph/``path``, latest first; None for other graphs.
    A query that fails (time limit, engine) leaves no line but says why: the page is still
    the graph's size and downloads, not an error for want of its history."""
    readers = READERS.get(path)
    if readers is None:
        return None
    graphs = url_builder.base() + "graph/"
    bindings = {
        "links": ox.NamedNode(graphs + "links"),
        "candidates": ox.NamedNode(graphs + "link-candidates"),
        "rejected": status_node("rejected"),
    }

    def ask(text: str) -> Result:
        return db().query(_latest(text, bindings), bindings, trusted=True)

    parts = []
    for query, read in readers:
        try:
            text = query(ask) if callable(query) else query
            if text is None:  # the store has no such lines: nothing to read
                continue
            result = ask(text)
        except EngineError as e:  # the next query would likely meet the same limit
            return LinkProvenance([], False, error=e.message)
        lines = read(result)
        parts.append(Part(lines[:LATEST], result.truncated, len(lines) > LATEST))
    return _assembled(parts)


def _latest(text: str, bindings: dict[str, ox.NamedNode]) -> str:
    """``text`` with its sub-select's graphs bound (a VALUES block of the terms, as
    ``bind`` writes it) and its limit: one line more than is shown."""
    return text.replace("#GRAPHS#", values_clause(bindings)).replace("#MORE#", str(LATEST + 1))


def _assembled(parts: list[Part]) -> LinkProvenance:
    """Each kind's latest LATEST lines (two queries read runs), merged latest first."""
    by_kind: dict[str, list[Part]] = {}
    for part in parts:
        by_kind.setdefault(part.lines[0].kind if part.lines else "", []).append(part)
    kept, older = [], []
    for kind, own in by_kind.items():
        lines = _merged([p.lines for p in own], [p.lines for p in own if p.capped])
        if any(p.capped for p in own) or len(lines) > LATEST:
            older.append(KIND_NAMES[kind])
        kept.append(lines[:LATEST])
    truncated = [p.lines for p in parts if p.truncated]
    return LinkProvenance(_merged(kept, truncated), bool(truncated), tuple(older))


def _merged(parts: list[list[LinkLine]], cut: list[list[LinkLine]]) -> list[LinkLine]:
    """The lines of every part, latest first, down to the oldest that each part in ``cut``
    (cut short) still shows: past it, that part's lines are missing, so the page would pass
    over them in silence."""
    lines = sorted((line for part in parts for line in part), key=_order, reverse=True)
    never = dt.datetime.max.replace(tzinfo=dt.UTC)
    cuts = [min(map(_when, part), default=never) for part in cut]
    return [line for line in lines if _when(line) >= max(cuts)] if cuts else lines


def _runs(result: Result) -> list[LinkLine]:
    """A run per list and time, with how many of its candidates are in each status now."""
    runs: dict[tuple[str, ox.Literal], dict[str, int]] = {}
    for rec in result.records():
        source = rec["source"].value if rec["source"] is not None else ""
        runs.setdefault((source, rec["time"]), {})[_status(rec)] = int(rec["n"].value)
    if result.truncated and runs:  # the oldest run's rows may be cut: it would count too few
        runs.popitem()
    return [
        LinkLine(
            "run",
            when,
            sum(counts.values()),
            sources=(source,) if source else (),
            statuses=_statuses(counts),
        )
        for (source, when), counts in runs.items()
    ]


def _recorded_runs(result: Result) -> list[LinkLine]:
    """A line per recorded run: its settings, and its candidates by their status now."""
    runs: dict[str, tuple[dict, dict[str, int]]] = {}
    for rec in result.records():
        _, counts = runs.setdefault(rec["run"].value, (rec, {}))
        if rec["status"] is not None:
            counts[_status(rec)] = int(rec["n"].value)
    if result.truncated and runs:  # as for ``_runs``
        runs.popitem()
    return [_recorded_run(rec, counts) for rec, counts in runs.values()]


def _recorded_run(rec: dict, counts: dict[str, int]) -> LinkLine:
    stored, source = _number(rec["stored"]) or 0, _text(rec["source"])
    started = rec["started"]
    return LinkLine(
        "run",
        rec["time"],
        stored,
        *_agent(rec),
        sources=(source,) if source else (),
        statuses=_statuses(counts),
        run=rec["run"].value,
        started=started if isinstance(started, ox.Literal) else None,
        options=_options(rec),
        records=_number(rec["records"]),
        later=max(0, stored - sum(counts.values())),
    )


def _options(rec: dict) -> tuple[tuple[str, str], ...]:
    """A run's settings as its command line gave them, those recorded."""
    given = (("--type", "type"), ("--threshold", "threshold"), ("--accept-above", "above"))
    return tuple((option, _text(rec[var])) for option, var in given if _text(rec[var]))


def _rejections(result: Result) -> list[LinkLine]:
    return [
        LinkLine(
            "rejection",
            rec["time"],
            int(rec["n"].value),
            *_agent(rec),
            sources=_sources(rec),
            run=_iri(rec["run"]),
        )
        for rec in result.records()
    ]


def _sources(rec: dict) -> tuple[str, ...]:
    """The lists of a grouped row (GROUP_CONCAT with a line break between), sorted."""
    return tuple(sorted(s for s in _text(rec["sources"]).split("\n") if s))


def _status(rec: dict) -> str:
    return rec["status"].value.rsplit("/", 1)[-1]


def _statuses(counts: dict[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counts.items(), key=lambda kv: _status_order(kv[0])))


def _number(term: object) -> int | None:
    """An integer literal's value; None when absent or not an integer."""
    try:
        return int(_text(term))
    except ValueError:
        return None


def _review_lines(result: Result) -> list[LinkLine]:
    return [
        LinkLine(
            "review",
            rec["time"],
            int(rec["n"].value),
            *_agent(rec),
            sources=_sources(rec),
            automatic=_text(rec["automatic"]) == "true",
            withdrawn=int(rec["withdrawn"].value),
            run=_iri(rec["run"]),
        )
        for rec in result.records()
    ]


def _withdrawals(result: Result) -> list[LinkLine]:
    return [
        LinkLine(
            "withdrawal",
            rec["time"],
            int(rec["n"].value),
            *_agent(rec),
            reason=_text(rec["reason"]),
        )
        for rec in result.records()
    ]


def _agent(rec: dict) -> tuple[str, str]:
    """(IRI, label) of a row's agent; a blank or missing agent is no link."""
    agent = rec["agent"]
    iri = agent.value if isinstance(agent, ox.NamedNode) else ""
    return iri, _text(rec["name"])


def _iri(term: object) -> str:
    return term.value if isinstance(term, ox.NamedNode) else ""


def _text(term: object) -> str:
    return term.value if isinstance(term, ox.Literal) else ""


def _status_order(status: str) -> int:
    return STATUSES.index(status) if status in STATUSES else len(STATUSES)


def _when(line: LinkLine) -> dt.datetime:
    """When a line happened, for the order; a time that is no xsd:dateTime sorts last."""
    try:
        moment = dt.datetime.fromisoformat(line.when.value)  # type: ignore[union-attr]
    except (AttributeError, ValueError):
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _order(line: LinkLine) -> tuple[dt.datetime, int]:
    """Latest first; in one second, what came later first (``LATER``)."""
    return _when(line), LATER[line.kind]


Reader = Callable[[Result], list[LinkLine]]
Ask = Callable[[str], Result]
#: A query's text, or what picks it for the store (None: no line to read), asking others.
Query = str | Callable[[Ask], str | None]


def _inferred(ask: Ask) -> str | None:
    """The form of INFERRED_RUNS for this store (``UNRECORDED``): none where every cell has
    a run, the one that looks cells up where few have none, else the one that joins."""
    counts = ask(UNRECORDED).records()
    cells, ran = (_number(counts[0][n]) or 0 for n in ("cells", "ran")) if counts else (0, 0)
    before = cells - ran
    if before <= 0:
        return None
    return INFERRED_RUNS_WIDE if before * WIDE_SHARE > cells else INFERRED_RUNS


def _reviews(ask: Ask) -> str:
    """The form of REVIEWS for this store: the one that looks each review at the latest
    times up, unless those are many (``FEW_REVIEWS``) and a fair share of all reviews
    (``REVIEWS_SHARE``); then the one that joins."""
    latest = _count(ask, LATEST_REVIEWS)
    if latest <= FEW_REVIEWS or latest * REVIEWS_SHARE <= _count(ask, ALL_REVIEWS):
        return REVIEWS
    return REVIEWS_WIDE


def _count(ask: Ask, query: str) -> int:
    rows = ask(query).records()
    return (_number(rows[0]["n"]) or 0) if rows else 0


#: Each link graph's queries, with what reads each one's rows into lines.
READERS: dict[str, tuple[tuple[Query, Reader], ...]] = {
    "link-candidates": (
        (RECORDED_RUNS, _recorded_runs),
        (_inferred, _runs),
        (REJECTIONS, _rejections),
    ),
    "links": ((_reviews, _review_lines), (WITHDRAWALS, _withdrawals)),
}
