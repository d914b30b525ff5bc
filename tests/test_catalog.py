"""The stored-query catalog: header checks, safe parameter binding, the CLI."""

import json
from pathlib import Path

import pytest

from clusterpolisee.catalog import (
    CatalogError,
    ParameterError,
    ServiceNotAllowed,
    fold_text,
    load_catalog,
    load_query,
)
from clusterpolisee.sparqltext import first_solution, has_dataset, inspect
from clusterpolisee.store import OxigraphStore, open_store

from .conftest import run_cli

HOSTILE = [
    '"',
    "'",
    ">",
    "}",
    "\n",
    "#",
    '" } SERVICE <http://127.0.0.1:9/> { "',
    "x } UNION { ?s ?p ?o",
    "SERVICE <http://127.0.0.1:9/sparql>",
    "a" * 5000,
    "ftp://example.org/x",
    "javascript:alert(1)",
    "http://example.org/a b",
    "http://x/>",
    "file:///etc/passwd",
    "urn:x:y",
    "<http://example.org/>",
    "1; DROP ALL",
    "-1e309",
    "2013-02-30",
    "\u202eevil",
]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.rq"
    path.write_text(text, encoding="utf-8")
    return path


def test_catalog_loads_every_query(catalog):
    assert len(catalog.queries) >= 18
    kinds = {q.kind for q in catalog.queries.values()}
    assert kinds == {"select", "ask", "construct"}
    for q in catalog.queries.values():
        assert q.summary and q.tags, q.name
        assert q.values_at and all(at > 0 for at in q.values_at)


def test_unknown_header_key_names_file_and_line(tmp_path):
    path = write(tmp_path, "bad", "#+ summary: x\n#+ enumerate: yes\nSELECT * WHERE { ?s ?p ?o }\n")
    with pytest.raises(CatalogError, match=r"bad.rq, line 2: unknown header key 'enumerate'"):
        load_query(path)


def test_sort_names_who_sorts_and_refuses_anything_else(tmp_path, catalog):
    path = write(tmp_path, "bad", "#+ summary: x\n#+ sort: sideways\nSELECT * WHERE { ?s ?p ?o }\n")
    with pytest.raises(CatalogError, match=r"bad.rq, line 2: 'sort' must be one of python, store"):
        load_query(path)
    marked = {n for n, q in catalog.queries.items() if q.store_sorts}
    assert marked == {"knowledge-transfers", "transfer-candidates"}


def test_malformed_yaml_header_names_line(tmp_path):
    path = write(tmp_path, "bad", "#+ summary: x\n#+ tags: [a, b\n#+ x: 1\nSELECT * WHERE {}\n")
    with pytest.raises(CatalogError, match=r"bad.rq, line \d+: malformed header"):
        load_query(path)


def test_parameter_missing_from_query_is_an_error(tmp_path):
    text = (
        "#+ summary: x\n#+ params:\n#+   region:\n#+     type: iri\nSELECT * WHERE { ?s ?p ?o }\n"
    )
    with pytest.raises(CatalogError, match=r"line 3: parameter 'region' does not appear"):
        load_query(write(tmp_path, "bad", text))


def test_unknown_parameter_key_and_type(tmp_path):
    text = (
        "#+ summary: x\n#+ params:\n#+   s:\n#+     type: iri\n#+     colour: red\n"
        "SELECT ?s WHERE { ?s ?p ?o }\n"
    )
    with pytest.raises(CatalogError, match=r"line 5: unknown key 'colour'"):
        load_query(write(tmp_path, "a", text))
    text = "#+ summary: x\n#+ params:\n#+   s:\n#+     type: uri\nSELECT ?s WHERE { ?s ?p ?o }\n"
    with pytest.raises(CatalogError, match=r"parameter 's' needs a type"):
        load_query(write(tmp_path, "b", text))


def test_chart_false_in_the_header_turns_the_bar_chart_off(tmp_path):
    base = "#+ summary: x\n#+ chart: {}\nSELECT ?s WHERE {{ ?s ?p ?o }}\n"
    assert load_query(write(tmp_path, "a", base.format("false"))).chart is False
    assert load_query(write(tmp_path, "b", "#+ summary: x\nSELECT ?s WHERE { ?s ?p ?o }\n")).chart
    with pytest.raises(CatalogError, match=r"c.rq, line 2: 'chart' must be true, false or a"):
        load_query(write(tmp_path, "c", base.format("bars")))
    assert load_catalog().get("pilot-actions").chart is False  # its first number is a year


