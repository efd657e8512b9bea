"""Plans that start and end on one day, an end with no start, and plans closed by a case closure,
sent on the chronology template and run through the pipeline: every plan table, the board's plan
flows, review status, warning signs and what was known at a referral decision agree (issue 33,
items 4 and 5). Every expected value is worked out by hand from the rules in docs/plans.md:

- a plan is open from its start day up to but not including its end day, and a plan started and
  ended on one day is open on that one day (days_open 1); its transitions are a start that day and
  an end the next;
- within one day, with no plan of the type open, the start comes before the end (one episode);
- a case closure closes an open child in need or protection plan with no end of its own;
- an end with nothing open is kept with start_recorded false and is in no status.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta

import pytest

from casehistory import warehouse
from casehistory.dbt_command import run_dbt
from casehistory.settings import Settings
from tests.conftest import RUN_DATE, run_pipeline

pytestmark = pytest.mark.slow

HEADER = ["agency", "record_id", "subject_ref", "date_of_birth", "person_role", "event_date", "event_type",
          "outcome", "related_agency"]
# five children, each on an early help plan that starts and ends on one day, 4 to 8 March 2024
ONE_DAY_EARLY_HELP = {f"EH-{n}": date(2024, 3, 3 + n) for n in range(1, 6)}


def _rows() -> list[list[str]]:
    rows = []
    for ref, day in ONE_DAY_EARLY_HELP.items():
        # the end listed first, as an extract sorted by event type would give it
        rows.append(["eh", f"{ref}-end", ref, "2016-05-01", "child", day.isoformat(), "early_help_end", "completed", ""])
        rows.append(["eh", f"{ref}-start", ref, "2016-05-01", "child", day.isoformat(), "early_help_start", "", ""])
    rows += [
        # a child in need plan closed by a case closure on the day it started
        ["csc", "C6-close", "CSC-6", "2015-02-01", "child", "2024-05-01", "case_closure", "RC8", ""],
        ["csc", "C6-start", "CSC-6", "2015-02-01", "child", "2024-05-01", "cin_plan_start", "", ""],
        # a child in need plan closed by a case closure four weeks on, with referrals before and after
        ["csc", "C7-start", "CSC-7", "2015-03-01", "child", "2024-06-03", "cin_plan_start", "", ""],
        ["csc", "C7-ref1", "CSC-7", "2015-03-01", "child", "2024-06-20", "referral", "assessment", "school"],
        ["csc", "C7-close", "CSC-7", "2015-03-01", "child", "2024-07-01", "case_closure", "RC1", ""],
        ["csc", "C7-ref2", "CSC-7", "2015-03-01", "child", "2024-08-01", "referral", "nfa", "school"],
        # an end with no start
        ["csc", "C8-end", "CSC-8", "2015-04-01", "child", "2024-09-02", "cp_plan_end", "", ""],
    ]
    return rows


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Settings:
    tmp = tmp_path_factory.mktemp("one_day_plans")
    drop = tmp / "drop"
    drop.mkdir()
    with (drop / "chronology_plans.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(_rows())
    settings = Settings(extracts=drop, warehouse=tmp / "wh.duckdb", run_date=RUN_DATE)
    run_pipeline(settings)
    return settings


def _query(settings: Settings, sql: str) -> list[tuple]:
    with warehouse.store(settings, read_only=True) as con:
        return con.execute(sql).fetchall()


def _by_ref(settings: Settings) -> dict[str, str]:
    """subject_ref -> child_key, through the identity tables (restricted store)."""
    return dict(_query(settings, """select distinct r.subject_ref, sp.person_key
                                    from identity.subject_records r
                                    join identity.subject_person sp using (subject_key)"""))


def test_every_plan_is_closed_with_the_days_it_was_open(built):
    key = _by_ref(built)
    got = {row[0]: row[1:] for row in _query(built, """
        select child_key, plan_type, start_date, end_date, is_open, days_open, closed_by_event_type, closure_reason,
               start_recorded, is_review_overdue
        from marts.fct_plan_episodes""")}
    want = {key[ref]: ("early_help", day, day, False, 1, "early_help_end", "completed", True, None)
            for ref, day in ONE_DAY_EARLY_HELP.items()}
    want[key["CSC-6"]] = ("cin", date(2024, 5, 1), date(2024, 5, 1), False, 1, "case_closure", "RC8", True, None)
    # open 3 June up to (not including) 1 July: 27 days of June from the 3rd, 28 with the 30th counted
    want[key["CSC-7"]] = ("cin", date(2024, 6, 3), date(2024, 7, 1), False, 28, "case_closure", "RC1", True, None)
    want[key["CSC-8"]] = ("cp", date(2024, 9, 2), date(2024, 9, 2), False, None, "cp_plan_end", None, False, None)
    assert got == want


def test_daily_status_holds_each_one_day_plan_on_its_day_and_never_overdue(built):
    key = _by_ref(built)
    days = _query(built, """select child_key, status_date, highest_level, review_overdue, lead_professional_count
                            from marts.fct_plan_status_daily""")
    want = {(key[ref], day, 1, False, 0) for ref, day in ONE_DAY_EARLY_HELP.items()}
    want.add((key["CSC-6"], date(2024, 5, 1), 2, False, 0))
    want |= {(key["CSC-7"], date(2024, 6, 3) + timedelta(days=n), 2, False, 0) for n in range(28)}
    assert len(days) == len(want) == 5 + 1 + 28
    assert set(days) == want


def test_transitions_start_on_the_day_and_end_the_next(built):
    key = _by_ref(built)
    got = set(_query(built, "select child_key, transition_date, from_level, to_level, direction from marts.fct_plan_transitions"))
    want = set()
    for ref, day in ONE_DAY_EARLY_HELP.items():
        want |= {(key[ref], day, 0, 1, "start"), (key[ref], day + timedelta(days=1), 1, 0, "end")}
    want |= {(key["CSC-6"], date(2024, 5, 1), 0, 2, "start"), (key["CSC-6"], date(2024, 5, 2), 2, 0, "end"),
             (key["CSC-7"], date(2024, 6, 3), 0, 2, "start"), (key["CSC-7"], date(2024, 7, 1), 2, 0, "end")}
    assert got == want


def test_board_plan_flows_count_the_one_day_plans_ending(built):
    """Five early help plans start and end in March 2024: five starts and five ends, both at the
    board's threshold (5), so shown."""
    march = _query(built, """select direction, from_level, to_level, transitions, is_suppressed
                             from board.board_plan_flows where month = date '2024-03-01' order by direction""")
    assert march == [("end", 1, 0, 5, False), ("start", 0, 1, 5, False)]


