"""Keyboard use of the SPARQL page in Debian's Chromium (Playwright) against a real server,
with the fixtures of tests/web/test_browser.py."""

import pytest
from playwright.sync_api import Page

from .test_browser import browser, page, shot  # noqa: F401 (browser, page: fixtures)


@pytest.fixture()
def tab(page: Page) -> Page:  # noqa: F811 (the imported fixture, requested by name)
    """test_browser's ``page`` fixture by another name: a test's ``page`` argument would
    shadow the import."""
    return page


QUERY = "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"


def focused_id(tab: Page) -> str:
    return tab.evaluate("document.activeElement.id")


def test_tab_leaves_the_query_field_for_the_format_and_the_run_button(tab: Page, server: str):
    """Tab inserted two spaces in the textarea: a keyboard user never reached the format
    select or the Run button."""
    tab.goto(server + "/sparql")
    tab.fill("#query", QUERY)
    tab.focus("#query")
    tab.keyboard.press("End")
    tab.keyboard.press("Tab")
    assert focused_id(tab) == "format"
    assert tab.input_value("#query") == QUERY
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.textContent") == "Run query"
    tab.keyboard.press("Shift+Tab")
    tab.keyboard.press("Shift+Tab")
    assert focused_id(tab) == "query" and tab.input_value("#query") == QUERY
    assert tab.problems == []


def test_the_hint_is_shown_and_ctrl_enter_runs_the_query(tab: Page, server: str):
    tab.goto(server + "/sparql")
    hint = tab.locator("#query-hint")
    assert hint.is_visible()
    assert hint.inner_text().startswith("Ctrl+Enter (\u2318+Enter on a Mac) runs the query")
    assert tab.get_attribute("#query", "aria-describedby") == "query-hint"
    # The hint is on its own line, between the label and the field.
    label, box, field = (
        tab.locator(s).bounding_box() for s in ("label[for=query]", "#query-hint", "#query")
    )
    assert (
        label["y"] + label["height"] <= box["y"] + 1 and box["y"] + box["height"] <= field["y"] + 1
    )
    tab.fill("#query", QUERY)
    tab.focus("#query")
    with tab.expect_navigation():
        tab.keyboard.press("Control+Enter")
    tab.wait_for_selector("#results table")
    assert tab.locator("#results th").all_inner_texts() == ["g", "n"]
    assert tab.locator("#results tbody tr").count() > 3
    assert tab.problems == []


def test_an_error_and_the_hint_both_describe_the_query_field(tab: Page, server: str):
    tab.goto(server + "/sparql")
    tab.fill("#query", "SELECT * WHERE { ?s ?p }")
    with tab.expect_navigation():
        tab.click("#sparql-form button[type=submit]")
    assert tab.locator("#query-error").is_visible()
    assert tab.get_attribute("#query", "aria-invalid") == "true"
    assert tab.get_attribute("#query", "aria-describedby") == "query-error query-hint"
    shot(tab, "sparql-error-described")


def test_a_prefix_button_is_named_for_what_it_does(tab: Page, server: str):
    tab.goto(server + "/sparql")
    tab.fill("#query", "SELECT * { ?s a adms:Asset }")
    button = tab.get_by_role("button", name="Add PREFIX adms: to the query", exact=True)
    assert button.count() == 1 and button.inner_text() == "adms:"
    button.focus()
    tab.keyboard.press("Enter")
    assert focused_id(tab) == "query"
    assert tab.input_value("#query").startswith("PREFIX adms: <http://www.w3.org/ns/adms#>\n")
    assert tab.problems == []
