"""The catalog of stored questions: ``queries/*.rq`` with grlc-style ``#+`` YAML headers.

Each file is a SPARQL query that runs as it is in any editor. Its header declares the
parameters; a parameter ``region`` is the query variable ``?region``. Values given by a user are
validated against the declared type and allowed values, turned into RDF terms, and bound by a
VALUES block placed at the start of the WHERE clause, or after each line ``# parameters bound
here`` (inside a sub-select that should start from them: Oxigraph evaluates a sub-select
before what surrounds it; or in each branch of a UNION, which Oxigraph otherwise evaluates
whole before joining the parameters), followed by the ``narrows`` patterns of the parameters
that are bound. User text is never spliced: the block holds only terms serialised by
pyoxigraph.

The catalog is checked when loaded: a broken header, an unknown key, a parameter that the query
does not use or a query that does not parse is an error naming the file and line.

A stored query may call other endpoints with ``SERVICE <fixed IRI>`` (a variable endpoint is a
load error): it runs only when every endpoint it names is on the allow-list of that run (CLI
``query --allow-service`` / ``CLUSTERPOLISEE_SERVICE_ALLOW``, ``serve --allow-service``).
"""

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NamedTuple

import pyoxigraph as ox
import yaml

from . import nace, paths
from .sparqltext import QuerySyntaxError, first_solution, inspect, where_brace
from .store.base import QueryResult, Store, Term
from .store.halves import MARK, locate

XSD = "http://www.w3.org/2001/XMLSchema#"
HEADER_KEYS = {"summary", "description", "tags", "params", "sort", "chart"}
#: Who sorts by a final ORDER BY: by default the rows are sorted in Python
#: (store/ordering.py); ``store`` leaves it to the engine, which on Oxigraph is as quick where
#: the leading key is a date or a number (no text read per comparison), and which then reads
#: only the rows a limit keeps.
SORTS = ("python", "store")
PARAM_KEYS = {
    "type",
    "label",
    "description",
    "required",
    "default",
    "class",
    "scheme",
    "allowed",
    "options",
    "min",
    "max",
    "fold",
    "narrows",
}
TYPES = {"iri", "string", "integer", "decimal", "date", "language"}
MAX_STRING = 200
#: What a typed value may have around it: ASCII spaces, as a form or a pasted link adds;
#: str.strip() also takes control characters (U+001C) and other spaces as "nothing".
BLANKS = " \t\r\n"
#: The ASCII forms a number or a date is written in (checked before Python reads them).
NUMBER_OR_DATE = re.compile(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[0-9]{4}-[0-9]{2}-[0-9]{2}"
)
IRI_RE = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
LANG_RE = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
PREFIXES = {
    "cpo:": "https://w3id.org/clusterpolisee/ontology#",
    "skos:": "http://www.w3.org/2004/02/skos/core#",
}

IS_MEMBER = "SELECT ?value ?cls WHERE { ?value a ?cls } LIMIT 1"
LABELLED_MEMBERS = """
SELECT ?value ?label ?cls WHERE {
  ?value a ?cls .
  OPTIONAL { ?value <http://www.w3.org/2004/02/skos/core#prefLabel> ?pl FILTER(LANG(?pl) = "en") }
  OPTIONAL { ?value <http://www.w3.org/2000/01/rdf-schema#label> ?el FILTER(LANG(?el) = "en") }
  OPTIONAL { ?value <http://www.w3.org/2000/01/rdf-schema#label> ?rl }
  BIND(COALESCE(?pl, ?el, ?rl, STR(?value)) AS ?label)
} ORDER BY ?label"""


class Option(NamedTuple):
    """One choice of a drop-down: the value sent, its label, and the label's language tag
    ("" when it has none), so a page can mark a label in another language (``lang``)."""

    value: str
    label: str
    lang: str = ""


def _option(value: Term, label: Term | None) -> Option:
    if label is None:
        return Option(value.value, value.value)
    return Option(value.value, label.value, getattr(label, "language", None) or "")


