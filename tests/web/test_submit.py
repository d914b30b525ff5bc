"""Partner uploads through /submit against their own store: tokens, CSRF, reports, browser."""

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask
from markupsafe import escape

from clusterpolisee import paths
from clusterpolisee.namespaces import graph_iri
from webapp import close_app, tokens
from webapp.config import FORM_ALLOWANCE, UPLOAD_LIMIT

from ..conftest import run_cli
from .conftest import make_app, waitress_serving
from .test_browser import ARGS, CHROMIUM, shot

VALID = paths.PARTNERS_DIR / "marche-region.ttl"
SHEETS = Path(__file__).parents[1] / "submissions" / "valid" / "spreadsheets"
INVALID = b"""@prefix cpo: <https://w3id.org/clusterpolisee/ontology#> .
<https://w3id.org/clusterpolisee/id/partner/marche-region/cluster/x> a cpo:Cluster ."""


def a_cluster_of(path: Path) -> tuple[str, str]:
    """The local path and English label of one cluster the file describes."""
    with path.open("rb") as fh:
        quads = list(ox.parse(fh, format=ox.RdfFormat.TURTLE))
    clusters = [q.subject for q in quads if q.object.value.endswith("ontology#Cluster")]
    for q in quads:
        label = q.predicate.value.endswith("#label") and q.object.language == "en"
        if q.subject == clusters[0] and label:
            return "/id/" + q.subject.value.split("/id/", 1)[1], q.object.value
    raise AssertionError(f"no labelled cluster in {path}")


@pytest.fixture(scope="module")
def sub_app(tmp_path_factory) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp("submit")
    store = tmp / "store"
    proc = run_cli("build", "--store", str(store))
    assert proc.returncode == 0, proc.stderr
    app = make_app(store, tmp, ARCHIVE=str(tmp / "archive"))
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def sub_server(sub_app) -> Iterator[str]:
    with waitress_serving(sub_app, threads=4) as url:
        yield url


def token_for(app: Flask, partner: str) -> str:
    return tokens.create(Path(app.config["TOKENS_FILE"]), partner)


