"""Each suite of the three groups (conformance, plausibility, review readiness) passes on clean
data and fails on each fault planted in it, check by check; a suite whose table does not exist
yet is recorded as not run, never as passed."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from casehistory import warehouse
from casehistory.settings import Settings
from casehistory.vocabulary import write_reference_tables
from expectations.runner import run_suites
from expectations.suites import (CHILD_EVENTS, CHILD_LIFE, EXTRACT_ROWS, GROUPS, PEOPLE, PLAN_EPISODES,
                                 REVIEW_READINESS, SOURCE_LOADS, SUITES)

RUN_DATE = date(2026, 1, 15)


def _settings(tmp_path) -> Settings:
    return Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb", run_date=RUN_DATE)


def _failed(outcome) -> set[str]:
    return {r["check_name"] for r in outcome.results if r["outcome"] == "failed"}


def _table(settings: Settings, name: str, columns: str, rows: list[tuple]) -> None:
    with warehouse.store(settings) as con:
        con.execute(f"create schema if not exists {name.split('.')[0]}")
        con.execute(f"create or replace table {name} ({columns})")
        if rows:
            con.executemany(f"insert into {name} values ({', '.join('?' * len(rows[0]))})", rows)


def test_every_suite_belongs_to_one_of_the_three_groups():
    assert {s.group for s in SUITES} == set(GROUPS)
    assert all(c.severity in ("error", "warn") for s in SUITES for c in s.checks)


# ---- conformance: the rows and loads since the last passing checks, against schema and vocabulary --

CHECKED_THROUGH = 10  # the last run whose checks passed read the ledger up to this event ledger id
CHECKED_AT = datetime(2026, 1, 14, 2, 30)  # ... at this time
GOOD_ROWS = [(11, "csc", "referral", date(2024, 3, 1), "CSC1", "s47", "run1/csc"),
             (12, "school", "school_absence", date(2024, 4, 1), "ADM1", "unauthorised", "run1/school"),
             # loaded by a run killed before its checks (no ledger.loads row: killed mid-source)
             (13, "eh", "tac_meeting", date(2024, 5, 1), "EH-1", "held", "killed/eh"),
             (10, "police", "referral", date(2024, 5, 1), "PN1", "s47", "run0/police")]  # checked before: not again


def _checks_passed(settings: Settings, *marks: tuple) -> None:
    _table(settings, "quality.checks_passed", "run_id varchar, checked_at timestamp, through_ledger_id bigint",
           list(marks))


def _extract(settings: Settings, rows, marks=(("run0", CHECKED_AT, CHECKED_THROUGH),)) -> None:
    with warehouse.store(settings) as con:
        write_reference_tables(con)
    _checks_passed(settings, *marks)
    _table(settings, "ledger.event_records", "source varchar, ledger_id bigint, agency varchar, event_type varchar, "
           "event_date date, subject_ref varchar, outcome varchar, load_id varchar", [("src",) + r for r in rows])


def test_the_extract_suite_passes_on_clean_rows(tmp_path):
    settings = _settings(tmp_path)
    _extract(settings, GOOD_ROWS)
    outcome = run_suites(settings, "run1", [EXTRACT_ROWS])
    assert _failed(outcome) == set() and len(outcome.results) == len(EXTRACT_ROWS.checks)
    # the rows after ledger id 10, the killed run's included; not the row checked before
    assert {r["element_count"] for r in outcome.results} == {3}


def test_the_extract_suite_starts_after_the_last_passing_checks_or_checks_everything_before_any(tmp_path):
    settings = _settings(tmp_path)
    _extract(settings, GOOD_ROWS, marks=(("run0", CHECKED_AT, 10), ("run-1", datetime(2026, 1, 13), 7)))
    assert {r["element_count"] for r in run_suites(settings, "run1", [EXTRACT_ROWS]).results} == {3}
    _extract(settings, GOOD_ROWS, marks=())  # no run's checks have passed yet: every row
    assert {r["element_count"] for r in run_suites(settings, "run1", [EXTRACT_ROWS]).results} == {4}


EXTRACT_FAULTS = [
    ((14, "housing_assoc", "referral", date(2024, 1, 1), "X1", None, "L1"), "agency_known", "error"),
    ((14, "csc", "visit", date(2024, 1, 1), "X1", None, "L1"), "event_type_known", "error"),
    ((14, "eh", "tac_meeting", date(2024, 1, 1), "X1", "postponed", "L1"), "outcome_allowed", "warn"),
    ((14, "csc", "referral", date(2024, 1, 1), None, None, "L1"), "subject_present", "error"),
    ((14, "csc", "referral", None, "X1", None, "L1"), "event_date_present_in_extract", "error"),
]


@pytest.mark.parametrize("bad, check, severity", EXTRACT_FAULTS)
def test_the_extract_suite_fails_on_each_planted_fault(tmp_path, bad, check, severity):
    settings = _settings(tmp_path)
    _extract(settings, GOOD_ROWS + [bad])
    outcome = run_suites(settings, "run1", [EXTRACT_ROWS])
    assert _failed(outcome) == {check}
    assert (outcome.errors_failed if severity == "error" else outcome.warnings_failed) == [f"extract_rows.{check}"]


def test_a_fault_the_last_passing_checks_read_is_not_checked_again(tmp_path):
    settings = _settings(tmp_path)
    _extract(settings, GOOD_ROWS + [(9, "csc", "visit", date(2024, 1, 1), "X1", None, "run0/csc")])
    assert _failed(run_suites(settings, "run1", [EXTRACT_ROWS])) == set()


LOADS_COLUMNS = ("run_id varchar, source varchar, started_at timestamp, rows_read bigint, rows_quarantined bigint, "
                 "files_rejected integer, files_seen integer, rows_loaded_in_part bigint")
TONIGHT = datetime(2026, 1, 15, 2, 5)
GOOD_LOADS = [("run1", "csc_mosaic", TONIGHT, 100, 1, 0, 1, 4), ("run1", "school_census", TONIGHT, 50, 0, 0, 1, 0),
              ("run1", "police_niche", TONIGHT, 0, 0, 0, 0, 0),   # no file this run: not checked
              ("killed", "hv_rio", datetime(2026, 1, 14, 23, 0), 20, 0, 0, 1, 0),  # a run killed since: checked
              ("run0", "eh_liquidlogic", datetime(2026, 1, 14, 2, 10), 10, 9, 1, 1, 0)]  # checks passed since: not
LOADS_FAULTS = [(("run1", "broken", TONIGHT, 0, 0, 1, 1, 0), "files_readable"),
                (("run1", "noisy", TONIGHT, 100, 30, 0, 1, 0), "quarantine_rate_low"),
                # 1 row quarantined whole and 5 loaded in part of 100: 6% with something held back
                (("run1", "one_event_broken", TONIGHT, 100, 1, 0, 1, 5), "quarantine_rate_low")]


def test_the_source_loads_suite_passes_on_clean_loads(tmp_path):
    settings = _settings(tmp_path)
    _checks_passed(settings, ("run0", CHECKED_AT, CHECKED_THROUGH))
    _table(settings, "ledger.loads", LOADS_COLUMNS, GOOD_LOADS)
    outcome = run_suites(settings, "run1", [SOURCE_LOADS])
    assert _failed(outcome) == set() and len(outcome.results) == len(SOURCE_LOADS.checks)
    # the loads that received files since the last passing checks: tonight's two and the killed run's
    assert {r["element_count"] for r in outcome.results} == {3}


@pytest.mark.parametrize("bad, check", LOADS_FAULTS)
def test_the_source_loads_suite_fails_on_each_planted_fault(tmp_path, bad, check):
    settings = _settings(tmp_path)
    _checks_passed(settings, ("run0", CHECKED_AT, CHECKED_THROUGH))
    _table(settings, "ledger.loads", LOADS_COLUMNS, GOOD_LOADS + [bad])
    outcome = run_suites(settings, "run1", [SOURCE_LOADS])
    assert _failed(outcome) == {check}
    assert outcome.warnings_failed == [f"source_loads.{check}"] and outcome.errors_failed == []


# ---- plausibility: ledger and marts ------------------------------------------------------------

GOOD_EVENTS = [("e1", "k1", "referral", date(2024, 3, 1), 3, 2), ("e2", "k1", "tac_meeting", date(2024, 4, 1), 3, 1),
               ("e3", "k2", "birth", date(2023, 8, 24), 0, 1)]
EVENT_COLUMNS = ("event_id varchar, child_key varchar, event_type varchar, event_date date, age_at_event integer, "
                 "records integer")
# (the chronology with the fault planted, the one check that must fail, its severity)
CHILD_EVENT_FAULTS = [
    ([], "chronology_not_empty", "error"),
    (GOOD_EVENTS + [("e1", "k3", "referral", date(2024, 1, 1), 3, 1)], "event_id_unique", "error"),
    (GOOD_EVENTS + [("e9", None, "referral", date(2024, 1, 1), 3, 1)], "child_key_present", "error"),
    (GOOD_EVENTS + [("e9", "k3", "referral", None, 3, 1)], "event_date_present", "error"),
    (GOOD_EVENTS + [("e9", "k3", "visit", date(2024, 1, 1), 3, 1)], "event_type_in_vocabulary", "error"),
    (GOOD_EVENTS + [("e9", "k3", "referral", date(2055, 1, 1), 3, 1)], "event_date_not_in_future", "error"),
    (GOOD_EVENTS + [("e9", "k3", "cp_plan_start", date(1970, 2, 17), 3, 1)], "event_date_since_1990", "warn"),
    (GOOD_EVENTS + [("e9", "k3", "referral", date(2024, 1, 1), 41, 1)], "age_at_event_plausible", "warn"),
]


def test_the_child_events_suite_passes_on_a_clean_chronology(tmp_path):
    settings = _settings(tmp_path)
    _table(settings, "marts.fct_child_events", EVENT_COLUMNS, GOOD_EVENTS)
    outcome = run_suites(settings, "run1", [CHILD_EVENTS])
    assert _failed(outcome) == set() and len(outcome.results) == len(CHILD_EVENTS.checks)


@pytest.mark.parametrize("events, check, severity", CHILD_EVENT_FAULTS)
def test_the_child_events_suite_fails_on_each_planted_fault(tmp_path, events, check, severity):
    """An error holds the analyst warehouse back; a warning (an old date, an odd age) is reported only."""
    settings = _settings(tmp_path)
    _table(settings, "marts.fct_child_events", EVENT_COLUMNS, events)
    outcome = run_suites(settings, "run1", [CHILD_EVENTS])
    assert _failed(outcome) == {check}
    assert (outcome.errors_failed if severity == "error" else outcome.warnings_failed) == [f"child_events.{check}"]


EVENTS = [("e1", "k1", "referral", date(2024, 3, 1), False), ("e2", "k1", "tac_meeting", date(2024, 4, 1), False),
          ("e3", "k2", "birth", date(2023, 8, 24), False), ("e4", "k2", "death", date(2024, 1, 5), False),
          ("e5", "k2", "case_closure", date(2024, 2, 1), False),   # closing the case after a death is expected
          ("e6", "k1", "police_incident", date(2019, 1, 1), True)]  # a parent's, before the child's birth


def _life(settings: Settings, extra_events=(), extra_people=()) -> None:
    with warehouse.store(settings) as con:
        write_reference_tables(con)
    _table(settings, "marts.fct_child_events", "event_id varchar, child_key varchar, event_type varchar, "
           "event_date date, via_household boolean", EVENTS + list(extra_events))
    people = [("p1", "k1", date(2020, 5, 1)), ("p2", "k2", date(2023, 8, 24))] + list(extra_people)
    _table(settings, "intermediate.int_persons__profile", "person_id varchar, person_key varchar, date_of_birth date",
           people)
    _table(settings, "intermediate.int_events__attributed", "ledger_id bigint, person_id varchar",
           [(1, "p1"), (2, "p1"), (3, "p2")])


def test_the_plausibility_suites_pass_on_clean_data(tmp_path):
    settings = _settings(tmp_path)
    _life(settings)
    outcome = run_suites(settings, "run1", [CHILD_LIFE, PEOPLE])
    assert _failed(outcome) == set() and len(outcome.results) == len(CHILD_LIFE.checks) + len(PEOPLE.checks)


LIFE_FAULTS = [
    ([("e9", "k1", "school_absence", date(2019, 6, 1), False)], [], "no_event_before_birth"),
    ([("e9", "k2", "referral", date(2024, 6, 1), False)], [], "no_event_after_death"),
    ([], [("p3", "k3", date(2021, 1, 1))], "persons_have_events"),
]


@pytest.mark.parametrize("events, people, check", LIFE_FAULTS)
def test_the_plausibility_suites_fail_on_each_planted_fault(tmp_path, events, people, check):
    settings = _settings(tmp_path)
    _life(settings, events, people)
    outcome = run_suites(settings, "run1", [CHILD_LIFE, PEOPLE])
    assert _failed(outcome) == {check}


# marts.fct_plan_episodes as the interface contract gives it (built on branch issue-5b)
PLAN_COLUMNS = ("plan_episode_id varchar, child_key varchar, plan_type varchar, level integer, cp_category varchar, "
                "start_date date, end_date date, is_open boolean, closure_reason varchar, "
                "lead_professionals_max integer, days_without_lead_professional integer")


def _plan(plan_id, child, plan_type, start, end, cp_category=None):
    level = {"early_help": 1, "cin": 2, "cp": 3, "lac": 4}[plan_type]
    return (plan_id, child, plan_type, level, cp_category, start, end, end is None,
            None if end is None else "plan_ended", 1, 0)


PLANS = [_plan("pe1", "k1", "cp", date(2024, 1, 1), date(2024, 6, 1), "NEG"),
         _plan("pe2", "k1", "cp", date(2024, 6, 1), None, "EMO"),   # starts the day the first ends: not an overlap
         _plan("pe3", "k1", "cin", date(2024, 2, 1), date(2024, 9, 1)),  # a cin plan beside a cp plan is fine
         _plan("pe4", "k2", "cp", date(2024, 3, 1), None, "PHY")]   # another child's plan of the same type
PLAN_FAULTS = [
    (_plan("pe9", "k2", "lac", date(2024, 5, 1), date(2024, 4, 1)), "plan_ends_after_start"),
    (_plan("pe9", "k1", "cp", date(2024, 3, 1), date(2024, 4, 1), "NEG"), "plans_of_a_type_do_not_overlap"),
    # within the still-open plan pe2
    (_plan("pe9", "k1", "cp", date(2025, 1, 1), date(2025, 2, 1), "NEG"), "plans_of_a_type_do_not_overlap"),
]


def test_the_plan_suite_passes_on_clean_plans(tmp_path):
    settings = _settings(tmp_path)
    _table(settings, "marts.fct_plan_episodes", PLAN_COLUMNS, PLANS)
    outcome = run_suites(settings, "run1", [PLAN_EPISODES])
    assert _failed(outcome) == set() and {r["outcome"] for r in outcome.results} == {"passed"}
    assert {r["element_count"] for r in outcome.results} == {len(PLANS)}


@pytest.mark.parametrize("bad, check", PLAN_FAULTS)
def test_the_plan_suite_fails_on_each_planted_fault(tmp_path, bad, check):
    settings = _settings(tmp_path)
    _table(settings, "marts.fct_plan_episodes", PLAN_COLUMNS, PLANS + [bad])
    outcome = run_suites(settings, "run1", [PLAN_EPISODES])
    assert _failed(outcome) == {check}
    severity = next(c.severity for c in PLAN_EPISODES.checks if c.name == check)
    assert (outcome.errors_failed if severity == "error" else outcome.warnings_failed) == [f"plan_episodes.{check}"]


def test_the_plan_suite_is_recorded_as_not_run_while_its_table_does_not_exist(tmp_path):
    settings = _settings(tmp_path)
    outcome = run_suites(settings, "run1", [PLAN_EPISODES])
    assert outcome.not_run == [f"plan_episodes.{c.name}" for c in PLAN_EPISODES.checks]
    assert outcome.errors_failed == [] and outcome.warnings_failed == []
    assert not any(r["success"] for r in outcome.results)  # never counted as passed
    with warehouse.store(settings, read_only=True) as con:
        rows = con.execute("select outcome, success, exception from quality.check_results").fetchall()
    assert {(o, s) for o, s, _ in rows} == {("not_run", False)}
    assert all("marts.fct_plan_episodes does not exist" in e for _, _, e in rows)


# ---- review readiness --------------------------------------------------------------------------

# audit.review_readiness as the interface contract gives it
READINESS_COLUMNS = ("review_id varchar, agency varchar, asked boolean, status varchar, first_entry_date date, "
                     "last_entry_date date, scope_start date, scope_end date, deadline date, evidence varchar")


def _readiness(review_id, agency, status, deadline):
    entries = (None, None) if status in ("missing", "involved_not_asked") else (date(2024, 1, 5), date(2025, 6, 1))
    return (review_id, agency, status != "involved_not_asked", status, *entries, date(2024, 1, 1),
            date(2025, 6, 30), deadline, f"{agency}: 3 records in scope")


READY = [_readiness("R1", "csc", "received", date(2026, 2, 1)), _readiness("R1", "eh", "received", date(2026, 2, 1)),
         _readiness("R2", "eh", "missing", date(2026, 9, 1))]  # due long after the window: not checked tonight
READINESS_FAULTS = [("missing", "chronologies_received"), ("sent_unreadable", "chronologies_received"),
                    ("involved_not_asked", "involved_agencies_asked"),
                    ("late", "chronologies_on_time_and_whole"), ("partial", "chronologies_on_time_and_whole")]


def test_the_readiness_suite_passes_when_every_review_in_its_window_is_complete(tmp_path):
    settings = _settings(tmp_path)
    _table(settings, "audit.review_readiness", READINESS_COLUMNS, READY)
    outcome = run_suites(settings, "run1", [REVIEW_READINESS])
    assert _failed(outcome) == set() and {r["element_count"] for r in outcome.results} == {2}


@pytest.mark.parametrize("status, check", READINESS_FAULTS)
def test_the_readiness_suite_fails_on_each_gap_within_the_window(tmp_path, status, check):
    settings = _settings(tmp_path)
    _table(settings, "audit.review_readiness", READINESS_COLUMNS,
           READY + [_readiness("R1", "hv", status, date(2026, 2, 1))])
    outcome = run_suites(settings, "run1", [REVIEW_READINESS])
    assert _failed(outcome) == {check}
    assert outcome.warnings_failed == [f"review_readiness.{check}"] and outcome.errors_failed == []


def test_the_readiness_suite_checks_the_review_asked_for_whatever_its_deadline(tmp_path):
    settings = _settings(tmp_path)
    _table(settings, "audit.review_readiness", READINESS_COLUMNS, READY)
    assert _failed(run_suites(settings, "run1", [REVIEW_READINESS], review_id="R2")) == {"chronologies_received"}
    assert _failed(run_suites(settings, "run2", [REVIEW_READINESS], review_id="R1")) == set()


# ---- every check is proven --------------------------------------------------------------------

PLANTED = {
    "source_loads": {check for _, check in LOADS_FAULTS},
    "extract_rows": {check for _, check, _ in EXTRACT_FAULTS},
    "child_events": {check for _, check, _ in CHILD_EVENT_FAULTS},
    "child_life": {check for _, _, check in LIFE_FAULTS} & {c.name for c in CHILD_LIFE.checks},
    "people": {check for _, _, check in LIFE_FAULTS} & {c.name for c in PEOPLE.checks},
    "plan_episodes": {check for _, check in PLAN_FAULTS},
    "review_readiness": {check for _, check in READINESS_FAULTS},
}


def test_every_check_of_every_suite_fails_on_a_fault_planted_above():
    """A new suite or check without a clean-data test and a planted fault fails here."""
    assert {s.name: {c.name for c in s.checks} for s in SUITES} == PLANTED
