"""A resource page as a profile: who refers to it grouped by type with counts, the stored
questions that take it as a value ("Next steps"), no search keys, small blank nodes inline."""

import re
from html.parser import HTMLParser

import pyoxigraph as ox

from clusterpolisee.catalog import load_catalog
from webapp import url_builder
from webapp.access import db

ID = "https://w3id.org/clusterpolisee/id/"
CPO = "https://w3id.org/clusterpolisee/ontology#"
REGION = ID + "region/HU22"  # clusters, barriers, instruments... in data/partners/pbn.ttl
THEME = ID + "theme/skills"


class Sections(HTMLParser):
    """The h3 headings under #incoming (title, count) and the hrefs under #next-steps."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, int] = {}
        self.next_steps: set[str] = set()
        self._in: str | None = None
        self._h3 = False
        self._text = ""
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id") in ("incoming", "next-steps"):
            self._in, self._depth = a["id"], 0
        if self._in:
            self._depth += tag not in ("br", "img", "input")
        if self._in == "incoming" and tag == "h3":
            self._h3, self._text = True, ""
        if self._in == "next-steps" and tag == "a":
            self.next_steps.add(a["href"])

    def handle_endtag(self, tag):
        if self._h3 and tag == "h3":
            self._h3 = False
            m = re.fullmatch(r"\s*(.+?)\s*\((\d+)\)\s*", self._text)
            assert m, self._text
            self.sections[m.group(1)] = int(m.group(2))
        if self._in:
            self._depth -= 1
            if self._depth == 0:
                self._in = None

    def handle_data(self, data):
        if self._h3:
            self._text += data


def parsed(client, path: str) -> tuple[str, Sections]:
    r = client.get(path)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    p = Sections()
    p.feed(html)
    return html, p


def count(app, cls: str, iri: str) -> int:
    text = f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s ?p <{iri}> . ?s a <{cls}> }}"
    with app.app_context():
        return int(db().query(text, trusted=True, use_cache=False).rows[0][0].value)


def test_region_referrers_grouped_by_type_with_counts(app, client):
    _, page = parsed(client, "/id/region/HU22")
    assert page.sections["Cluster"] == count(app, CPO + "Cluster", REGION) > 0
    assert page.sections["Barrier"] == count(app, CPO + "Barrier", REGION) > 0
    # one section per type, in the order of the class labels
    titles = [t for t in page.sections if t != "Other"]
    assert titles == sorted(titles, key=str.lower) and len(titles) >= 3
    # a cluster is also an org:Organization by inference: listed under its own type only
    assert "Organization" not in page.sections and "org:Organization" not in page.sections


def types(app, iri: str) -> set[str]:
    with app.app_context():
        rows = db().query(f"SELECT ?c WHERE {{ <{iri}> a ?c }}", trusted=True).rows
    return {r[0].value for r in rows}


def expected_steps(app, iri: str, chosen: tuple[str, ...] = ()) -> set[str]:
    """The catalog's questions with a parameter whose class the resource is a member of and
    that lists no choices of its own; and ``chosen``, the questions whose parameter lists
    the resource among its choices (`options`)."""
    classes = types(app, iri)
    with app.test_request_context():
        return {
            url_builder.query_url(name, {p.name: iri})
            for name, q in load_catalog().queries.items()
            for p in q.params
            if p.cls in classes and (p.options_query is None or name in chosen)
        }


#: The questions whose region parameter lists its choices: regions with something reported.
REGION_CHOICES = ("clusters", "policy-gaps", "region-barriers", "region-profile")


CPO_PREFIX = "PREFIX cpo: <https://w3id.org/clusterpolisee/ontology#>\n"


def asked(app, text: str) -> bool:
    with app.app_context():
        return db().query(CPO_PREFIX + text, trusted=True, use_cache=False).boolean


def choices_of(app, region: str) -> tuple[str, ...]:
    """The region questions that list ``region`` among their choices, told here from the
    data: a region with a partner's cluster is a choice of each of REGION_CHOICES (the
    others list regions with any partner resource), of `knowledge-transfers` if it received
    a transfer."""
    reported = asked(app, f"ASK {{ ?c a cpo:Cluster ; cpo:region <{region}> ; cpo:partner ?p }}")
    received = asked(app, f"ASK {{ ?t cpo:toRegion <{region}> }}")
    return (*(REGION_CHOICES if reported else ()), *(("knowledge-transfers",) if received else ()))


def test_region_next_steps_are_the_catalogs_questions_for_regions(app, client):
    _, page = parsed(client, "/id/region/HU22")
    expected = expected_steps(app, REGION, choices_of(app, REGION))
    assert expected and page.next_steps == expected
    assert any("/queries/region-has-instrument?region=" in u for u in expected)  # cpo:Region
    # an emerging region also gets the questions for cpo:EmergingRegion members
    emerging = ID + "region/RO21"
    assert CPO + "EmergingRegion" in types(app, emerging)
    _, ro21 = parsed(client, "/id/region/RO21")
    assert ro21.next_steps == expected_steps(app, emerging, choices_of(app, emerging))
    assert any("/queries/transfer-candidates?region=" in u for u in ro21.next_steps)
    # a theme gets the theme questions, not the region ones
    _, theme = parsed(client, "/id/theme/skills")
    assert theme.next_steps == expected_steps(app, THEME)
    assert theme.next_steps and all("theme=" in u for u in theme.next_steps)


def test_a_region_s_next_steps_lead_to_answers_not_refusals(app, client):
    """The questions whose region parameter lists only regions with something reported
    (`region-barriers`, `region-profile`, ...) are linked from such a region's page (before,
    only questions with a `class` were: 2 of the 6 region questions), and only from such a
    region's page: a region with nothing reported links none of them."""
    ro21 = ID + "region/RO21"
    assert set(REGION_CHOICES) <= set(choices_of(app, ro21))
    _, page = parsed(client, "/id/region/RO21")
    for name in REGION_CHOICES:
        assert any(u.startswith(f"/queries/{name}?region=") for u in page.next_steps), name
    for url in page.next_steps:
        answer = client.get(url, headers={"Accept": "text/html"})
        assert answer.status_code == 200, (url, answer.get_data(as_text=True)[:300])
    quiet = ID + "region/RS21"  # Šumadija and Western Serbia: nothing reported
    assert choices_of(app, quiet) == ()
    _, page = parsed(client, "/id/region/RS21")
    assert page.next_steps and not any(
        f"/queries/{name}?" in u for u in page.next_steps for name in REGION_CHOICES
    )