#: What tells apart resources that share a label: their codes (skos:notation, NUTS code)
#: and their country's codes. The values are bound by a VALUES block of store IRIs.
KEYS = """
SELECT ?value ?code ?country WHERE {
  %s
  OPTIONAL { ?value <http://www.w3.org/2004/02/skos/core#notation>|<%snutsCode> ?code }
  OPTIONAL { ?value <%scountry> ?c .
             OPTIONAL { ?c <%sisoAlpha2> ?iso } BIND(COALESCE(?iso, ?c) AS ?country) }
}"""


class Keys(NamedTuple):
    """What names a resource besides its label: its codes (notations, NUTS codes, then the
    last path segment of its IRI) and its country's code ("" when it has none)."""

    codes: tuple[str, ...]
    country: str


def segment(value: str) -> str:
    """The last path segment of an IRI ("RO21" of ``.../region/RO21``)."""
    return re.split(r"[/#]", value.rstrip("/#"))[-1]


def option_keys(store: Store, values: list[str]) -> dict[str, Keys]:
    """The codes and country of each IRI of ``values`` (one query)."""
    iris = [v for v in dict.fromkeys(values) if IRI_RE.match(v)]
    found: dict[str, tuple[set[str], set[str]]] = {v: (set(), set()) for v in iris}
    if iris:
        block = "VALUES ?value { " + " ".join(str(ox.NamedNode(v)) for v in iris) + " }"
        cpo = "https://w3id.org/clusterpolisee/ontology#"
        for r in store.select(KEYS % (block, cpo, cpo, cpo)):
            codes, countries = found.setdefault(r["value"].value, (set(), set()))
            if "code" in r:
                codes.add(r["code"].value)
            if "country" in r:
                c = r["country"]
                countries.add(segment(c.value) if isinstance(c, ox.NamedNode) else c.value)
    return {
        v: Keys(
            tuple(sorted(codes, key=lambda c: (c.casefold(), c))) + (segment(v),),
            min(countries, default=""),
        )
        for v, (codes, countries) in found.items()
    }


def distinguish(options: list[Option], keys: dict[str, Keys]) -> list[Option]:
    """``options`` with each label that two or more of them share followed by what tells
    them apart: the first code ("Nord-Est (RO21)", "Nord-Est (ITH)"), and the country where
    the codes are the same too. Labels no other option has stay as they are."""
    by_label: dict[str, list[Option]] = {}
    for o in options:
        by_label.setdefault(o.label, []).append(o)
    named: dict[str, str] = {}
    for label, same in by_label.items():
        if len(same) < 2:
            continue
        first = {o.value: (keys.get(o.value) or Keys((segment(o.value),), "")) for o in same}
        codes = [k.codes[0] for k in first.values()]
        for o in same:
            k = first[o.value]
            extra = k.codes[0]
            if codes.count(extra) > 1 and k.country:
                extra = f"{extra}, {k.country}"
            named[o.value] = f"{label} ({extra})"
    if not named:
        return options
    return [o._replace(label=named[o.value]) if o.value in named else o for o in options]


def shared_labels(options: list[Option]) -> list[str]:
    """The values of ``options`` whose label another option has too."""
    count: dict[str, int] = {}
    for o in options:
        count[o.label] = count.get(o.label, 0) + 1
    return [o.value for o in options if count[o.label] > 1]


class CatalogError(ValueError):
    """A stored query file is malformed; the message names the file and line."""


