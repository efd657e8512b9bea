"""Every absence and exclusion in the school census samples reaches the ledger at its own line, with
the national meaning of its attendance code or exclusion category, and every pupil on roll becomes
a person. Expectations are read with the csv module, never with the project's reader.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pytest

from tests.ingest.national_oracle import as_date, csv_records, current_events, load, quarantined

pytestmark = pytest.mark.samples

SOURCE = "school_census"
PUPILS = "2025_spring_pupilonroll.csv"
SESSIONS = "2024_autumn_termlysessiondetailsonroll.csv"
EXCLUSIONS = "2024_autumn_termlyexclusionsonroll.csv"

# DfE attendance codes (school attendance guidance): absence that counts, and codes the census returns
# that are not absence in the national measures
AUTHORISED = {"C", "C1", "C2", "E", "H", "I", "J1", "M", "R", "S", "T", "F"}
UNAUTHORISED = {"G", "N", "O", "U"}
NOT_COUNTED = {"X", "Y", "Z", "#", "D"}
# the autumn 2024 census holds absence for the first half of the summer term 2024, which ends the
# Sunday before the spring bank holiday (Monday 27 May 2024)
AUTUMN_2024_CENSUS_ABSENCE_ENDS = date(2024, 5, 26)


def _census_date(text: str) -> date:
    return datetime.strptime(text, "%Y-%b-%d %H:%M:%S").date()


def _load(samples, tmp_path, run_date, *names: str):
    """A ledger holding the named sample files (every sample file when none is named)."""
    files = [samples / "school_census" / n for n in names] or sorted((samples / "school_census").glob("*.csv"))
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    return con, load(con, SOURCE, files, run_date, tmp_path)


@pytest.fixture
def ledger(samples, tmp_path, run_date):
    con, result = _load(samples, tmp_path, run_date)
    yield con, result
    con.close()


def test_every_school_census_sample_file_loads(ledger, samples):
    _con, result = ledger
    assert {f.file_name for f in result.files} == {p.name for p in (samples / "school_census").glob("*.csv")}
    assert [(f.file_name, f.status, f.reason) for f in result.files if f.status != "loaded"] == []


def test_every_absence_in_the_sample_reaches_the_ledger(samples, tmp_path, run_date):
    con, _ = _load(samples, tmp_path, run_date, SESSIONS)
    rows = csv_records(samples / "school_census" / SESSIONS)
    assert rows

    def meaning(code: str) -> str:
        if code in AUTHORISED:
            return "authorised"
        if code in UNAUTHORISED:
            return "unauthorised"
        assert code in NOT_COUNTED, f"the sample has attendance code {code!r}, unknown to this test"
        return "not_counted"

    want = {(loc, r["termlysessiondetailsonrolltableid"], r["pupilonrolltableid"], meaning(r["attendancereason"]),
             AUTUMN_2024_CENSUS_ABSENCE_ENDS) for loc, r in rows}
    events = current_events(con, SOURCE, SESSIONS, "school_absence")
    got = {(e["locator"], e["record_id"], e["subject_ref"], e["outcome"], as_date(e["event_date"])) for e in events}
    assert got == want
    assert not quarantined(con, SOURCE, SESSIONS)
    # the sessions count stays with each absence: in its summary and its original values
    sessions = {loc: r["sessions"] for loc, r in rows}
    for e in events:
        if sessions[e["locator"]]:
            assert e["summary"].startswith(f"{sessions[e['locator']]} sessions")
            assert f'"sessions": "{sessions[e["locator"]]}"' in e["original"]


def test_every_exclusion_in_the_sample_reaches_the_ledger(samples, tmp_path, run_date):
    con, _ = _load(samples, tmp_path, run_date, EXCLUSIONS)
    rows = csv_records(samples / "school_census" / EXCLUSIONS)
    kinds = {"PERM": "permanent", "FIXD": "fixed_term", "LNCH": "fixed_term"}  # lunchtime counts as fixed period
    want = {(loc, r["termlyexclusionsonrolltableid"], r["pupilonrolltableid"], kinds[r["category"]],
             _census_date(r["startdate"])) for loc, r in rows}
    events = current_events(con, SOURCE, EXCLUSIONS, "school_exclusion")
    assert {(e["locator"], e["record_id"], e["subject_ref"], e["outcome"], as_date(e["event_date"]))
            for e in events} == want
    assert not quarantined(con, SOURCE, EXCLUSIONS)
    assert all(e["subject_namespace"] == "school_census" for e in events)


def test_every_pupil_on_roll_becomes_a_person(samples, tmp_path, run_date):
    con, _ = _load(samples, tmp_path, run_date, PUPILS)
    rows = csv_records(samples / "school_census" / PUPILS)
    want = {(r["pupilonrolltableid"], r["upn"].upper(), r["forename"], r["surname"], _census_date(r["dob"]), r["sex"])
            for _, r in rows}
    got = set(con.execute("select subject_ref, upn, forename, surname, date_of_birth, sex from ledger.person_records "
                          "where file_name = ? and subject_namespace = 'school_census'", [PUPILS]).fetchall())
    assert got == want