def test_query_syntax_error_and_service_are_refused(tmp_path):
    with pytest.raises(CatalogError, match=r"a.rq, line 2: SPARQL syntax error at line 1"):
        load_query(write(tmp_path, "a", "#+ summary: x\nSELECT WHERE { ?s ?p }\n"))
    # SERVICE loads (nothing is contacted); running it needs the endpoint on the allow-list
    svc = "#+ summary: x\nSELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }\n"
    q = load_query(write(tmp_path, "b", svc))
    assert q.services == ["http://127.0.0.1:9/"]
    with pytest.raises(ServiceNotAllowed, match="not on this run's allow-list"):
        q.check_services(())
    q.check_services(("http://127.0.0.1:9/",))


def test_load_catalog_reports_every_broken_file(tmp_path):
    write(tmp_path, "one", "#+ summary: x\n#+ bogus: 1\nSELECT * WHERE {}\n")
    write(tmp_path, "two", "#+ summary: x\nSELECT WHERE\n")
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path)
    assert "one.rq" in str(err.value) and "two.rq" in str(err.value)


def test_values_block_goes_after_the_where_brace(catalog):
    q = catalog.get("funding")
    from pyoxigraph import Literal

    text = q.bound_text({"currency": Literal('E"U}R#\n')})
    assert '\n  VALUES (?currency) { ("E\\"U}R#\\n") }\n' in text
    assert inspect(text).services == []


def test_values_block_goes_after_each_marker_line(tmp_path):
    """``# parameters bound here`` may stand in several places (each branch of a UNION):
    the block goes after every one, and the query gives what binding it once gives."""
    import pyoxigraph as ox

    path = write(tmp_path, "two-marks", (
        "#+ summary: x\n#+ params:\n#+   who:\n#+     type: iri\n"
        "SELECT ?who ?o WHERE {\n"
        "  {\n    # parameters bound here\n    ?who <urn:p> ?o }\n"
        "  UNION\n"
        "  {\n    # parameters bound here\n    ?who <urn:q> ?o }\n}\n"
    ))  # fmt: skip
    q = load_query(path)
    assert len(q.values_at) == 2
    who = ox.NamedNode("urn:a")
    text = q.bound_text({"who": who})
    assert text.count("VALUES (?who) { (<urn:a>) }") == 2
    assert q.bound_text({"who": None}) == q.text
    store = ox.Store()
    for s, p, o in [("a", "p", "1"), ("a", "q", "2"), ("b", "p", "3"), ("b", "q", "4")]:
        store.add(ox.Quad(ox.NamedNode(f"urn:{s}"), ox.NamedNode(f"urn:{p}"), ox.Literal(o)))
    got = {(r["who"].value, r["o"].value) for r in store.query(text)}
    assert got == {("urn:a", "1"), ("urn:a", "2")}


NARROWING = (
    "#+ summary: x\n#+ params:\n#+   who:\n#+     type: iri\n#+     narrows: {pattern}\n"
    "PREFIX ex: <urn:ex:>\n"
    "SELECT ?who ?o WHERE {{\n  ?who ex:p ?o .\n  FILTER(!BOUND(?who) || ?who != ex:z)\n}}\n"
)


def test_narrows_is_added_only_when_its_parameter_is_bound(tmp_path):
    q = load_query(write(tmp_path, "n", NARROWING.format(pattern="?who ex:q ?x .")))
    import pyoxigraph as ox

    text = q.bound_text({"who": ox.NamedNode("urn:a")})
    assert "VALUES (?who) { (<urn:a>) }\n  ?who ex:q ?x .\n" in text
    assert inspect(text).variables >= {"who", "o", "x"}
    assert q.bound_text({"who": None}) == q.text


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("'?who ex:q ?x . } UNION { ?s ?p ?o'", "must be triple patterns, no braces"),
        ("?other ex:q ?x .", "does not use ?who"),
        ("?who nope:q ?x .", "with 'narrows': invalid SPARQL query: Unknown namespace prefix"),
        ("'?who ex:q'", "with 'narrows': SPARQL syntax error"),
    ],
)
def test_a_bad_narrows_is_a_load_error_naming_the_line(tmp_path, pattern, message):
    with pytest.raises(CatalogError) as err:
        load_query(write(tmp_path, "n", NARROWING.format(pattern=pattern)))
    assert "n.rq, line 5: " in str(err.value) and message in str(err.value)