def test_no_warning_sign_from_a_plan_open_one_day(built):
    """Open for ever, the one-day early help plans would have had no lead professional for 28 days."""
    assert _query(built, "select sign, count(*) from audit.audit_warning_signs group by sign") == []


def test_a_plan_closed_by_a_case_closure_is_not_open_at_a_later_decision(built):
    key = _by_ref(built)
    got = _query(built, f"""select referral_date, known_at_decision_open_plans from marts.fct_referrals
                            where child_key = '{key["CSC-7"]}' order by referral_date""")
    assert got == [(date(2024, 6, 20), 1), (date(2024, 8, 1), 0)]


def test_plan_status_on_a_date_counts_a_one_day_plan_on_its_day(built, tmp_path):
    """The macro plan_status_on(date) (compiled by dbt, run here) agrees with the daily table."""
    key = _by_ref(built)
    days = [date(2024, 3, 4), date(2024, 3, 5), date(2024, 5, 1), date(2024, 5, 2), date(2024, 9, 2)]
    inline = " union all ".join(f"{{{{ plan_status_on(\"date '{day}'\") }}}}" for day in days)
    log = tmp_path / "plan_status_on.sql"
    code = run_dbt(built, ["compile", "--quiet", "--inline", inline], target=tmp_path / "target", log_file=log)
    assert code == 0, log.read_text()
    with warehouse.store(built, read_only=True) as con:
        rows = con.execute(log.read_text()).fetchall()
    status = {day: {(row[0], row[2]) for row in rows if row[1] == day} for day in days}
    assert status == {
        date(2024, 3, 4): {(key["EH-1"], 1)},
        date(2024, 3, 5): {(key["EH-2"], 1)},  # EH-1's plan is not open the day after its one day
        date(2024, 5, 1): {(key["CSC-6"], 2)},
        date(2024, 5, 2): set(),
        date(2024, 9, 2): set(),  # an end with no start is in no status
    }
