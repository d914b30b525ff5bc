"""Labels are picked by RFC 4647 Lookup over the reader's Accept-Language, on every page."""

import re
from collections.abc import Iterator

import pytest
from flask import Flask, request
from werkzeug.test import EnvironBuilder

from webapp import close_app
from webapp.pagecache import PageCache
from webapp.present import language_ranges, lookup

from .conftest import make_app

# As Oxigraph stores them (lower-case) and as a file may spell them.
SERBIAN = ("en", "sr", "sr-latn")
SPELLED = ("en", "sr-Latn", "sr-Cyrl", "de-AT")


def pick(tags: tuple[str, ...], header: str | None) -> str | None:
    return lookup(tags, language_ranges(header))


@pytest.mark.parametrize(
    ("header", "tags", "expected"),
    [
        ("sr-Latn", SERBIAN, "sr-latn"),  # the whole tag first (was "sr": cut to its first part)
        ("sr-Latn", SPELLED, "sr-Latn"),  # any case, answered as stored
        ("SR-LATN", SERBIAN, "sr-latn"),
        ("sr-Cyrl", SPELLED, "sr-Cyrl"),
        ("sr-Latn-RS", SERBIAN, "sr-latn"),  # cut a subtag at a time
        ("sr", ("en", "sr-latn"), "sr-latn"),  # a more specific tag beats another language
        ("de", SPELLED, "de-AT"),
        ("de-CH", SPELLED, "de-AT"),  # German, if not Swiss German, before English
        ("sr;q=0", SERBIAN, "en"),  # q=0: not acceptable
        ("sr;q=0, sr-latn", SERBIAN, "sr-latn"),
        ("de;q=0.5, sr-latn;q=0.9", ("en", "de", "sr-latn"), "sr-latn"),  # by q, not order
        ("hu, sr-latn", ("en", "sr-latn"), "sr-latn"),
        ("*, sr", SERBIAN, "en"),  # after "*" nothing is asked for
        ("zh-hant-x-priv", ("en", "zh-hant"), "zh-hant"),  # a singleton goes with its subtag
        (None, ("en-gb", "de"), "en-gb"),  # the site's language by Lookup too
        ("hu", ("mul", "de"), "mul"),  # untagged, then mul, then the first tag
    ],
)
def test_lookup(header: str | None, tags: tuple[str, ...], expected: str | None) -> None:
    assert pick(tags, header) == expected


@pytest.mark.parametrize(
    ("header", "tags", "expected"),
    [
        ("sr-Cyrl", SERBIAN, "sr"),  # no sr-cyrl label: cut to "sr"
        ("de-AT", ("en", "de"), "de"),
        ("sr;q=0, en", SERBIAN, "en"),
        ("*", ("de", "en", "sr"), "en"),  # any language: the site's
        ("*", ("de", "sr"), "de"),
        ("hu", ("", "mul", "sr"), ""),  # then untagged, then mul, then the first tag
        ("hu", ("sr", "de"), "de"),
        ("hu", (), None),
        ("en;q=abc, sr", SERBIAN, "sr"),  # a malformed q: left out
    ],
)
def test_lookup_keeps_the_former_choices(
    header: str | None, tags: tuple[str, ...], expected: str | None
) -> None:
    """Choices the former lookup (first subtag, then en, untagged, first tag) made right too:
    these pass on it, by design."""
    assert pick(tags, header) == expected


def test_language_ranges_are_lower_case_by_preference_without_q_zero() -> None:
    assert language_ranges("de;q=0.5, sr-Latn, en;q=0, fr;q=0.7") == ("sr-latn", "fr", "de")
    assert language_ranges("sr-Latn") == language_ranges("sr-latn, x;q=0")
    assert language_ranges("sr-Latn") != language_ranges("sr")
    assert language_ranges("") == language_ranges("*") == language_ranges("sr;q=0") == ()
    assert language_ranges("<script>, de") == ("de",)


@pytest.fixture(scope="module")
def counted(store_path, tmp_path_factory) -> Iterator[tuple[Flask, list[str]]]:
    app = make_app(store_path, tmp_path_factory.mktemp("lookup"), WRITABLE=False)
    seen: list[str] = []
    app.before_request(lambda: seen.append(request.full_path))
    yield app, seen
    close_app(app)


def _h1(body: str) -> str:
    return re.search(r"<h1[^>]*>.*?</h1>", body, re.S).group(0)


def test_a_sr_latn_reader_sees_the_latin_serbian_name(client) -> None:
    """Was "University of Novi Sad": "sr-Latn" was looked up as "sr", which UNS has not."""
    for header in ("sr-Latn", "sr-latn", "sr", "sr-Latn-RS, en;q=0.5"):
        page = client.get("/id/partner/uns", headers={"Accept-Language": header})
        assert page.status_code == 200
        assert (
            _h1(page.get_data(as_text=True)) == '<h1 lang="sr-latn">Univerzitet u Novom Sadu</h1>'
        )


