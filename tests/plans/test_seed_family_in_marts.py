"""The generator's seed-modelled families (casehistory/synth/scenarios.py) as the plan marts and
the warning-sign audit show them: what went wrong in the Baby E review is visible in the data.

Children are found by their NHS number in the generator's ground truth, through the restricted
chronology; every assertion is on the pseudonymised marts and audit tables.
"""

from __future__ import annotations

import csv
from datetime import date

import pytest

from casehistory import warehouse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(generated_run):
    with (generated_run.demo.ground_truth / "persons.csv").open(newline="", encoding="utf-8") as f:
        persons = list(csv.DictReader(f))
    return generated_run.settings, persons


def _keys(built, scenario: str, forename: str) -> list[str]:
    """The child_key(s) the records of this scenario child were linked to (by NHS number)."""
    settings, persons = built
    nhs = next(p["nhs_number"] for p in persons if p["scenario"] == scenario and p["forename"] == forename)
    with warehouse.store(settings, read_only=True) as con:
        keys = [r[0] for r in con.execute(
            "select distinct child_key from restricted.restricted_child_chronology where nhs_number = ? and not via_household", [nhs]).fetchall()]
    assert keys, f"{forename} ({scenario}) is not in the chronology"
    return keys


def _query(built, sql: str, params: list) -> list[tuple]:
    with warehouse.store(built[0], read_only=True) as con:
        return con.execute(sql, params).fetchall()


def _signs(built, keys: list[str]) -> dict[str, list[date]]:
    out: dict[str, list[date]] = {}
    for sign, day in _query(built, "select sign, sign_date from audit.audit_warning_signs where list_contains(?, child_key) "
                                   "order by sign_date", [keys]):
        out.setdefault(sign, []).append(day)
    return out


def test_the_babys_early_help_plan_closes_after_the_complaint(built):
    baby = _keys(built, "baby_e", "Albie")
    rows = _query(built, """select start_date, end_date, closure_reason, lead_professionals_max
                            from marts.fct_plan_episodes where list_contains(?, child_key) and plan_type = 'early_help'""", [baby])
    assert rows == [(date(2023, 12, 4), date(2024, 10, 12), "withdrew_consent", 2)]
    assert _signs(built, baby)["plan_closed_after_complaint"] == [date(2024, 10, 12)]


def test_two_lead_professionals_at_once(built):
    baby = _keys(built, "baby_e", "Albie")
    counts = dict(_query(built, """select status_date, lead_professional_count from marts.fct_plan_status_daily
                                   where list_contains(?, child_key) and status_date in ('2024-01-08', '2024-01-09')""", [baby]))
    assert counts == {date(2024, 1, 8): 0, date(2024, 1, 9): 2}
    signs = _signs(built, baby)
    assert signs["lead_professional_doubled"] == [date(2024, 1, 9)]
    # named five weeks after the plan started: missing for the first 28 days
    assert signs["lead_professional_missing"] == [date(2023, 12, 31)]


def test_the_cancelled_meeting_is_never_rebooked(built):
    baby = _keys(built, "baby_e", "Albie")
    evidence = _query(built, """select sign_date, evidence from audit.audit_warning_signs
                                where list_contains(?, child_key) and sign = 'meeting_cancelled_not_rebooked'""", [baby])
    assert [(d, e.startswith("tac_meeting cancelled on 2024-09-11")) for d, e in evidence] == [(date(2024, 10, 9), True)]


def test_the_new_baby_is_not_on_his_brothers_plan(built):
    baby, brother = _keys(built, "baby_e", "Albie"), _keys(built, "baby_e", "Kai")
    born = date(2023, 8, 24)
    on_plan = _query(built, """select child_key, plan_type from marts.fct_plan_status_daily, unnest(plan_types_open) as t(plan_type)
                               where status_date = ? and list_contains(?, child_key)""", [born, baby + brother])
    assert {t for k, t in on_plan if k in brother} == {"early_help"}
    assert [t for k, t in on_plan if k in baby] == []
    assert _signs(built, baby)["new_baby_not_on_plan"] == [date(2023, 9, 21)]


def test_the_other_baby_e_signs(built):
    signs = _signs(built, _keys(built, "baby_e", "Albie"))
    # five referrals passed back: the third, fourth and fifth within a year make three in a year
    assert signs["referrals_passed_back_repeatedly"] == [date(2024, 1, 15), date(2024, 4, 2), date(2024, 9, 8)]
    assert signs["cancelled_or_no_access_visits"] == [date(2024, 6, 18)]
    # the father's adult services involvement during the plan; adult services never at a meeting
    assert signs["adult_services_parent_not_in_plan"] == [date(2024, 2, 26)]


def test_js_family_signs_and_plans(built):
    js = _keys(built, "js_family", "Jaxon")
    # visible by the third absence of the scenario at the latest (the generated background adds earlier ones)
    assert _signs(built, js)["persistent_school_absence"][0] <= date(2023, 7, 22)
    plans = _query(built, """select plan_type, cp_category, start_date, is_open from marts.fct_plan_episodes
                             where list_contains(?, child_key) order by start_date""", [js])
    assert plans == [("cp", "NEG", date(2024, 9, 2), True), ("lac", None, date(2024, 10, 14), True)]
    steps = _query(built, """select transition_date, from_level, to_level, direction from marts.fct_plan_transitions
                             where list_contains(?, child_key) order by transition_date""", [js])
    assert steps == [(date(2024, 9, 2), 0, 3, "start"), (date(2024, 10, 14), 3, 4, "step_up")]


def test_js_familys_baby_is_left_off_the_siblings_plans(built):
    # Teddy is two months old when his three older brothers go on child protection plans; he does not
    teddy = _keys(built, "js_family", "Teddy")
    assert _query(built, "select count(*) from marts.fct_plan_episodes where list_contains(?, child_key)", [teddy]) == [(0,)]
    assert _signs(built, teddy)["new_baby_not_on_plan"] == [date(2024, 9, 30)]
    # Louie, two and a half, is on the plan with his brothers: not a new baby left off
    louie = _keys(built, "js_family", "Louie")
    assert "new_baby_not_on_plan" not in _signs(built, louie)


def test_no_names_in_the_evidence(built):
    _, persons = built
    names = {p[k].lower() for p in persons for k in ("forename", "surname") if p[k]}
    evidence = [e.lower() for (e,) in _query(built, "select evidence from audit.audit_warning_signs", [])]
    assert evidence
    assert [e for e in evidence if any(word in names for word in e.replace(",", " ").replace(":", " ").split())] == []
