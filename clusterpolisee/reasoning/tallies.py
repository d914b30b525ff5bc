"""Tallies: the counts and sums the aggregate questions need, computed at write time.

At a million triples, joining every cluster, barrier and instrument with its region, theme
and labels takes Oxigraph seconds per question; the same answer read from a few hundred
tally nodes takes milliseconds. The reasoning step writes them into graph/inferred (one node
per key, named by a digest of the key, so an unchanged tally is an unchanged triple and the
reasoning step rewrites only what changed) after every accepted submission.
The terms (cpo:ThemeTally, cpo:CountryThemeTally, cpo:PolicyGapTally, cpo:PartnerTally,
cpo:CategoryTally, cpo:InstrumentTypeTally, cpo:ClassTally, cpo:CountryTally and their
properties) are defined, with their counting rules, in the ontology.
"""

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Generator, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import chain
from typing import Any

import pyoxigraph as ox

from ..namespaces import CPO, ID
from ..store.termtext import TextTriple, literal_parts

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
#: Terms are N-Triples text here (store/termtext.py), as the reasoning step reads them.
Node = str
#: Tally IRIs: {TALLY_BASE}{kind}/{digest of the key}.
TALLY_BASE = f"{ID}tally/"
#: (subject, object) pairs of one property, asserted in the data graphs.
Facts = Callable[[str], set[tuple[str, str]]]
#: The properties whose facts the tallies read (fetched together with the other rules').
FACTS = tuple(
    f"{CPO}{name}"
    for name in (
        "partner",
        "region",
        "theme",
        "severity",
        "budgetAmount",
        "budgetCurrency",
        "barrierCategory",
        "instrumentType",
        "country",
    )
)


def _cpo(name: str) -> str:
    return f"<{CPO}{name}>"


BARRIER, INSTRUMENT = _cpo("Barrier"), _cpo("PolicyInstrument")
EMERGING = _cpo("EmergingRegion")
CPO_PREFIX = f"<{CPO}"


class Plain(str):
    """A key value that is a plain string (a currency code), written as a literal; its
    digest is that of the string, as for every other key value."""


@dataclass
class Tally:
    """One key's number of members, severity maximum and sum, and budget sum. Members are
    counted, not kept (at 10M triples, a set of members per key held every resource again:
    170 MiB more at the step's peak)."""

    count: int = 0
    max_severity: int | None = None
    severity_sum: int = 0
    budget: Decimal | None = None

    def merge(self, other: "Tally") -> None:
        """Fold in another key's tally, whose members are not this one's."""
        self.count += other.count
        if other.max_severity is not None:
            self.add_severity(other.severity_sum, other.max_severity)

    def add_severity(self, total: int, highest: int) -> None:
        self.severity_sum += total
        best = self.max_severity
        self.max_severity = highest if best is None else max(best, highest)

    def add_budget(self, total: Decimal) -> None:
        self.budget = total + (self.budget or 0)


def _keyed_node(kind: str, key: dict[str, object]) -> Generator[TextTriple, None, str]:
    """Yield a tally node's type and key triples; return the node (named by its key)."""
    digest = hashlib.sha1("|".join(str(v) for v in key.values()).encode()).hexdigest()[:20]
    node = f"<{TALLY_BASE}{kind}/{digest}>"
    yield node, RDF_TYPE, _cpo(kind)
    for prop, value in key.items():
        if value is not None:
            term = str(ox.Literal(value)) if isinstance(value, Plain) else value
            yield node, _cpo(prop), term
    return node


def _key_triples(
    kind: str, key: dict[str, object], tally: Tally
) -> Generator[TextTriple, None, str]:
    """Yield a tally node's triples; return the node."""
    node = yield from _keyed_node(kind, key)
    yield node, _cpo("tallyCount"), _integer(tally.count)
    if tally.max_severity is not None:
        yield node, _cpo("tallyMaxSeverity"), _integer(tally.max_severity)
        yield node, _cpo("tallySeveritySum"), _integer(tally.severity_sum)
    if tally.budget is not None:
        # Canonical form (no trailing zeros), as the store gives it back: compared unchanged.
        budget = format(tally.budget.normalize(), "f")
        yield node, _cpo("tallyBudget"), f'"{budget}"^^<{XSD}decimal>'
    return node


def _integer(value: int) -> str:
    return f'"{value}"^^<{XSD}integer>'


