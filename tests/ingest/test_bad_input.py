"""Each fault in an agency file yields its own specific reason, and every good row of the same file
still loads: 60 faults across CSV, XLSX, JSON, JSON Lines, CIN census XML, SSDA903, the school
census, Annex A and the chronology template, and odd file names. Nothing in them crashes a load.

Row faults: the file loads, the faulty row is quarantined with file, row, column, value, reason.
File faults: the file is recorded as rejected with its reason (and kept in the archive).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import pytest
from openpyxl import Workbook

from ingest.detect import discover
from tests.ingest.helpers import load_files, registry, write_csv_rows
from tests.ingest.test_annex_a_reader import LIST_1, workbook
from tests.ingest.test_cin_census_reader import BILLION_LAUGHS, child_xml, cin_file
from tests.ingest.test_school_census_reader import SESSIONS
from tests.ingest.test_ssda903_reader import EPISODES, episode

CSC_HEADER = ["Record ID", "Child ID", "NHS Number", "UPN", "Forename", "Surname", "DOB", "Gender", "Postcode",
              "Activity", "Activity Date", "Outcome", "Referral Source", "Worker Role", "Notes", "Recorded"]
CHRONO_HEADER = ["agency", "record_id", "subject_ref", "nhs_number", "forename", "surname", "date_of_birth",
                 "person_role", "event_date", "event_type", "outcome", "related_agency", "summary"]


def csc_rows() -> list[dict]:
    base = {"NHS Number": "9434765919", "UPN": "", "Forename": "Amy", "Surname": "Lee", "DOB": "01/02/2018",
            "Gender": "Female", "Postcode": "IP1 2AB", "Outcome": "", "Referral Source": "", "Worker Role": "SW",
            "Notes": "", "Recorded": "05/03/2024 10:00"}
    return [
        {**base, "Record ID": "R1", "Child ID": "C1", "Activity": "REF", "Activity Date": "01/03/2024",
         "Outcome": "EH", "Referral Source": "2A"},
        {**base, "Record ID": "R2", "Child ID": "C1", "Activity": "ASMT-S", "Activity Date": "04/03/2024"},
        {**base, "Record ID": "R3", "Child ID": "C1", "Activity": "CLOSE", "Activity Date": "2024-04-01", "Outcome": "RC8"},
    ]


def chrono_rows() -> list[dict]:
    base = {"agency": "gp", "subject_ref": "G1", "nhs_number": "9434765919", "forename": "Amy", "surname": "Lee",
            "date_of_birth": "2018-02-01", "person_role": "child", "outcome": "", "related_agency": "", "summary": "seen"}
    return [
        {**base, "record_id": "G-1", "event_date": "01/03/2024", "event_type": "gp_appointment", "outcome": "attended"},
        {**base, "record_id": "G-2", "event_date": "2024-03-02", "event_type": "referral", "related_agency": "csc"},
        {**base, "record_id": "G-3", "event_date": "2024-03-09", "event_type": "gp_appointment", "outcome": "was_not_brought"},
    ]


def write_csv(path: Path, header: list[str], rows: list[dict], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)
    return path


def write_eh(path: Path, rows: list[list], sheet: str = "Activity") -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(["Activity ID", "Case Ref", "First Name", "Last Name", "Date of Birth", "Post Code", "NHS No",
               "Activity Type", "Activity Date", "Outcome", "Worker", "Comments"])
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def eh_rows() -> list[list]:
    from datetime import datetime

    return [["A1", "EH-1", "Amy", "Lee", datetime(2018, 2, 1), "IP1 2AB", None, "TAC Meeting", datetime(2024, 3, 1), "Held", "FSP", None],
            ["A2", "EH-1", "Amy", "Lee", datetime(2018, 2, 1), "IP1 2AB", None, "Home Visit", "05/03/2024", "No Access", "FSP", None],
            ["A3", "EH-1", "Amy", "Lee", datetime(2018, 2, 1), "IP1 2AB", None, "EH Episode End", datetime(2024, 4, 1), "Completed", "FSP", None]]


def police_lines() -> list[str]:
    base = {"person_id": "PN1", "forenames": "Amy", "surname": "Lee", "dob": "01/02/2018", "gender": "F",
            "postcode": "IP1 2AB", "household_ref": "HH1", "role": "CHILD PRESENT", "referred_to": None,
            "officer_role": "PC", "summary": None}
    return [json.dumps({**base, "record_ref": f"PR{i}", "occurrence_ref": f"O{i}", "type": "DOMESTIC",
                        "occurred_at": f"2024-03-0{i}T21:00:00"}) for i in (1, 2, 3)]


def hv_doc() -> dict:
    patient = {"id": "HV1", "nhs_number": "9434765919", "given_name": "Amy", "family_name": "Lee",
               "birth_date": "2018-02-01", "gender": "female", "postcode": "IP1 2AB"}
    return {"contacts": [{"contact_id": f"C{i}", "patient": patient, "contact_type": "home_visit",
                          "contact_date": f"2019-0{i}-01", "outcome": "Completed", "related_org": None,
                          "staff_role": "HV", "notes": None} for i in (1, 2, 3)]}


@dataclass
class Case:
    fault: str
    source: str
    make: Callable[[Path], Path]
    reason: str  # the quarantine or rejection reason the fault must produce
    rejected: bool = False  # the whole file, rather than one row
    column: str | None = None
    quarantined: int = 1  # rows of the file quarantined (0: the "fault" must load as plain data)
    says: str | None = None  # what the rejection's detail or the quarantine's message must say


def _csc(tmp: Path, change: Callable[[list[dict]], None], name="csc_activity_2024-05-01.csv", **kw) -> Path:
    rows = csc_rows()
    change(rows)
    return write_csv(tmp / name, CSC_HEADER, rows, **kw)


def _chrono(tmp: Path, change: Callable[[list[dict]], None]) -> Path:
    rows = chrono_rows()
    change(rows)
    return write_csv(tmp / "chronology_gp_REV-1.csv", CHRONO_HEADER, rows)


def _set(i: int, **values) -> Callable[[list[dict]], None]:
    def change(rows: list[dict]) -> None:
        rows[i].update(values)
    return change


CASES = [
    # ---- row faults ----------------------------------------------------------------------------------
    Case("impossible date", "csc_activity", lambda t: _csc(t, _set(1, **{"Activity Date": "31/02/2024"})),
         "bad_date", column="Activity Date"),
    Case("date that is not a date", "csc_activity", lambda t: _csc(t, _set(1, **{"Activity Date": "last Tuesday"})),
         "bad_date", column="Activity Date"),
    Case("activity code the mapping does not know", "csc_activity", lambda t: _csc(t, _set(1, Activity="XFER")),
         "unknown_code", column="Activity"),
    Case("outcome code the mapping does not know", "csc_activity", lambda t: _csc(t, _set(0, Outcome="MAYBE")),
         "unknown_code", column="Outcome"),
    Case("child id missing", "csc_activity", lambda t: _csc(t, _set(1, **{"Child ID": ""})),
         "missing_required", column="Child ID"),
    Case("event in the future", "csc_activity", lambda t: _csc(t, _set(1, **{"Activity Date": "01/03/2055"})),
         "date_in_future", column="Activity Date"),
    Case("case closed before the child was born", "csc_activity", lambda t: _csc(t, _set(2, **{"Activity Date": "01/01/2017"})),
         "date_before_birth", column="Activity Date"),
    Case("record id repeated in one file", "csc_activity", lambda t: _csc(t, _set(2, **{"Record ID": "R1"})),
         "duplicate_record"),
    Case("row with more fields than the header", "csc_activity",
         lambda t: _append(_csc(t, lambda rows: None), "R9,C1,,,,,,,,REF,01/03/2024,,,,,,EXTRA\n"), "unreadable_row"),
    Case("eh date typed as text that is no date", "eh_activity",
         lambda t: write_eh(t / "EarlyHelp_Activity_May2024.xlsx", _replace(eh_rows(), 1, 8, "32/03/2024")),
         "bad_date", column="Activity Date"),
    Case("police line cut short", "police_ppn",
         lambda t: _text(t / "police_ppn_2024.jsonl", "\n".join(police_lines()[:2] + ['{"record_ref": "PR9", "occ'] + police_lines()[2:])),
         "unreadable_row"),
    Case("hv contact in the future", "hv_contacts",
         lambda t: _text(t / "hv_contacts_2024.json", json.dumps(_hv_set(2, contact_date="2099-01-01"))),
         "date_in_future", column="contact_date"),
    Case("chronology event type outside the vocabulary", "chronology_template",
         lambda t: _chrono(t, _set(1, event_type="visit")), "unknown_code", column="event_type"),
    Case("chronology outcome not an outcome of its type", "chronology_template",
         lambda t: _chrono(t, _set(0, outcome="held")), "unknown_code", column="outcome"),
    Case("chronology agency not a known agency", "chronology_template",
         lambda t: _chrono(t, _set(2, agency="fiss")), "unknown_code", column="agency"),
    Case("chronology person role not a known role", "chronology_template",
         lambda t: _chrono(t, _set(2, person_role="uncle")), "unknown_code", column="person_role"),
    # ---- file faults ---------------------------------------------------------------------------------
    Case("Windows-1252 text where UTF-8 is declared", "csc_activity",
         lambda t: _csc(t, _set(0, Forename="Zoë"), encoding="cp1252"), "unreadable", rejected=True),
    Case("a required column is missing", "csc_activity",
         lambda t: write_csv(t / "csc_activity_x.csv", [h for h in CSC_HEADER if h != "Activity Date"],
                             [{k: v for k, v in r.items() if k != "Activity Date"} for r in csc_rows()]),
         "wrong_columns", rejected=True),
    Case("an empty file", "csc_activity", lambda t: _text(t / "csc_activity_empty.csv", ""), "empty", rejected=True),
    Case("a header and no rows", "csc_activity",
         lambda t: write_csv(t / "csc_activity_header_only.csv", CSC_HEADER, []), "empty", rejected=True),
    Case("a workbook without the sheet the source names", "eh_activity",
         lambda t: write_eh(t / "EarlyHelp_Activity_Jun2024.xlsx", eh_rows(), sheet="Sheet1"),
         "wrong_structure", rejected=True),
    Case("a workbook that is not a workbook", "eh_activity",
         lambda t: _text(t / "EarlyHelp_Activity_Jul2024.xlsx", "this is not a zip"), "unreadable", rejected=True),
    Case("JSON that does not parse", "hv_contacts",
         lambda t: _text(t / "hv_contacts_broken.json", '{"contacts": [ {"contact_id": "C1", '), "unreadable", rejected=True),
    Case("JSON without the records list", "hv_contacts",
         lambda t: _text(t / "hv_contacts_other.json", json.dumps({"visits": []})), "wrong_structure", rejected=True),
    # ---- hostile and broken files (issue 10) -----------------------------------------------------------
    Case("UTF-8 byte order mark before the header", "csc_activity",
         lambda t: _csc(t, lambda rows: None, encoding="utf-8-sig"), "", quarantined=0),
    Case("spreadsheet formulas (=, +, -, @) load as plain text", "csc_activity",
         lambda t: _csc(t, _formulas), "", quarantined=0),
    Case("semicolons where the source sets no delimiter (a European-locale export) are read", "csc_activity",
         lambda t: _text(t / "csc_activity_semi.csv", _csc(t, lambda rows: None).read_text().replace(",", ";")),
         "", quarantined=0),
    Case("file cut off in the middle of its last row", "csc_activity",
         lambda t: _text(t / "csc_activity_cut.csv", _csc(t, lambda rows: None).read_text()[:-40]), "unreadable_row"),
    Case("file cut off inside a quoted field", "csc_activity",
         lambda t: _text(t / "csc_activity_cutq.csv", _csc(t, lambda rows: None).read_text() + 'R4,C1,,,"Amy'),
         "unreadable_row"),
    Case("a column named twice", "csc_activity",
         lambda t: write_csv(t / "csc_activity_dup.csv", CSC_HEADER + ["Notes"], csc_rows()),
         "wrong_columns", rejected=True),
    Case("a workbook column named twice", "eh_activity",
         lambda t: _renamed_eh_column(t / "EarlyHelp_Activity_Aug2024.xlsx"), "wrong_columns", rejected=True),
    Case("a field longer than any record holds", "csc_activity",
         lambda t: _csc(t, _set(1, Notes="x" * 300_000)), "unreadable_row"),
    Case("a JSON value longer than any record holds", "hv_contacts",
         lambda t: _text(t / "hv_contacts_big.json", json.dumps(_hv_set(1, notes="n" * 200_000))),
         "unreadable_row", column="notes"),
    Case("a NUL byte inside a CSV field", "csc_activity",
         lambda t: _csc(t, _set(1, Notes="bad\x00byte")), "unreadable_row", column="Notes"),
    Case("a NUL byte inside a JSON Lines record", "police_ppn",
         lambda t: _text(t / "police_ppn_nul.jsonl", "\n".join(police_lines()[:2] + [
             police_lines()[2].replace('"Amy"', '"A\\u0000my"')])), "unreadable_row", column="forenames"),
    Case("XML entity expansion (billion laughs)", "cin_census",
         lambda t: cin_file(t / "cin_laughs.xml", child_xml("&lol9;"), prolog=BILLION_LAUGHS),
         "unsafe_xml", rejected=True),
    Case("XML external entity reading a local file", "cin_census",
         lambda t: cin_file(t / "cin_xxe.xml", child_xml("&xxe;"),
                            prolog='<!DOCTYPE Message [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'),
         "unsafe_xml", rejected=True),
    Case("XML cut off mid-element", "cin_census",
         lambda t: _text(t / "cin_cut.xml", cin_file(t / "cin_whole.xml", child_xml("C1"), child_xml("C2"))
                         .read_text()[:-60]), "unreadable", rejected=True),
    Case("a workbook cut off mid-upload", "eh_activity",
         lambda t: _bytes(t / "EarlyHelp_Activity_Sep2024.xlsx",
                          write_eh(t / "whole.xlsx", eh_rows()).read_bytes()[:2000]), "unreadable", rejected=True),
    Case("chronology event in the future", "chronology_template",
         lambda t: _chrono(t, _set(1, event_date="2031-06-01")), "date_in_future", column="event_date"),
    Case("UTF-16 text where UTF-8 is declared", "csc_activity",
         lambda t: _csc(t, lambda rows: None, encoding="utf-16"), "unreadable", rejected=True, says="byte 0xff at offset 0 (line 1)"),
    Case("tabs where the source sets no delimiter are read", "csc_activity",
         lambda t: _text(t / "csc_activity_tab.csv", _csc(t, lambda rows: None).read_text().replace(",", "\t")),
         "", quarantined=0),
    Case("an empty JSON file", "hv_contacts", lambda t: _text(t / "hv_contacts_empty.json", ""), "empty", rejected=True),
    Case("an empty JSON Lines file", "police_ppn", lambda t: _text(t / "police_ppn_empty.jsonl", "\n\n"),
         "empty", rejected=True),
    Case("an empty workbook file", "eh_activity", lambda t: _bytes(t / "EarlyHelp_Activity_Nov2024.xlsx", b""),
         "empty", rejected=True),
    Case("a workbook header and no rows", "eh_activity",
         lambda t: write_eh(t / "EarlyHelp_Activity_Dec2024.xlsx", []), "empty", rejected=True),
    Case("formulas typed into workbook cells load as their text", "eh_activity",
         lambda t: _eh_formulas(t / "EarlyHelp_Activity_Jan2025.xlsx"), "", quarantined=0),
    Case("JSON with a byte order mark", "hv_contacts",
         lambda t: _bytes(t / "hv_contacts_bom.json", b"\xef\xbb\xbf" + json.dumps(hv_doc()).encode()), "", quarantined=0),
    Case("an empty XML file", "cin_census", lambda t: _text(t / "cin_empty.xml", ""), "empty", rejected=True),
    Case("XML with a byte order mark", "cin_census",
         lambda t: _bytes(t / "cin_bom.xml", b"\xef\xbb\xbf" + cin_file(t / "cin_w.xml", child_xml("C1"), child_xml("C2"))
                          .read_bytes()), "", quarantined=0),
    Case("XML whose closing tag does not match", "cin_census",
         lambda t: _text(t / "cin_mismatch.xml", cin_file(t / "cin_w.xml", child_xml("C1"), child_xml("C2"))
                         .read_text().replace("</UPN>", "</UPNX>", 1)), "unreadable", rejected=True, says="mismatched tag"),
    Case("XML in Latin-1 that declares UTF-8", "cin_census",
         lambda t: _bytes(t / "cin_latin1.xml", cin_file(t / "cin_w.xml", child_xml("C1"), child_xml("C2"))
                          .read_text().replace("WBRI", "Zoë").encode("latin-1")), "unreadable", rejected=True,
         says="not well-formed"),
    Case("CIN referral on a day that does not exist", "cin_census",
         lambda t: cin_file(t / "cin_day.xml", child_xml("C1"), child_xml("C2", referral="2024-02-30"), child_xml("C3")),
         "bad_date", column="CINreferralDate"),
    Case("CIN referral in the future", "cin_census",
         lambda t: cin_file(t / "cin_future.xml", child_xml("C1"), child_xml("C2", referral="2099-02-01"), child_xml("C3")),
         "date_in_future", column="CINreferralDate"),
    Case("SSDA903 episodes header and no rows", "ssda903",
         lambda t: write_csv_rows(t / "episodes.csv", EPISODES, []), "empty", rejected=True),
    Case("SSDA903 episode starting on a day that does not exist", "ssda903",
         lambda t: write_csv_rows(t / "episodes.csv", EPISODES, [
             episode("7", "01/01/2020", "S", "V2", "01/03/2020", "X1"), episode("7", "30/02/2020", "L", "C2"),
             episode("8", "01/01/2021", "S", "V2")]), "bad_date", column="DECOM"),
    Case("school census column named twice", "school_census",
         lambda t: write_csv_rows(t / "2025_spring_termlysessiondetailsonroll.csv", SESSIONS + ["sessions"],
                                  [["P1", "SCH1", "S1", "1", "src", "12.0", "N", "1"]]),
         "wrong_columns", rejected=True, says="'sessions' appears twice"),
    Case("Annex A list header and no rows", "annex_a",
         lambda t: workbook(t / "annex_a_empty.xlsx", {"List 1": [LIST_1]}), "empty", rejected=True),
    Case("Annex A contact on a day that does not exist", "annex_a",
         lambda t: workbook(t / "annex_a_day.xlsx", {"List 1": [LIST_1, _contact(101), _contact(102, "31/02/2024"),
                                                                _contact(103)]}),
         "bad_date", column="Date of Contact"),
    Case("Annex A formula strings load as text", "annex_a",  # as a child id: the field holds any text
         lambda t: workbook(t / "annex_a_formula.xlsx", {"List 1": [LIST_1, _contact("=1+2"), _contact("@SUM(A1)"),
                                                                    _contact("-2+3")]}),
         "", quarantined=0),
]


def _contact(child, when="01/03/2024", source="q) 6: Police") -> list:
    from datetime import datetime

    return [child, "a) Male", "a) WBRI", datetime(2015, 1, 2), 9.1, when, source]

FORMULAS = {"Notes": '=HYPERLINK("http://example.org","open")', "Forename": "+Amy", "Surname": "-Lee",
            "Postcode": "@SUM(A1)"}


def _formulas(rows: list[dict]) -> None:
    for row in rows:
        row.update(FORMULAS)


WORKBOOK_FORMULAS = {2: "@SUM(A1)", 3: "=1+1", 4: '=HYPERLINK("http://example.org","open")'}  # row: Comments


def _eh_formulas(path: Path) -> Path:
    """Real formula cells (not text that looks like one): openpyxl reads a formula's text, never its value."""
    write_eh(path, eh_rows())
    from openpyxl import load_workbook

    wb = load_workbook(path)
    for row, formula in WORKBOOK_FORMULAS.items():
        wb.active.cell(row=row, column=12, value=formula)
    wb.save(path)
    return path