def test_search_key_hidden_on_the_page_kept_in_rdf(client):
    html, _ = parsed(client, "/id/region/HU22")
    assert "searchKey" not in html and "search key" not in html.lower()
    ttl = client.get("/id/region/HU22.ttl").get_data(as_text=True)
    graph = list(ox.parse(ttl.encode(), format=ox.RdfFormat.TURTLE))
    assert any(t.predicate.value == CPO + "searchKey" for t in graph)


def test_theme_page_grouped(app, client):
    _, page = parsed(client, "/id/theme/skills")
    assert len(page.sections) >= 3
    assert page.sections["Cluster"] == count(app, CPO + "Cluster", THEME) > 0


def test_blank_node_referrer_shown_inline(client):
    html, _ = parsed(client, "/id/maturity/emerging")
    incoming = html[html.index('id="incoming"') :]
    assert not re.search(r"_:[0-9a-f]{8}", incoming)
    assert "owl:hasValue" in incoming or "has value" in incoming.lower()


def test_worker_types_agree_with_the_query(app):
    """The describe's types of the referrers (worker.referrer_types, in the order of their
    subjects) give the same sections as the fallback query over them."""
    from webapp.views.resource import _referrers

    for iri in (REGION, THEME, ID + "maturity/emerging"):
        with app.test_request_context():
            data = db().describe(iri)
            assert len(data["types"]) == len({t.subject for t in data["in"]})
            by_worker, _ = _referrers(iri, data["in"], dict(data["labels"]), data["types"])
            by_query, _ = _referrers(iri, data["in"], dict(data["labels"]), None)
        assert by_worker == by_query and by_worker


def test_name_lists_hidden_on_the_page_kept_in_rdf(client):
    """An instrument's page shows its funding sources once, under cpo:fundingSource; the
    name lists the reasoning step writes for the instruments question stay in the RDF."""
    path = "/id/partner/aida/instrument/export-info"
    html, _ = parsed(client, path)
    assert "Instrument for Pre-accession Assistance" in html
    assert "funding source names" not in html.lower() and "fundingSourceNames" not in html
    ttl = client.get(path + ".ttl").get_data(as_text=True)
    graph = list(ox.parse(ttl.encode(), format=ox.RdfFormat.TURTLE))
    lists = {
        t.predicate.value: t.object.value for t in graph if t.predicate.value.endswith("Names")
    }
    assert (
        lists[CPO + "fundingSourceNames"]
        == "Instrument for Pre-accession Assistance; National budget"
    )
    assert {CPO + "instrumentTypeNames", CPO + "themeNames"} < lists.keys()
