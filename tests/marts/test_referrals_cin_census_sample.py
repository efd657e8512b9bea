"""On the public CIN census samples, marts.fct_referrals and the child protection plan events in
marts.fct_child_events agree with a computation made here straight from the XML (xml.etree, not
the project's reader): referrals per child, referrals in the previous 12 months, re-referrals,
and child protection plan intervals."""

from __future__ import annotations

import calendar
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from casehistory import warehouse
from casehistory.settings import Settings
from tests.conftest import RUN_DATE, SAMPLES

pytestmark = [pytest.mark.samples, pytest.mark.slow]


@pytest.fixture(scope="module")
def cin_files(cin_sample_run) -> list[Path]:
    return sorted((SAMPLES / "cin_census").glob("*.xml"))


@pytest.fixture(scope="module")
def store(cin_sample_run) -> Settings:
    return cin_sample_run


# --- the independent computation, from the XML -------------------------------------------------

def _date(element: ET.Element, tag: str) -> date | None:
    text = element.findtext(tag)
    return date.fromisoformat(text.strip()) if text and text.strip() else None


def _dates_in(element: ET.Element) -> list[date]:
    """The element's own date items (not those of the elements nested in it)."""
    found = []
    for item in element:
        text = (item.text or "").strip()
        if len(item) == 0 and len(text) == 10 and text[4] == "-" and text[7] == "-":
            found.append(date.fromisoformat(text))
    return found


def _valid(day: date | None) -> date | None:
    # the census's own rule for a date: nothing after the day the return is made. A wrong date holds
    # back its own event (and those whose record ids are built from it), not its neighbours
    return day if day is not None and day <= RUN_DATE else None


def _census(files: list[Path]):
    """Per LA child id: referral dates, and child protection plan (start, end) intervals (an end
    dated in the future is held back: the plan is open as far as the pipeline knows)."""
    referrals: dict[str, set[date]] = defaultdict(set)
    cp_plans: dict[str, set[tuple[date, date | None]]] = defaultdict(set)
    for path in files:
        for child in ET.parse(path).getroot().iter("Child"):
            child_id = child.findtext("ChildIdentifiers/LAchildID").strip()
            for episode in child.findall("CINdetails"):
                if _valid(_date(episode, "CINreferralDate")):
                    referrals[child_id].add(_date(episode, "CINreferralDate"))
                for plan in episode.findall("ChildProtectionPlans"):
                    if _valid(_date(plan, "CPPstartDate")):
                        cp_plans[child_id].add((_date(plan, "CPPstartDate"), _valid(_date(plan, "CPPendDate"))))
    return referrals, cp_plans


def _twelve_months_before(day: date) -> date:
    year = day.year - 1
    return date(year, day.month, min(day.day, calendar.monthrange(year, day.month)[1]))


def _expected_referrals(dates: list[date]) -> list[tuple[date, int, int, bool]]:
    """(date, referral number, referrals in the previous 12 months, re-referral) per referral."""
    ordered = sorted(dates)
    rows = []
    for n, day in enumerate(ordered, start=1):
        within = sum(1 for earlier in ordered[: n - 1] if earlier >= _twelve_months_before(day))
        rows.append((day, n, within, within > 0))
    return rows


def _child_keys(settings: Settings) -> dict[str, str]:
    with warehouse.store(settings, read_only=True) as con:
        rows = con.execute("select subject_key, person_key from identity.subject_person "
                           "where subject_key like 'csc:%'").fetchall()
    return {subject.removeprefix("csc:"): key for subject, key in rows}


def _by_child(per_la_id: dict, keys: dict[str, str]) -> dict[str, set]:
    """Merge LA child ids the identity stage found to be one child (same UPN)."""
    merged: dict[str, set] = defaultdict(set)
    for la_id, values in per_la_id.items():
        merged[keys[la_id]] |= values
    return merged


# --- the tests -----------------------------------------------------------------------------------