class ParameterError(ValueError):
    """A parameter value was refused; the message names the parameter and what is allowed,
    ``param`` the parameter ('' for an unknown one), so a form can mark its field.

    Two texts: the message (CLI, JSON, API: the parameter's name, the allowed values as
    IRIs, which a script can copy) and ``shown``, what a question's page says (the
    parameter's label, the allowed values by their labels and codes)."""

    def __init__(self, message: str, param: str = "", shown: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        self.shown = shown or message


class ServiceNotAllowed(ValueError):
    """A stored query calls a SERVICE endpoint that is not on the run-time allow-list."""


#: Environment variable with the SERVICE endpoints stored queries may call (whitespace
#: separated exact IRIs); ``query --allow-service`` and ``serve --allow-service`` read it too.
SERVICE_ALLOW_ENV = "CLUSTERPOLISEE_SERVICE_ALLOW"


#: What people type for what NFKD leaves whole, after case folding: the letters it keeps
#: whole as their base letters, every dash (and minus) as a space ("Cluj Napoca" finds
#: "Cluj-Napoca"), curly quotes as straight ones ("d'Aosta" finds the NUTS label "Valle
#: d’Aosta"); invisible format characters (soft hyphen, zero-width space, direction marks,
#: byte-order mark), which pasted text carries, go.
_TYPED = str.maketrans(
    {"đ": "d", "ł": "l", "ø": "o", "ı": "i", "ħ": "h", "æ": "ae", "œ": "oe"}
    | dict.fromkeys("-\u2010\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b", " ")
    | dict.fromkeys("\u2018\u2019\u201a\u201b\u02bb\u02bc\u2032`", "'")
    | dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb", '"')
    | dict.fromkeys(
        "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\u202a\u202b\u202c"
        "\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
    )
)


def fold_text(text: str) -> str:
    """The search key of a text: NFKD without combining marks, case-folded, mapped as
    people type it (``_TYPED``), each run of spaces one space, none at either end. The
    reasoning step stores it per label (cpo:searchKey) and the search question folds the
    user's text with it, so both sides agree. Mapping after case folding covers both cases
    (Đ, Æ) and the letters NFKD or case folding make (Ǿ gives ø)."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().translate(_TYPED).split())


def _expand(curie: str) -> str:
    for prefix, ns in PREFIXES.items():
        if curie.startswith(prefix):
            return ns + curie[len(prefix) :]
    return curie


#: A comment line that moves the VALUES block of the parameters to where it stands.
BIND_HERE = re.compile(r"^[ \t]*# parameters bound here[^\n]*\n", re.MULTILINE)


@dataclass
class Param:
    name: str
    type: str
    label: str
    description: str = ""
    required: bool = False
    default: str | None = None
    cls: str | None = None
    scheme: str | None = None
    allowed: list[str] | None = None
    options_query: str | None = None
    min: float | None = None
    max: float | None = None
    fold: bool = False  # compare without case and accents (the query folds its side too)
    #: Triple patterns that select what a bound value narrows the query to, added after the
    #: VALUES block only when the parameter is bound, so Oxigraph starts its joins from the
    #: matching resources instead of checking each row. The query must still test the
    #: parameter itself (``FILTER(!BOUND(?p) || ...)``): the text is right without them.
    narrows: str | None = None
    #: The options query cut down to its first solution (``first_solution``): a value is
    #: checked with it, as finding one match is cheaper than finding and sorting them all.
    membership_query: str | None = field(default=None, repr=False)

    def options(self, store: Store) -> list[Option] | None:
        """Allowed values for a drop-down, or None for free input."""
        if self.allowed is not None:
            return [Option(v, v) for v in self.allowed]
        if self.options_query:
            rows = store.select(self.options_query)
            return [_option(r["value"], r.get("label")) for r in rows if "value" in r]
        if self.cls:
            rows = store.select(LABELLED_MEMBERS, {"cls": ox.NamedNode(self.cls)})
            seen: dict[str, Option] = {}
            for r in rows:
                seen.setdefault(r["value"].value, _option(r["value"], r["label"]))
            # Folded, so "Észak-Alföld" sorts among the E's, not after "Západné".
            return sorted(seen.values(), key=lambda o: (fold_text(o.label), o.label))
        return None

    def refused(self, detail: str, shown: str | None = None, sep: str = " ") -> ParameterError:
        """A refusal of this parameter's value: ``detail`` after its name (CLI, JSON),
        ``shown`` (else ``detail``) after its label on its page, both after ``sep``."""
        return ParameterError(
            f"parameter '{self.name}'{sep}{detail}",
            self.name,
            f"{self.label}{sep}{shown or detail}",
        )

    def resolve(self, key: str, store: Store) -> Term:
        """The allowed value that ``key`` names by a code: its skos:notation or NUTS code, or
        the last path segment of its IRI, without regard to case ("RO21", "ro21"). Exactly
        one must match: the term is the option's own IRI, never the text given."""
        options = self.options(store) or []
        keys = option_keys(store, [o.value for o in options])
        wanted = key.strip().casefold()

        def codes(o: Option) -> tuple[str, ...]:
            return (keys.get(o.value) or Keys((segment(o.value),), "")).codes

        hits = [o for o in options if any(c.casefold() == wanted for c in codes(o))]
        if len(hits) == 1:
            return ox.NamedNode(hits[0].value)
        shown_key = repr(key.strip()[:80])
        if hits:
            raise self.refused(
                f"{shown_key} is the code of {len(hits)} allowed values: "
                + ", ".join(f"<{o.value}>" for o in hits)
                + "; give the whole IRI",
                f"{shown_key} names {len(hits)} choices: "
                + _listed(distinguish(hits, keys))
                + "; choose one of them",
                ": ",
            )
        folded = fold_text(key)
        near = [
            o
            for o in options
            if folded
            and (folded in fold_text(o.label) or any(folded in fold_text(c) for c in codes(o)))
        ]
        if not near:
            raise _not_allowed(self, key, store)
        named = distinguish(near, keys)
        raise self.refused(
            f"{shown_key} is no allowed value's code; values whose label or code contains it: "
            + ", ".join(f"<{o.value}> ({o.label})" for o in named[:LISTED])
            + (f", and {len(named) - LISTED} more" if len(named) > LISTED else ""),
            f"{shown_key} is not the code of any choice; choices whose name or code "
            f"contains it: {_listed(named)}",
            ": ",
        )

    def to_term(self, raw: str) -> Term:
        """Convert text to an RDF term of the declared type, or raise ParameterError."""
        raw = raw.strip(BLANKS)
        if self.type == "iri":
            if not IRI_RE.match(raw):
                code = " or the code of one of its choices" if _listed_values(self) else ""
                raise self.refused(
                    f"must be an http(s) IRI{code}, got {raw[:80]!r}",
                    f"must be an http(s) IRI (a web address starting with http:// or "
                    f"https://){code}, got {raw[:80]!r}",
                )
            return ox.NamedNode(raw)
        if self.type == "string":
            if len(raw) > MAX_STRING:
                raise self.refused(f"is longer than {MAX_STRING} characters")
            if not self.fold or not raw:
                return ox.Literal(raw)
            if not (folded := fold_text(raw)):  # "-" or a soft hyphen: everything would match
                raise self.refused(
                    "has nothing to compare once dashes, quotes and "
                    f"invisible characters are set aside, got {raw[:40]!r}"
                )
            return ox.Literal(folded)
        if self.type == "language":
            if not LANG_RE.match(raw):
                raise self.refused(f"must be a language tag like 'en' or 'de-AT', got {raw[:40]!r}")
            return ox.Literal(raw.lower())
        return self._number_or_date(raw)

    def _number_or_date(self, raw: str) -> Term:
        try:
            if not NUMBER_OR_DATE.fullmatch(raw):  # int() and Decimal() take "1_0" and "２"
                raise ValueError(raw)
            if self.type == "integer":
                value: object = int(raw)
                dtype = "integer"
            elif self.type == "decimal":
                value = Decimal(raw)
                if not value.is_finite():
                    raise InvalidOperation
                dtype = "decimal"
            else:
                value = dt.date.fromisoformat(raw)
                dtype = "date"
        except (ValueError, InvalidOperation) as exc:
            raise self.refused(
                f"must be {_article(self.type)} {self.type}, got {raw[:40]!r}",
                f"must be {PEOPLE_TYPES[self.type]}, got {raw[:40]!r}",
            ) from exc
        if isinstance(value, int | Decimal):
            if self.min is not None and value < self.min:
                raise self.refused(f"must be at least {_number(self.min)}")
            if self.max is not None and value > self.max:
                raise self.refused(f"must be at most {_number(self.max)}")
        return ox.Literal(str(value), datatype=ox.NamedNode(XSD + dtype))


@dataclass
class StoredQuery:
    name: str
    path: Path
    summary: str
    description: str
    tags: list[str]
    params: list[Param]
    text: str
    kind: str
    #: Where the VALUES block goes: after each ``# parameters bound here`` line, else at the
    #: start of the WHERE clause.
    values_at: tuple[int, ...] = field(repr=False, default=())
    #: SERVICE endpoints the query calls (fixed IRIs); each must be on the allow-list of
    #: the run (``check_services``), so loading a federated query never contacts anything.
    services: list[str] = field(default_factory=list)
    #: ``sort: store`` in the header (see SORTS).
    store_sorts: bool = False
    #: ``chart: false`` in the header: no bar chart on the page, where the first number of a
    #: row is no quantity (a year) or every bar would be 1; ``chart: {value: VAR, ...}``: the
    #: column to draw, its labels and the scale's top (``ChartSpec``).
    chart: "bool | ChartSpec" = True

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def bind(self, raw: dict[str, str], store: Store) -> dict[str, Term | None]:
        """Validate user values (defaults fill gaps) and return the terms to bind."""
        unknown = sorted(set(raw) - {p.name for p in self.params})
        if unknown:
            known = ", ".join(p.name for p in self.params) or "none"
            raise ParameterError(
                f"unknown parameter '{unknown[0]}' for query '{self.name}' (parameters: {known})"
            )
        return {p.name: self._bound(p, raw.get(p.name), store) for p in self.params}

    def accepts(self, p: Param, value: str, store: Store) -> bool:
        """Whether parameter ``p`` takes ``value`` (an IRI): the checks a user's value meets,
        e.g. a region with nothing reported is no choice of `region-barriers`."""
        try:
            return self._bind_one(p, value, store) is not None
        except ParameterError:
            return False

    def _bound(self, p: Param, value: str | None, store: Store) -> Term | None:
        try:
            return self._bind_one(p, value, store)
        except ParameterError as exc:
            exc.param = p.name  # whichever check refused it
            raise

    def _bind_one(self, p: Param, value: str | None, store: Store) -> Term | None:
        if value is None or value.strip(BLANKS) == "":
            value = p.default
        if value is None:
            if p.required:
                raise p.refused(f"is required{_hint(p, store)}", f"is required{_shown(p, store)}")
            return None
        if p.type == "iri" and CODE_RE.match(value.strip()) and _listed_values(p):
            return p.resolve(value, store)  # a code ("RO21") of exactly one allowed value
        if p.type == "iri":
            # A link made before 2026-12-07 names a sector in the former NACE form.
            value = nace.current_iri(value.strip()) or value
        term = p.to_term(value)
        if p.cls and p.allowed is None and not p.options_query:
            # A class member is one ``?value a ?cls`` away: check it, do not list the class.
            if not store.select(IS_MEMBER, {"value": term, "cls": ox.NamedNode(p.cls)}):
                raise _not_allowed(p, value, store)
            return term
        if p.options_query and p.allowed is None:
            # The options query with ?value bound: it answers for this one value instead of
            # listing them all (region-profile at 1M: 1.8 s to list the regions), and cut
            # down to its first solution (a NACE sector at 1M: 9.3 to 0.1 ms).
            check = p.membership_query or p.options_query
            if not store.select(check, {"value": term}):
                raise _not_allowed(p, value, store)
            return term
        options = p.options(store) if p.allowed else None
        if options is not None and term.value not in {o.value for o in options}:
            raise _not_allowed(p, value, store)
        return term

    def bound_text(self, values: dict[str, Term | None]) -> str:
        """The query with a VALUES block binding ``values`` (None = unbound)."""
        names = [n for n in values if values[n] is not None]
        if not names:
            return self.text
        cells = " ".join(str(values[n]) for n in names)
        block = f"\n  VALUES ({' '.join('?' + n for n in names)}) {{ ({cells}) }}\n"
        for p in self.params:
            if p.narrows and p.name in names:
                block += f"  {p.narrows}\n"
        text = self.text
        for at in reversed(self.values_at):  # from the end, so earlier offsets stay valid
            text = text[:at] + block + text[at:]
        return text

    def check_services(self, allowlist: tuple[str, ...] | list[str]) -> None:
        """Raise ServiceNotAllowed unless every SERVICE endpoint is on ``allowlist``."""
        refused = [s for s in self.services if s not in allowlist]
        if refused:
            raise ServiceNotAllowed(
                f"stored query '{self.name}' calls SERVICE <{refused[0]}>, which is not on "
                "this run's allow-list of federated endpoints; allow it with "
                f"--allow-service {refused[0]} (or {SERVICE_ALLOW_ENV})"
            )

    def run(
        self, store: Store, raw: dict[str, str], allowlist: tuple[str, ...] = ()
    ) -> QueryResult:
        self.check_services(allowlist)
        text = self.bound_text(self.bind(raw, store))
        return store.run_query(text, self.store_sorts, split=True)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


#: What may be a choice's code (``RO21``, ``innovation``, ``10.1``): no scheme, no spaces.
CODE_RE = re.compile(r"^[\w.\-]{1,80}$")
#: How many choices a refusal on a page lists before "and N more".
LISTED = 15
PEOPLE_TYPES = {
    "integer": "a whole number",
    "decimal": "a number",
    "date": "a date written like 2026-12-31",
}


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _listed_values(p: Param) -> bool:
    """Whether ``p``'s values are a list to pick from (a class, an options query, a list)."""
    return bool(p.cls or p.options_query or p.allowed)


def _listed(options: list[Option]) -> str:
    shown = ", ".join(o.label for o in options[:LISTED])
    return shown + (f" and {len(options) - LISTED} more" if len(options) > LISTED else "")


def _not_allowed(p: Param, value: str, store: Store) -> ParameterError:
    return ParameterError(
        f"parameter '{p.name}': {value[:80]!r} is not an allowed value{_hint(p, store)}",
        p.name,
        f"{p.label}: {value.strip()[:80]!r} is not one of the choices{_shown(p, store)}",
    )


def _shown(p: Param, store: Store) -> str:
    """What a page says a parameter allows: its choices by their labels, those that share a
    label with their codes, at most ``LISTED``."""
    options = p.options(store)
    if options == []:
        return "; the data holds no choices for it yet"
    if not options:
        return ""
    shared = shared_labels(options)
    if shared:
        options = distinguish(options, option_keys(store, shared))
    return f"; the choices are: {_listed(options)}"


def _hint(p: Param, store: Store) -> str:
    options = p.options(store)
    if options == []:
        return "; the data holds no allowed values yet"
    if not options:
        return f" (type: {p.type})"
    shown = ", ".join(o.value for o in options[:12])
    more = f", ... ({len(options)} in all)" if len(options) > 12 else ""
    return f"; allowed values: {shown}{more}"


# -- loading -------------------------------------------------------------------------------


def _split_header(path: Path) -> tuple[list[str], str]:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = []
    for line in lines:
        if not line.startswith("#+"):
            break
        header.append(line[2:])
    return header, "".join(lines[len(header) :])


def _line_of(header: list[str], key: str, after: int = 0) -> int:
    """The header line of ``key``, the first one after line ``after`` (a parameter's own
    setting, not the same setting of an earlier parameter)."""
    for i, line in enumerate(header[after:], after + 1):
        if re.match(rf"\s*-?\s*{re.escape(key)}\s*:", line):
            return i
    return max(after, 1)


def _fail(path: Path, line: int, msg: str) -> CatalogError:
    return CatalogError(f"{path.name}, line {line}: {msg}")


def _parse_yaml(path: Path, header: list[str]) -> dict:
    text = "".join(h[1:] if h.startswith(" ") else h for h in header)
    try:
        meta = yaml.safe_load(text) or {}
    except yaml.MarkedYAMLError as exc:
        line = (exc.problem_mark.line + 1) if exc.problem_mark else 1
        raise _fail(path, line, f"malformed header: {exc.problem}") from exc
    if not isinstance(meta, dict):
        raise _fail(path, 1, "the '#+' header must be 'key: value' lines")
    return meta


@dataclass(frozen=True)
class ChartSpec:
    """``chart: {value: VAR, label: VAR or [VAR, ...], max: N}`` in a header: the numeric
    column the bars draw, the text columns that label them (else found from the result) and
    the top of the scale when the values have known bounds (a severity out of 5)."""

    value: str
    label: tuple[str, ...] = ()
    max: float | None = None


CHART_KEYS = {"value", "label", "max"}
CHART_USAGE = "true, false or a mapping like {value: maxSeverity, label: practiceLabel, max: 5}"


def _chart_setting(path: Path, header: list[str], chart: object, body: str) -> "bool | ChartSpec":
    """The header's ``chart`` value checked: a bool, or a ChartSpec whose variables the query
    names."""
    if chart is True or chart is False:
        return chart
    line = _line_of(header, "chart")
    if not isinstance(chart, dict):
        raise _fail(path, line, f"'chart' must be {CHART_USAGE}")
    unknown = sorted(str(k) for k in chart if k not in CHART_KEYS)
    if unknown:
        raise _fail(
            path, line, f"unknown key '{unknown[0]}' in 'chart' (it takes value, label, max)"
        )
    labels = chart.get("label", [])
    labels = [labels] if isinstance(labels, str) else labels
    names = [chart.get("value"), *labels] if isinstance(labels, list) else [None]
    for name in names:
        if not isinstance(name, str) or not re.fullmatch(r"\w+", name):
            raise _fail(path, line, f"'chart' must be {CHART_USAGE}; got {chart!r}")
        if not re.search(rf"[?$]{name}\b", body):
            raise _fail(path, line, f"'chart' names ?{name}, which the query does not use")
    top = chart.get("max")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int | float) or top <= 0):
        raise _fail(path, line, f"'chart' max must be a number above 0, not {top!r}")
    return ChartSpec(names[0], tuple(labels), None if top is None else float(top))


