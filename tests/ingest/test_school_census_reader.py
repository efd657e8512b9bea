"""School census tables are known by their own id column; termly absence, which has no date, is
dated by the census it came in (one term in arrears)."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from ingest.detect import match
from ingest.readers import FileRejected, read
from ingest.readers.school_census import attendance_term
from tests.ingest.helpers import load_files, registry, write_csv_rows as write

SESSIONS = ["pupilonrolltableid", "NativeId", "termlysessiondetailsonrolltableid",
            "termlysessiondetailsonrollorderseqcolumn", "sourceid", "sessions", "attendancereason"]


@pytest.mark.parametrize("census, covered, last_day", [
    ((2025, "spring"), "2024 autumn", date(2024, 12, 31)),                # autumn term: 1 August - 31 December
    ((2025, "summer"), "2025 spring", date(2025, 4, 20)),                 # spring term: to Easter Sunday
    ((2024, "autumn"), "2024 summer (first half)", date(2024, 5, 26)),    # to the Sunday before the late May bank holiday
    ((2025, "autumn"), "2025 summer (first half)", date(2025, 5, 25)),
])
def test_a_census_holds_the_absence_of_the_term_before_it(census, covered, last_day):
    assert attendance_term(*census) == (covered, last_day)


def test_termly_absence_is_dated_by_the_census_in_the_file_name(tmp_path, run_date):
    path = write(tmp_path / "2025_spring_termlysessiondetailsonroll.csv", SESSIONS,
                 [["P1", "SCH1", "S1", "1", "src", "12.0", "N"], ["P1", "SCH1", "S2", "2", "src", "", "X"]])
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    load_files(con, registry()["school_census"], [path], run_date, tmp_path / "archive")
    rows = con.execute("select record_id, event_date::varchar, outcome, summary from ledger.event_records "
                       "order by record_id").fetchall()
    assert rows == [("S1", "2024-12-31", "unauthorised", "12.0 sessions, attendance code N, 2024 autumn term"),
                    ("S2", "2024-12-31", "not_counted", None)]


def test_termly_absence_without_a_census_in_its_name_is_rejected(tmp_path):
    path = write(tmp_path / "sessions.csv", SESSIONS, [["P1", "SCH1", "S1", "1", "src", "12.0", "N"]])
    with pytest.raises(FileRejected) as err:
        read(path, registry()["school_census"])
    assert err.value.reason == "wrong_structure" and "census year and term" in err.value.detail


def test_a_census_table_the_source_does_not_map_rejects_the_file_by_name(tmp_path, run_date):
    path = write(tmp_path / "2025_spring_fsmperiod.csv",
                 ["fsmperiodtableid", "NativeId", "fsmperiodorderseqcolumn", "sourceid", "pupilonrolltableid",
                  "fsmstartdate"], [["F1", "SCH1", "1", "src", "P1", "2024-Sep-01 00:00:00"]])
    assert match(path, registry())[0] == "school_census"
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    result = load_files(con, registry()["school_census"], [path], run_date, tmp_path / "archive")
    [outcome] = result.files
    assert (outcome.status, outcome.reason) == ("rejected", "wrong_structure")
    assert "'fsmperiod'" in outcome.detail and "ignore_tables" in outcome.detail


def test_a_csv_that_is_not_a_census_table_is_not_taken_for_one(tmp_path):
    path = write(tmp_path / "school_welfare_attendance_2025.csv", ["Adno", "UPN", "Record Ref", "Date"], [])
    assert match(path, registry())[0] == "school_welfare"
