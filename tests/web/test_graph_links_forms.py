"""The review lines of /graph/links in both forms of their query. A `link --accept-above` run
that accepted 140,000 candidates made as many reviews of one time, and the page looked each
one up past its time limit (18 s), showing no line; where the latest times hold many reviews
and a fair share of all, it now joins them (3.5 s). Either form gives the same lines, checked
here against each other and against what the records say. Stores written with the library's
own writers, as the CLI writes them."""

import pytest

from clusterpolisee.linking.candidates import SOFTWARE, Run
from webapp.views import link_provenance
from webapp.views.link_provenance import REVIEWS, REVIEWS_WIDE

from .test_graph_provenance import agent_page
from .test_graph_provenance_forms import History, cell, ended, page_and_queries, ran
from .test_graph_provenance_latest import at
from .test_pages import utc_shown


def automatic_run(h: History, accepted: int, reviewed: int) -> Run:
    """A run that accepted ``accepted`` candidates automatically at one time (two withdrawn
    since), then Anna's ``reviewed`` reviews, one a second, of another run's candidates."""
    auto = Run("a.csv", "cluster", 0.9, 40, 0.95, "", at(0))
    mine = Run("b.csv", "organisation", 0.75, 12, None, "Rita", at(5))
    taken = [cell(f"a{i}", "a.csv", 1, auto) for i in range(accepted)]
    offered = [cell(f"b{i}", "b.csv", 6, mine) for i in range(reviewed)]
    h.cells += taken + offered
    h.records += ended(auto, 2, accepted) + ended(mine, 7, reviewed)
    for c in taken:
        h.accept(c, SOFTWARE, 3, software=True)
    for i, c in enumerate(offered):
        h.accept(c, "Anna", 10 + i)
    for c in taken[:2]:
        h.withdraw(c, "Wanda", 5, "wrong")
    return auto


def lines_and_queries(store_path, tmp_path, h: History) -> tuple[list[str], list[str]]:
    return page_and_queries(store_path, tmp_path, h, "/graph/links")


def auto_line(run: Run, count: int) -> str:
    page = "/id/" + run.node.value.split("/id/", 1)[1]
    return (
        f'<a href="{agent_page(SOFTWARE)}">{SOFTWARE}</a> accepted {count} links to records '
        f'of <code>a.csv</code> automatically (<a href="{page}">a run</a> of '
        f"<code>link --accept-above</code>), 2 withdrawn since "
        f'<small class="note">(ended {utc_shown(at(3))})</small>'
    )


@pytest.mark.parametrize("few", [10**9, 3], ids=["looked-up", "joined"])
def test_many_reviews_of_one_time_read_either_way(store_path, tmp_path, monkeypatch, few):
    """40 automatic acceptances of one time and 2 reviews of Anna's: past FEW_REVIEWS (3
    here, 2,000 as shipped) the 42 reviews at the latest times are all the graph holds, so
    the page joins; under it, it looks them up. The lines are the same."""
    monkeypatch.setattr(link_provenance, "FEW_REVIEWS", few)
    h = History()
    run = automatic_run(h, 40, 2)
    lines, texts = lines_and_queries(store_path, tmp_path, h)
    assert len(lines) == 4 and lines[3] == auto_line(run, 40)
    assert lines[0].startswith(f'<a href="{agent_page("Anna")}">Anna</a> accepted 1 link ')
    assert "withdrew 2 links" in lines[2]
    form, other = (REVIEWS, REVIEWS_WIDE)[:: 1 if few > 3 else -1]
    assert ran(texts, form) and not ran(texts, other)


def test_the_latest_reviews_few_among_many_are_looked_up(store_path, tmp_path, monkeypatch):
    """300 reviews of distinct times: the latest 51 times hold 51 of them, past FEW_REVIEWS
    but under a fifth of all, so the page looks them up rather than reading every review."""
    monkeypatch.setattr(link_provenance, "FEW_REVIEWS", 3)
    h = History()
    automatic_run(h, 1, 300)
    lines, texts = lines_and_queries(store_path, tmp_path, h)
    assert ran(texts, REVIEWS) and not ran(texts, REVIEWS_WIDE)
    reviews = [x for x in lines if " accepted " in x]  # each kind shows its latest 50
    assert len(reviews) == link_provenance.LATEST and "withdrew 1 link" in lines[-1]
    assert all(">Anna</a> accepted 1 link to records of <code>b.csv</code>" in x for x in reviews)


def test_both_forms_give_the_same_lines_on_a_mixed_history(store_path, tmp_path, monkeypatch):
    """Two automatic runs' acceptances at one time each, a person's reviews between and
    after them, withdrawals: the joined form's lines are the looked-up form's."""
    h = History()
    automatic_run(h, 30, 5)
    second = Run("c.csv", "cluster", 0.9, 40, 0.95, "", at(100))
    later = [cell(f"c{i}", "c.csv", 101, second) for i in range(20)]
    h.cells += later
    h.records += ended(second, 102, 20)
    for c in later:
        h.accept(c, SOFTWARE, 103, software=True)
    h.withdraw(later[0], "Wanda", 104, "duplicate")
    got = {}
    for few in (10**9, 0):
        monkeypatch.setattr(link_provenance, "FEW_REVIEWS", few)
        monkeypatch.setattr(link_provenance, "REVIEWS_SHARE", 10**9 if few == 0 else 5)
        got[few], texts = lines_and_queries(store_path, tmp_path / str(few), h)
        assert ran(texts, REVIEWS_WIDE if few == 0 else REVIEWS)
    assert got[0] == got[10**9]
    assert any("accepted 20 links to records of <code>c.csv</code>" in x for x in got[0])
    assert any("1 withdrawn since" in x for x in got[0])
