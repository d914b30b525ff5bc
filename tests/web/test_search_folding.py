"""The search page and the drop-downs with the names partners write (catalog.fold_text)."""

import re

from .conftest import ID

HTML = {"Accept": "text/html"}


def test_search_page_finds_curly_apostrophes_and_dashes_typed_straight(client):
    r = client.get("/queries/search", query_string={"text": "valle d'aosta"}, headers=HTML)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    html = r.get_data(as_text=True)
    assert '<p class="count">1 row</p>' in html
    assert f'href="/id/region/ITC2" title="{ID}region/ITC2"' in html
    assert "Valle d’Aosta/Vallée d’Aoste" in html
    r = client.get("/queries/search.csv", query_string={"text": "MAG - Magyar"})
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.get_data(as_text=True).splitlines()[1:] == [
        f"{ID}partner/mag,MAG – Magyar Gazdaságfejlesztési Központ Zrt.,"
        '"innovation or business support agency, project partner"'
    ]


def test_search_page_shows_greek_and_cyrillic_names_in_their_language(client):
    """Upper case without accents finds the lower-case accented name, which the page marks
    with its language; the text typed is escaped back into the form."""
    r = client.get("/queries/search", query_string={"text": "ΚΕΝΤΡΙΚΗΣ <b>"}, headers=HTML)
    assert 'value="ΚΕΝΤΡΙΚΗΣ &lt;b&gt;"' in r.get_data(as_text=True)
    r = client.get("/queries/search", query_string={"text": "ΚΕΝΤΡΙΚΗΣ"}, headers=HTML)
    assert '<span class="lit" lang="el">Περιφέρεια Κεντρικής Μακεδονίας</span>' in r.get_data(
        as_text=True
    )
    r = client.get("/queries/search", query_string={"text": "ИЗПЪЛНИТЕЛНА"}, headers=HTML)
    assert (
        '<span class="lit" lang="bg">Изпълнителна агенция за насърчаване на малките и '
        "средните предприятия</span>"
    ) in r.get_data(as_text=True)


def test_region_drop_down_puts_accented_names_among_their_letters(client):
    r = client.get("/queries/region-has-instrument", headers=HTML)
    select = re.search(r'<select id="p-region".*?</select>', r.get_data(as_text=True), re.S)[0]
    labels = re.findall(r"<option [^>]*>([^<]*)</option>", select)
    at = labels.index("Emilia-Romagna")
    assert labels[at : at + 3] == ["Emilia-Romagna", "Észak-Alföld", "Észak-Magyarország"]
    assert labels[-1] == "Západné Slovensko"
