"""/links/review: curators and partners decide link candidates with a token and the form's
CSRF token; accepted links show on the resource pages with who accepted them."""

import itertools
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from flask import Flask

from clusterpolisee.linking import CANDIDATES_GRAPH, LINKS_GRAPH, Candidate, load, save_proposals
from clusterpolisee.linking import review as review_links
from clusterpolisee.linking.candidates import agent_node, now
from clusterpolisee.store.oxigraph import OxigraphStore
from webapp import close_app, tokens

from ..conftest import run_cli
from .conftest import make_app

ID = "https://w3id.org/clusterpolisee/id/partner/"
ECCP = "https://reporting.clustercollaboration.eu/profile/"
ICT = ID + "aws/cluster/vienna-ict-cluster"
LIFE = ID + "aws/cluster/vienna-life-sciences-cluster"
PBN = ID + "pbn"
CANDIDATES = [
    Candidate(
        ICT, ECCP + "X001", 0.95, ["name 0.95", "region AT13"], external_name="ICT Cluster Vienna"
    ),
    Candidate(LIFE, ECCP + "X003", 0.90, ["name 0.90"], external_name="Life Sciences Cluster Wien"),
    Candidate(PBN, "http://www.wikidata.org/entity/Q123", 0.85, ["acronym"], external_name="PBN"),
]
ICT_ID, LIFE_ID, PBN_ID = (c.id for c in CANDIDATES)
ICT_PAGE = "/id/partner/aws/cluster/vienna-ict-cluster"


def with_candidates(store_path: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)
    with OxigraphStore(copy) as store:
        save_proposals(store, [Candidate(**vars(c)) for c in CANDIDATES])
    return copy