def test_referrals_and_re_referrals_equal_the_census_computed_from_the_xml(store, cin_files):
    referrals, _ = _census(cin_files)
    expected = {key: _expected_referrals(list(dates))
                for key, dates in _by_child(referrals, _child_keys(store)).items() if dates}
    with warehouse.store(store, read_only=True) as con:
        rows = con.execute("""select child_key, referral_date, referral_number, referrals_in_previous_12_months,
                                     is_re_referral
                              from marts.fct_referrals order by child_key, referral_number""").fetchall()
    got: dict[str, list] = defaultdict(list)
    for key, *values in rows:
        got[key].append(tuple(values))
    assert dict(got) == expected
    total = sum(len(v) for v in expected.values())
    re_referrals = sum(r[3] for v in expected.values() for r in v)
    assert total > 300 and 0 < re_referrals < total  # the sample exercises both sides of the rule


def test_child_protection_plan_events_give_the_census_plan_intervals(store, cin_files):
    _, cp_plans = _census(cin_files)
    expected = {key: plans for key, plans in _by_child(cp_plans, _child_keys(store)).items() if plans}
    with warehouse.store(store, read_only=True) as con:
        rows = con.execute("""select child_key, event_type, event_date from marts.fct_child_events
                              where event_type in ('cp_plan_start', 'cp_plan_end') and not via_household
                              order by child_key, event_date, event_type desc""").fetchall()
    starts: dict[str, list[date]] = defaultdict(list)
    ends: dict[str, list[date]] = defaultdict(list)
    for key, event_type, day in rows:
        (starts if event_type == "cp_plan_start" else ends)[key].append(day)
    got: dict[str, set] = {}
    for key in starts.keys() | ends.keys():
        # each start pairs with the first unpaired end on or after it; a start with none is open
        unpaired = sorted(ends[key])
        intervals = set()
        for start in sorted(starts[key]):
            end = next((e for e in unpaired if e >= start), None)
            if end is not None:
                unpaired.remove(end)
            intervals.add((start, end))
        assert not unpaired, f"plan ends with no start for {key}: {unpaired}"
        got[key] = intervals
    assert got == expected
    assert sum(len(plans) for plans in expected.values()) >= 2  # the samples hold plans to compare


def test_a_future_closure_holds_back_the_closure_and_not_its_referral(store):
    """fake_CIN_data.xml: every CINdetails whose referral date is valid gives a referral in
    fct_referrals (counted here from the XML), including those whose CINclosureDate is after the run
    date; those closures alone are quarantined, with their reason, and their rows loaded in part."""
    path = SAMPLES / "cin_census" / "fake_CIN_data.xml"
    valid, future_closures = [], []
    for child in ET.parse(path).getroot().findall("Children/Child"):
        child_id = child.findtext("ChildIdentifiers/LAchildID").strip()
        for episode in child.findall("CINdetails"):
            referral = _valid(_date(episode, "CINreferralDate"))
            if referral:
                valid.append((child_id, referral))
                if (_date(episode, "CINclosureDate") or RUN_DATE) > RUN_DATE:
                    future_closures.append((child_id, referral))
    assert len(valid) == 397 and len(future_closures) == 4  # the sample as published, at RUN_DATE
    keys = _child_keys(store)
    with warehouse.store(store, read_only=True) as con:
        referrals = con.execute("""select count(*) from ledger.event_records where file_name = ?
                                   and event_type = 'referral'""", [path.name]).fetchone()[0]
        in_mart = [con.execute("select count(*) from marts.fct_referrals where child_key = ? and referral_date = ?",
                               [keys[child_id], day]).fetchone()[0] for child_id, day in future_closures]
        held = con.execute("""select reason, event_type, row_outcome, column_name from ledger.quarantine
                              where file_name = ? and regexp_matches(locator, '/CINdetails\\[\\d+\\]$')
                                and row_outcome = 'loaded_in_part'""", [path.name]).fetchall()
    assert referrals == 397
    assert in_mart == [1, 1, 1, 1]
    assert held == [("date_in_future", "case_closure", "loaded_in_part", "CINclosureDate")] * 4
