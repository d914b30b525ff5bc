"""/submit with more results than the report lists: the page says how many were left out and
gives the totals per rule (issue 9)."""

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from clusterpolisee.validation import DETAIL_LIMIT
from webapp import close_app, tokens

from ..conftest import run_cli
from ..test_large_report import generated
from .conftest import make_app

UNTYPED = 1_500


@pytest.fixture(scope="module")
def large_app(tmp_path_factory) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp("submit-large")
    store = tmp / "store"
    proc = run_cli("build", "--store", str(store), "--no-partners")
    assert proc.returncode == 0, proc.stderr
    app = make_app(store, tmp, ARCHIVE=str(tmp / "archive"))
    yield app
    close_app(app)


def test_upload_with_many_violations_states_the_totals(large_app):
    client = large_app.test_client()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/submit").text)[1]
    token = tokens.create(Path(large_app.config["TOKENS_FILE"]), "marche-region")
    r = client.post(
        "/submit",
        data={
            "csrf_token": csrf,
            "token": token,
            "file": (io.BytesIO(generated(UNTYPED)), "many.ttl"),
        },
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Rejected: nothing was changed" in html
    total = UNTYPED + 7  # the typed cluster at the end breaks 7 rules
    note = f"the first {DETAIL_LIMIT:,} of {total:,} results are listed"
    assert f'id="report-listed">A long report: {note}' in html
    assert f"{UNTYPED:>9,}  Violation  cps:UntypedResourceShape" in html
    assert f"{total:,} violation(s)" in html
    assert html.count("  Violation: ") == DETAIL_LIMIT
