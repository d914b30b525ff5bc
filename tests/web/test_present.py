"""How names and times are shown (webapp/present.py): column headings, timestamps."""

import pyoxigraph as ox
import pytest

from webapp.present import heading, time_html, value_html

DATE_TIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
DATE = ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")
OVERVIEW = ["country", "countryLabel", "theme", "themeLabel", "clusters", "goodPractices"]


@pytest.mark.parametrize(
    ("var", "shown"),
    [
        ("country", "Country"),
        ("countryLabel", "Country name"),  # beside ?country, which shows the country as a link
        ("goodPractices", "Good practices"),
        ("stageLabel", "Stage"),  # no ?stage in the result: the label is the stage
        ("regionLabel", "Region"),
        ("barriersAddressed", "Barriers addressed"),
        ("fromRegionLabel", "From region"),
        ("profileURL", "Profile URL"),
        ("label", "Label"),
        ("n", "N"),
        ("start_year", "Start year"),
    ],
)
def test_a_heading_is_read_from_the_variable_name(var, shown):
    assert heading(var, OVERVIEW) == shown


@pytest.mark.parametrize(
    ("lexical", "html"),
    [
        (  # as submissions are stored: milliseconds, Z
            "2026-12-06T19:53:50.11Z",
            '<time datetime="2026-12-06T19:53:50Z">2026-12-06 19:53 UTC</time>',
        ),
        (  # another zone is shown in UTC
            "2026-12-06T19:28:03.123456+02:00",
            '<time datetime="2026-12-06T17:28:03Z">2026-12-06 17:28 UTC</time>',
        ),
        (  # no zone: no "UTC" claimed
            "2026-12-06T17:28:03",
            '<time datetime="2026-12-06T17:28:03">2026-12-06 17:28</time>',
        ),
        ("<b>not a time</b>", '<span class="lit">&lt;b&gt;not a time&lt;/b&gt;</span>'),
    ],
)
def test_a_timestamp_is_a_readable_utc_time(lexical, html):
    assert str(time_html(ox.Literal(lexical, datatype=DATE_TIME))) == html


def test_control_characters_are_shown_as_markers_in_every_page(app):
    """A label with BEL or NEL reached the HTML raw (the title, h1, drop-downs); only the
    bidirectional controls were made visible. Tabs and line breaks stay as they are."""
    page = app.jinja_env.from_string("<h1>{{ label }}</h1><pre>{{ report }}</pre>")
    assert page.render(label="Bel\x07l \x85Cluster\ufffe", report="a\tb\nc") == (
        "<h1>Bel[U+0007]l [U+0085]Cluster[U+FFFE]</h1><pre>a\tb\nc</pre>"
    )


def test_a_property_value_shows_a_time_readably_and_other_values_as_before():
    """Resource pages showed xsd:dateTime values as stored, with the datatype beside them."""
    assert str(value_html(ox.Literal("2026-12-06T21:05:00.123456+00:00", datatype=DATE_TIME))) == (
        '<time datetime="2026-12-06T21:05:00Z">2026-12-06 21:05 UTC</time>'
    )
    # not a time after all: shown as text, its datatype still said
    assert str(value_html(ox.Literal("<b>soon</b>", datatype=DATE_TIME))) == (
        '<span class="lit">&lt;b&gt;soon&lt;/b&gt;</span> <small class="note">xsd:dateTime</small>'
    )
    assert str(value_html(ox.Literal("2026-12-06", datatype=DATE))) == (
        '<span class="lit">2026-12-06</span> <small class="note">xsd:date</small>'
    )
    # English, the page's language, has no mark (tables said "en" after every label)
    assert str(value_html(ox.Literal("<i>x</i>", language="en"))) == (
        '<span class="lit">&lt;i&gt;x&lt;/i&gt;</span>'
    )