def _param(path: Path, header: list[str], name: str, spec: object) -> Param:
    line = _line_of(header, name)
    if not isinstance(spec, dict):
        raise _fail(path, line, f"parameter '{name}' must be a mapping of its settings")
    for key in spec:
        if key not in PARAM_KEYS:
            raise _fail(
                path,
                _line_of(header, key),
                f"unknown key '{key}' in parameter "
                f"'{name}' (allowed: {', '.join(sorted(PARAM_KEYS))})",
            )
    ptype = spec.get("type")
    if ptype not in TYPES:
        raise _fail(
            path, line, f"parameter '{name}' needs a type, one of {', '.join(sorted(TYPES))}"
        )
    allowed = spec.get("allowed")
    p = Param(
        name=name,
        type=ptype,
        label=str(spec.get("label", name)),
        description=str(spec.get("description", "")),
        required=bool(spec.get("required", False)),
        default=None if spec.get("default") is None else str(spec["default"]),
        cls=_expand(spec["class"]) if spec.get("class") else None,
        scheme=spec.get("scheme"),
        allowed=[str(a) for a in allowed] if allowed is not None else None,
        options_query=spec.get("options"),
        min=spec.get("min"),
        max=spec.get("max"),
        fold=bool(spec.get("fold", False)),
        narrows=_narrows(path, _line_of(header, "narrows", line), name, spec.get("narrows")),
        membership_query=_membership_query(spec.get("options")),
    )
    if p.default is not None:
        try:
            p.to_term(p.default)
        except ParameterError as exc:
            raise _fail(path, _line_of(header, "default", line), f"bad default: {exc}") from exc
    return p