@pytest.fixture()
def review_app(store_path: Path, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(with_candidates(store_path, tmp_path), tmp_path, WORKERS=1)
    yield app
    close_app(app)


def csrf_of(client) -> str:
    html = client.get("/links/review").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def post(client, token: str, **decisions: str):
    data = {"csrf_token": csrf_of(client), "token": token}
    data.update({f"decision-{cid}": value for cid, value in decisions.items()})
    return client.post("/links/review", data=data)


def followed(client, r):
    """The page a decision's 303 leads to (POST-redirect-GET)."""
    assert r.status_code == 303, r.data
    return client.get(r.headers["Location"])


def chosen(html: str) -> dict[str, str]:
    """The checked choice of each candidate on a review page."""
    return dict(re.findall(r'name="decision-(c[0-9a-f]+)" value="(\w+)" checked', html))


def token_for(app: Flask, partner: str) -> str:
    return tokens.create(Path(app.config["TOKENS_FILE"]), partner)


def stored(app: Flask) -> dict[str, Candidate]:
    return load(app.extensions["cpo.writer"])


def test_the_page_lists_proposed_candidates_with_evidence(review_app):
    r = review_app.test_client().get("/links/review")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    rows = re.findall(r'<tr id="cand-(c[0-9a-f]+)">', html)
    assert rows == [ICT_ID, LIFE_ID, PBN_ID]  # best score first
    assert "Vienna ICT cluster" in html and "ICT Cluster Vienna" in html
    assert "name 0.95; region AT13" in html and "0.950" in html
    assert (
        f'href="{ECCP}X001"' in html and 'href="/id/partner/aws/cluster/vienna-ict-cluster"' in html
    )


def test_deciding_needs_csrf_and_a_valid_token(review_app):
    client = review_app.test_client()
    csrf_of(client)
    r = client.post("/links/review", data={"token": "x", f"decision-{ICT_ID}": "accept"})
    assert r.status_code == 400 and b"CSRF" in r.data
    r = post(client, "not-a-token", **{ICT_ID: "accept", LIFE_ID: "reject"})
    assert r.status_code == 403 and b"token is not valid" in r.data
    # the page again, the choices kept (a bare error page lost them)
    assert chosen(r.get_data(as_text=True)) == {ICT_ID: "accept", LIFE_ID: "reject", PBN_ID: "skip"}
    r = post(client, token_for(review_app, "aws"))
    assert r.status_code == 400 and b"at least one candidate" in r.data
    assert {c.status for c in stored(review_app).values()} == {"proposed"}


def test_a_partner_decides_only_its_own_links(review_app):
    client = review_app.test_client()
    r = post(client, token_for(review_app, "pbn"), **{ICT_ID: "accept", PBN_ID: "reject"})
    assert r.status_code == 403
    html = r.get_data(as_text=True)
    assert (
        "the token of &#39;pbn&#39; decides links of that partner&#39;s own resources only; "
        f"candidate {ICT_ID} is another&#39;s: set it to &#39;later&#39; (nothing was decided; "
        "your choices are kept)"
    ) in html
    assert chosen(html) == {ICT_ID: "accept", LIFE_ID: "skip", PBN_ID: "reject"}
    assert {c.status for c in stored(review_app).values()} == {"proposed"}

    aws = token_for(review_app, "aws")
    # "later" (skip) on PBN's candidate is no decision, so aws's token may send it
    r = followed(client, post(client, aws, **{ICT_ID: "accept", LIFE_ID: "reject", PBN_ID: "skip"}))
    assert r.status_code == 200, r.data
    html = r.get_data(as_text=True)
    assert "accepted 1, rejected 1" in html
    assert re.findall(r'<tr id="cand-(c[0-9a-f]+)">', html) == [PBN_ID]
    now = stored(review_app)
    assert (now[ICT_ID].status, now[LIFE_ID].status) == ("accepted", "rejected")
    links = review_app.extensions["cpo.writer"].graph_triples(LINKS_GRAPH)
    exact = "http://www.w3.org/2004/02/skos/core#exactMatch"
    assert ox.Triple(ox.NamedNode(ICT), ox.NamedNode(exact), ox.NamedNode(ECCP + "X001")) in links
    assert not any(t.object.value == ECCP + "X003" for t in links)
    assert any(t.object.value == "aws (web review)" for t in links)

    # deciding again is a clear conflict, not a change
    r = post(client, aws, **{ICT_ID: "reject"})
    assert r.status_code == 409 and b"already accepted" in r.data

    # a curator decides anyone's
    r = followed(client, post(client, token_for(review_app, "curator"), **{PBN_ID: "accept"}))
    assert r.status_code == 200 and b"No link candidates wait for review" in r.data


def test_a_rejection_is_recorded_with_who_and_when_and_listed_on_the_graph_page(review_app):
    """A rejection only set the cell's status: who rejected it and when were nowhere."""
    client = review_app.test_client()
    before = now()
    followed(client, post(client, token_for(review_app, "aws"), **{LIFE_ID: "reject"}))
    cell = stored(review_app)[LIFE_ID]
    assert (cell.status, cell.rejected_by) == ("rejected", "aws (web review)")
    assert before <= cell.rejected <= now()
    page = client.get("/graph/link-candidates", headers={"Accept": "text/html"}).text
    agent = agent_node("aws (web review)").value.split("/id/", 1)[1]
    assert (
        f'<li><a href="/id/{agent}">aws (web review)</a> rejected 1 candidate link to records of '
        f'a list not named <small class="note">(ended {utc_shown(cell.rejected)})</small></li>'
    ) in page


def test_resource_page_shows_the_accepted_link_and_who_accepted_it(review_app):
    client = review_app.test_client()
    post(client, token_for(review_app, "curator"), **{ICT_ID: "accept"})
    page = client.get("/id/partner/aws/cluster/vienna-ict-cluster", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    elsewhere = html.split('id="links-out"', 1)[1].split("</ul>", 1)[0]
    assert "European Cluster Collaboration Platform" in elsewhere
    assert f'href="{ECCP}X001"' in elsewhere
    assert "reviewed link, accepted by curator (web review)" in elsewhere
    assert "score 0.950" in elsewhere
    # reference links (NUTS, Wikidata) of a region are shown too
    region = client.get("/id/region/AT13", headers={"Accept": "text/html"}).get_data(as_text=True)
    region_links = region.split('id="links-out"', 1)[1].split("</ul>", 1)[0]
    assert 'href="http://data.europa.eu/nuts/code/AT13"' in region_links
    assert "NUTS (Eurostat)" in region_links and "reviewed link" not in region_links


def test_a_read_only_server_refuses_decisions(store_path, tmp_path):
    app = make_app(with_candidates(store_path, tmp_path), tmp_path, WORKERS=1, WRITABLE=False)
    try:
        client = app.test_client()
        assert client.get("/links/review").status_code == 200
        r = post(client, token_for(app, "curator"), **{ICT_ID: "accept"})
        assert r.status_code == 503 and b"read-only" in r.data
    finally:
        close_app(app)


# -- a candidate graph past the engine's row limit ---------------------------------------------

MANY = [
    Candidate(
        f"{ID}aws/cluster/c{i:04}", f"{ECCP}Y{i:04}", (1000 - i) / 1000, ["name", "country"],
        external_name=f"Cluster {i}",
    )
    for i in range(900)
]  # fmt: skip
BEST_FIRST = [c.id for c in sorted([*CANDIDATES, *MANY], key=lambda c: (-c.score, c.id))]
EXACT = "http://www.w3.org/2004/02/skos/core#exactMatch"


def crowded(store_path: Path, tmp_path: Path) -> Path:
    """903 proposed candidates: about 10,800 triples, past the engine's 10,000 rows."""
    path = with_candidates(store_path, tmp_path)
    with OxigraphStore(path) as store:
        save_proposals(store, [Candidate(**vars(c)) for c in MANY])
        assert store.graph_size(CANDIDATES_GRAPH) > 10_000
    return path


def rows_of(html: str) -> list[str]:
    return re.findall(r'<tr id="cand-(c[0-9a-f]+)">', html)


def test_a_large_candidate_graph_is_listed_by_pages_and_decided(store_path, tmp_path):
    """Reading the whole graph answered 503 past 10,000 triples, after a POST had committed."""
    app = make_app(crowded(store_path, tmp_path), tmp_path, WORKERS=1)
    try:
        client = app.test_client()
        r = client.get("/links/review")
        assert r.status_code == 200
        html = r.get_data(as_text=True)
        assert rows_of(html) == BEST_FIRST[:100]
        assert "Candidates 1–100 of 903 that wait for review, best score first." in html
        assert '<strong id="more">803 more</strong>' in html
        assert 'href="/links/review?page=2">next page</a>' in html
        last = client.get("/links/review?page=10").get_data(as_text=True)
        assert rows_of(last) == BEST_FIRST[900:]
        assert "Candidates 901–903 of 903" in last and 'id="more"' not in last

        chosen = BEST_FIRST[150]  # on page 2; an aws resource
        r = followed(client, post(client, token_for(app, "aws"), **{chosen: "accept"}))
        assert r.status_code == 200, r.data
        html = r.get_data(as_text=True)
        assert 'id="outcome">Done: accepted 1, rejected 0.</p>' in html
        assert "Candidates 1–100 of 902" in html and chosen not in rows_of(html)
        assert stored(app)[chosen].status == "accepted"
        c = next(c for c in MANY if c.id == chosen)
        links = app.extensions["cpo.writer"].graph_triples(LINKS_GRAPH)
        link = ox.Triple(ox.NamedNode(c.local), ox.NamedNode(EXACT), ox.NamedNode(c.external))
        assert link in links
    finally:
        close_app(app)


def test_a_committed_decision_is_reported_when_the_list_cannot_be_read(store_path, tmp_path):
    """With a time limit no query meets, the decision is still made and said, with status
    200: an error status would tell the reviewer nothing happened."""
    app = make_app(with_candidates(store_path, tmp_path), tmp_path, WORKERS=1, QUERY_TIMEOUT=0.001)
    try:
        client = app.test_client()
        assert client.get("/links/review").status_code == 503  # nothing decided: an error
        with client.session_transaction() as session:
            session["csrf"] = "form-token"
        data = {
            "csrf_token": "form-token",
            "token": token_for(app, "curator"),
            f"decision-{ICT_ID}": "accept",
        }
        r = followed(client, client.post("/links/review", data=data))
        assert r.status_code == 200, r.data
        html = r.get_data(as_text=True)
        assert 'id="outcome">Done: accepted 1, rejected 0.</p>' in html
        assert 'id="list-unread">The decisions above are saved' in html
        assert stored(app)[ICT_ID].status == "accepted"
    finally:
        close_app(app)


def test_control_characters_of_an_external_list_do_not_reach_the_pages(store_path, tmp_path):
    """A NUL in an external name was stored: /graph/link-candidates.rdf was not well-formed
    XML and /links/review carried the raw NUL."""
    path = tmp_path / "store"
    shutil.copytree(store_path, path)
    source = tmp_path / "ext.csv"
    source.write_bytes(b"id,name,country\nE1,Vienna ICT\x00 Cluster\x0c,AT\n")
    proc = run_cli("link", "--store", str(path), "--source", str(source), "--type", "cluster",
                   "--id-base", "https://ex.org/")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    app = make_app(path, tmp_path, WORKERS=1)
    try:
        client = app.test_client()
        rdf = client.get("/graph/link-candidates.rdf")
        assert rdf.status_code == 200
        title = ET.fromstring(rdf.data).find(".//{http://purl.org/dc/terms/}title")
        assert title is not None and title.text == "Vienna ICT Cluster"
        page = client.get("/links/review")
        assert page.status_code == 200 and b"\x00" not in page.data
        assert ">Vienna ICT Cluster</a>" in page.get_data(as_text=True)
    finally:
        close_app(app)


DCT = "http://purl.org/dc/terms/"
LIST_NAME = "Vienna\nlist\x01\ufffe.csv"  # a Linux file name may hold any byte but / and NUL
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def test_a_list_s_name_and_values_leave_every_form_well_formed(store_path, tmp_path):
    """The list's file name was stored as it was, in the cells, the run and the links: the
    RDF/XML of /graph/link-candidates, /graph/links and the records' /id/ pages was no
    XML. Its values (name, region, web address) were cleaned and still are; all parse."""
    path = tmp_path / "store"
    shutil.copytree(store_path, path)
    source = tmp_path / LIST_NAME
    source.write_bytes(
        "id,name,country,region,url\n"
        "E1,Vienna ICT\x01 Cluster\ufffe,AT,AT13\x02,https://ict\x03.example.org/\n".encode()
    )
    proc = run_cli("link", "--store", str(path), "--source", str(source), "--type", "cluster",
                   "--id-base", "https://ex.org/", "--accept-above", "0.9",
                   "--reviewer", "Ops\x1b")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    app = make_app(path, tmp_path, WORKERS=1)
    try:
        (cell,) = stored(app).values()
        run = "/id/" + cell.run.split("/id/", 1)[1]
        pages = ["/graph/link-candidates", "/graph/links", "/id/link/" + cell.id,
                 "/id/link-candidate/" + cell.id, run]  # fmt: skip
        client = app.test_client()
        for page, (suffix, fmt) in itertools.product(pages, (("rdf", "xml"), ("nt", "nt"))):
            r = client.get(f"{page}.{suffix}")
            assert r.status_code == 200, page
            graph = rdflib.Graph().parse(data=r.data, format=fmt)  # expat: XML 1.0
            assert not [o for o in graph.objects() if NOT_XML.search(str(o))], page
            sources = {str(o) for o in graph.objects(None, rdflib.DCTERMS.source)}
            assert sources == {"Vienna list.csv"}, page
        writer = app.extensions["cpo.writer"]
        written = [t for g in (CANDIDATES_GRAPH, LINKS_GRAPH) for t in writer.graph_triples(g)]
    finally:
        close_app(app)

    # what the store holds: the name and the list's name cleaned, nothing XML cannot carry
    def values(term: str) -> set[str]:
        return {t.object.value for t in written if t.predicate.value == DCT + term}

    assert (values("title"), values("source")) == ({"Vienna ICT Cluster"}, {"Vienna list.csv"})
    assert not [t for t in written if NOT_XML.search(t.object.value)]


def test_a_decision_redirects_so_a_reload_decides_nothing_again(review_app):
    """A decision was answered with the page itself, so a reload posted the form again and
    got 409 "already accepted". Now 303 to the page it was sent from (its number kept), which
    says the outcome once; the line is the server's own, never text from the request."""
    client = review_app.test_client()
    curator = token_for(review_app, "curator")
    data = {"csrf_token": csrf_of(client), "token": curator, f"decision-{ICT_ID}": "accept"}
    r = client.post("/links/review?page=2", data=data)
    assert r.status_code == 303
    assert r.headers["Location"] == "/links/review?page=2"
    assert stored(review_app)[ICT_ID].status == "accepted"
    page = client.get(r.headers["Location"])
    assert page.status_code == 200
    assert '<p class="ok" role="status" id="outcome">Done: accepted 1, rejected 0.</p>' in page.text
    assert rows_of(page.text) == [LIFE_ID, PBN_ID]  # page 2 is past the end: the last page
    reload = client.get(r.headers["Location"])
    assert reload.status_code == 200 and 'id="outcome"' not in reload.text
    assert rows_of(reload.text) == [LIFE_ID, PBN_ID]
    # from the first page: no page number; a rejection counted as such
    r = post(client, curator, **{LIFE_ID: "reject"})
    assert (r.status_code, r.headers["Location"]) == (303, "/links/review")
    assert 'id="outcome">Done: accepted 0, rejected 1.</p>' in client.get("/links/review").text
    # nothing in a link makes the page claim a decision
    forged = client.get("/links/review?outcome=accepted+99&done=1&accepted=99")
    assert forged.status_code == 200 and 'id="outcome"' not in forged.text


def test_a_reload_in_the_browser_after_a_decision_is_no_conflict(store_path, tmp_path):
    """In Chromium: decide, then reload. The reload was a second POST answered 409."""
    from playwright.sync_api import sync_playwright

    from .conftest import waitress_serving
    from .test_browser import ARGS, CHROMIUM

    app = make_app(with_candidates(store_path, tmp_path), tmp_path, WORKERS=1)
    try:
        with waitress_serving(app, threads=2) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            page.goto(url + "/links/review")
            page.check(f'input[name="decision-{ICT_ID}"][value="accept"]')
            page.fill("#token", token_for(app, "curator"))
            page.click("#review-form button[type=submit]")
            page.wait_for_selector("#outcome")
            assert page.url == url + "/links/review"
            assert page.inner_text("#outcome") == "Done: accepted 1, rejected 0."
            answer = page.reload()
            assert answer is not None and answer.status == 200
            assert page.locator("#outcome").count() == 0
            assert page.locator("#review-error").count() == 0
            assert rows_of(page.content()) == [LIFE_ID, PBN_ID]
            browser.close()
        assert stored(app)[ICT_ID].status == "accepted"
    finally:
        close_app(app)


def utc_shown(lexical: str) -> str:
    """How a page shows a stored xsd:dateTime: a readable UTC time, the exact one kept."""
    when = datetime.fromisoformat(lexical).astimezone(UTC)
    return f'<time datetime="{when:%Y-%m-%dT%H:%M:%SZ}">{when:%Y-%m-%d %H:%M} UTC</time>'


def test_link_records_show_their_times_as_readable_utc(review_app):
    """The pages of an accepted link, its review and its candidate showed
    ``2026-12-06T21:05:00.123Z`` as stored; "Elsewhere" cut it to the date."""
    client = review_app.test_client()
    followed(client, post(client, token_for(review_app, "curator"), **{ICT_ID: "accept"}))
    prov = "http://www.w3.org/ns/prov#"
    writer = review_app.extensions["cpo.writer"]
    times = {
        t.subject.value: t.object.value
        for graph in (LINKS_GRAPH, CANDIDATES_GRAPH)
        for t in writer.graph_triples(graph)
        if t.predicate.value in (prov + "generatedAtTime", prov + "endedAtTime")
    }
    base = "https://w3id.org/clusterpolisee/id/"
    for path in (f"link/{ICT_ID}", f"link/{ICT_ID}/review", f"link-candidate/{ICT_ID}"):
        lexical = times[base + path]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", lexical)
        html = client.get("/id/" + path, headers={"Accept": "text/html"}).text
        assert f"<dd>{utc_shown(lexical)}</dd>" in html, path
        assert f">{lexical}<" not in html and "xsd:dateTime" not in html  # not as text
    page = client.get("/id/partner/aws/cluster/vienna-ict-cluster", headers={"Accept": "text/html"})
    elsewhere = page.text.split('id="links-out"', 1)[1].split("</ul>", 1)[0]
    accepted = times[f"{base}link/{ICT_ID}"]
    assert f"accepted by curator (web review) on {utc_shown(accepted)}, score 0.950" in elsewhere


# -- withdrawing accepted links (/links/accepted) ----------------------------------------------

SKOS_EXACT = ox.NamedNode(EXACT)
XSD = "http://www.w3.org/2001/XMLSchema#"
PROV = "http://www.w3.org/ns/prov#"
LINK_BASE = "https://w3id.org/clusterpolisee/id/link/"


def accept_all(app: Flask, client) -> None:
    """ICT's link accepted by the curator, then LIFE's by aws, PBN's by pbn (one each)."""
    for partner, cid in (("curator", ICT_ID), ("aws", LIFE_ID), ("pbn", PBN_ID)):
        followed(client, post(client, token_for(app, partner), **{cid: "accept"}))


def withdraw_form(client, token: str, *cids: str, reason: str = "wrong cluster", page: str = ""):
    html = client.get("/links/accepted" + page).text
    data = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html)[1],
        "token": token,
        "reason": reason,
        "withdraw": list(cids),
    }
    return client.post("/links/accepted" + page, data=data)


