"""Filled CSV templates as Romanian and Serbian partners type them: keys compared folded (as
the search folds text), nearest names suggested, language suffixes checked, untagged names in
another script than Latin refused. Each file goes through csv_to_triples, which the CLI's
submit/validate and the web upload call (submissions._read), and one through `validate`."""

import csv
import io

import pyoxigraph as ox
import pytest

from clusterpolisee.rdfio import InputError
from clusterpolisee.templates import csv_to_triples, languages, template_csv
from clusterpolisee.validation import validate

from .conftest import run_cli

REGION = "https://w3id.org/clusterpolisee/id/region/"
ONTO = "https://w3id.org/clusterpolisee/ontology#"
LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
DESCRIPTION = ox.NamedNode("http://purl.org/dc/terms/description")
HEADER = next(csv.reader(io.StringIO(template_csv("Cluster"))))


def sheet(*rows: dict[str, str]) -> bytes:
    """A filled Cluster template, UTF-8 as a spreadsheet saves it, from the template's own
    header; each row gives the columns it fills, the rest of a valid cluster defaults."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        base = {
            "thematic priority": "innovation",
            "sector": "J62",
            "life-cycle stage": "growth",
            "number of members": "42",
        }
        cells = base | row
        writer.writerow([cells.get(h, "") for h in HEADER])
    return out.getvalue().encode()


def row(slug: str, **cells: str) -> dict[str, str]:
    return {"cluster id": slug, "name": "Bucharest ICT", "region": "RO32"} | {
        k.replace("_", " "): v for k, v in cells.items()
    }


def problems(data: bytes, partner: str = "ancs") -> str:
    with pytest.raises(InputError) as info:
        csv_to_triples(data, partner)
    return str(info.value)


def objects(triples: list[ox.Triple], predicate: ox.NamedNode | str) -> list:
    p = predicate if isinstance(predicate, ox.NamedNode) else ox.NamedNode(ONTO + predicate)
    return [t.object for t in triples if t.predicate == p]


# -- keys compared folded ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "București-Ilfov",  # comma-below ș, as a Romanian keyboard types it (label has ş)
        "Bucuresti - Ilfov",  # no diacritics, spaces around the dash
        "BUCUREȘTI – ILFOV",  # capitals, en dash
        "Bucureşti-Ilfov",  # the label as stored
        "ro32",
    ],
)
def test_a_region_is_found_however_its_name_is_typed(typed):
    triples = csv_to_triples(sheet(row("buc", region=typed)), "ancs")
    assert objects(triples, "region") == [ox.NamedNode(REGION + "RO32")]


def test_the_ro_keys_sheet_of_the_tester_is_read():
    """The tester's spellings (Cluster-ro-keys.csv) all name RO32, and the clusters conform."""
    data = sheet(
        *(
            row(f"buc-{i}", region=r)
            for i, r in enumerate(
                ["Bucureşti-Ilfov", "București-Ilfov", "bucuresti-ilfov", "Bucuresti - Ilfov"]
            )
        )
    )
    triples = csv_to_triples(data, "ancs")
    assert objects(triples, "region") == [ox.NamedNode(REGION + "RO32")] * 4
    assert validate(triples, partner="ancs").conforms


def test_a_misspelt_name_gets_the_nearest_known_names_with_their_codes():
    message = problems(sheet(row("buc", region="Bucurest Ilfov")))
    assert (
        "row 2, column 'region': 'Bucurest Ilfov' is not a known region; "
        "did you mean Bucureşti-Ilfov (RO32)?"
    ) in message


def test_nothing_near_gets_no_suggestion_but_still_the_allowed_values():
    message = problems(sheet(row("buc", thematic_priority="zzzz")))
    assert "'zzzz' is not a known thematic priority; allowed: financing, innovation," in message
    assert "did you mean" not in message


def test_a_key_two_regions_share_is_refused_naming_both():
    message = problems(sheet(row("ne", region="Nord Est")))
    assert "'Nord Est' names more than one region: Nord-Est (ITH), Nord-Est (RO21)" in message


def test_a_short_name_of_the_partners_own_resource_is_still_minted():
    triples = csv_to_triples(sheet(row("buc", managing_organisation="ict-hub")), "ancs")
    assert objects(triples, "managedBy") == [
        ox.NamedNode("https://w3id.org/clusterpolisee/id/partner/ancs/organisation/ict-hub")
    ]


# -- language suffixes ---------------------------------------------------------------------------


