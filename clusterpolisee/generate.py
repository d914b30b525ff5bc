"""Deterministic synthetic partner data for benchmarks (``clusterpolisee generate``).

The shape follows the demo submissions (data/partners/README.md): each synthetic partner owns
cluster organisations, clusters, barriers, policy instruments, good practices and knowledge
transfers, described with the ontology's terms. Regions and every coded value (themes,
barrier categories, instrument types, ...) are read from the reference data and the SKOS
schemes, so the generated data refers to real resources. The same seed and size always give
the same bytes.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import pyoxigraph as ox

from . import nace, paths
from .namespaces import BASE, CPO

RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
XSD = "http://www.w3.org/2001/XMLSchema#"
NACE = nace.NAMESPACE
#: Divisions, in the EU's IRI form (.../nace2/29, not .../nace2/C29: see clusterpolisee.nace).
SECTORS = ["20", "21", "26", "27", "28", "29", "10", "62", "72", "35"]
#: Concept classes whose members the generator picks from (read from the schemes).
CODED = [
    "ThematicPriority",
    "BarrierCategory",
    "InstrumentType",
    "LifeCycleStage",
    "FundingSource",
    "TargetGroup",
]


@dataclass
class Vocab:
    regions: list[tuple[str, str]]  # (region IRI, country IRI)
    coded: dict[str, list[str]]


def load_vocab() -> Vocab:
    """Regions (NUTS 2) and coded values, from the sources of truth."""
    store = ox.Store()
    for f in paths.ontology_files() + paths.reference_files():
        store.load(path=str(f), format=ox.RdfFormat.TURTLE)
    cpo = str(CPO)
    # The regions of the project's partners (those with a cluster-policy maturity), as in the
    # demo data, so that maturity-driven questions (transfer candidates) find rows.
    rows = store.query(
        f"SELECT ?r ?c WHERE {{ ?r <{cpo}nutsLevel> 2 ; <{cpo}country> ?c ; "
        f"<{cpo}policyMaturity> ?m }} ORDER BY ?r"
    )
    regions = [(row["r"].value, row["c"].value) for row in rows]
    if not regions:
        rows = store.query(
            f"SELECT ?r ?c WHERE {{ ?r <{cpo}nutsLevel> 2 ; <{cpo}country> ?c }} ORDER BY ?r"
        )
        regions = [(row["r"].value, row["c"].value) for row in rows]
    coded = {}
    for cls in CODED:
        q = f"SELECT ?x WHERE {{ ?x a <{cpo}{cls}> }} ORDER BY ?x"
        coded[cls] = [row["x"].value for row in store.query(q)]
    return Vocab(regions, coded)


def _iri(v: str) -> str:
    return f"<{v}>"


def _lit(v: str | int, dtype: str | None = None) -> str:
    if dtype:
        return f'"{v}"^^<{XSD}{dtype}>'
    return f'"{v}"@en'


class Writer:
    """Makes the statements of one synthetic partner at a time."""

    def __init__(self, vocab: Vocab, rng: random.Random) -> None:
        self.v, self.rng = vocab, rng
        self.practices: list[str] = []

    def pick(self, cls: str) -> str:
        return _iri(self.rng.choice(self.v.coded[cls]))

    def partner(self, i: int, units: int) -> Iterator[str]:
        pid = f"synthetic-{i}"
        partner = f"{BASE}id/partner/{pid}"
        region, country = self.v.regions[i % len(self.v.regions)]
        # The partner's own record (the reference data has one per real partner).
        p = _iri(partner)
        yield f"{p} {RDF_TYPE} <{CPO}ProjectPartner> ."
        yield f"{p} {LABEL} {_lit(f'Synthetic partner {i}')} ."
        yield f"{p} <{CPO}region> {_iri(region)} ."
        yield f"{p} <{CPO}country> {_iri(country)} ."
        for u in range(units):
            yield from self.unit(partner, f"{u}", _iri(region), _iri(country))

    def res(self, partner: str, kind: str, slug: str, cls: str, label: str) -> tuple[str, list]:
        s = _iri(f"{partner}/{kind}/{slug}")
        head = [
            f"{s} {RDF_TYPE} <{CPO}{cls}> .",
            f"{s} {LABEL} {_lit(label)} .",
            f"{s} <{CPO}partner> <{partner}> .",
        ]
        return s, head

    def unit(self, partner: str, u: str, region: str, country: str) -> Iterator[str]:
        r, c = self.rng, CPO
        org, lines = self.res(partner, "organisation", f"org-{u}", "ClusterOrganisation", "Org")
        lines += [f"{org} <{c}region> {region} .", f"{org} <{c}country> {country} ."]
        cl, more = self.res(partner, "cluster", f"cluster-{u}", "Cluster", f"Cluster {u}")
        lines += more + [
            f"{cl} <{c}region> {region} .",
            f"{cl} <{c}theme> {self.pick('ThematicPriority')} .",
            f"{cl} <{c}sector> <{NACE}{r.choice(SECTORS)}> .",
            f"{cl} <{c}lifeCycleStage> {self.pick('LifeCycleStage')} .",
            f"{cl} <{c}numberOfMembers> {_lit(r.randint(5, 400), 'integer')} .",
            f"{cl} <{c}foundingYear> {_lit(r.randint(1990, 2013), 'gYear')} .",
            f"{cl} <{c}managedBy> {org} .",
        ]
        barriers = []
        for b in range(2):
            bar, more = self.res(partner, "barrier", f"barrier-{u}-{b}", "Barrier", "Barrier")
            barriers.append(bar)
            lines += more + [
                f"{bar} <{c}barrierCategory> {self.pick('BarrierCategory')} .",
                f"{bar} <{c}theme> {self.pick('ThematicPriority')} .",
                f"{bar} <{c}region> {region} .",
                f"{bar} <{c}severity> {_lit(r.randint(1, 5), 'integer')} .",
            ]
        ins, more = self.res(partner, "instrument", f"instr-{u}", "PolicyInstrument", "Scheme")
        start = r.randint(2000, 2012)
        lines += more + [
            f"{ins} <{c}instrumentType> {self.pick('InstrumentType')} .",
            f"{ins} <{c}theme> {self.pick('ThematicPriority')} .",
            f"{ins} <{c}addressesBarrierCategory> {self.pick('BarrierCategory')} .",
            f"{ins} <{c}addressesBarrier> {barriers[0]} .",
            f"{ins} <{c}region> {region} .",
            f"{ins} <{c}budgetAmount> {_lit(r.randint(1, 900) * 10000, 'decimal')} .",
            f'{ins} <{c}budgetCurrency> "EUR" .',
            f"{ins} <{c}startYear> {_lit(start, 'gYear')} .",
            f"{ins} <{c}endYear> {_lit(start + r.randint(1, 6), 'gYear')} .",
            f"{ins} <{c}administeredBy> {org} .",
            f"{ins} <{c}fundingSource> {self.pick('FundingSource')} .",
            f"{ins} <{c}targetGroup> {self.pick('TargetGroup')} .",
        ]
        gp, more = self.res(partner, "practice", f"practice-{u}", "GoodPractice", "Practice")
        lines += more + [
            f"{gp} <{c}basedOnInstrument> {ins} .",
            f"{gp} <{c}theme> {self.pick('ThematicPriority')} .",
            f"{gp} <{c}region> {region} .",
            f"{gp} <{c}transferability> {_lit(r.randint(1, 5), 'integer')} .",
            f"{gp} <{c}successFactor> {_lit('Committed regional government')} .",
            f"{gp} <{c}result> {_lit('More cooperation between firms')} .",
        ]
        about = r.choice(self.practices) if self.practices else gp
        self.practices.append(gp)
        kt, more = self.res(partner, "transfer", f"transfer-{u}", "KnowledgeTransfer", "KT")
        from_region = _iri(r.choice(self.v.regions)[0])
        lines += more + [
            f"{kt} <{c}fromRegion> {from_region} .",
            f"{kt} <{c}toRegion> {region} .",
            f"{kt} <{c}aboutPractice> {about} .",
            f"{kt} <{c}addressesBarrier> {barriers[1]} .",
            f"{kt} <{c}date> {_lit(f'2013-{r.randint(1, 12):02d}-15', 'date')} .",
            f"{kt} <{c}outcome> {_lit('Pilot action planned')} .",
            f"{kt} <{c}theme> {self.pick('ThematicPriority')} .",
        ]
        yield from lines


def generate(output: IO[bytes], triples: int, seed: int = 1, units: int = 40) -> int:
    """Write about ``triples`` N-Triples lines (exactly that many) to ``output``."""
    writer = Writer(load_vocab(), random.Random(seed))
    written, partner = 0, 0
    buffer: list[str] = []
    while written < triples:
        for line in writer.partner(partner, units):
            buffer.append(line)
            written += 1
            if written >= triples:
                break
        partner += 1
        output.write(("\n".join(buffer) + "\n").encode())
        buffer = []
    return written
