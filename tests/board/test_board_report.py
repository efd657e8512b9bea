"""The board report reads as a board's page: a headline in plain words whose figures are the
definitions' values, names instead of codes, one continuous time axis over the reporting period,
a reason wherever a section is empty, definitions in plain English with the technical detail folded
away, and a print layout. Small numbers stay withheld (tests/board/test_board_outputs.py)."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta
from html import unescape

import duckdb
import pytest

from casehistory import vocabulary
from casehistory.board import board_min_count
from casehistory.board.export import BoardTable
from casehistory.board.report import WITHHELD, build_figures, render


def _table(name: str, columns: list[str], rows: list[tuple], description: str = "Technical definition.") -> BoardTable:
    return BoardTable(name, description, columns, {c: f"column {c}" for c in columns}, rows=rows)


MONTHLY = ["month", "referrals", "re_referrals", "passed_back", "passed_back_again", "re_referral_rate_pct",
           "is_suppressed"]
HEADLINE = ["period_start", "period_end", "referrals", "re_referrals", "passed_back", "passed_back_again",
            "children_with_warning_signs", "re_referral_rate_pct"]


def _tables(headline_row=(date(2024, 1, 1), date(2024, 6, 30), 40, 10, 20, None, 12, 25.0)) -> list[BoardTable]:
    return [
        _table("board_headline", HEADLINE, [headline_row]),
        # January and June only: the months between had no referral and must still be on the axis
        _table("board_referrals_monthly", MONTHLY, [(date(2024, 1, 1), 20, 5, 10, None, 25.0, True),
                                                     (date(2024, 6, 1), 20, 5, 10, None, 25.0, True)]),
        _table("board_referral_outcomes_by_source", ["source_agency", "outcome", "referrals", "is_suppressed"],
               [("police", "early_help", 20, False), ("school", "nfa", 20, False), ("hv", "s47", None, True)]),
        _table("board_plan_flows", ["month", "direction", "from_level", "to_level", "transitions", "is_suppressed"], []),
        _table("board_warning_signs", ["month", "sign", "children", "is_suppressed"],
               [(date(2024, 3, 1), "referrals_passed_back_repeatedly", 6, False)]),
        _table("board_review_readiness", ["review_id", "agency", "asked", "status", "status_label", "scope_start",
                                          "scope_end", "deadline"],
               [("R1", "eh", True, "missing", "missing", None, None, date(2024, 9, 1)),
                ("R1", "csc", True, "received", "received", None, None, date(2024, 9, 1)),
                ("R1", "ews", False, "involved_not_asked", "involved not asked", None, None, date(2024, 9, 1))]),
    ]


def _page(tables: list[BoardTable]) -> str:
    return render(build_figures(tables), board_min_count(), tables)


def _texts(page: str) -> list[str]:
    """The text a reader sees (outside tags, scripts and styles), one string per text node."""
    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return [unescape(t).strip() for t in re.findall(r">([^<]+)<", page) if t.strip()]


def _figures(page: str) -> dict[str, str]:
    return dict(re.findall(r"<(?:strong|dd|ul) data-figure='(\w+)'>(.*?)</(?:strong|dd|ul)>", page, re.S))


def test_the_headline_comes_first_in_plain_words_with_the_published_figures():
    page = _page(_tables())
    assert page.index("id='headline'") < page.index("<figure")
    figures = _figures(page)
    assert figures["period"].startswith("January 2024 to June 2024 (6 months)")
    assert figures["referrals"] == "40" and figures["re_referral_rate_pct"] == "25.0%"
    assert figures["passed_back_again"] == WITHHELD  # withheld in the table: withheld in words, never a guess
    assert figures["children_with_warning_signs"] == "12"
    reviews = unescape(re.sub(r"<[^>]+>", "", figures["reviews"]))
    assert "R1, chronologies due 01 September 2024: 1 of 2 agencies asked have sent their chronology" in reviews
    assert "missing: Early help" in reviews and "involved not asked: Education welfare" in reviews


def test_no_code_is_shown_where_a_name_exists():
    codes = set(vocabulary.agencies()) | set(vocabulary.event_types()) | set(vocabulary.warning_signs()) | {
        "nfa", "early_help", "s47", "strategy_discussion", "step_up", "step_down"}
    texts = _texts(_page(_tables()))
    assert not [t for t in texts if t in codes]
    for code in ("police", "school", "hv"):
        assert vocabulary.agency_name(code, short=True) in texts
    assert vocabulary.agency_name("ews") in texts  # the readiness grid: the full name
    assert vocabulary.outcome_label("early_help") in texts and vocabulary.sign_label("referrals_passed_back_repeatedly") in texts


def test_monthly_charts_run_continuously_over_the_period():
    page = _page(_tables())
    chart = re.search(r'<figure class="chart" id="referrals".*?</figure>', page, re.S).group(0)
    x = {m: float(v) for v, m, n in re.findall(
        r'<rect class="mark" x="([\d.]+)"[^>]*><title>(\d{4}-\d\d): referrals (\d+)', chart) if n != "0"}
    assert set(x) == {"2024-01", "2024-06"}
    slot = (x["2024-06"] - x["2024-01"]) / 5  # five months apart on the axis, not adjacent bars
    width = float(re.search(r'viewBox="0 0 (\d+)', chart).group(1))
    assert slot == pytest.approx((width - 48 - 10) / 6, rel=0.01)  # six months in the period, none skipped


def test_an_empty_section_says_why_and_definitions_are_plain_with_the_technical_detail_folded():
    page = _page(_tables())
    flows = re.search(r'<figure class="chart" id="board_plan_flows".*?</figure>', page, re.S).group(0)
    assert "No plan started, changed level or ended in the period." in flows
    missing = _page([t for t in _tables() if t.name != "board_warning_signs"])
    assert "this warehouse has no board.board_warning_signs table" in missing
    referrals = re.search(r'<figure class="chart" id="referrals".*?</figure>', page, re.S).group(0)
    assert "<b>What this shows.</b> How many referrals" in referrals
    assert re.search(r"<details><summary>Technical detail</summary><div class=.technical.>Technical definition\..*?</details>", referrals, re.S)
    assert "@media print" in page and "@page" in page and "break-inside: avoid" in page


def test_a_withheld_headline_figure_is_said_to_be_withheld():
    page = _page(_tables((date(2024, 1, 1), date(2024, 6, 30), 40, None, 20, None, None, None)))
    figures = _figures(page)
    assert figures["re_referral_rate_pct"] == WITHHELD and figures["children_with_warning_signs"] == WITHHELD


# ---- against a pipeline run: the headline's figures are the definitions' values ----------------

def _by_hand(con) -> dict:
    """The headline from marts.fct_referrals' dates and outcomes with the definitions written out
    here (not the models' flags): a re-referral is a referral within 12 months of the same child's
    previous one (on or after the same calendar day a year before; 29 February -> 28 February, the
    DfE census definition); passed back again is a referral passed back (early help or no further action)
    for a child passed back before."""
    rows = con.execute("select child_key, referral_date, outcome from marts.fct_referrals "
                       "order by child_key, referral_date").fetchall()
    previous, passed_before = {}, defaultdict(int)
    re_referrals = passed_back_again = 0
    for child, day, outcome in rows:
        a_year_before = day.replace(year=day.year - 1, day=28) if (day.month, day.day) == (2, 29) else \
            day.replace(year=day.year - 1)
        if child in previous and previous[child] >= a_year_before:
            re_referrals += 1
        previous[child] = day
        if outcome in ("early_help", "nfa"):
            passed_back_again += passed_before[child] >= 1
            passed_before[child] += 1
    first, last = min(r[1] for r in rows), max(r[1] for r in rows)
    period_end = (last.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)  # the month's last day
    signs = con.execute("select count(distinct child_key) from audit.audit_warning_signs where sign_date between ? and ?",
                        [first.replace(day=1), period_end]).fetchone()[0]
    return {"referrals": len(rows), "re_referrals": re_referrals, "passed_back_again": passed_back_again,
            "children_with_warning_signs": signs, "first": first, "last": last}


@pytest.mark.slow
def test_the_headline_equals_the_definitions_computed_by_hand(generated_run):
    con = duckdb.connect(str(generated_run.settings.warehouse), read_only=True)
    truth = _by_hand(con)
    (row,) = con.execute("select * from board.board_headline").fetchall()
    published = dict(zip([d[0] for d in con.description], row))
    assert published["period_start"] == truth["first"].replace(day=1)
    assert published["period_end"].strftime("%Y-%m") == truth["last"].strftime("%Y-%m")
    threshold = board_min_count()
    shown = 0
    for key in ("referrals", "re_referrals", "passed_back_again", "children_with_warning_signs"):
        if published[key] is None:
            assert truth[key] < threshold or key != "referrals", key  # withheld only for a reason
            continue
        shown += 1
        assert published[key] == truth[key], key
    assert shown >= 3  # a run this size publishes the headline
    page = (generated_run.settings.reports_dir / "board" / "board_report.html").read_text()
    figures = _figures(page)
    assert figures["referrals"] == f"{truth['referrals']:,}"
    if published["re_referrals"] is not None:
        assert figures["re_referral_rate_pct"] == f"{100 * truth['re_referrals'] / truth['referrals']:.1f}%"


def test_before_the_first_referral_the_headline_says_there_is_nothing_to_report():
    tables = [_table(t.name, t.columns, [] if t.name != "board_review_readiness" else t.rows) for t in _tables()]
    page = _page(tables)
    assert "No referral has been recorded yet, so there is no period to report on." in page
    assert "No referral was recorded in any month, so there is nothing to count." in page
