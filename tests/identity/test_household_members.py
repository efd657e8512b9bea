"""Who belongs to which household, and as what, from the evidence alone (no pipeline run)."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from casehistory.identity.households import build_households
from ingest import ledger


@pytest.fixture()
def con():
    con = duckdb.connect()
    ledger.ensure_schema(con)
    con.execute("create schema identity")
    con.execute("create table identity.subject_person (subject_key varchar, person_id varchar)")
    con.execute("""create table identity.subject_records (subject_key varchar, agency varchar, postcode varchar,
                   surname_key varchar, person_role varchar)""")
    yield con
    con.close()


def _subject(con, ref: str, person: str, *, postcode=None, surname=None, role=None) -> None:
    con.execute("insert into identity.subject_person values (?, ?)", [f"police:{ref}", person])
    con.execute("insert into identity.subject_records values (?, 'police', ?, ?, ?)",
                [f"police:{ref}", postcode, surname, role])


def _event(con, record: str, ref: str, day: str, family: str | None, role: str | None) -> None:
    con.execute("""insert into ledger.event_records (ledger_id, source, agency, record_id, version, content_hash,
                   subject_ref, subject_namespace, event_type, event_date, family_ref, person_role, file_name,
                   file_checksum, row_number, locator, load_id, received_at)
                   values (nextval('ledger.record_seq'), 'police_ppn', 'police', ?, 1, ?, ?, 'police',
                           'domestic_incident', ?, ?, ?, 'f', 'c', 1, 'row 1', 'l', now())""",
                [record, record, ref, day, family, role])


def _members(con) -> dict[str, tuple]:
    return {person: (household, role, start, end, evidence) for household, person, role, start, end, evidence
            in con.execute("select * from identity.household_members").fetchall()}


def test_groups_sharing_a_person_are_one_household_and_each_member_gets_one_role(con):
    for ref, person in [("a", "P1"), ("b", "P2"), ("c", "P3"), ("d", "P4"), ("e", "P5")]:
        _subject(con, ref, person)
    # family F1: P1 mostly as mother, P2 once each as carer and father (a tie), P3 as child once
    _event(con, "1", "a", "2024-01-01", "F1", "mother")
    _event(con, "2", "a", "2024-02-01", "F1", "mother")
    _event(con, "3", "a", "2024-03-01", "F1", "carer")
    _event(con, "4", "b", "2024-01-01", "F1", "carer")
    _event(con, "5", "b", "2024-04-01", "F1", "father")
    _event(con, "6", "c", "2024-05-01", "F1", "child")
    # family F2 shares P3, recorded there twice as a sibling, with P4 whose role nobody gave
    _event(con, "7", "c", "2023-06-01", "F2", "sibling")
    _event(con, "8", "c", "2023-07-01", "F2", "sibling")
    _event(con, "9", "d", "2023-06-01", "F2", None)
    # family F3 holds only P5: a household of one is no household
    _event(con, "10", "e", "2024-01-01", "F3", "mother")

    result = build_households(con)

    assert result == {"households": 1, "members": 4}
    members = _members(con)
    assert set(members) == {"P1", "P2", "P3", "P4"}
    assert {household for household, *_ in members.values()} == {"HP1"}  # named by its least person
    assert {p: m[1] for p, m in members.items()} == {
        "P1": "mother",  # most often
        "P2": "father",  # a tie: father comes before carer
        "P3": "child",  # a child in any record is the household's child, however often called sibling
        "P4": "other_adult",  # no role recorded
    }
    assert members["P3"][2:] == (date(2023, 6, 1), date(2024, 5, 1), ["family_ref"])  # across both families


def test_people_at_one_address_are_a_household_only_when_there_are_two_of_them(con):
    _subject(con, "a", "P1", postcode="LU1 1AA", surname="kaur", role="mother")
    _subject(con, "b", "P2", postcode="LU1 1AA", surname="kaur", role="child")
    _subject(con, "c", "P3", postcode="LU1 1AA", surname="brown", role="child")
    _event(con, "1", "a", "2024-01-01", None, None)
    _event(con, "2", "a", "2024-03-01", None, None)
    _event(con, "3", "b", "2024-02-01", "F9", "child")
    _event(con, "4", "c", "2024-02-01", None, None)

    build_households(con)

    members = _members(con)
    assert set(members) == {"P1", "P2"}  # the Browns' child is alone at that address
    assert members["P1"][1:] == ("mother", date(2024, 1, 1), date(2024, 3, 1), ["address"])
    # P2's own family ref names a group of one, which still counts as evidence of where she lives
    assert members["P2"][1:] == ("child", date(2024, 2, 1), date(2024, 2, 1), ["address", "family_ref"])