def link_rows(html: str) -> list[str]:
    return re.findall(r'<tr id="link-(c[0-9a-f]+)">', html)


def checked(html: str) -> list[str]:
    return re.findall(r'name="withdraw" value="(c[0-9a-f]+)" checked', html)


def links_graph(app: Flask) -> list[ox.Triple]:
    return app.extensions["cpo.writer"].graph_triples(LINKS_GRAPH)


def elsewhere(client, path: str) -> str:
    html = client.get(path, headers={"Accept": "text/html"}).text
    return html.split('id="links-out"', 1)[1].split("</ul>", 1)[0] if "links-out" in html else ""


def test_the_accepted_links_page_lists_who_accepted_each_and_when(review_app):
    client = review_app.test_client()
    assert 'href="/links/accepted">the accepted links page</a>' in client.get("/links/review").text
    assert 'id="no-links">No accepted links.' in client.get("/links/accepted").text
    accept_all(review_app, client)
    html = client.get("/links/accepted").text
    times = {
        t.subject.value.rsplit("/", 1)[1]: t.object.value
        for t in links_graph(review_app)
        if t.predicate.value == "http://www.w3.org/ns/prov#generatedAtTime"
    }
    # latest acceptance first; acceptances in the same second by id
    assert link_rows(html) == sorted(times, key=lambda cid: (-datetime.fromisoformat(
        times[cid]).timestamp(), cid))  # fmt: skip
    assert set(times) == {ICT_ID, LIFE_ID, PBN_ID}
    assert "3 accepted links, latest first." in html
    row = html.split(f'<tr id="link-{ICT_ID}">', 1)[1].split("</tr>", 1)[0]
    assert 'href="/id/partner/aws/cluster/vienna-ict-cluster">Vienna ICT cluster</a>' in row
    assert f'<a href="{ECCP}X001" rel="noopener nofollow" class="ext">ICT Cluster Vienna</a>' in row
    assert "<td>0.950</td>" in row
    assert f"by curator (web review) on {utc_shown(times[ICT_ID])}" in row
    assert f'name="withdraw" value="{ICT_ID}">' in row
    life = html.split(f'<tr id="link-{LIFE_ID}">', 1)[1].split("</tr>", 1)[0]
    assert "by aws (web review) on" in life


