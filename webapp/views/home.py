"""/: what the knowledge graph holds; /health: store reachable, data version."""

import time

from flask import Blueprint, jsonify, render_template

from clusterpolisee.namespaces import graph_iri

from .. import maps, url_builder
from ..access import db
from ..database import EngineError
from ..pagecache import cached_page
from ..present import pick_label

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
    return render_template("home.html", region_map=region_map, **sections)


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