class Values:
    """One property's objects per subject. Most subjects have one (the shapes allow one for
    most of these properties): one object per subject is kept in a plain dict (``main``),
    so a whole column of resources is looked up with ``map`` at C speed; the few subjects
    with more keep the others beside it (``more``), and are counted one by one."""

    def __init__(self, pairs: Collection[tuple[Node, Node]]) -> None:
        self.main: dict[Node, Node] = dict(pairs)
        more: dict[Node, list[Node]] = defaultdict(list)
        if len(self.main) < len(pairs):
            for s, o in pairs:
                if o != self.main[s]:
                    more[s].append(o)
        self.more = dict(more)

    def all(self, subject: Node) -> list[Node]:
        main = self.main.get(subject)
        return [] if main is None else [main, *self.more.get(subject, ())]


def _values(facts: Facts, prop: str) -> Values:
    return Values(facts(f"{CPO}{prop}"))


def _parsed(facts: Facts, prop: str, parse: Callable[[str], object]) -> dict[Node, Any]:
    """Subject -> parsed object of a functional property; objects that do not parse (the
    shapes refuse them) are left out rather than failing the step. Each distinct literal is
    parsed once (at 10M triples: 5 severities, about 1,000 budget amounts)."""
    pairs = facts(f"{CPO}{prop}")
    parsed = {o: parse(o) for o in {o for _s, o in pairs}}
    return {s: parsed[o] for s, o in pairs if parsed[o] is not None}


def _number(kind: type) -> Callable[[str], int | Decimal | None]:
    def parse(literal: str) -> int | Decimal | None:
        parts = literal_parts(literal)
        try:
            return None if parts is None else kind(parts[0])
        except (ValueError, InvalidOperation):
            return None

    return parse


def _plain(literal: str) -> Plain | None:
    parts = literal_parts(literal)
    return None if parts is None else Plain(parts[0])


def tallies(facts: Facts, members: Mapping[Node, set[Node]]) -> list[TextTriple]:
    """Every tally's triples. ``members``: class -> its resources, asserted and inferred, so
    a resource counts under its class and each of its superclasses, and once in each key
    that holds its class.

    Counting is done a class at a time over whole columns (set operations, ``map`` and
    ``Counter`` over ``zip``), not resource by resource: at 10M triples the step reads
    about 1.3 million (resource, class) pairs, and each Python-level lookup in a dict of a
    million strings costs about half a microsecond of memory latency."""
    tables = _Tables(facts)
    classes = {c: rs for c, rs in members.items() if c.startswith(CPO_PREFIX)}
    by_theme: dict[tuple, Tally] = {}
    counted: dict[Node, set[Node]] = {}  # class -> its resources with a partner and a theme
    for cls, rs in classes.items():
        counted[cls] = rs & tables.keys.keys()
        by_theme.update(_theme_tallies(cls, counted[cls], tables))
    empty: set[Node] = set()
    by_category = _category_tallies(counted.get(BARRIER, empty), tables)
    return [
        *_emit(
            by_theme,
            _partner_tallies(set().union(*counted.values()), tables),
            by_category,
            _type_tallies(counted.get(INSTRUMENT, empty), tables),
        ),
        *_emit_derived(by_theme, _barriers(by_theme), tables.countries),
        *_emerging_categories(by_category, classes.get(EMERGING, empty)),
        *_emit_home(
            Counter({c: len(rs) for c, rs in classes.items()}),
            _by_country(tables.countries, tables.regions, tables.partner),
        ),
    ]


class _Tables:
    """The facts the tallies key on, each property read once, and every resource's theme
    tally keys: (region, theme, currency), one per theme, for each resource with a partner
    and a theme (only those count in the theme and partner tallies)."""

    def __init__(self, facts: Facts) -> None:
        self.partner = dict(facts(f"{CPO}partner"))
        self.regions, self.themes = _values(facts, "region"), _values(facts, "theme")
        self.region = self.regions.main  # the shapes allow one
        self.countries, self.kinds = _values(facts, "country"), _values(facts, "instrumentType")
        self.severity = _parsed(facts, "severity", _number(int))
        self.amount = _parsed(facts, "budgetAmount", _number(Decimal))
        self.currency = _parsed(facts, "budgetCurrency", _plain)
        self.category = dict(facts(f"{CPO}barrierCategory"))
        self.keys = self._theme_keys(self.partner.keys() & self.themes.main.keys())

    def _theme_keys(self, resources: set[Node]) -> dict[Node, tuple[tuple, ...]]:
        region, currency, themes = self.region.get, self.currency.get, self.themes
        one = list(resources - themes.more.keys())
        columns = _columns(one, region, themes.main.__getitem__, currency)
        keys = dict(zip(one, zip(columns), strict=True))  # a tuple of one key each
        for r in resources & themes.more.keys():
            keys[r] = tuple((region(r), theme, currency(r)) for theme in themes.all(r))
        return keys