def test_withdrawing_needs_csrf_a_valid_token_and_a_reason(review_app):
    client = review_app.test_client()
    accept_all(review_app, client)
    before = sorted(map(str, links_graph(review_app)))
    r = client.post("/links/accepted", data={"token": "x", "reason": "r", "withdraw": ICT_ID})
    assert r.status_code == 400 and b"CSRF" in r.data
    r = withdraw_form(client, "not-a-token", ICT_ID, LIFE_ID, reason="duplicate <profile>")
    assert r.status_code == 403 and "the token is not valid: nothing was withdrawn" in r.text
    # the page again, the checked links and the reason kept (escaped)
    assert sorted(checked(r.text)) == sorted([ICT_ID, LIFE_ID])
    assert 'value="duplicate &lt;profile&gt;" required' in r.text
    curator = token_for(review_app, "curator")
    r = withdraw_form(client, curator)
    assert r.status_code == 400 and "check at least one link to withdraw" in r.text
    for blank in ("", " \n\t "):
        r = withdraw_form(client, curator, PBN_ID, reason=blank)
        assert r.status_code == 400, blank
        assert "say why the links are withdrawn (1 to 1000 characters): nothing was" in r.text
        assert checked(r.text) == [PBN_ID]
    assert withdraw_form(client, curator, PBN_ID, reason="x" * 1001).status_code == 400
    assert {c.status for c in stored(review_app).values()} == {"accepted"}
    assert sorted(map(str, links_graph(review_app))) == before