def test_a_bad_narrows_of_a_later_parameter_names_its_own_line(tmp_path):
    text = (
        "#+ summary: x\n#+ params:\n"
        "#+   who:\n#+     type: iri\n#+     narrows: ?who ex:q ?x .\n"
        "#+   what:\n#+     type: iri\n#+     narrows: ?who ex:q ?x .\n"
        "PREFIX ex: <urn:ex:>\nSELECT * WHERE { ?who ex:p ?what }\n"
    )
    with pytest.raises(CatalogError, match=r"n.rq, line 8: 'narrows' of 'what' does not use"):
        load_query(write(tmp_path, "n", text))


def test_narrowing_patterns_do_not_change_any_answer(catalog, demo_store):
    """Every stored query with a ``narrows`` parameter, for every allowed value: the same
    rows with the patterns as without them (they only choose where Oxigraph starts)."""
    import dataclasses

    checked = 0
    with open_store(str(demo_store), read_only=True) as store:
        for q in catalog.queries.values():
            plain = dataclasses.replace(
                q, params=[dataclasses.replace(p, narrows=None) for p in q.params]
            )
            for p in (p for p in q.params if p.narrows):
                for value, _label, _lang in p.options(store):
                    values = q.bind({p.name: value}, store)
                    narrowed = q.bound_text(values)
                    assert p.narrows in narrowed
                    got = store.run_query(narrowed).rows
                    assert sorted(map(str, got)) == sorted(
                        map(str, store.run_query(plain.bound_text(values)).rows)
                    ), (q.name, p.name, value)
                    checked += bool(got)
    assert checked >= 30  # clusters: 6 themes and dozens of sectors with clusters


def _free_text(p) -> bool:
    return p.type == "string" and p.allowed is None


def _expected_matches(store, value: str) -> set[tuple[str, str]]:
    """What a label search must return, computed in Python from every label in the store."""
    rows = store.select("SELECT ?r ?l WHERE { ?r <http://www.w3.org/2000/01/rdf-schema#label> ?l }")
    wanted = fold_text(value)
    return {(r["r"].value, r["l"].value) for r in rows if wanted in fold_text(r["l"].value)}


def test_hostile_values_are_refused_or_bound_harmlessly(catalog, demo_store):
    """Every parameter of every query gets every hostile value: it is refused with a message
    naming the parameter, or (free text) bound as a literal that matches exactly what a
    plain substring search would, so nothing in the value acts as SPARQL."""
    with open_store(str(demo_store), read_only=True) as store:
        checked = refused = 0
        for q in catalog.queries.values():
            for p in q.params:
                for value in HOSTILE:
                    try:
                        bound = q.bind({p.name: value}, store)
                    except ParameterError as exc:
                        assert p.name in str(exc)
                        refused += 1
                        continue
                    if not value.strip():  # blank means "not given": default or unbound
                        default = p.to_term(p.default) if p.default else None
                        assert bound[p.name] == default
                        continue
                    assert _free_text(p), f"{q.name}.{p.name} accepted {value!r}"
                    text = q.bound_text(bound)
                    assert inspect(text).services == []
                    rows = store.run_query(text).rows
                    got = {(r["resource"].value, r["label"].value) for r in rows}
                    assert got == _expected_matches(store, value), (q.name, value)
                    checked += 1
    assert refused > 100 and checked >= 10


def test_bad_parameters_give_exit_1_with_allowed_values(demo_store):
    proc = run_cli("query", "funding", "-p", "currency=USD", "--store", str(demo_store))
    assert proc.returncode == 1
    assert "parameter 'currency'" in proc.stderr and "EUR" in proc.stderr
    proc = run_cli("query", "policy-mix", "-p", "nope=1", "--store", str(demo_store))
    assert proc.returncode == 1 and "unknown parameter 'nope'" in proc.stderr
    proc = run_cli("query", "no-such-query", "--store", str(demo_store))
    assert proc.returncode == 1 and "no stored query named" in proc.stderr