def _renamed_eh_column(path: Path) -> Path:
    write_eh(path, eh_rows())
    from openpyxl import load_workbook

    wb = load_workbook(path)
    wb.active.cell(row=1, column=12, value="Outcome")  # Comments -> a second Outcome
    wb.save(path)
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _append(path: Path, line: str) -> Path:
    with path.open("a", encoding="utf-8") as f:
        f.write(line)
    return path


def _text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _replace(rows: list[list], i: int, j: int, value) -> list[list]:
    rows[i][j] = value
    return rows


def _hv_set(i: int, **values) -> dict:
    doc = hv_doc()
    doc["contacts"][i].update(values)
    return doc


@pytest.mark.parametrize("case", CASES, ids=[c.fault for c in CASES])
def test_each_fault_gives_its_own_reason_and_the_good_rows_still_load(case: Case, tmp_path, run_date):
    folder = tmp_path / "in"
    folder.mkdir()
    path = case.make(folder)
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    result = load_files(con, registry()[case.source], [path], run_date, tmp_path / "archive")
    outcome = result.files[0]
    if case.rejected:
        assert outcome.status == "rejected"
        assert outcome.reason == case.reason, outcome.detail
        status, reason, archived = con.execute(
            "select status, reason, archived_as from ledger.files where file_name = ?", [path.name]).fetchone()
        assert (status, reason) == ("rejected", case.reason)
        assert Path(archived).read_bytes() == path.read_bytes()  # kept, not dropped
        assert case.says is None or case.says in outcome.detail, outcome.detail
        return
    assert outcome.status == "loaded", outcome.detail
    assert outcome.rows_quarantined == case.quarantined
    assert outcome.rows_loaded == outcome.rows_read - case.quarantined >= 2
    if not case.quarantined:
        assert con.execute("select count(*) from ledger.quarantine").fetchone()[0] == 0
        return
    file_name, reason, column, locator, message = con.execute(
        "select file_name, reason, column_name, locator, message from ledger.quarantine").fetchone()
    assert (file_name, reason) == (path.name, case.reason), message
    assert case.says is None or case.says in message, message
    if case.column:
        assert column == case.column
    # a row is where it was (a line, a sheet's row, an element's XPath) and, in the national formats
    # where one element holds several events (an assessment's start and authorisation), which event
    loaded = con.execute("select distinct locator, event_type from ledger.event_records").fetchall()
    assert locator not in {where for where, _ in loaded}
    assert len(loaded) == outcome.rows_loaded