def test_a_partner_withdraws_only_its_own_links_and_they_leave_the_links_graph(review_app):
    client = review_app.test_client()
    accept_all(review_app, client)
    ict_page = "/id/partner/aws/cluster/vienna-ict-cluster"
    assert f'href="{ECCP}X001"' in elsewhere(client, ict_page)
    r = withdraw_form(client, token_for(review_app, "pbn"), ICT_ID, PBN_ID)
    assert r.status_code == 403
    assert (
        "the token of &#39;pbn&#39; withdraws links of that partner&#39;s own resources only; "
        f"link {ICT_ID} is another&#39;s: uncheck it (nothing was withdrawn"
    ) in r.text
    assert sorted(checked(r.text)) == sorted([ICT_ID, PBN_ID])
    assert {c.status for c in stored(review_app).values()} == {"accepted"}

    r = withdraw_form(
        client, token_for(review_app, "aws"), ICT_ID, reason=" not the\nsame\x00 one "
    )
    assert (r.status_code, r.headers["Location"]) == (303, "/links/accepted")
    page = client.get("/links/accepted")
    assert '<p class="ok" role="status" id="outcome">Done: withdrawn 1.</p>' in page.text
    assert sorted(link_rows(page.text)) == sorted([LIFE_ID, PBN_ID])
    reload = client.get("/links/accepted")
    assert 'id="outcome"' not in reload.text  # said once
    c = stored(review_app)[ICT_ID]
    assert (c.status, c.reason, c.withdrawn_by) == (
        "withdrawn",
        "not the same one",
        "aws (web review)",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", c.withdrawn)
    links = links_graph(review_app)
    assert ox.Triple(ox.NamedNode(ICT), SKOS_EXACT, ox.NamedNode(ECCP + "X001")) not in links
    # its record stays, saying when it was withdrawn, and its IRI says so
    stmt = ox.NamedNode(LINK_BASE + ICT_ID)
    ended = ox.Literal(c.withdrawn, datatype=ox.NamedNode(XSD + "dateTime"))
    assert ox.Triple(stmt, ox.NamedNode(PROV + "invalidatedAtTime"), ended) in links
    record = client.get(f"/id/link/{ICT_ID}", headers={"Accept": "text/html"})
    assert record.status_code == 200 and "prov:invalidatedAtTime" in record.text
    assert ox.Triple(ox.NamedNode(LIFE), SKOS_EXACT, ox.NamedNode(ECCP + "X003")) in links
    # the resource page no longer lists it; the candidate's page says withdrawn, and why
    assert ECCP + "X001" not in elsewhere(client, ict_page)
    assert f'href="{ECCP}X003"' in elsewhere(
        client, "/id/partner/aws/cluster/vienna-life-sciences-cluster"
    )
    cell = client.get(f"/id/link-candidate/{ICT_ID}", headers={"Accept": "text/html"}).text
    assert 'href="/id/link-status/withdrawn"' in cell and "not the same one" in cell
    withdrawal = client.get(
        f"/id/link-candidate/{ICT_ID}/withdrawal", headers={"Accept": "text/html"}
    ).text
    assert "Withdrawal of link " + ICT_ID in withdrawal and "aws (web review)" in withdrawal
    # a curator withdraws anyone's, from a later page: back to that page
    r = withdraw_form(client, token_for(review_app, "curator"), PBN_ID, page="?page=2")
    assert (r.status_code, r.headers["Location"]) == (303, "/links/accepted?page=2")
    assert 'id="outcome">Done: withdrawn 1.</p>' in client.get(r.headers["Location"]).text
    assert stored(review_app)[PBN_ID].status == "withdrawn"
    # nothing in a link makes the page claim a withdrawal
    assert 'id="outcome"' not in client.get("/links/accepted?outcome=withdrawn+9").text


def test_a_stale_withdrawal_is_a_conflict_that_changes_nothing(review_app):
    client = review_app.test_client()
    accept_all(review_app, client)
    curator = token_for(review_app, "curator")
    assert withdraw_form(client, curator, ICT_ID).status_code == 303
    before = sorted(map(str, links_graph(review_app)))
    # the form another tab still shows: ICT's link with LIFE's
    r = withdraw_form(client, curator, ICT_ID, LIFE_ID, reason="second thoughts")
    assert r.status_code == 409
    assert (
        f"candidate {ICT_ID} is withdrawn; only an accepted link can be withdrawn "
        "(nothing was withdrawn; the list is as it is now)"
    ) in r.text
    assert sorted(link_rows(r.text)) == sorted([LIFE_ID, PBN_ID])
    assert checked(r.text) == [LIFE_ID] and 'value="second thoughts"' in r.text
    assert 'id="outcome"' not in r.text
    now = stored(review_app)
    assert (now[ICT_ID].reason, now[LIFE_ID].status) == ("wrong cluster", "accepted")
    assert sorted(map(str, links_graph(review_app))) == before
    r = withdraw_form(client, curator, "c0000000000")
    assert r.status_code == 409 and "there is no link candidate" in r.text


def test_a_read_only_server_refuses_withdrawals(store_path, tmp_path):
    path = with_candidates(store_path, tmp_path)
    with OxigraphStore(path) as store:
        from clusterpolisee.linking import review

        review(store, [ICT_ID], [], "curator")
    app = make_app(path, tmp_path, WORKERS=1, WRITABLE=False)
    try:
        client = app.test_client()
        assert link_rows(client.get("/links/accepted").text) == [ICT_ID]
        r = withdraw_form(client, token_for(app, "curator"), ICT_ID)
        assert r.status_code == 503 and b"read-only" in r.data
    finally:
        close_app(app)


def test_a_hostile_external_name_and_agent_are_escaped(store_path, tmp_path):
    path = tmp_path / "store"
    shutil.copytree(store_path, path)
    evil = Candidate(
        LIFE, "javascript:alert(3)", 0.99, ["name"], external_name='<script>alert("x")</script>'
    )
    with OxigraphStore(path) as store:
        save_proposals(store, [evil], accept_above=0.9, who="<img src=x onerror=alert(4)>")
    app = make_app(path, tmp_path, WORKERS=1)
    try:
        html = app.test_client().get("/links/accepted").text
        assert link_rows(html) == [evil.id]
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
        assert "by &lt;img src=x onerror=alert(4)&gt; on <time" in html
        assert 'href="javascript:' not in html  # shown as text, never a link
        assert "<small>javascript:alert(3)</small>" in html
    finally:
        close_app(app)


def test_thousands_of_accepted_links_are_listed_by_pages_and_withdrawn(store_path, tmp_path):
    """900 accepted links: graph/links holds about 17,000 triples, past the engine's 10,000
    rows, so the page reads a count and one page, as the review does."""
    path = with_candidates(store_path, tmp_path)
    with OxigraphStore(path) as store:
        save_proposals(store, [Candidate(**vars(c)) for c in MANY], accept_above=0.0)
        assert store.graph_size(LINKS_GRAPH) > 10_000
    app = make_app(path, tmp_path, WORKERS=1)
    try:
        client = app.test_client()
        html = client.get("/links/accepted").text
        by_id = sorted(c.id for c in MANY)  # accepted in one commit: same time, by id
        assert link_rows(html) == by_id[:100]
        assert "Links 1–100 of 900 accepted, latest first." in html
        assert '<strong id="more">800 more</strong>' in html
        assert 'href="/links/accepted?page=2">next page</a>' in html
        assert link_rows(client.get("/links/accepted?page=9").text) == by_id[800:]
        chosen = by_id[150]
        r = withdraw_form(client, token_for(app, "aws"), chosen, page="?page=2")
        assert (r.status_code, r.headers["Location"]) == (303, "/links/accepted?page=2")
        html = client.get(r.headers["Location"]).text
        assert 'id="outcome">Done: withdrawn 1.</p>' in html
        assert "Links 101–200 of 899 accepted" in html and chosen not in link_rows(html)
        assert stored(app)[chosen].status == "withdrawn"
        c = next(c for c in MANY if c.id == chosen)
        link = ox.Triple(ox.NamedNode(c.local), SKOS_EXACT, ox.NamedNode(c.external))
        assert link not in links_graph(app)
    finally:
        close_app(app)


def test_a_link_accepted_by_its_score_is_not_called_reviewed(store_path, tmp_path):
    """`link --accept-above` accepts as a software agent: the page says so."""
    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)
    with OxigraphStore(copy) as store:
        save_proposals(store, [Candidate(**vars(CANDIDATES[0]))], accept_above=0.9)
    app = make_app(copy, tmp_path, WORKERS=1)
    try:
        html = app.test_client().get(ICT_PAGE, headers={"Accept": "text/html"}).text
    finally:
        close_app(app)
    elsewhere = html.split('id="links-out"', 1)[1].split("</ul>", 1)[0]
    assert f'href="{ECCP}X001"' in elsewhere
    assert "(accepted automatically by clusterpolisee link on <time" in elsewhere
    assert "reviewed link" not in elsewhere