def csrf_of(client) -> str:
    html = client.get("/submit").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def test_valid_upload_is_accepted_and_shows_at_once(sub_app):
    """The built store already holds the demo data; a changed label shows at once."""
    client = sub_app.test_client()
    cluster, label = a_cluster_of(VALID)
    changed = VALID.read_bytes().replace(
        f'"{label}"@en'.encode(), f'"{label} (renamed)"@en'.encode(), 1
    )
    assert b"(renamed)" in changed
    before = client.get(cluster, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f"<h1>{label}</h1>" in before

    def send():
        data = {"csrf_token": csrf_of(client), "token": token_for(sub_app, "marche-region")}
        return client.post("/submit", data={**data, "file": (io.BytesIO(changed), VALID.name)})

    r = send()
    assert r.status_code == 200, r.get_data(as_text=True)[-2000:]
    assert "Accepted for partner <strong>marche-region</strong>" in r.get_data(as_text=True)
    after = client.get(cluster, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f"<h1>{label} (renamed)</h1>" in after
    home = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'id="latest"' in home and "/id/partner/marche-region" in home
    # The same form sent again (a reload): nothing archived or committed a second time
    archive = Path(sub_app.config["ARCHIVE"]) / "marche-region"
    entries, version = sorted(archive.iterdir()), sub_app.extensions["cpo.writer"].data_version()
    again = send()
    assert again.status_code == 200
    assert (
        '<p class="ok" role="status" id="unchanged">Nothing to do: the graph of partner '
        "&#39;marche-region&#39; already holds exactly these files"
    ) in again.get_data(as_text=True)
    assert sorted(archive.iterdir()) == entries
    assert sub_app.extensions["cpo.writer"].data_version() == version


def test_invalid_upload_is_rejected_with_a_report(sub_app):
    client = sub_app.test_client()
    r = client.post(
        "/submit",
        data={
            "csrf_token": csrf_of(client),
            "token": token_for(sub_app, "marche-region"),
            "file": (io.BytesIO(INVALID), "bad.ttl"),
        },
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Rejected: nothing was changed" in html and "Violation" in html
    assert client.get("/id/partner/marche-region/cluster/x").status_code == 404


def test_unreadable_upload(sub_app):
    client = sub_app.test_client()
    tok = token_for(sub_app, "marche-region")
    r = client.post(
        "/submit",
        data={
            "csrf_token": csrf_of(client),
            "token": tok,
            "file": (io.BytesIO(b"<<< not turtle"), "x.ttl"),
        },
    )
    assert r.status_code == 422 and "Traceback" not in r.get_data(as_text=True)


TOO_LARGE = (
    "Upload too large: the files are larger than the upload limit of 10 MB (10,000,000 bytes), "
    "which counts all files of one upload together. A submission is all of a partner's data, "
    "in one upload of one or more files, so it cannot be sent in parts: save it as Turtle, "
    "usually the most compact format, or ask the administrator to submit it with the command "
    "line, which takes up to 50,000,000 bytes per file\n"
)


def test_the_upload_limit_is_named_when_passed(sub_app):
    """A file of the upload limit reaches the pipeline (here: nothing to import); a larger
    request gets 413 naming the limit, not werkzeug's "exceeds the capacity limit"."""
    assert sub_app.config["MAX_CONTENT_LENGTH"] == UPLOAD_LIMIT + FORM_ALLOWANCE
    client = sub_app.test_client()
    tok = token_for(sub_app, "marche-region")
    at_limit = (b"#" * 99 + b"\n") * (UPLOAD_LIMIT // 100)
    assert len(at_limit) == UPLOAD_LIMIT
    form = {"csrf_token": csrf_of(client), "token": tok}
    r = client.post("/submit", data={**form, "file": (io.BytesIO(at_limit), "full.ttl")})
    assert r.status_code == 422 and "Nothing to import" in r.get_data(as_text=True)
    big = b"#" * (sub_app.config["MAX_CONTENT_LENGTH"] + 10)
    r = client.post("/submit", data={**form, "file": (io.BytesIO(big), "big.ttl")})
    assert r.status_code == 413
    assert r.get_data(as_text=True) == TOO_LARGE
    r = client.post(
        "/submit",
        data={**form, "file": (io.BytesIO(big), "big.ttl")},
        headers={"Accept": "text/html"},
    )
    assert r.status_code == 413 and "the upload limit of 10 MB" in r.get_data(as_text=True)


def test_token_of_another_partner_and_missing_csrf(sub_app):
    client = sub_app.test_client()
    tok = token_for(sub_app, "veneto-region")
    r = client.post(
        "/submit",
        data={
            "csrf_token": csrf_of(client),
            "token": tok,
            "partner": "marche-region",
            "file": (io.BytesIO(INVALID), "x.ttl"),
        },
    )
    assert r.status_code == 403
    r = client.post("/submit", data={"token": tok, "file": (io.BytesIO(INVALID), "x.ttl")})
    assert r.status_code == 400 and b"CSRF" in r.data


def test_csv_templates(sub_app):
    client = sub_app.test_client()
    form = client.get("/submit").get_data(as_text=True)
    assert 'href="/submit/templates/Cluster.csv"' in form
    r = client.get("/submit/templates/Cluster.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    header = r.get_data(as_text=True).splitlines()[0]
    assert "numberOfMembers" in header or "number of members" in header.lower()
    assert client.get("/submit/templates/Nope.csv").status_code == 404


def sheets(*names: str) -> list[tuple[io.BytesIO, str]]:
    """Filled CSV templates as files of one form field."""
    return [(io.BytesIO((SHEETS / name).read_bytes()), name) for name in names]


def store_content(app: Flask) -> dict[str, set]:
    """Every quad of the app's store, by graph (for before/after checks)."""
    store = app.extensions["cpo.writer"]
    return {g: set(store.graph_triples(g)) for g in store.graph_sizes()}


def test_several_files_in_one_upload_are_one_submission(sub_app):
    """A policy-instrument sheet alone cannot refer to a barrier of another sheet; both
    sheets in one upload are one submission, which replaces the whole partner graph."""
    client = sub_app.test_client()
    form = {"csrf_token": csrf_of(client), "token": token_for(sub_app, "marche-region")}
    r = client.post("/submit", data={**form, "file": sheets("policy-instruments.csv")})
    assert r.status_code == 422
    assert "A barrier addressed must be a barrier described in your submission." in r.text
    cluster, _ = a_cluster_of(VALID)
    assert client.get(cluster).status_code == 200
    r = client.post(
        "/submit", data={**form, "file": sheets("barriers.csv", "policy-instruments.csv")}
    )
    assert r.status_code == 200, r.text[-2000:]
    html = r.text
    assert "Accepted for partner <strong>marche-region</strong>" in html
    assert (
        "2 files, validated together as one submission:\n"
        "  barriers.csv: 15 triples, no problems\n"
        "  policy-instruments.csv: 14 triples, no problems\n"
    ) in html
    assert ": 2 files: barriers.csv, policy-instruments.csv</small>" in html
    page = client.get("/id/partner/marche-region/instrument/guarantees")
    assert page.status_code == 200 and "Loan guarantees for cluster firms" in page.text
    assert client.get("/id/partner/marche-region/barrier/bank-finance").status_code == 200
    assert client.get(cluster).status_code == 404  # the graph was replaced, not added to


def test_one_unreadable_file_among_two_changes_nothing(sub_app):
    client = sub_app.test_client()
    form = {"csrf_token": csrf_of(client), "token": token_for(sub_app, "marche-region")}
    before = store_content(sub_app)
    version = client.get("/health").get_json()["data_version"]
    broken = (io.BytesIO(b"<<< not turtle"), "clusters.ttl")
    r = client.post("/submit", data={**form, "file": [*sheets("barriers.csv"), broken]})
    assert r.status_code == 422
    assert "clusters.ttl: syntax error in Turtle" in r.text and "Traceback" not in r.text
    assert ": 2 files: barriers.csv, clusters.ttl</small>" in r.text
    assert client.get("/health").get_json()["data_version"] == version
    assert store_content(sub_app) == before


def test_an_empty_file_field_is_refused(sub_app):
    client = sub_app.test_client()
    form = {"csrf_token": csrf_of(client), "token": token_for(sub_app, "marche-region")}
    r = client.post("/submit", data={**form, "file": (io.BytesIO(b""), "")})
    assert r.status_code == 400 and "choose a file to upload" in r.text
    r = client.post("/submit", data={**form, "file": sheets("barriers.csv", "barriers.csv")})
    assert r.status_code == 400 and "two files are named barriers.csv" in r.text


def test_the_form_takes_several_files(sub_app):
    html = sub_app.test_client().get("/submit").text
    assert '<input type="file" id="file" name="file" multiple required>' in html


def test_upload_in_the_browser(sub_app, sub_server, tmp_path):
    from playwright.sync_api import sync_playwright

    bad = tmp_path / "bad.ttl"
    bad.write_bytes(INVALID)
    # data the partner's graph does not hold already (the same files again change nothing)
    _, label = a_cluster_of(VALID)
    fresh = tmp_path / VALID.name
    fresh.write_bytes(
        VALID.read_bytes().replace(f'"{label}"@en'.encode(), f'"{label} (web)"@en'.encode(), 1)
    )
    tok = token_for(sub_app, "marche-region")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        spreadsheets = [tmp_path / "barriers.csv", SHEETS / "policy-instruments.csv"]
        # other bytes than an earlier test's upload of the same two files (a blank line)
        spreadsheets[0].write_bytes((SHEETS / "barriers.csv").read_bytes() + b"\n")
        for files, expected, name in (
            ([bad], "Rejected", "rejected"),
            (spreadsheets, "2 files, validated together", "several-files"),
            ([fresh], "Accepted", "accepted"),
        ):
            page.goto(sub_server + "/submit")
            page.fill("#token", tok)
            page.set_input_files("#file", [str(f) for f in files])
            page.click("#submit-form button[type=submit]")
            page.wait_for_selector("#report")
            assert expected in page.locator("#report").inner_text()
            shot(page, f"submit-{name}")
        browser.close()


def test_an_upload_too_large_gives_the_form_back_naming_the_limit(sub_app):
    """A 413 was an error page with no form to choose a smaller file in."""
    client = sub_app.test_client()
    csrf = csrf_of(client)
    form = {"csrf_token": csrf, "token": token_for(sub_app, "marche-region")}
    big = b"#" * (sub_app.config["MAX_CONTENT_LENGTH"] + 10)
    r = client.post(
        "/submit",
        data={**form, "file": (io.BytesIO(big), "big.ttl")},
        headers={"Accept": "text/html"},
    )
    assert r.status_code == 413
    html = r.text
    assert re.search(r"<title>(.*?)</title>", html, re.S)[1] == "Submit data"
    assert (
        '<form method="post" action="/submit" enctype="multipart/form-data" id="submit-form">'
        in html
    )
    assert f'<input type="hidden" name="csrf_token" value="{csrf}">' in html
    problem = re.search(r'<p class="error" role="alert" id="form-problem">(.*?)</p>', html)[1]
    assert problem == str(escape(TOO_LARGE.rstrip("\n")))
    assert "the upload limit of 10 MB (10,000,000 bytes)" in problem
    assert 'id="choose-again"' in html
    # the form still works: a file within the limit is taken
    r = client.post("/submit", data={**form, "file": (io.BytesIO(INVALID), "bad.ttl")})
    assert r.status_code == 422 and "Rejected: nothing was changed" in r.text


def test_an_upload_too_large_in_the_browser_shows_the_form(sub_app, sub_server, tmp_path):
    from playwright.sync_api import sync_playwright

    big = tmp_path / "big.ttl"
    big.write_bytes(b"#" * (sub_app.config["MAX_CONTENT_LENGTH"] + 10))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(sub_server + "/submit")
        page.fill("#token", token_for(sub_app, "marche-region"))
        page.set_input_files("#file", str(big))
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click("#submit-form button[type=submit]")
        assert answer.value.status == 413
        page.wait_for_selector("#form-problem")
        assert "upload limit of 10 MB" in page.inner_text("#form-problem")
        assert page.locator("#submit-form #file").is_visible()
        shot(page, "submit-too-large")
        browser.close()


def test_a_graph_lists_the_submissions_that_replaced_it_dated_latest_first(sub_app):
    """Provenance lines on /graph/... said no time, so which submission made the graph as it
    is could not be told."""
    client = sub_app.test_client()
    _, label = a_cluster_of(VALID)
    data = VALID.read_bytes().replace(f'"{label}"@en'.encode(), f'"{label} (dated)"@en'.encode())
    form = {"csrf_token": csrf_of(client), "token": token_for(sub_app, "marche-region")}
    r = client.post("/submit", data={**form, "file": (io.BytesIO(data), VALID.name)})
    assert r.status_code == 200, r.text[-2000:]
    prov = "http://www.w3.org/ns/prov#"
    records = sub_app.extensions["cpo.writer"].graph_triples(graph_iri("submissions"))
    target = graph_iri("partner/marche-region")
    made = {t.subject for t in records if t.object.value == target}
    ended = sorted(
        (t.object.value, t.subject.value)
        for t in records
        if t.subject in made and t.predicate.value == prov + "endedAtTime"
    )
    assert len(ended) >= 2  # the build's and this upload's
    html = client.get("/graph/partner/marche-region", headers={"Accept": "text/html"}).text
    lines = re.findall(r"<li>(.*?)</li>", html.split('id="provenance">', 1)[1].split("</ul>")[0])
    assert len(lines) == len(ended)
    for line, (when, activity) in zip(lines, reversed(ended), strict=True):
        assert f'<a href="/id/{activity.split("/id/", 1)[1]}"' in line
        stamp = dt.datetime.fromisoformat(when).astimezone(dt.UTC)
        shown = f'<time datetime="{stamp:%Y-%m-%dT%H:%M:%SZ}">{stamp:%Y-%m-%d %H:%M} UTC</time>'
        assert line.endswith(f' this graph <small class="note">(ended {shown})</small>')