def test_q_zero_is_not_acceptable(client) -> None:
    """Was German for "de;q=0": q=0 was read as the last preference, not as "not this one"."""
    for header in ("de;q=0", "de-AT;q=0", "de;q=0, en"):
        page = client.get("/id/partner/aws", headers={"Accept-Language": header})
        assert _h1(page.get_data(as_text=True)) == "<h1>aws Austria Wirtschaftsservice</h1>"
    german = client.get("/id/partner/aws", headers={"Accept-Language": "de-AT, en;q=0.5"})
    assert (
        _h1(german.get_data(as_text=True)) == '<h1 lang="de">Austria Wirtschaftsservice GmbH</h1>'
    )
    for header in ("sr;q=0, en", "sr-Latn;q=0", "sr;q=0"):
        page = client.get("/id/partner/uns", headers={"Accept-Language": header})
        assert _h1(page.get_data(as_text=True)) == "<h1>University of Novi Sad</h1>"


def _select(body: str, name: str) -> str:
    return re.search(rf'<select[^>]*name="{name}".*?</select>', body, re.S).group(0)


def test_a_query_pages_drop_down_and_linked_column_follow_the_reader(client) -> None:
    """The drop-down was English whatever the reader asked for (the options query takes the
    English label); the linked column followed "de", and "de;q=0" too."""
    de = client.get("/queries/regions-by-maturity", headers={"Accept-Language": "de"})
    body = de.get_data(as_text=True)
    options = _select(body, "maturity")
    assert '<option value="' in options and 'lang="de">Reife Clusterpolitik</option>' in options
    assert "Mature cluster policy" not in options
    table = body[body.index("<tbody") :]
    assert re.search(r'<a href="[^"]*"[^>]*lang="de">Reife Clusterpolitik</a>', table)
    assert ">Mature cluster policy</a>" not in table  # (its maturityLabel column is English)

    no_de = client.get("/queries/regions-by-maturity", headers={"Accept-Language": "de;q=0, en"})
    body = no_de.get_data(as_text=True)
    assert ">Mature cluster policy</option>" in _select(body, "maturity")
    table = body[body.index("<tbody") :]
    assert ">Mature cluster policy</a>" in table and ">Reife Clusterpolitik</a>" not in table


def test_the_theme_drop_down_follows_the_reader_as_the_home_page_does(client) -> None:
    """Reported: the home page's themes were German and /queries/clusters' drop-down English."""
    home = client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Cluster und regionale (intelligente) Spezialisierung" in home
    body = client.get("/queries/clusters", headers={"Accept-Language": "de"}).get_data(as_text=True)
    theme = _select(body, "theme")
    assert 'lang="de">Cluster und regionale (intelligente) Spezialisierung</option>' in theme
    labels = re.findall(r"<option[^>]*>([^<]*)</option>", theme)[1:]
    assert labels == sorted(labels, key=str.casefold)  # sorted as shown
    # A label made by the options query itself (code and English title) stays.
    assert ">10 — Manufacture of food products</option>" in _select(body, "sector")
    english = client.get("/queries/clusters").get_data(as_text=True)
    assert ">Clusters and regional (smart) specialisation</option>" in _select(english, "theme")


def test_the_page_cache_keys_on_the_language_ranges(counted) -> None:
    """Was the raw header: "sr-Latn" and "sr-latn" were two pages, rendered twice."""
    app, seen = counted
    cache = PageCache(app, app.wsgi_app)

    def key(header: str) -> tuple | None:
        environ = EnvironBuilder(path="/id/partner/uns", headers={"Accept-Language": header})
        return cache._key(environ.get_environ())

    assert key("sr-Latn") == key("sr-latn") == key("sr-latn, de;q=0")
    assert key("sr-Latn") != key("sr") and key("sr-Latn") != key("sr-Latn, sr")
    assert key("sr;q=0") == key("") and key("de") != key("de-AT")
    client = app.test_client()
    first = client.get("/id/partner/uns", headers={"Accept-Language": "sr-Latn"})
    before = len(seen)
    again = client.get("/id/partner/uns", headers={"Accept-Language": "SR-latn"})
    assert len(seen) == before and again.data == first.data
    assert b"Univerzitet u Novom Sadu" in again.data
    english = client.get("/id/partner/uns", headers={"Accept-Language": "sr;q=0"})
    assert len(seen) == before + 1 and b"<h1>University of Novi Sad</h1>" in english.data
