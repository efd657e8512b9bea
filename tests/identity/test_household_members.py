"""Who belongs to which household, and as what, from the evidence alone (no pipeline run); and a
night's households, brought up to date from tonight's events only, against a whole rebuild."""

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


def _event(con, record: str, ref: str, day: str, family: str | None, role: str | None, version: int = 1) -> None:
    con.execute("""insert into ledger.event_records (ledger_id, source, agency, record_id, version, content_hash,
                   subject_ref, subject_namespace, event_type, event_date, family_ref, person_role, file_name,
                   file_checksum, row_number, locator, load_id, received_at)
                   values (nextval('ledger.record_seq'), 'police_ppn', 'police', ?, ?, ?, ?, 'police',
                           'domestic_incident', ?, ?, ?, 'f', 'c', 1, 'row 1', 'l', now())""",
                [record, version, f"{record}v{version}", ref, day, family, role])


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

    assert (result["households"], result["members"], result["how"]) == (1, 4, "rebuilt")
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


def _world(con) -> None:
    """Last night's households: family F1 (mother, a father or carer, a child), two people at one
    address, one more at that address with no event yet, one person in no household, one in a
    family of one, and a record about the mother corrected to be about someone else."""
    for ref, person in [("a", "P1"), ("b", "P2"), ("c", "P3"), ("g", "P7"), ("h", "P8")]:
        _subject(con, ref, person)
    for ref, person, role in [("d", "P4", "mother"), ("e", "P5", "child"), ("f", "P6", "child")]:
        _subject(con, ref, person, postcode="LU2 2BB", surname="okafor", role=role)
    _event(con, "1", "a", "2024-01-01", "F1", "mother")
    _event(con, "2", "b", "2024-01-01", "F1", "carer")
    _event(con, "3", "b", "2024-04-01", "F1", "father")
    _event(con, "4", "c", "2024-05-01", "F1", "child")
    _event(con, "5", "c", "2024-06-01", "F1", "child")
    _event(con, "6", "d", "2024-02-01", None, None)
    _event(con, "7", "e", "2024-03-01", None, None)
    _event(con, "8", "g", "2024-03-01", None, None)
    _event(con, "9", "h", "2024-03-01", "F2", "mother")
    _event(con, "10", "a", "2023-01-01", "F1", "mother")  # about the mother, then corrected:
    _event(con, "10", "g", "2023-01-01", None, None, version=2)  # it was about someone else


def _households(con) -> tuple[list, ...]:
    return tuple(sorted(con.execute(f"select * from identity.{table}").fetchall())
                 for table in ("household_evidence", "household_members", "relationships"))


# tonight's events, and how the households should follow them
NIGHTS = {
    "a later event moves an address household's dates":
        ("patched", lambda con: _event(con, "20", "d", "2025-01-01", None, None)),
    "two more records as carer make the father a carer":
        ("patched", lambda con: (_event(con, "21", "b", "2024-07-01", "F1", "carer"),
                                 _event(con, "22", "b", "2024-08-01", "F1", "carer"))),
    "an event about someone in no household":
        ("patched", lambda con: _event(con, "23", "g", "2025-01-01", None, None)),
    "a later event about the mother, one of whose records was corrected to be about someone else":
        ("patched", lambda con: _event(con, "25", "a", "2024-10-01", "F1", "mother")),
    "a correction moves a family of one into F1":
        ("regrouped", lambda con: _event(con, "9", "h", "2024-03-01", "F1", "mother", version=2)),
    "a first event for someone at the address":
        ("regrouped", lambda con: _event(con, "24", "f", "2024-09-01", None, None)),
    "a correction moves the child's record to someone else":
        ("regrouped", lambda con: _event(con, "5", "g", "2024-06-01", "F1", "child", version=2)),
}


@pytest.mark.parametrize("night", NIGHTS)
def test_a_night_without_new_people_ends_as_a_whole_rebuild_of_the_same_ledger(con, night):
    expected_how, tonight = NIGHTS[night]
    _world(con)
    build_households(con)
    last_night = _households(con)

    tonight(con)
    result = build_households(con, people_unchanged=True)
    followed = _households(con)
    assert result["how"] == expected_how
    assert build_households(con)["how"] == "rebuilt"
    assert followed == _households(con)  # the same as every household built again from the ledger
    if night != "an event about someone in no household":
        assert followed != last_night  # tonight's events changed something the night had to follow


def test_a_night_with_no_new_event_keeps_the_households(con):
    _world(con)
    build_households(con)
    last_night = _households(con)
    assert build_households(con, people_unchanged=True)["how"] == "unchanged"
    assert _households(con) == last_night
