"""Annex A workbooks: a table per "List N" sheet, drop-down prefixes stripped in the reader, and no
sheet passed over unless the source says so."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
from openpyxl import Workbook

from ingest.detect import match
from ingest.readers import read
from ingest.readers.annex_a import sniff_annex_a, without_prefix
from tests.ingest.helpers import load_files, registry

LIST_1 = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age", "Date of Contact", "Contact Source"]


def workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


def test_drop_down_prefixes_are_stripped_and_other_text_kept():
    assert without_prefix("a) Male") == "Male"
    assert without_prefix("q) 6: Police") == "6: Police"
    assert without_prefix("aa) Other") == "Other"
    assert without_prefix("Female") == "Female"
    assert without_prefix("N1 - Abuse or Neglect") == "N1 - Abuse or Neglect"
    assert without_prefix("b) ") is None


def test_each_list_is_a_table_with_its_header_below_any_title_row(tmp_path):
    path = workbook(tmp_path / "annex.xlsx", {
        "List 1": [["List 1: Contacts"], LIST_1, [101, "a) Male", "a) WBRI", datetime(2015, 1, 2), 9.1,
                                                   datetime(2024, 3, 1), "q) 6: Police"]],
        "Empty": [],
    })
    [table] = read(path, registry()["annex_a"])
    assert (table.name, table.columns) == ("list_1", LIST_1)
    [row] = list(table.rows)
    assert row.locator == "List 1!3"
    assert row.values["Gender"] == "Male" and row.values["Contact Source"] == "6: Police"


def test_a_sheet_the_source_does_not_map_rejects_the_workbook(tmp_path, run_date):
    path = workbook(tmp_path / "annex.xlsx", {
        "Cover": [["Authority", "Date"], ["Top Town", "Jan 2024"]],
        "List 1": [LIST_1, [101, "Female", "WBRI", datetime(2015, 1, 2), 9.1, datetime(2024, 3, 1), "6: Police"]],
    })
    assert sniff_annex_a(path) and match(path, registry())[0] == "annex_a"
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    [outcome] = load_files(con, registry()["annex_a"], [path], run_date, tmp_path / "archive").files
    assert (outcome.status, outcome.reason) == ("rejected", "wrong_structure")
    assert "sheet 'Cover'" in outcome.detail


def test_a_contact_from_an_annex_a_list_names_the_referring_agency(tmp_path, run_date):
    path = workbook(tmp_path / "annex.xlsx", {
        "List 1": [LIST_1, [101, "a) Male", "a) WBRI", datetime(2015, 1, 2), 9.1, datetime(2024, 3, 1), "e) 2A: Schools"],
                   [102, "b) Female", "a) WBRI", None, 9.1, datetime(2024, 3, 2), "t) 9: Anonymous"]],
    })
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    load_files(con, registry()["annex_a"], [path], run_date, tmp_path / "archive")
    assert con.execute("select record_id, related_agency, locator from ledger.event_records order by 1").fetchall() == [
        ("101/contact/2024-03-01", "school", "List 1!2"), ("102/contact/2024-03-02", None, "List 1!3")]
    assert con.execute("select subject_ref, sex from ledger.person_records order by 1").fetchall() == \
        [("101", "M"), ("102", "F")]


def test_a_workbook_without_list_sheets_is_not_taken_for_annex_a(tmp_path):
    path = workbook(tmp_path / "EarlyHelp_Activity_2025.xlsx", {"Activity": [["Activity ID", "Case Ref"]]})
    assert not sniff_annex_a(path)
    assert match(path, registry())[0] == "eh_activity"
