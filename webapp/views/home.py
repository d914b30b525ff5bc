"""/: what the knowledge graph holds; /region: from a region's code to its page;
/health: store reachable, data version."""

import time

import pyoxigraph as ox
from flask import Blueprint, jsonify, redirect, render_template, request

from clusterpolisee.catalog import (
    CODE_RE,
    IRI_RE,
    Option,
    Param,
    ParameterError,
    distinguish,
    fold_text,
    option_keys,
    segment,
    shared_labels,
)
from clusterpolisee.namespaces import graph_iri

from .. import maps, url_builder
from ..access import EngineStore, db
from ..database import Database, EngineError
from ..errors import error_response
from ..pagecache import cached_page
from ..present import pick_label, pick_tagged

bp = Blueprint("home", __name__)

PREFIXES = """PREFIX cpo: <https://w3id.org/clusterpolisee/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX prov: <http://www.w3.org/ns/prov#>
"""
# The counts are tallies the reasoning step writes (clusterpolisee/reasoning/tallies.py):
# counting every resource took over 2.5 minutes at 1M triples for the countries alone, so the
# home page could not be served at that size.
PER_CLASS = (
    PREFIXES
    + """SELECT ?class ?n WHERE {
  ?t a cpo:ClassTally ; cpo:tallyClass ?class ; cpo:tallyCount ?n .
} ORDER BY DESC(?n) ?class"""
)
PER_COUNTRY = (
    PREFIXES
    + """SELECT DISTINCT ?country (COALESCE(?count, 0) AS ?n) WHERE {
  ?country a cpo:Country .
  OPTIONAL { ?t a cpo:CountryTally ; cpo:tallyCountry ?country ; cpo:tallyCount ?count }
} ORDER BY DESC(?n) ?country"""
)
# The shapes allow one responsible partner per resource (sh:maxCount 1): summed over partners,
# the partner tallies give the partner resources per theme.
PER_THEME = (
    PREFIXES
    + """SELECT DISTINCT ?theme ?notation (COALESCE(?count, 0) AS ?n) WHERE {
  ?theme a cpo:ThematicPriority .
  OPTIONAL { ?theme skos:notation ?notation }
  OPTIONAL {
    SELECT ?theme (SUM(?c) AS ?count) WHERE {
      ?t a cpo:PartnerTally ; cpo:tallyTheme ?theme ; cpo:tallyCount ?c .
    } GROUP BY ?theme
  }
} ORDER BY ?notation ?theme"""
)
PARTNER_REGIONS = (
    PREFIXES
    + """SELECT ?region (COUNT(DISTINCT ?p) AS ?partners) WHERE {
  ?p a cpo:ProjectPartner ; cpo:region ?region .
} GROUP BY ?region ORDER BY ?region"""
)
# Every region of the data, with its label, its country and whether the form lists it: the
# partners' seats and each region with partner resources (clusters, barriers, instruments,
# good practices), which the theme tallies (clusterpolisee/reasoning/tallies.py) say without
# reading the resources. All regions, not only those listed: a label a listed region shares
# with any other ("Nord-Est": RO21 and ITH) is shown with its code, and any region's code
# leads to its page. One row per region (SAMPLE), so ``Param.resolve`` meets each once; by
# label, as a refusal lists some of them.
# At 1M triples (109 regions): 8 ms in Oxigraph, 17-19 ms of an uncached home page.
REGIONS = (
    PREFIXES
    + """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?value (SAMPLE(?name) AS ?label) (SAMPLE(?in) AS ?country) (SAMPLE(?has) AS ?covered)
WHERE {
  ?value a cpo:Region .
  OPTIONAL { ?value rdfs:label ?name }
  OPTIONAL { ?value cpo:country ?in }
  BIND(EXISTS { ?p cpo:region ?value ; a cpo:ProjectPartner }
       || EXISTS { ?t cpo:tallyRegion ?value ; a cpo:ThemeTally } AS ?has)
} GROUP BY ?value ORDER BY ?label ?value"""
)
#: The region asked for at /region as a catalog parameter: ``resolve`` turns a code ("RO21",
#: "ro21") into the region's IRI, and words its refusals as a question's page does.
REGION = Param("region", "iri", "Your region", required=True, options_query=REGIONS)
OTHER = "Other regions"  # the group of regions without a country
LATEST = (
    PREFIXES
    + "SELECT ?submission ?partner ?time WHERE {\n  GRAPH <"
    + graph_iri("submissions")
    + """> { ?submission a prov:Activity ;
      prov:wasAssociatedWith ?partner ; prov:endedAtTime ?time . }
} ORDER BY DESC(?time) LIMIT 10"""
)