def test_a_typed_parameter_error_reads_right_and_countries_are_offered_in_english(demo_store):
    """ "must be a integer"; and the country options showed "Italia" (an @mul label sorted
    before "Italy"@en, and the first label was kept)."""
    proc = run_cli("query", "shared-barrier-categories", "-p", "minRegions=abc",
                   "--store", str(demo_store))  # fmt: skip
    assert proc.returncode == 1
    assert "parameter 'minRegions' must be an integer, got 'abc'" in proc.stderr
    country = next(p for p in load_catalog().get("overview").params if p.name == "country")
    with OxigraphStore(demo_store, read_only=True) as store:
        labels = {o.value: o.label for o in country.options(store)}
    assert labels["https://w3id.org/clusterpolisee/id/country/ITA"] == "Italy"


def test_queries_command_lists_parameters_as_json():
    proc = run_cli("queries", "--format", "json")
    assert proc.returncode == 0
    listed = {q["name"]: q for q in json.loads(proc.stdout)}
    funding = listed["funding"]["parameters"][0]
    assert funding["name"] == "currency" and funding["default"] == "EUR"
    assert "RON" in funding["allowed"]
    region = listed["transfer-candidates"]["parameters"][0]
    assert region["required"] is True and region["class"].endswith("#EmergingRegion")