def _membership_query(options: object) -> str | None:
    """The options query cut down to its first solution, if that still parses."""
    check = first_solution(options) if isinstance(options, str) else None
    if check is None:
        return None
    try:
        inspect(check)
    except QuerySyntaxError:
        return None  # the full options query checks the value, only slower
    return check


def _narrows(path: Path, line: int, name: str, pattern: object) -> str | None:
    """A ``narrows`` setting (at header ``line``): triple patterns that use ``?name``,
    without braces, so they cannot open or close a group, nor hold a SERVICE
    (``_check_narrows`` parses them)."""
    if pattern is None:
        return None
    if not isinstance(pattern, str) or "{" in pattern or "}" in pattern:
        raise _fail(path, line, f"'narrows' of '{name}' must be triple patterns, no braces")
    if not re.search(rf"[?$]{re.escape(name)}\b", pattern):
        raise _fail(path, line, f"'narrows' of '{name}' does not use ?{name}")
    return pattern.strip()


def _check_narrows(path: Path, header: list[str], q: "StoredQuery") -> None:
    """The query with every ``narrows`` pattern in place must parse (prefixes, syntax)."""
    patterns = "\n".join(p.narrows for p in q.params if p.narrows)
    if not patterns:
        return
    text = q.text
    for at in reversed(q.values_at):
        text = f"{text[:at]}\n{patterns}\n{text[at:]}"
    try:
        inspect(text)
    except QuerySyntaxError as exc:
        raise _fail(path, _line_of(header, "narrows"), f"with 'narrows': {exc}") from exc