def _columns(rows: Collection[Node], *lookups: Callable[[Node], Any]) -> Iterable[tuple]:
    """Each row's values, one per lookup, as tuples: the loop runs in C (``map``, ``zip``).
    ``rows`` is a list or an unchanged set, so each iteration meets them in the same order."""
    return zip(*(map(lookup, rows) for lookup in lookups), strict=True)


def _theme_tallies(cls: Node, resources: set[Node], tables: _Tables) -> dict[tuple, Tally]:
    """(cls, region, theme, currency) -> tally of the class's resources under each key."""
    keys = tables.keys.__getitem__
    out: dict[tuple, Tally] = {}
    for key, n in Counter(chain.from_iterable(map(keys, resources))).items():
        out[(cls, *key)] = Tally(n)
    # Severities and budgets counted per (keys, value): a handful of values, so few sums.
    rated = resources & tables.severity.keys()
    for (ks, severity), n in Counter(_columns(rated, keys, tables.severity.get)).items():
        for key in ks:
            out[(cls, *key)].add_severity(severity * n, severity)
    funded = resources & tables.amount.keys()
    for (ks, budget), n in Counter(_columns(funded, keys, tables.amount.get)).items():
        for key in ks:
            out[(cls, *key)].add_budget(budget * n)
    return out


def _partner_tallies(resources: set[Node], tables: _Tables) -> Counter[tuple]:
    """(partner, theme) -> number of resources (each once, whatever its classes)."""
    themes, partner = tables.themes, tables.partner
    one = resources - themes.more.keys()
    out = Counter(_columns(one, partner.__getitem__, themes.main.__getitem__))
    for r in resources & themes.more.keys():
        out.update((partner[r], theme) for theme in themes.all(r))
    return out


def _barriers(by_theme: dict[tuple, Tally]) -> dict[tuple, Tally]:
    """(region, theme) -> tally of the barriers: the barrier theme tallies summed over
    currency (each barrier is in one of them per theme)."""
    out: dict[tuple, Tally] = defaultdict(Tally)
    for (cls, reg, theme, _currency), tally in by_theme.items():
        if cls == BARRIER and reg is not None:
            out[(reg, theme)].merge(tally)
    return out


def _category_tallies(barriers: set[Node], tables: _Tables) -> dict[tuple, Tally]:
    """(region, category) -> tally of the barriers (with a partner and a theme)."""
    found = barriers & tables.category.keys() & tables.region.keys()
    columns = _columns(
        found, tables.region.__getitem__, tables.category.__getitem__, tables.severity.get
    )
    out: dict[tuple, Tally] = defaultdict(Tally)
    for (reg, category, severity), n in Counter(columns).items():
        tally = out[(reg, category)]
        tally.count += n
        if severity is not None:
            tally.add_severity(severity * n, severity)
    return out


def _type_tallies(instruments: set[Node], tables: _Tables) -> Counter[tuple]:
    """(region, theme, instrument type) -> number of instruments (with a partner)."""
    themes, kinds, region = tables.themes, tables.kinds, tables.region
    found = instruments & region.keys() & kinds.main.keys()
    several = themes.more.keys() | kinds.more.keys()
    one = found - several
    out = Counter(
        _columns(one, region.__getitem__, themes.main.__getitem__, kinds.main.__getitem__)
    )
    for r in found & several:
        out.update((region[r], t, k) for t in themes.all(r) for k in kinds.all(r))
    return out


def _emit_derived(by_theme: dict, barriers: dict, countries: Values) -> Iterable[TextTriple]:
    """Theme tallies rolled up per country, and the policy gaps: a region's barriers under a
    theme none of its instruments addresses.

    The overview and policy-gaps questions could sum and subtract theme tallies themselves,
    but at 1M triples that costs them 47-64 ms and 9-14 ms; read from these nodes, 2-3 ms
    and 4-7 ms."""
    yield from _country_theme(by_theme, countries)
    covered = {(reg, theme) for cls, reg, theme, _ in by_theme if cls == INSTRUMENT}
    for (reg, theme), tally in barriers.items():
        if (reg, theme) not in covered:
            key = {"tallyRegion": reg, "tallyTheme": theme}
            yield from _key_triples("PolicyGapTally", key, tally)


