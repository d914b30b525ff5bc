"""Prefixes and example queries for the SPARQL editor, from the stored-query catalog."""

import re
from functools import lru_cache

from ..renderer import PREFIXES

DEFAULT_QUERY = """PREFIX cpo: <https://w3id.org/clusterpolisee/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>

SELECT ?class (COUNT(?s) AS ?instances) WHERE {
  ?s a ?class .
  FILTER(STRSTARTS(STR(?class), STR(cpo:)))
}
GROUP BY ?class
ORDER BY DESC(?instances)
"""


PREFIX_LINE = re.compile(r"^\s*PREFIX\s+([A-Za-z][\w-]*)?:\s*<([^<>\s]+)>", re.I | re.M)


@lru_cache(maxsize=1)
def prefixes() -> dict[str, str]:
    """Our usual prefixes plus every prefix the stored queries declare."""
    from clusterpolisee.catalog import CatalogError

    from .queries import catalog  # parsed once, when the app starts (not per caller)

    found = dict(PREFIXES)
    try:
        texts = [q.text for q in catalog().queries.values()]
    except (CatalogError, OSError):
        return found
    for text in texts:
        for name, ns in PREFIX_LINE.findall(text):
            found.setdefault(name, ns)
    return dict(sorted(found.items()))


@lru_cache(maxsize=1)
def examples() -> list[tuple[str, str]]:
    """(title, query text) for each stored query that runs as it is on its page: with its
    parameters' defaults bound (unbound, "Policy gaps of a region" listed every region's
    gaps, and a yes-or-no question always said yes), and no SERVICE, which the endpoint
    refuses unless an operator allows it."""
    from clusterpolisee.catalog import CatalogError

    from .queries import catalog

    out = [("Instances per class", DEFAULT_QUERY)]
    try:
        cat = catalog()
    except (CatalogError, OSError):
        return out
    for q in cat.queries.values():
        if q.services or any(p.required and p.default is None for p in q.params):
            continue
        defaults = {p.name: p.to_term(p.default) for p in q.params if p.default}
        out.append((q.summary, q.bound_text(defaults)))
    return out
