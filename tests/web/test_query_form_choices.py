"""A question's form says which choice it used: choices that share a label are told apart by
their codes, the answer names what was asked, refusals speak in labels and keep the refused
value selected, an empty answer offers what to reset, and a code (``RO21``) stands for its
choice in a link and on the command line."""

import html
import re
import shutil

import pyoxigraph as ox
import pytest

from clusterpolisee.catalog import Option, Param, ParameterError
from clusterpolisee.namespaces import graph_iri
from clusterpolisee.store.oxigraph import OxigraphStore
from webapp import close_app

from ..conftest import run_cli
from .conftest import CPO, ID, make_app

HTML = {"Accept": "text/html"}
REGION = "https://w3id.org/clusterpolisee/id/region/"
QUESTION = "/queries/region-has-instrument"
INNOVATION = "https://w3id.org/clusterpolisee/id/theme/innovation"
#: An instrument for innovation in Romania's Nord-Est only (the web store's own partner
#: data for RO21 is replaced by a cluster): Italy's Nord-Est has none.
TECH_TRANSFER = ox.NamedNode(ID + "partner/formtest/instrument/tech-transfer")
INSTRUMENT = [
    ox.Triple(
        TECH_TRANSFER,
        ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
        ox.NamedNode(CPO + "PolicyInstrument"),
    ),
    ox.Triple(TECH_TRANSFER, ox.NamedNode(CPO + "region"), ox.NamedNode(REGION + "RO21")),
    ox.Triple(TECH_TRANSFER, ox.NamedNode(CPO + "theme"), ox.NamedNode(INNOVATION)),
]


@pytest.fixture(scope="module")
def romania(store_path, tmp_path_factory):
    """A copy of the web store with ``INSTRUMENT``: its path and a test client."""
    path = tmp_path_factory.mktemp("choices") / "store"
    shutil.copytree(store_path, path)
    with OxigraphStore(path) as store:
        store.commit(replace={graph_iri("partner/formtest"): INSTRUMENT})
    app = make_app(path, tmp_path_factory.mktemp("choices-app"), WORKERS=1)
    yield path, app.test_client()
    close_app(app)


def page(client, url: str, status: int = 200) -> str:
    r = client.get(url, headers=HTML)
    assert r.status_code == status, r.get_data(as_text=True)[-2000:]
    return r.get_data(as_text=True)


def options(text: str, name: str) -> list[tuple[str, str, bool]]:
    """The (value, label, selected) of each option of the drop-down ``name``."""
    select = re.search(rf'<select id="p-{name}" name="{name}"[^>]*>(.*?)</select>', text, re.S)
    assert select, f"no drop-down {name}"
    return [
        (html.unescape(v), html.unescape(label), " selected" in attrs)
        for v, attrs, label in re.findall(
            r'<option value="([^"]*)"([^>]*)>([^<]*)</option>', select[1]
        )
    ]


def words(text: str, id_: str) -> str:
    m = re.search(rf'<(\w+)[^>]* id="{id_}"[^>]*>(.*?)</\1>', text, re.S)
    assert m, f"no element {id_}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", m[2])).split())


def test_choices_that_share_a_label_show_their_codes(client):
    text = page(client, QUESTION)
    labels = {v: label for v, label, _ in options(text, "region")}
    assert labels[REGION + "RO21"] == "Nord-Est (RO21)"
    assert labels[REGION + "ITH"] == "Nord-Est (ITH)"
    assert labels[REGION + "EL3"] == "Attiki (EL3)"
    assert labels[REGION + "EL30"] == "Attiki (EL30)"
    assert labels[REGION + "ITI3"] == "Marche"  # a label no other choice has stays as it is
    shown = [label for _, label, _ in options(text, "region")]
    assert len(shown) == len(set(shown))  # no two choices read the same


def test_the_answer_names_the_region_it_was_asked_for(romania):
    _, client = romania
    romania = page(client, f"{QUESTION}?region={REGION}RO21&theme={INNOVATION}")
    italy = page(client, f"{QUESTION}?region={REGION}ITH&theme={INNOVATION}")
    assert words(romania, "answer") == (
        "Yes: Does a region have an instrument for a theme? — for Nord-Est (RO21), "
        "Innovation and R&D driven cluster development"
    )
    assert words(italy, "answer").startswith("No: ")
    assert "Nord-Est (ITH)" in words(italy, "answer")
    assert words(romania, "asked") == (
        "Answer for: Region: Nord-Est (RO21), "
        "Thematic priority: Innovation and R&D driven cluster development"
    )
    assert [v for v, _, sel in options(romania, "region") if sel] == [REGION + "RO21"]


def test_a_listing_says_what_it_answers_for(client):
    text = page(client, "/queries/shared-barrier-categories?minRegions=1")
    assert words(text, "asked") == "Answer for: At least this many regions: 1"


def test_a_bad_number_is_named_by_its_label(client):
    text = page(client, "/queries/shared-barrier-categories?minRegions=x", 400)
    assert (
        words(text, "param-error") == "At least this many regions must be a whole number, got 'x'"
    )
    assert '<input id="p-minRegions" name="minRegions" value="x"' in text
    # The command line and the JSON answer still name the parameter.
    r = client.get("/queries/shared-barrier-categories.json?minRegions=x")
    assert r.status_code == 400
    assert "parameter 'minRegions' must be an integer, got 'x'" in r.get_data(as_text=True)


