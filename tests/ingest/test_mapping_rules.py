"""Rules the mapping applies to every row, whatever the source."""

from __future__ import annotations

from datetime import date, datetime

from ingest.mapping import Mapper
from ingest.readers.base import RawRow
from tests.ingest.helpers import registry


def _map(source: str, values: dict, run_date=date(2026, 1, 15)):
    spec = registry()[source]
    table = spec.table_specs[""]
    return Mapper(spec, table, list(values), run_date).map(RawRow(1, "line 2", values))


CSC = {"Record ID": "R1", "Child ID": "C1", "NHS Number": "943 476 5919", "UPN": None, "Forename": "Amy",
       "Surname": "Lee", "DOB": "01/02/2024", "Gender": "F", "Postcode": "ip12ab", "Activity": "ASMT-S",
       "Activity Date": "01/12/2023", "Outcome": None, "Referral Source": None, "Worker Role": None, "Notes": None,
       "Recorded": None}


def test_a_pre_birth_assessment_is_not_quarantined():
    mapped = _map("csc_activity", CSC)
    assert not mapped.problems
    assert mapped.events[0]["event_date"] == date(2023, 12, 1)


def test_identifiers_and_postcodes_are_normalised_and_nhs_numbers_checked():
    person = _map("csc_activity", CSC).person
    assert person["nhs_number"] == "9434765919" and person["nhs_number_valid"]
    assert person["postcode"] == "IP1 2AB"
    mistyped = _map("csc_activity", {**CSC, "NHS Number": "9434765918"}).person
    assert mistyped["nhs_number"] == "9434765918" and not mistyped["nhs_number_valid"]  # kept, never linked on


def test_codes_match_whatever_their_case():
    mapped = _map("csc_activity", {**CSC, "Activity": "asmt-s"})
    assert mapped.events[0]["event_type"] == "assessment_start"


def test_a_row_with_two_problems_reports_both():
    mapped = _map("csc_activity", {**CSC, "Activity": "XFER", "Activity Date": "31/02/2024"})
    assert {p.reason for p in mapped.problems} == {"unknown_code", "bad_date"}
    assert mapped.events == [] and mapped.person is None


def test_excel_date_cells_and_time_of_day_are_kept():
    mapped = _map("police_ppn", {"record_ref": "P1", "occurrence_ref": "O1", "person_id": "PN1", "forenames": "A",
                                 "surname": "B", "dob": "01/02/2010", "gender": "M", "postcode": None,
                                 "household_ref": "H1", "role": "CHILD PRESENT", "type": "DOMESTIC",
                                 "occurred_at": "2024-03-01T21:30:00", "referred_to": None, "officer_role": None,
                                 "summary": None})
    event = mapped.events[0]
    assert (event["event_date"], str(event["event_time"])) == (date(2024, 3, 1), "21:30:00")
    assert event["outcome"] == "domestic_abuse" and event["person_role"] == "child"
    eh = _map("eh_activity", {"Activity ID": "A1", "Case Ref": "E1", "First Name": "A", "Last Name": "B",
                              "Date of Birth": datetime(2019, 5, 4), "Post Code": None, "NHS No": None,
                              "Activity Type": "TAC Meeting", "Activity Date": datetime(2024, 2, 1),
                              "Outcome": "Cancelled", "Worker": None, "Comments": None})
    assert eh.person["date_of_birth"] == date(2019, 5, 4) and eh.events[0]["outcome"] == "cancelled"


EH_ROW = {"Activity ID": "A1", "Case Ref": "E1", "First Name": "A", "Last Name": "B",
          "Date of Birth": datetime(2019, 5, 4), "Post Code": None, "NHS No": None, "Activity Date": datetime(2024, 2, 1),
          "Outcome": None, "Worker": None, "Comments": None}


def test_early_helps_referral_to_the_mash_names_csc_as_the_agency_referred_to():
    """So it meets csc's record of the same referral (which names early help) as one referral."""
    referral = _map("eh_activity", {**EH_ROW, "Activity Type": "Referral to MASH"}).events[0]
    assert (referral["event_type"], referral["related_agency"]) == ("referral", "csc")
    meeting = _map("eh_activity", {**EH_ROW, "Activity Type": "TAC Meeting"}).events[0]
    assert (meeting["event_type"], meeting["related_agency"]) == ("tac_meeting", None)


def test_a_childs_details_repeated_on_many_rows_are_judged_on_each_row():
    """The mapper remembers a person's mapping by the values it came from: every row still gets its
    own person, and a fault in those details quarantines every row that repeats it."""
    spec = registry()["csc_activity"]
    mapper = Mapper(spec, spec.table_specs[""], list(CSC), date(2026, 1, 15))
    first = mapper.map(RawRow(1, "line 2", CSC))
    first.person["forename"] = "changed by a caller"
    second = mapper.map(RawRow(2, "line 3", {**CSC, "Record ID": "R2"}))
    assert second.person["forename"] == "Amy" and second.events[0]["record_id"] == "R2"
    bad = {**CSC, "DOB": "31/02/2024"}
    for n in (3, 4):
        mapped = mapper.map(RawRow(n, f"line {n + 1}", {**bad, "Record ID": f"R{n}"}))
        assert [p.reason for p in mapped.problems] == ["bad_date"] and mapped.person is None



def test_a_recorded_time_typed_as_an_iso_date_and_minutes_is_read_and_a_bad_date_names_every_format():
    # Excel shows a typed "2023-10-28 13:25" back as it was typed, and a template saved as CSV keeps it
    row = {"agency": "hv", "record_id": "HV1", "subject_ref": "S1", "event_type": "home_visit",
           "event_date": "2023-10-27", "recorded_at": "2023-10-28 13:25"}
    mapped = _map("chronology_template", row)
    assert not mapped.problems
    assert mapped.events[0]["recorded_at"] == datetime(2023, 10, 28, 13, 25)
    bad = _map("chronology_template", {**row, "recorded_at": "28.10.2023 13:25"}).problems
    assert [p.reason for p in bad] == ["bad_date"]
    assert all(fmt in bad[0].message for fmt in registry()["chronology_template"].date_formats)