def load_query(path: Path) -> StoredQuery:
    header, body = _split_header(path)
    meta = _parse_yaml(path, header)
    for key in meta:
        if key not in HEADER_KEYS:
            raise _fail(
                path,
                _line_of(header, key),
                f"unknown header key '{key}' (allowed: {', '.join(sorted(HEADER_KEYS))})",
            )
    if not meta.get("summary"):
        raise _fail(path, 1, "the header needs a 'summary'")
    specs = meta.get("params") or {}
    if not isinstance(specs, dict):
        raise _fail(path, _line_of(header, "params"), "'params' must map names to settings")
    params = [_param(path, header, n, s) for n, s in specs.items()]
    try:
        info = inspect(body)
    except QuerySyntaxError as exc:
        raise _fail(path, len(header) + 1, str(exc)) from exc
    for p in params:
        if p.name not in info.variables:
            raise _fail(
                path,
                _line_of(header, p.name),
                f"parameter '{p.name}' does not appear in the query as ?{p.name}",
            )
    where = where_brace(body)
    if where < 0:
        raise _fail(path, len(header) + 1, "the query needs a WHERE clause")
    values_at = tuple(m.end() for m in BIND_HERE.finditer(body)) or (where,)
    variable = [s for s in info.services if s.startswith("?")]
    if variable:
        raise _fail(
            path,
            len(header) + 1,
            f"SERVICE {variable[0]}: a stored query must name its endpoint by a fixed IRI, "
            "so the allow-list can be checked before it runs",
        )
    if MARK in body:
        cut = locate(body)
        if isinstance(cut, str):
            raise _fail(path, len(header) + 1 + body[: body.index(MARK)].count("\n"), cut)
    tags = meta.get("tags") or []
    sort = meta.get("sort", SORTS[0])
    if sort not in SORTS:
        raise _fail(path, _line_of(header, "sort"), f"'sort' must be one of {', '.join(SORTS)}")
    chart = _chart_setting(path, header, meta.get("chart", True), body)
    query = StoredQuery(
        name=path.stem,
        path=path,
        summary=str(meta["summary"]).strip(),
        description=str(meta.get("description", "")).strip(),
        tags=[str(t) for t in tags],
        params=params,
        text=body,
        kind=info.kind,
        values_at=values_at,
        services=list(dict.fromkeys(info.services)),
        store_sorts=sort == "store",
        chart=chart,
    )
    _check_narrows(path, header, query)
    return query


@dataclass
class Catalog:
    queries: dict[str, StoredQuery]

    def get(self, name: str) -> StoredQuery:
        if name not in self.queries:
            raise ParameterError(
                f"no stored query named '{name}'; see 'clusterpolisee queries' for the list"
            )
        return self.queries[name]

    @property
    def tags(self) -> list[str]:
        return sorted({t for q in self.queries.values() for t in q.tags})


def load_catalog(directory: Path | None = None) -> Catalog:
    """Load and check every ``*.rq``; raise CatalogError listing every broken file."""
    directory = directory or paths.QUERIES_DIR
    queries, errors = {}, []
    for path in sorted(directory.glob("*.rq")):
        try:
            queries[path.stem] = load_query(path)
        except (CatalogError, UnicodeDecodeError) as exc:
            errors.append(
                str(exc) if isinstance(exc, CatalogError) else f"{path.name}: not UTF-8 text"
            )
    if errors:
        raise CatalogError("\n".join(errors))
    return Catalog(queries)