def test_a_value_outside_the_choices_is_refused_in_labels_and_stays_selected(client):
    asked = "https://example.org/region/XX9"
    text = page(client, f"{QUESTION}?region={asked}&theme={INNOVATION}", 400)
    error = words(text, "param-error")
    assert error.startswith(f"Region: '{asked}' is not one of the choices; the choices are: ")
    assert REGION not in error  # labels, not IRIs
    listed = error.split("the choices are: ")[1]
    chosen = options(text, "region")
    assert listed.endswith(f" and {len(chosen) - 1 - 15} more")  # 15 named, then a count
    assert "Attiki (EL3)" in listed and "Attiki (EL30)" in listed
    assert [(v, label) for v, label, sel in chosen if sel] == [(asked, f"{asked} (not allowed)")]
    assert not [v for v, _, sel in chosen if sel and v.startswith(REGION)]  # not the default
    # The theme, which was fine, keeps its value.
    assert [v for v, _, sel in options(text, "theme") if sel] == [INNOVATION]


def test_an_empty_answer_offers_to_reset_each_choice(client):
    text = page(client, "/queries/shared-barrier-categories?minRegions=100")
    assert '<p class="count">0 rows</p>' in text
    assert words(text, "no-results").startswith("No results for these choices.")
    links = re.findall(r'<li><a href="([^"]+)">([^<]+)</a></li>', text.split('id="no-results"')[1])
    assert links == [
        ("/queries/shared-barrier-categories", "At least this many regions: 2 (its default)")
    ]


def test_an_empty_answer_resets_an_optional_choice_to_any(client):
    url = f"/queries/shared-barrier-categories?minRegions=100&theme={INNOVATION}"
    text = page(client, url)
    section = text.split('id="no-results"')[1]
    links = [html.unescape(h) for h in re.findall(r'<li><a href="([^"]+)">', section)]
    names = re.findall(r'<li><a href="[^"]+">([^<]+)</a></li>', section)
    assert names == ["At least this many regions: 2 (its default)", "Thematic priority: (any)"]
    assert "minRegions" not in links[0] and "theme=" in links[0]
    assert "theme" not in links[1] and "minRegions=100" in links[1]


def test_a_region_code_stands_for_its_region(romania):
    _, client = romania
    text = page(client, f"{QUESTION}?region=RO21&theme={INNOVATION}")
    assert words(text, "answer").startswith("Yes: ")
    assert "Nord-Est (RO21)" in words(text, "asked")
    assert [v for v, _, sel in options(text, "region") if sel] == [REGION + "RO21"]
    lower = page(client, f"{QUESTION}?region=ith&theme={INNOVATION}")
    assert words(lower, "answer").startswith("No: ")
    r = client.get(f"{QUESTION}.json?region=RO21&theme={INNOVATION}")
    assert r.status_code == 200 and r.get_json()["boolean"] is True


def test_a_code_that_names_no_single_region_is_refused_with_the_matches(client):
    text = page(client, f"{QUESTION}?region=nord&theme={INNOVATION}", 400)
    error = words(text, "param-error")
    assert error == (
        "Region: 'nord' is not the code of any choice; choices whose name or code contains "
        "it: Nord-Est (ITH), Nord-Est (RO21), Nord-Ovest, Nord-Vest"
    )
    r = client.get(f"{QUESTION}.json?region=nord&theme={INNOVATION}")
    assert r.status_code == 400
    body = r.get_data(as_text=True)
    assert f"<{REGION}RO21>" in body and f"<{REGION}ITH>" in body


def test_a_code_two_choices_share_is_refused_naming_both():
    class NoCodes:  # a store that knows no notation: the IRIs' last segments are the codes
        def select(self, query, bindings=None):
            return []

    both = ["https://a.example/x/RO21", "https://b.example/RO21"]
    p = Param("region", "iri", "Region", allowed=both)
    p.options = lambda store: [Option(v, "Nord-Est") for v in both]
    with pytest.raises(ParameterError) as refused:
        p.resolve("ro21", NoCodes())
    assert refused.value.param == "region"
    assert refused.value.shown == (
        "Region: 'ro21' names 2 choices: Nord-Est (RO21), Nord-Est (RO21); choose one of them"
    )
    assert str(refused.value) == (
        "parameter 'region': 'ro21' is the code of 2 allowed values: "
        "<https://a.example/x/RO21>, <https://b.example/RO21>; give the whole IRI"
    )


def test_the_command_line_takes_a_region_code(romania):
    store_path, _ = romania
    proc = run_cli(
        "query", "region-has-instrument", "--store", str(store_path),
        "-p", "region=RO21", "-p", f"theme={INNOVATION}", "--format", "json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert '"boolean": true' in proc.stdout.replace(":true", ": true")


@pytest.mark.parametrize(
    "url", ["/queries/funding?currency=eur&x=1", "/queries/external-links?dataset=wikidata&x=1"]
)
def test_a_text_choice_beside_an_unknown_parameter_is_a_400(client, url: str):
    """A refused page tried to read a text choice ("eur") as a code of an IRI choice and
    made an IRI of it: a 500 where the unknown parameter deserved a 400."""
    text = html.unescape(page(client, url, 400))
    assert "unknown parameter 'x'" in text