def test_the_fault_set_covers_at_least_thirty_distinct_faults_across_formats():
    assert len({c.fault for c in CASES}) >= 30
    assert {registry()[c.source].format for c in CASES} == {s.format for s in registry()}


def test_spreadsheet_formulas_are_kept_exactly_as_the_agency_sent_them(tmp_path, run_date):
    """Stored as text, never evaluated or altered; exports neutralise them (issue 8)."""
    path = _csc(tmp_path, _formulas)
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    load_files(con, registry()["csc_activity"], [path], run_date, tmp_path / "archive")
    assert con.execute("select forename, surname from ledger.person_records").fetchone() \
        == (FORMULAS["Forename"], FORMULAS["Surname"])
    original = json.loads(con.execute("select original from ledger.event_records where record_id = 'R1'").fetchone()[0])
    assert {k: original[k] for k in FORMULAS} == FORMULAS  # as received (the postcode column is then normalised)


def test_formula_cells_never_computed_load_as_their_formula_not_as_empty_cells(tmp_path, run_date):
    """openpyxl writes no computed value: reading values only would have lost these cells silently."""
    path = _eh_formulas(tmp_path / "EarlyHelp_Activity_Jan2025.xlsx")
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    load_files(con, registry()["eh_activity"], [path], run_date, tmp_path / "archive")
    originals = [json.loads(o) for (o,) in con.execute(
        "select original from ledger.event_records order by row_number").fetchall()]
    assert [o["Comments"] for o in originals] == [WORKBOOK_FORMULAS[row] for row in sorted(WORKBOOK_FORMULAS)]