@bp.route("/")
@cached_page
def index():
    engine = db()
    sections = {
        name: engine.query(text, labels=True, trusted=True)
        for name, text in (
            ("classes", PER_CLASS),
            ("countries", PER_COUNTRY),
            ("themes", PER_THEME),
            ("latest", LATEST),
            ("regions", PARTNER_REGIONS),
        )
    }
    regions = sections.pop("regions")
    prefix = url_builder.id_prefix() + "region/"
    region_map = maps.from_result(regions.vars, regions.rows, regions.labels, prefix, pick_label)
    return render_template(
        "home.html", region_map=region_map, region_groups=region_groups(engine), **sections
    )


def region_groups(engine: Database) -> list[tuple[str, list[Option]]]:
    """The choices of the "Your region" field: (country, its listed regions), both in the
    order of their folded labels, regions without a country last. An option's value is the
    region's code, its label the one in the reader's language, followed by the region's code
    where another region of the data has that label too ("Nord-Est (RO21)"), as on a
    question's form."""
    result = engine.query(REGIONS, labels=True, trusted=True)
    options, country_of, listed = [], {}, set()
    for rec in result.records():
        iri = rec["value"].value
        lang, label = pick_tagged(result.labels.get(iri)) or ("", segment(iri))
        options.append(Option(iri, label, lang))
        country_of[iri] = rec["country"]
        if rec["covered"] is not None and rec["covered"].value == "true":
            listed.add(iri)
    if shared := shared_labels(options):
        options = distinguish(options, option_keys(EngineStore(engine), shared))
    groups: dict[str, list[Option]] = {}
    for o in sorted((o for o in options if o.value in listed), key=_folded):
        groups.setdefault(_country_name(country_of[o.value], result.labels), []).append(
            o._replace(value=segment(o.value))  # the code: /region?region=RO21
        )
    return sorted(groups.items(), key=lambda g: (g[0] == OTHER, fold_text(g[0]), g[0]))


def _folded(o: Option) -> tuple[str, str]:
    return fold_text(o.label), o.label


def _country_name(country: object, labels: dict[str, dict[str, str]]) -> str:
    if not isinstance(country, ox.NamedNode):
        return OTHER
    return pick_label(labels.get(country.value)) or segment(country.value)


@bp.route("/region")
def region():
    """The page of the region the home page's form names (a code such as RO21, or the
    region's IRI): a 303 to it. The region's own page (its properties, the stored questions
    that take it, what is reported for it) is the one answer, and the form's URL is stable."""
    given = request.args.get("region", "").strip()
    if not given:
        return _no_region(400, "No region chosen", "The address names no region.")
    store = EngineStore()
    try:
        if IRI_RE.match(given):
            if given not in {o.value for o in REGION.options(store) or ()}:
                why = f"{given[:200]!r} is not a region of the knowledge graph."
                return _no_region(404, "Unknown region", why)
            iri = given
        elif CODE_RE.match(given):
            iri = REGION.resolve(given, store).value  # the option's own IRI, never the text
        else:
            why = f"{given[:80]!r} is not a region code such as RO21."
            return _no_region(400, "Not a region code", why)
    except ParameterError as exc:
        return _no_region(404, "Unknown region", f"{exc.shown}.")
    local = url_builder.local_url(iri)
    if local is None:  # a region of the data outside our IRIs: never a redirect off the site
        return _no_region(404, "Unknown region", f"{iri[:200]!r} has no page here.")
    return redirect(url_builder.header_iri(local), 303)


def _no_region(status: int, title: str, why: str):
    return error_response(status, title, f"{why} Choose your region on the home page.")


@bp.route("/health")
def health():
    start = time.perf_counter()
    engine = db()
    try:
        version = engine.version()
        result = engine.query("ASK { ?s ?p ?o }", trusted=True, use_cache=False)
    except EngineError as exc:
        return jsonify(status="error", message=exc.message), 503
    return jsonify(
        status="ok",
        store="reachable",
        data_version=version,
        has_data=result.boolean,
        seconds=round(time.perf_counter() - start, 4),
    )