def test_sparql_command_formats_and_refusals(demo_store):
    q = "SELECT ?c WHERE { ?c a <https://w3id.org/clusterpolisee/ontology#Country> } ORDER BY ?c"
    proc = run_cli("sparql", q, "--format", "csv", "--store", str(demo_store))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == "c" and len(lines) == 12
    assert lines[1] == "https://w3id.org/clusterpolisee/id/country/ALB"
    proc = run_cli("sparql", q, "--format", "json", "--store", str(demo_store))
    assert len(json.loads(proc.stdout)["results"]["bindings"]) == 11
    svc = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    proc = run_cli("sparql", svc, "--store", str(demo_store))
    assert proc.returncode == 2 and "SERVICE is not allowed" in proc.stderr
    proc = run_cli(
        "sparql", "INSERT DATA { <http://a> <http://b> <http://c> }", "--store", str(demo_store)
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = run_cli("sparql", "SELECT * WHERE { ?s ?p }", "--store", str(demo_store))
    assert proc.returncode == 2 and "line 1" in proc.stderr


def test_runaway_query_is_stopped_by_the_timeout(demo_store):
    runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    proc = run_cli("sparql", runaway, "--timeout", "1", "--store", str(demo_store), timeout=60)
    assert proc.returncode == 2
    assert "did not finish within 1 s" in proc.stderr


def test_an_options_query_checks_one_value_without_listing_them_all(catalog, demo_store):
    """A value is checked by running the options query with ?value bound to it: a region
    the query offers is taken, an existing resource it does not offer is refused."""
    q = catalog.get("region-profile")
    region = "https://w3id.org/clusterpolisee/id/region/ITI3"
    with open_store(str(demo_store), read_only=True) as store:
        offered = {o.value for o in q.param("region").options(store)}
        assert region in offered
        assert q.bind({"region": region}, store)["region"].value == region
        country = "https://w3id.org/clusterpolisee/id/country/ITA"
        assert country not in offered
        with pytest.raises(ParameterError, match="'region':.*is not an allowed value"):
            q.bind({"region": country}, store)


def test_first_solution_keeps_the_prologue_and_the_where_group_only():
    text = (
        "PREFIX ex: <http://example.org/WHERE#>\n"
        "# a comment with } and WHERE {\n"
        'SELECT DISTINCT ?value (STRAFTER(STR(?value), "}") AS ?label) WHERE {\n'
        '  ?value ex:p "{ ORDER BY }" . { SELECT ?value WHERE { ?value ex:q ?o } }\n'
        "} ORDER BY ?label LIMIT 500"
    )
    assert first_solution(text) == (
        "PREFIX ex: <http://example.org/WHERE#>\n"
        "# a comment with } and WHERE {\n"
        'SELECT * WHERE {\n  ?value ex:p "{ ORDER BY }" . '
        "{ SELECT ?value WHERE { ?value ex:q ?o } }\n} LIMIT 1"
    )
    assert inspect(first_solution(text)).kind == "select"


@pytest.mark.parametrize(
    "text",
    [
        "SELECT ?s (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?s",
        "SELECT ?s WHERE { ?s ?p ?o } HAVING (?s != 1)",
        "SELECT ?s WHERE { ?s ?p ?o } VALUES ?s { 1 }",
        "ASK { ?s ?p ?o }",
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "SELECT ?s WHERE { ?s ?p ?o",
    ],
)
def test_first_solution_leaves_queries_whose_solutions_it_would_change(text):
    """Grouping, HAVING and a trailing VALUES decide what a solution is; other forms and
    broken text are not cut down at all (the full options query is used instead)."""
    assert first_solution(text) is None


def test_every_options_query_checks_a_value_by_its_first_solution(catalog, demo_store):
    """Each stored options query has a cut-down check, and the check takes exactly the
    values the drop-down offers: every offered value, and none of a set of resources of
    other kinds (countries, themes, partners, sectors)."""
    others = [
        "https://w3id.org/clusterpolisee/id/country/ITA",
        "https://w3id.org/clusterpolisee/id/theme/innovation",
        "https://w3id.org/clusterpolisee/id/region/XX99",
        "http://data.europa.eu/ux2/nace2/Z99",
    ]
    checked = 0
    with open_store(str(demo_store), read_only=True) as store:
        for q in catalog.queries.values():
            for p in (p for p in q.params if p.options_query):
                assert p.membership_query is not None and p.membership_query.endswith("LIMIT 1")
                offered = {o.value for o in p.options(store)}
                for value in sorted(offered) + others:
                    term = p.to_term(value)
                    found = bool(store.select(p.membership_query, {"value": term}))
                    assert found == (value in offered), (q.name, p.name, value)
                    checked += 1
    assert checked >= 100


@pytest.mark.parametrize(
    "text, named",
    [
        ("SELECT * FROM <http://g> WHERE { ?s ?p ?o }", True),
        ("select * from named <http://g> { graph ?g { ?s ?p ?o } }", True),
        ("PREFIX from: <http://x/> SELECT ?from WHERE { ?from from:p :from }", False),
        ("SELECT ?s WHERE { ?s ?p 'FROM <http://g>' } # FROM <http://g>", False),
        ("SELECT ?s WHERE { { SELECT ?s WHERE { ?s ?p ?o } } }", False),
        ("# FROM <http://g>\nSELECT * WHERE { ?s ?p <http://x/FROM> }", False),
        ("CONSTRUCT { ?s ?p ?o } FROM <http://g> WHERE { ?s ?p ?o }", True),
    ],
)
def test_a_dataset_clause_is_found_outside_strings_iris_and_names(text, named):
    assert has_dataset(text) is named


@pytest.mark.parametrize("given", ["1_0", "２", "٣", "2.0", "1e3", "\x1c", "\u00a0"])
def test_a_number_is_ascii_digits(given: str):
    """int() read "1_0" as 10 and the full-width "２" as 2 (found by schemathesis against
    /openapi.json); spaces around it are still fine."""
    param = load_catalog().get("shared-barrier-categories").param("minRegions")
    with pytest.raises(ParameterError):
        param.to_term(given)
    assert str(param.to_term(" +2 ")) == '"2"^^<http://www.w3.org/2001/XMLSchema#integer>'


@pytest.mark.parametrize("given", ["\x1c", "\u00a0", "\u3000"])
def test_a_control_character_or_other_space_is_no_empty_value(given: str, demo_store):
    """str.strip() took U+001C or a no-break space for nothing, and the question then ran
    with its default region; only ASCII spaces around a value are dropped."""
    question = load_catalog().get("transfer-candidates")
    with open_store(str(demo_store), read_only=True) as store:
        with pytest.raises(ParameterError):
            question.bind({"region": given}, store)
        assert question.bind({"region": " "}, store)["region"].value.endswith("/region/RO21")
