"""The generator's family modelled on the Baby E review (casehistory/synth/scenarios.py baby_e)
appears in marts.fct_referrals as the review describes it: five referrals to the front door from
four agencies, every one passed back to early help, the under-three rule firing once three past
referrals had been made, and what the front door had on record at each decision."""

from __future__ import annotations

import csv
from datetime import date

import pytest

from casehistory import warehouse
from tests.conftest import GENERATED_RUN_ID

pytestmark = pytest.mark.slow

BABY_BORN = date(2023, 8, 24)
# the seed review's referrals (scenarios.baby_e): date -> referrer
REFERRALS = {date(2023, 9, 26): "school", date(2023, 10, 28): "gp", date(2024, 1, 15): "hv",
             date(2024, 4, 2): "police", date(2024, 9, 8): "police"}


@pytest.fixture(scope="module")
def built(generated_run):
    return generated_run.settings, generated_run.demo


def _baby_key(settings, demo) -> str:
    """The baby's child_key, through the generator's ground truth: its csc referral records."""
    with (demo.ground_truth / "persons.csv").open() as f:
        baby = next(p["true_person"] for p in csv.DictReader(f)
                    if p["scenario"] == "baby_e" and p["date_of_birth"] == BABY_BORN.isoformat())
    with (demo.ground_truth / "records.csv").open() as f:
        records = [(r["source"], r["record_id"]) for r in csv.DictReader(f)
                   if r["true_person"] == baby and r["agency"] == "csc" and r["event_type"] == "referral"]
    with warehouse.store(settings, read_only=True) as con:
        keys = {con.execute("""select person_key from ledger.event_records e
                               join identity.subject_person s on s.subject_key = e.subject_namespace || ':' || e.subject_ref
                               where e.source = ? and e.record_id = ?""", list(r)).fetchone()[0] for r in records}
    assert len(keys) == 1, keys
    return keys.pop()


def _referrals(settings, child_key) -> list[dict]:
    with warehouse.store(settings, read_only=True) as con:
        cursor = con.execute("select * from marts.fct_referrals where child_key = ? order by referral_number",
                             [child_key])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def test_five_referrals_from_four_agencies_all_passed_back(built):
    settings, demo = built
    rows = _referrals(settings, _baby_key(settings, demo))
    assert {r["referral_date"]: r["source_agency"] for r in rows} == REFERRALS
    assert len({r["source_agency"] for r in rows}) == 4
    assert [r["referral_number"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(r["outcome"] == "early_help" and r["is_passed_to_early_help"] for r in rows)
    assert [r["times_passed_back_before"] for r in rows] == [0, 1, 2, 3, 4]
    # each within 12 months of the one before
    assert [r["is_re_referral"] for r in rows] == [False, True, True, True, True]
    assert [r["referrals_in_previous_12_months"] for r in rows] == [0, 1, 2, 3, 4]


def test_the_under_three_rule_fires_once_three_referrals_are_past(built):
    """"Any referral involving a child under three with three or more past referrals": the fourth
    (2 April 2024) is the first; the fifth, still under three, too."""
    settings, demo = built
    rows = _referrals(settings, _baby_key(settings, demo))
    assert [r["age_at_referral_years"] for r in rows] == [0, 0, 0, 0, 1]
    flagged = [r["referral_date"] for r in rows if r["is_under_three_with_three_or_more"]]
    assert flagged == [date(2024, 4, 2), date(2024, 9, 8)]


def test_what_the_front_door_had_on_record_at_each_decision(built):
    """At the last referral (8 September 2024) the front door had four earlier referrals, the
    early help plan opened in December, the domestic incident at home in March and two of the
    baby's three emergency attendances (the third, in November, had not happened)."""
    settings, demo = built
    rows = _referrals(settings, _baby_key(settings, demo))
    known = [(r["known_at_decision_previous_referrals"], r["known_at_decision_open_plans"],
              r["known_at_decision_police_incidents_12m"], r["known_at_decision_ed_attendances_12m"])
             for r in rows]
    assert known == [(0, 0, 0, 0), (1, 0, 0, 0), (2, 1, 0, 0), (3, 1, 1, 0), (4, 1, 1, 2)]


def test_the_build_records_each_agency_feeds_freshness(built):
    settings, _ = built
    with warehouse.store(settings, read_only=True) as con:
        rows = con.execute("select agency, status, last_received_at is not null from audit.agency_freshness "
                           "where run_id = ? order by agency", [GENERATED_RUN_ID]).fetchall()
    assert rows == [(a, "pass", True) for a in ("csc", "eh", "hv", "police", "school")]
