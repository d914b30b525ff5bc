"""The search page says while the store's search keys are not today's folding
(reasoning/keycheck), and stops once they are recomputed."""

from collections.abc import Iterator

import pytest
from flask import Flask
from markupsafe import escape

from clusterpolisee.reasoning.keycheck import STALE
from clusterpolisee.reasoning.materialise import materialise
from webapp import close_app

from ..conftest import built_store
from ..test_keycheck import write_former_keys
from .conftest import make_app

HTML = {"Accept": "text/html"}
NOTE = (
    '<p class="warn" role="status" id="stale-keys"><strong>Search keys out of date:</strong> '
    f"{escape(STALE)} (the server's operator can).</p>"
)


@pytest.fixture()
def old_app(tmp_path_factory, tmp_path) -> Iterator[Flask]:
    path = built_store(tmp_path_factory, "web-former-keys")
    write_former_keys(path)
    app = make_app(path, tmp_path)
    yield app
    close_app(app)


def test_the_search_page_notes_stale_keys_until_materialise(old_app):
    client = old_app.test_client()
    page = client.get("/queries/search", query_string={"text": "Emilia-Romagna"}, headers=HTML)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and NOTE in html
    assert '<p class="count">0 rows</p>' in html
    # Only where folded text meets the keys; downloads carry data, not notes.
    assert "stale-keys" not in client.get("/queries/overview", headers=HTML).get_data(as_text=True)
    csv = client.get("/queries/search.csv", query_string={"text": "Emilia-Romagna"})
    assert csv.get_data(as_text=True).splitlines() == ["resource,label,types"]
    materialise(old_app.extensions["cpo.writer"])  # a new data version: pages are recomputed
    html = client.get(
        "/queries/search", query_string={"text": "Emilia-Romagna"}, headers=HTML
    ).get_data(as_text=True)
    assert "stale-keys" not in html and '<p class="count">0 rows</p>' not in html
