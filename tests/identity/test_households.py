"""A household event (a domestic incident, a house move, a birth) reaches every child of the household."""

from __future__ import annotations

import json
from datetime import date

import pytest

from casehistory import warehouse
from casehistory.settings import Settings
from tests.conftest import run_pipeline

pytestmark = pytest.mark.slow


def _police(record, occurrence, person, forename, dob, role, day, household="HH1", surname="Kaur"):
    return json.dumps({"record_ref": record, "occurrence_ref": occurrence, "person_id": person, "forenames": forename,
                       "surname": surname, "dob": dob, "gender": "F", "postcode": "LU1 1AA", "household_ref": household,
                       "role": role, "type": "DOMESTIC", "occurred_at": f"{day}T22:10:00", "referred_to": None,
                       "officer_role": "PC", "summary": None})


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("household")
    drop = tmp / "drop"
    drop.mkdir()
    lines = [
        # incident 1: the mother, both children present (each child has their own record)
        _police("R1", "O1", "PN1", "Priya", "01/01/1990", "VICTIM", "2024-01-10"),
        _police("R2", "O1", "PN2", "Asha", "03/03/2016", "CHILD PRESENT", "2024-01-10"),
        _police("R3", "O1", "PN3", "Dev", "04/04/2019", "CHILD PRESENT", "2024-01-10"),
        # incident 2: about the mother alone, months later: the children were not there
        _police("R4", "O2", "PN1", "Priya", "01/01/1990", "VICTIM", "2024-06-02"),
        # another family entirely, same night
        _police("R5", "O3", "PN9", "Mary", "05/05/1985", "VICTIM", "2024-06-02", household="HH7", surname="Brown"),
        _police("R6", "O3", "PN8", "Tom", "06/06/2015", "CHILD PRESENT", "2024-06-02", household="HH7", surname="Brown"),
    ]
    (drop / "police_ppn_2024-07-01.jsonl").write_text("\n".join(lines) + "\n")
    settings = Settings(extracts=drop, warehouse=tmp / "wh.duckdb", run_date=date(2026, 1, 15))
    run_pipeline(settings)
    return settings


def _chronology(settings, forename):
    with warehouse.store(settings, read_only=True) as con:
        return con.execute(
            """select event_date, event_type, via_household, household_roles from restricted.restricted_child_chronology r
               join marts.fct_child_events f using (event_id) where r.forename = ? or r.subject_key in (
                   select subject_key from identity.subject_records where forename_key = lower(?))
               order by event_date""", [forename, forename]).fetchall()


def test_an_incident_about_the_mother_reaches_every_child_of_her_household(built):
    with warehouse.store(built, read_only=True) as con:
        rows = con.execute("""
            select p.forename_key, f.event_date, f.via_household, f.household_roles
            from marts.fct_child_events f
            join identity.subject_person sp on sp.person_key = f.child_key
            join identity.subject_records p using (subject_key)
            order by p.forename_key, f.event_date""").fetchall()
    assert rows == [
        ("asha", date(2024, 1, 10), False, None),  # present: her own record, once
        ("asha", date(2024, 6, 2), True, ["other_adult"]),  # her mother's incident reaches her
        ("dev", date(2024, 1, 10), False, None),
        ("dev", date(2024, 6, 2), True, ["other_adult"]),
        ("tom", date(2024, 6, 2), False, None),  # the other family's child gets nothing of theirs
    ]


def test_households_are_built_from_the_agencies_household_refs_with_dated_membership(built):
    with warehouse.store(built, read_only=True) as con:
        members = con.execute("""
            select m.household_id, r.forename_key, m.role, m.valid_from, m.valid_to
            from identity.household_members m
            join identity.subject_person sp using (person_id) join identity.subject_records r using (subject_key)
            order by r.forename_key""").fetchall()
    households = {}
    for household, name, *_ in members:
        households.setdefault(household, set()).add(name)
    assert sorted(households.values(), key=len) == [{"mary", "tom"}, {"asha", "dev", "priya"}]
    mother = next(m for m in members if m[1] == "priya")
    assert (mother[3], mother[4]) == (date(2024, 1, 10), date(2024, 6, 2))


def test_each_child_is_related_to_the_others_of_the_household(built):
    with warehouse.store(built, read_only=True) as con:
        rel = con.execute("""
            select a.forename_key, b.forename_key, r.relationship from identity.relationships r
            join identity.subject_person spa on spa.person_id = r.person_id join identity.subject_records a on a.subject_key = spa.subject_key
            join identity.subject_person spb on spb.person_id = r.related_person_id join identity.subject_records b on b.subject_key = spb.subject_key
            order by 1, 2""").fetchall()
    assert ("asha", "dev", "sibling") in rel and ("dev", "asha", "sibling") in rel
    assert ("asha", "priya", "household_member") in rel
    assert not any("tom" in (a, b) and ("asha" in (a, b) or "priya" in (a, b)) for a, b, _ in rel)