def test_an_underscore_tag_is_refused_with_the_hyphen_form():
    message = problems(sheet(row("ns", name="Novosadski IKT klaster@sr_Latn")))
    assert (
        "row 2, column 'name': '@sr_Latn' is not a language tag: its parts are joined by '-', "
        "not '_'; write Novosadski IKT klaster@sr-Latn"
    ) in message


@pytest.mark.parametrize("tag", ["xx", "serbian-latin", "Serbian"])
def test_a_tag_of_no_known_language_is_refused(tag):
    message = problems(sheet(row("ns", name=f"Novi Sad ICT|Novosadski IKT@{tag}")))
    assert f"row 2, column 'name': '@{tag}': {tag.split('-')[0].lower()!r} is not a " in message
    assert "language code of ISO 639-1" in message


def test_good_tags_are_kept_and_an_at_sign_in_a_name_can_stay_text():
    triples = csv_to_triples(
        sheet(row("ns", name="Novi Sad ICT|Novosadski IKT@sr-Latn|Новосадски ИКТ@SR")),
        "vojvodina-economy",
    )
    assert objects(triples, LABEL) == [
        ox.Literal("Novi Sad ICT", language="en"),
        ox.Literal("Novosadski IKT", language="sr-latn"),
        ox.Literal("Новосадски ИКТ", language="sr"),
    ]
    kept = csv_to_triples(sheet(row("up", name="Start@Up@en")), "ancs")
    assert objects(kept, LABEL) == [ox.Literal("Start@Up", language="en")]


def test_the_description_column_takes_a_language_like_the_name():
    description = "Кластер ИКТ фирми у Новом Саду — «Војводина»"
    triples = csv_to_triples(sheet(row("ns", description=description + "@sr")), "vojvodina-economy")
    assert objects(triples, DESCRIPTION) == [ox.Literal(description, language="sr")]
    message = problems(sheet(row("ns", description=description + "@sr_Cyrl")))
    assert "row 2, column 'description': '@sr_Cyrl' is not a language tag" in message
    # untagged, a description stays text without a language, as before (not English)
    plain = csv_to_triples(sheet(row("ns", description=description)), "vojvodina-economy")
    assert objects(plain, DESCRIPTION) == [ox.Literal(description)]


def test_plain_string_columns_keep_a_trailing_at_as_text():
    """cpo:evidence has range xsd:string in the ontology: not text in a language."""
    data = (
        b"barrier id,name,barrier category,region,thematic priority,severity,evidence\n"
        b"skills,Skills gap,skills-mismatch,ITI3,skills,3,Survey by mail@xx\n"
    )
    triples = csv_to_triples(data, "marche-region")
    assert objects(triples, "evidence") == [ox.Literal("Survey by mail@xx")]


def test_the_languages_are_the_iso_639_1_codes_of_the_reference_file():
    codes = languages()
    assert {"en", "it", "sr", "el", "ro", "sq", "sl", "hr", "mk", "bg", "mul", "und"} <= codes
    assert "xx" not in codes and len(codes) > 180


# -- untagged names in another script ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "script", "asks"),
    [
        ("Новосадски ИКТ кластер", "Cyrillic", '"@sr", "@bg", "@mk"'),
        ("Σύμπλεγμα Θεσσαλονίκης", "Greek", '"@el"'),
    ],
)
def test_an_untagged_name_in_another_script_is_refused_asking_for_its_language(name, script, asks):
    message = problems(sheet(row("ns", name=name)), "vojvodina-economy")
    assert f"row 2, column 'name': {name!r} is written in {script} letters" in message
    assert asks in message


def test_latin_names_with_a_foreign_letter_are_still_english():
    triples = csv_to_triples(sheet(row("om", name="Ωmega Labs Čačak")), "ancs")
    assert objects(triples, LABEL) == [ox.Literal("Ωmega Labs Čačak", language="en")]


def test_the_cli_validate_reports_the_same_problems(tmp_path):
    filled = tmp_path / "Cluster.csv"
    filled.write_bytes(
        sheet(
            row("a", region="București-Ilfov"),
            row("b", name="Новосадски ИКТ кластер"),
            row("c", region="Bucurest Ilfov"),
        )
    )
    proc = run_cli("validate", str(filled), "--partner", "ancs")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "2 problem(s) in the CSV file:" in out
    assert "row 3, column 'name': 'Новосадски ИКТ кластер' is written in Cyrillic" in out
    assert "row 4, column 'region': 'Bucurest Ilfov' is not a known region; did you mean" in out