#: The classes a country and theme tally counts, each with its own count property: one node
#: per country and theme with four numbers is what the overview reads (66 nodes instead of
#: 264 of one class each at 1M triples: 8.4 to 2.3 ms).
COUNTRY_THEME_COUNTS = {
    _cpo("Cluster"): _cpo("clusterCount"),
    BARRIER: _cpo("barrierCount"),
    INSTRUMENT: _cpo("instrumentCount"),
    _cpo("GoodPractice"): _cpo("goodPracticeCount"),
}


def _country_theme(by_theme: dict, countries: Values) -> Iterable[TextTriple]:
    """A node per country and theme with any of the four classes, each count written (0 too,
    so the overview joins no OPTIONAL)."""
    # A resource has one region and one currency, so the theme tallies of one class and theme
    # count disjoint sets: their counts add up.
    counts: dict[tuple, Counter[Node]] = defaultdict(Counter)
    for (cls, reg, theme, _currency), tally in by_theme.items():
        if reg is not None and cls in COUNTRY_THEME_COUNTS:
            for country in countries.all(reg):
                counts[(country, theme)][cls] += tally.count
    for (country, theme), per_class in counts.items():
        node = yield from _keyed_node(
            "CountryThemeTally", {"tallyCountry": country, "tallyTheme": theme}
        )
        for cls, prop in COUNTRY_THEME_COUNTS.items():
            yield node, prop, _integer(per_class[cls])


def _emerging_categories(by_category: dict, emerging: set) -> Iterable[TextTriple]:
    """Per barrier category, the category tallies of the emerging regions summed, with
    those regions: the shared-barrier-categories question reads 24 of these at 1M triples
    instead of 240 category tallies found among the regions' 2,111 (7.9 to 2.0 ms)."""
    regions: dict[Node, list[Node]] = defaultdict(list)
    summed: dict[Node, Tally] = defaultdict(Tally)
    for (reg, cat), tally in by_category.items():
        if reg not in emerging:
            continue
        regions[cat].append(reg)
        summed[cat].merge(tally)  # a barrier has one region: the members are disjoint
    for cat, places in regions.items():
        key = {"tallyCategory": cat}
        node = yield from _key_triples("EmergingCategoryTally", key, summed[cat])
        yield node, _cpo("tallyRegionCount"), _integer(len(places))
        for reg in places:
            yield node, _cpo("tallyRegion"), reg


def _by_country(countries: Values, regions: Values, partner: dict) -> Counter[Node]:
    """Partner resources per country: their own cpo:country or their regions'. Those with
    no country of their own and one region (nearly all) are counted per region first."""
    out: Counter[Node] = Counter()
    simple = partner.keys() - countries.main.keys() - regions.more.keys()
    for reg, n in Counter(map(regions.main.get, simple)).items():
        for place in set(countries.all(reg)):
            out[place] += n
    for r in partner.keys() - simple:
        places = set(countries.all(r))
        for reg in regions.all(r):
            places.update(countries.all(reg))
        for place in places:  # a set: each resource once per country
            out[place] += 1
    return out


def _emit_home(by_class: Counter, by_country: dict) -> Iterable[TextTriple]:
    for cls, count in by_class.items():
        key = {"tallyClass": cls}
        yield from _key_triples("ClassTally", key, Tally(count))
    for country, count in by_country.items():
        yield from _key_triples("CountryTally", {"tallyCountry": country}, Tally(count))


def _emit(
    by_theme: dict, by_partner: Counter, by_category: dict, by_type: Counter
) -> Iterable[TextTriple]:
    # Keys without the partner where the questions do not ask for it: fewer, bigger tallies
    # are what makes them fast (Oxigraph pays some microseconds per joined row).
    theme_props = ("tallyClass", "tallyRegion", "tallyTheme", "tallyCurrency")
    for key, tally in by_theme.items():
        yield from _key_triples("ThemeTally", dict(zip(theme_props, key, strict=True)), tally)
    for (partner, theme), count in by_partner.items():
        key = {"tallyPartner": partner, "tallyTheme": theme}
        yield from _key_triples("PartnerTally", key, Tally(count))
    for (reg, cat), tally in by_category.items():
        yield from _key_triples("CategoryTally", {"tallyRegion": reg, "tallyCategory": cat}, tally)
    for (reg, theme, kind), count in by_type.items():
        key = {"tallyRegion": reg, "tallyTheme": theme, "tallyInstrumentType": kind}
        yield from _key_triples("InstrumentTypeTally", key, Tally(count))