def test_a_candidate_page_names_its_vocabularies_by_prefix(review_app):
    """The candidate's type and properties were printed as full IRIs."""
    page = review_app.test_client().get(
        f"/id/link-candidate/{ICT_ID}", headers={"Accept": "text/html"}
    )
    assert page.status_code == 200
    assert ">align:Cell</a>" in page.text and ">adms:status</a>" in page.text
    assert ">http://knowledgeweb.semanticweb.org/heterogeneity/alignment#Cell<" not in page.text


def searched(client, text: str) -> str:
    return client.get("/queries/search", query_string={"text": text}).text


def test_decisions_on_the_web_are_searchable_at_once(review_app):
    """Only a submission ran the reasoning step: a review's and a withdrawal's records had no
    search key (`search` did not find them) until the next one."""
    client = review_app.test_client()
    assert "curator (web review)" not in searched(client, "web review")
    accept_all(review_app, client)
    html = searched(client, "web review")
    for partner in ("curator", "aws", "pbn"):
        assert f">{partner} (web review)</a>" in html
    html = searched(client, f"review of link candidate {ICT_ID}")
    review_row = f'<a href="/id/link/{ICT_ID}/review" title="{LINK_BASE}{ICT_ID}/review">'
    assert review_row + f"Review of link candidate {ICT_ID}</a>" in html
    r = withdraw_form(client, token_for(review_app, "curator"), ICT_ID)
    assert r.status_code == 303
    html = searched(client, "withdrawal of link")
    assert f">Withdrawal of link {ICT_ID}</a>" in html