def test_a_formulas_computed_value_is_what_loads(tmp_path, run_date):
    """A workbook saved by Excel holds each formula's value: the agency saw that value, so it loads."""
    from openpyxl import load_workbook

    path = _eh_formulas(tmp_path / "EarlyHelp_Activity_Jan2025.xlsx")
    _cache_values(path, {"L3": "value 3", "L4": "value 4"})  # L2's "@SUM(A1)" is text, not a formula
    assert load_workbook(path, data_only=True).active["L3"].value == "value 3"
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    load_files(con, registry()["eh_activity"], [path], run_date, tmp_path / "archive")
    comments = [json.loads(o)["Comments"] for (o,) in con.execute(
        "select original from ledger.event_records order by row_number").fetchall()]
    assert comments == ["@SUM(A1)", "value 3", "value 4"]


def _cache_values(path: Path, values: dict[str, str]) -> None:
    """Add computed values to formula cells, as Excel does on saving (openpyxl cannot)."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    xml = parts[sheet].decode()
    for ref, value in values.items():
        xml, n = re.subn(rf'(<c r="{ref}"[^>]*?)(?: t="\w+")?([^>]*>)(<f>.*?</f>)(?:<v>.*?</v>|<v\s*/>)?',
                         rf'\1 t="str"\2\3<v>{value}</v>', xml)
        assert n == 1, (ref, xml[:2000])
    parts[sheet] = xml.encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)


ODD_NAMES = ["chronology_gp May 2024 (final).csv", "chronology_gp_Zoë_Łódź_名前.csv",
             "chronology_gp_" + "x" * 230 + ".csv", "-rf chronology.csv", "--help.csv"]


@pytest.mark.parametrize("name", ODD_NAMES, ids=["spaces", "unicode", "very long", "leading dash", "option-like"])
def test_odd_file_names_are_found_loaded_and_archived_under_their_own_name(name, tmp_path, run_date):
    from tests.ingest.helpers import load_folder

    folder = tmp_path / "drop"
    folder.mkdir()
    path = _chrono(folder, lambda rows: None).rename(folder / name)
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    loads = load_folder(con, folder, "run1", run_date, tmp_path / "archive")
    outcome = loads["chronology_template"].files[0]
    assert (outcome.file_name, outcome.status, outcome.rows_loaded) == (name, "loaded", 3)
    archived = con.execute("select archived_as from ledger.files where file_name = ?", [name]).fetchone()[0]
    assert Path(archived).name == name and Path(archived).read_bytes() == path.read_bytes()


def test_one_agencys_broken_file_does_not_stop_the_others_in_the_same_folder(tmp_path, run_date):
    from tests.ingest.helpers import load_folder

    folder = tmp_path / "drop"
    folder.mkdir()
    _text(folder / "EarlyHelp_Activity_Jul2024.xlsx", "this is not a zip")
    _csc(folder, lambda rows: None)
    _chrono(folder, lambda rows: None)
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    loads = load_folder(con, folder, "run1", run_date, tmp_path / "archive")
    assert loads["eh_activity"].rejected
    assert loads["csc_activity"].files[0].status == "loaded"
    assert loads["chronology_template"].files[0].status == "loaded"


def test_a_file_no_source_claims_is_reported_not_ignored(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    _text(folder / "minutes_of_meeting.docx", "not an extract")
    _chrono(folder, lambda rows: None)
    found = discover(folder, registry())
    assert [(p.name, why.split(":")[0]) for p, why in found.unmatched] == [("minutes_of_meeting.docx", "unrecognised")]
    assert [p.name for p in found.by_source["chronology_template"]] == ["chronology_gp_REV-1.csv"]


def test_a_chronology_template_is_recognised_by_its_header_whatever_its_name(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    path = _chrono(folder, lambda rows: None)
    path.rename(folder / "GP practice return for panel.csv")
    found = discover(folder, registry())
    assert [p.name for p in found.by_source["chronology_template"]] == ["GP practice return for panel.csv"]
    assert not found.unmatched
