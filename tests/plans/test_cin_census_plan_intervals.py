"""Child protection (and child in need) plan intervals in marts.fct_plan_episodes equal the ones
the CIN census samples hold, read here with xml.etree, never with the project's reader."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from casehistory import warehouse
from tests.conftest import SAMPLES

pytestmark = [pytest.mark.samples, pytest.mark.slow]


def _iso(text: str | None) -> date | None:
    return date.fromisoformat(text.strip()) if text and text.strip() else None


def _from_xml(samples, element: str, start: str, end: str, category: str | None) -> set[tuple]:
    """(LAchildID, start, end, category) of every plan element in the sample files."""
    plans = set()
    for path in sorted((samples / "cin_census").glob("*.xml")):
        for child in ET.parse(path).getroot().findall("Children/Child"):
            la_id = child.findtext("ChildIdentifiers/LAchildID")
            for plan in child.findall(f"CINdetails/{element}"):
                plans.add((la_id, _iso(plan.findtext(start)), _iso(plan.findtext(end)),
                           plan.findtext(category) if category else None))
    return plans


@pytest.fixture(scope="module")
def built(cin_sample_run):
    return cin_sample_run, SAMPLES


def _episodes(settings, plan_type: str) -> set[tuple]:
    with warehouse.store(settings, read_only=True) as con:
        assert con.execute("select count(*) from ledger.quarantine where locator like '%Plan%'").fetchone()[0] == 0
        return set(con.execute("""
            select distinct r.la_child_id, e.start_date, e.end_date, e.cp_category
            from marts.fct_plan_episodes e
            join identity.subject_person sp on sp.person_key = e.child_key
            join identity.subject_records r on r.subject_key = sp.subject_key and r.la_child_id is not null
            where e.plan_type = ? and e.start_recorded""", [plan_type]).fetchall())


def test_cp_plan_intervals_equal_the_census(built):
    settings, samples = built
    want = _from_xml(samples, "ChildProtectionPlans", "CPPstartDate", "CPPendDate", "InitialCategoryOfAbuse")
    assert want, "the samples hold no child protection plans"
    assert _episodes(settings, "cp") == want


def test_cin_plan_intervals_equal_the_census(built):
    settings, samples = built
    want = _from_xml(samples, "CINPlanDates", "CINPlanStartDate", "CINPlanEndDate", None)
    assert want, "the samples hold no child in need plans"
    assert _episodes(settings, "cin") == want


def test_no_end_is_left_without_its_plan(built):
    """The census closes the case (RC1) before the CP plan's own end: the plan still ends on its
    own end, and no end is left over as an episode without a start."""
    settings, _ = built
    with warehouse.store(settings, read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_plan_episodes where not start_recorded").fetchone()[0] == 0