def test_the_accepted_links_page_shows_each_reviewer_s_own_name(store_path, tmp_path):
    """ "Anna B" and "anna-b" were one agent with both names: the page showed the first for
    both links."""
    copy = with_candidates(store_path, tmp_path)
    with OxigraphStore(copy) as store:
        review_links(store, [ICT_ID], [], "Anna B")
        review_links(store, [LIFE_ID], [], "anna-b")
    app = make_app(copy, tmp_path, WORKERS=1)
    try:
        client = app.test_client()
        html = client.get("/links/accepted").text
        agents = [client.get(f"/id/agent/{slug}").text for slug in AGENT_SLUGS]
    finally:
        close_app(app)
    ict = html.split(f'<tr id="link-{ICT_ID}">', 1)[1].split("</tr>", 1)[0]
    life = html.split(f'<tr id="link-{LIFE_ID}">', 1)[1].split("</tr>", 1)[0]
    assert ("by Anna B on" in ict, "by anna-b on" in life) == (True, True)
    # each agent's page names one reviewer (the shared one listed both names as labels)
    labels = [page.split("rdfs:label</a></dt>", 1)[1].split("<dt>", 1)[0] for page in agents]
    names = [re.findall(r'<span class="lit">([^<]*)</span>', dd) for dd in labels]
    assert names == [["Anna B"], ["anna-b"]]


AGENT_SLUGS = ("anna-b_a6b0e86732af1a3d", "anna-b_9ee5423937eacc1d")  # "Anna B", "anna-b"
