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
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

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
    counted, not kept: the caller adds each resource once per key (at 10M triples, a set of
    members per key held every resource again: 18-19 s for this step instead of 16.4 s, and
    170 MiB more at its peak)."""

    count: int = 0
    max_severity: int | None = None
    severity_sum: int = 0
    budget: Decimal | None = None

    def add(self, severity: int | None = None, budget: Decimal | None = None) -> None:
        self.count += 1
        if severity is not None:
            self._add_severity(severity, severity)
        if budget is not None:
            self.budget = budget + (self.budget or 0)

    def merge(self, other: "Tally") -> None:
        """Fold in another key's tally, whose members are not this one's."""
        self.count += other.count
        if other.max_severity is not None:
            self._add_severity(other.severity_sum, other.max_severity)

    def _add_severity(self, total: int, highest: int) -> None:
        self.severity_sum += total
        best = self.max_severity
        self.max_severity = highest if best is None else max(best, highest)


def _single(facts: Facts, prop: str) -> dict[Node, str]:
    """Subject -> object for a functional property (the shapes allow one value)."""
    return dict(facts(f"{CPO}{prop}"))


def _many(facts: Facts, prop: str) -> dict[Node, list]:
    out: dict[Node, list] = defaultdict(list)
    for s, o in facts(f"{CPO}{prop}"):
        out[s].append(o)
    return out


def _number(literal: str, kind: type) -> int | Decimal | None:
    parts = literal_parts(literal)
    if parts is None:
        return None
    try:
        return kind(parts[0])
    except (ValueError, InvalidOperation):
        return None  # not a number: the shapes refuse it; skip rather than fail the step


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


def tallies(facts: Facts, types: set[tuple[Node, Node]]) -> list[TextTriple]:
    """Every tally's triples. ``types`` are all (resource, class) pairs (asserted and
    inferred), a set: each pair once, so a resource counts under its class and each of its
    superclasses, and once in each key that holds its class."""
    partner, regions = _single(facts, "partner"), _many(facts, "region")
    region = {s: places[0] for s, places in regions.items()}  # the shapes allow one
    themes = _many(facts, "theme")
    severity = {s: _number(o, int) for s, o in _single(facts, "severity").items()}
    amount = {s: _number(o, Decimal) for s, o in _single(facts, "budgetAmount").items()}
    currency = {}
    for s, o in _single(facts, "budgetCurrency").items():
        parts = literal_parts(o)
        if parts is not None:
            currency[s] = Plain(parts[0])
    category, kinds = _single(facts, "barrierCategory"), _many(facts, "instrumentType")
    by_theme: dict[tuple, Tally] = defaultdict(Tally)
    by_partner: dict[tuple, Tally] = defaultdict(Tally)
    by_category: dict[tuple, Tally] = defaultdict(Tally)
    by_type: dict[tuple, Tally] = defaultdict(Tally)
    barriers: dict[tuple, Tally] = defaultdict(Tally)  # per region and theme
    by_class: Counter[Node] = Counter()
    emerging = set()
    in_partner_tallies = set()  # a resource has several classes but one partner
    for r, cls in types:
        if not cls.startswith(CPO_PREFIX):
            continue
        by_class[cls] += 1
        if cls == EMERGING:
            emerging.add(r)
        if r not in partner or r not in themes:
            continue
        first = r not in in_partner_tallies
        if first:
            in_partner_tallies.add(r)
        for theme in themes[r]:
            by_theme[(cls, region.get(r), theme, currency.get(r))].add(
                severity.get(r), amount.get(r)
            )
            if first:
                by_partner[(partner[r], theme)].add()
            if cls == BARRIER and r in region:
                barriers[(region[r], theme)].add(severity.get(r))
        if cls == BARRIER and r in category and r in region:
            by_category[(region[r], category[r])].add(severity.get(r))
        if cls == INSTRUMENT and r in region:
            for theme in themes[r]:
                for kind in kinds.get(r, ()):
                    by_type[(region[r], theme, kind)].add()
    countries = _many(facts, "country")
    by_country = _by_country(countries, regions, partner)
    return [
        *_emit(by_theme, by_partner, by_category, by_type),
        *_emit_derived(by_theme, barriers, countries),
        *_emerging_categories(by_category, emerging),
        *_emit_home(by_class, by_country),
    ]


def _emit_derived(by_theme: dict, barriers: dict, countries: dict) -> Iterable[TextTriple]:
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


def _country_theme(by_theme: dict, countries: dict) -> Iterable[TextTriple]:
    """A node per country and theme with any of the four classes, each count written (0 too,
    so the overview joins no OPTIONAL)."""
    # A resource has one region and one currency, so the theme tallies of one class and theme
    # count disjoint sets: their counts add up.
    counts: dict[tuple, Counter[Node]] = defaultdict(Counter)
    for (cls, reg, theme, _currency), tally in by_theme.items():
        if reg is not None and cls in COUNTRY_THEME_COUNTS:
            for country in countries.get(reg, ()):
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


def _by_country(country: dict, regions: dict, partner: dict) -> dict[Node, Tally]:
    """Partner resources per country: their own cpo:country or their regions'."""
    out: dict[Node, Tally] = defaultdict(Tally)
    for r in partner:
        places = set(country.get(r, ()))
        for reg in regions.get(r, ()):
            places.update(country.get(reg, ()))
        for place in places:  # a set: each resource once per country
            out[place].add()
    return out


def _emit_home(by_class: Counter, by_country: dict) -> Iterable[TextTriple]:
    for cls, count in by_class.items():
        key = {"tallyClass": cls}
        yield from _key_triples("ClassTally", key, Tally(count))
    for country, tally in by_country.items():
        yield from _key_triples("CountryTally", {"tallyCountry": country}, tally)


def _emit(
    by_theme: dict, by_partner: dict, by_category: dict, by_type: dict
) -> Iterable[TextTriple]:
    # Keys without the partner where the questions do not ask for it: fewer, bigger tallies
    # are what makes them fast (Oxigraph pays some microseconds per joined row).
    theme_props = ("tallyClass", "tallyRegion", "tallyTheme", "tallyCurrency")
    for key, tally in by_theme.items():
        yield from _key_triples("ThemeTally", dict(zip(theme_props, key, strict=True)), tally)
    for (partner, theme), tally in by_partner.items():
        key = {"tallyPartner": partner, "tallyTheme": theme}
        yield from _key_triples("PartnerTally", key, tally)
    for (reg, cat), tally in by_category.items():
        yield from _key_triples("CategoryTally", {"tallyRegion": reg, "tallyCategory": cat}, tally)
    for (reg, theme, kind), tally in by_type.items():
        key = {"tallyRegion": reg, "tallyTheme": theme, "tallyInstrumentType": kind}
        yield from _key_triples("InstrumentTypeTally", key, tally)
