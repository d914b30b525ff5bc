"""Scoring pairs (our entity, external record) and choosing one-to-one candidates.

The name decides most of the score (rapidfuzz token-sort ratio over canonical tokens, so word
order, diacritics, script, legal forms and glossary words do not matter; acronyms count too).
Country separates same-named entities outright (a pair in different countries is never
scored); region and sector add a little when they agree and take a lot when they disagree; an
equal web address (after dropping scheme, www and trailing slash) is strong evidence.
"""

from dataclasses import dataclass, field

from rapidfuzz import fuzz

from ..namespaces import ID
from .local import LocalEntity, Places, Sectors
from .records import ExternalRecord
from .text import acronyms, initials, normal_url, tokens

METHOD = (
    "clusterpolisee link: rapidfuzz token-sort ratio over transliterated, glossary-normalised "
    "names without legal-form and generic words; acronyms; country blocking; region, NACE "
    "sector and web-address evidence"
)
REGION_PREFIX = f"{ID}region/"
COUNTRY_PREFIX = f"{ID}country/"
FLOOR = 0.5  # pairs below this are not kept at all


@dataclass
class Profile:
    """The comparable forms of one side's names and web addresses."""

    full: list[str]
    desc: list[str]
    initials: set[str]
    acronyms: set[str]
    urls: set[str]

    @classmethod
    def of(cls, names: list[str], urls: set[str]) -> "Profile":
        full = {" ".join(tokens(n)) for n in names} - {""}
        desc = {" ".join(tokens(n, drop_places=True)) for n in names} - {""}
        inits = {i for n in names for i in initials(n) if len(i) >= 3}
        acr = {a for n in names for a in acronyms(n)}
        return cls(sorted(full), sorted(desc), inits, acr, {normal_url(u) for u in urls} - {""})


@dataclass
class Match:
    local: LocalEntity
    record: ExternalRecord
    score: float
    evidence: list[str] = field(default_factory=list)


def _best(a: list[str], b: list[str]) -> float:
    return max((fuzz.token_sort_ratio(x, y) / 100 for x in a for y in b), default=0.0)


def name_score(ours: Profile, theirs: Profile) -> tuple[float, str]:
    full = _best(ours.full, theirs.full)
    desc = 0.95 * _best(ours.desc, theirs.desc)
    acr = 0.9 if (theirs.acronyms & (ours.initials | ours.acronyms)) else 0.0
    acr = max(acr, 0.9 if ours.acronyms & theirs.initials else 0.0)
    best = max(full, desc, acr)
    how = "acronym" if best == acr else ("name" if best == full else "name-without-places")
    return best, f"{how} {best:.2f}"


def _code(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


class Scorer:
    def __init__(self, places: Places, sectors: Sectors) -> None:
        self.places = places
        self.sectors = sectors

    def context(self, ent: LocalEntity, rec: ExternalRecord) -> tuple[float, list[str]] | None:
        """Score adjustment and evidence from country, region, sector; None = different
        countries."""
        evidence: list[str] = []
        countries = {p for p in self.places.resolve(rec.country) if p.startswith(COUNTRY_PREFIX)}
        if rec.country.strip() and not countries:
            return None  # a country that is not one of ours: none of our entities is there
        if countries and ent.country:
            if ent.country not in countries:
                return None
            evidence.append("country")
        adjust = 0.0
        regions = {p for p in self.places.resolve(rec.region) if p.startswith(REGION_PREFIX)}
        if regions and ent.region:
            ours = _code(ent.region)
            codes = {_code(r) for r in regions}
            if any(c.startswith(ours) or ours.startswith(c) for c in codes):
                adjust += 0.04
                evidence.append("region")
            elif not any(c[:2] == ours[:2] for c in codes):
                return None
            else:
                adjust -= 0.3
                evidence.append("region-differs")
        sector_adjust, sector_evidence = self._sector(ent, rec)
        return adjust + sector_adjust, evidence + sector_evidence

    def _sector(self, ent: LocalEntity, rec: ExternalRecord) -> tuple[float, list[str]]:
        theirs = {c for c in (self.sectors.code(s) for s in rec.sectors) if c}
        if not theirs or not ent.sectors:
            return 0.0, []
        both = theirs & ent.sectors
        if both:
            return 0.03, [f"sector {','.join(sorted(both))}"]
        sections = {self.sectors.section(c) for c in theirs}
        ours = {self.sectors.section(c) for c in ent.sectors}
        if sections & ours and (any(len(c) == 1 for c in theirs | ent.sectors)):
            return 0.03, [f"sector-section {','.join(sorted(sections & ours))}"]
        if sections & ours:
            return -0.05, ["sector-differs-same-section"]
        return -0.12, ["sector-differs"]

    def score(
        self, ent: LocalEntity, ours: Profile, rec: ExternalRecord, theirs: Profile
    ) -> Match | None:
        ctx = self.context(ent, rec)
        if ctx is None:
            return None
        adjust, evidence = ctx
        name, how = name_score(ours, theirs)
        score = name + adjust
        if ours.urls and theirs.urls:
            if ours.urls & theirs.urls:
                score = max(score + 0.1, 0.92)
                evidence.append("url")
            else:
                score -= 0.05
                evidence.append("url-differs")
        score = round(min(1.0, max(0.0, score)), 3)
        return Match(ent, rec, score, [how, *evidence])


def _candidates_for(
    rec: ExternalRecord,
    entities: list[LocalEntity],
    by_country: dict[str, list[LocalEntity]],
    places: Places,
) -> list[LocalEntity]:
    """Blocking: only our entities in the record's country (all when it gives none)."""
    if not rec.country.strip():
        return entities
    countries = {p for p in places.resolve(rec.country) if p.startswith(COUNTRY_PREFIX)}
    return [e for c in sorted(countries) for e in by_country.get(c, [])] + by_country.get("", [])


def match(
    entities: list[LocalEntity],
    records: list[ExternalRecord],
    places: Places,
    sectors: Sectors,
    skip: set[tuple[str, str]] = frozenset(),
) -> list[Match]:
    """One-to-one matches, best first: each entity and each record is used at most once
    (greedy by score). ``skip`` holds (our IRI, external IRI) pairs already decided."""
    scorer = Scorer(places, sectors)
    ours = {e.iri: Profile.of(e.labels, e.urls) for e in entities}
    pairs: list[Match] = []
    by_country: dict[str, list[LocalEntity]] = {}
    for ent in entities:
        by_country.setdefault(ent.country, []).append(ent)
    for rec in records:
        pool = _candidates_for(rec, entities, by_country, places)
        if not pool:
            continue
        theirs = Profile.of(rec.names, {rec.url} if rec.url else set())
        for ent in pool:
            if (ent.iri, rec.iri) in skip:
                continue
            found = scorer.score(ent, ours[ent.iri], rec, theirs)
            if found is not None and found.score >= FLOOR:
                pairs.append(found)
    pairs.sort(key=lambda m: (-m.score, m.local.iri, m.record.iri))
    used_local: set[str] = set()
    used_record: set[str] = set()
    chosen = []
    for m in pairs:
        if m.local.iri in used_local or m.record.iri in used_record:
            continue
        used_local.add(m.local.iri)
        used_record.add(m.record.iri)
        chosen.append(m)
    return chosen
