"""Partner uploads through /submit against their own store: tokens, CSRF, reports, browser."""

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask

from clusterpolisee import paths
from webapp import close_app, tokens
from webapp.config import FORM_ALLOWANCE, UPLOAD_LIMIT

from ..conftest import run_cli
from .conftest import make_app, waitress_serving
from .test_browser import ARGS, CHROMIUM, shot

VALID = paths.PARTNERS_DIR / "marche-region.ttl"
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
    r = client.post(
        "/submit",
        data={
            "csrf_token": csrf_of(client),
            "token": token_for(sub_app, "marche-region"),
            "file": (io.BytesIO(changed), VALID.name),
        },
    )
    assert r.status_code == 200, r.get_data(as_text=True)[-2000:]
    assert "Accepted for partner <strong>marche-region</strong>" in r.get_data(as_text=True)
    after = client.get(cluster, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f"<h1>{label} (renamed)</h1>" in after
    home = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'id="latest"' in home and "/id/partner/marche-region" in home


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
    "Upload too large: the file is larger than the upload limit of 10 MB (10,000,000 bytes). "
    "A submission is all of a partner's data in one file, so it cannot be sent in parts: "
    "save it as Turtle, usually the most compact format, or ask the administrator to submit "
    "it with the command line, which takes up to 50,000,000 bytes\n"
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


def test_upload_in_the_browser(sub_app, sub_server, tmp_path):
    from playwright.sync_api import sync_playwright

    bad = tmp_path / "bad.ttl"
    bad.write_bytes(INVALID)
    tok = token_for(sub_app, "marche-region")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        for path, expected in ((bad, "Rejected"), (VALID, "Accepted")):
            page.goto(sub_server + "/submit")
            page.fill("#token", tok)
            page.set_input_files("#file", str(path))
            page.click("#submit-form button[type=submit]")
            page.wait_for_selector("#report")
            assert expected in page.locator("#report").inner_text()
            shot(page, f"submit-{expected.lower()}")
        browser.close()
