"""A chronology the readers rejected still says who sent it and for which review (ingest/attribution.py):
read leniently from the bytes agencies' software writes, or from the file's name, and kept on the
file's row in ledger.files. Expected values are read off the files written here."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from openpyxl import Workbook

from ingest import ledger
from ingest.attribution import attribute, attribute_rejected
from tests.ingest.helpers import load_files, registry

REVIEWS = ["REV-2025-001", "REV-2025-002"]
NOTHING = {"sent_by_agencies": None, "sent_for_reviews": None, "attributed_from": None}


def test_an_excel_windows_csv_with_semicolons_gives_its_agency_and_review(tmp_path):
    # Excel's "CSV" in a European locale: Windows-1252 ("Zoë", an en dash), ';' between fields
    path = tmp_path / "export.csv"
    path.write_bytes("Agency;Record_ID;Subject_Ref;Forename;Event_Date;Review_ID\r\n"
                     "police;PN-1;P1;Zoë;01/02/2024;REV-2025-002\r\n"
                     "police;PN-2;P1;Zoë;03/02/2024 – 04/02/2024;REV-2025-002\r\n".encode("cp1252"))
    assert attribute(path, REVIEWS) == {"sent_by_agencies": ["police"], "sent_for_reviews": ["REV-2025-002"],
                                        "attributed_from": "rows"}


def test_excel_unicode_text_utf16_tab_delimited_is_read(tmp_path):
    path = tmp_path / "chronology.txt"
    text = "agency\trecord_id\tsubject_ref\tevent_date\tevent_type\nhv\tHV-1\tH1\t2024-01-02\thome_visit\n"
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    assert attribute(path, REVIEWS) == {"sent_by_agencies": ["hv"], "sent_for_reviews": None,
                                        "attributed_from": "rows"}


def test_a_header_below_a_title_line_and_values_in_any_case_and_padding(tmp_path):
    path = tmp_path / "chronology.csv"
    path.write_text("Chronology for the review panel,,\n"
                    "\"AGENCY\",record_id,review_id\n"
                    " GP ,G1, rev-2025-001\n"
                    "gp,G2,\n"
                    "not_an_agency,G3,REV-2025-001\n", encoding="utf-8")
    # agency codes are folded and checked against the vocabulary; review ids are kept as written
    # (matched to the declared ones case-insensitively downstream), whatever the row's agency
    assert attribute(path, REVIEWS) == {"sent_by_agencies": ["gp"], "sent_for_reviews": ["REV-2025-001", "rev-2025-001"],
                                        "attributed_from": "rows"}


def test_the_file_name_stands_in_where_the_rows_say_nothing(tmp_path):
    header_only = tmp_path / "chronology_hv_REV-2025-001.csv"
    header_only.write_text("agency,record_id,subject_ref,event_date,event_type\n")
    assert attribute(header_only, REVIEWS) == {"sent_by_agencies": ["hv"], "sent_for_reviews": ["REV-2025-001"],
                                               "attributed_from": "file name"}
    # rows give the agency, the name gives the review
    mixed = tmp_path / "Chronology REV-2025-002 final.csv"
    mixed.write_text("agency,record_id\nschool,S1\n")
    assert attribute(mixed, REVIEWS) == {"sent_by_agencies": ["school"], "sent_for_reviews": ["REV-2025-002"],
                                         "attributed_from": "rows and file name"}


def test_an_agency_code_counts_in_a_name_only_as_a_whole_word(tmp_path):
    path = tmp_path / "thvchronology_schools.docx"  # 'hv' and 'school' only inside words
    path.write_bytes(b"PK\x03\x04 not a document")
    assert attribute(path, REVIEWS) == NOTHING


def test_a_binary_or_undecodable_file_falls_back_to_its_name(tmp_path):
    path = tmp_path / "gp_chronology.csv"
    path.write_bytes(b"\x00\x01\xff\xfeagency\x00,\x00rec\n\x00\x00\x00")
    assert attribute(path, REVIEWS) == {"sent_by_agencies": ["gp"], "sent_for_reviews": None,
                                        "attributed_from": "file name"}


def test_a_workbook_gives_its_rows_and_a_broken_one_its_name(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["Chronology"])
    ws.append(["agency", "record_id", "review_id"])
    ws.append(["asc", "A1", "REV-2025-001"])
    ws.append([None, None, None])
    ws.append(["asc", "A2", "REV-2025-001"])
    path = tmp_path / "returned.xlsx"
    wb.save(path)
    assert attribute(path, REVIEWS) == {"sent_by_agencies": ["asc"], "sent_for_reviews": ["REV-2025-001"],
                                        "attributed_from": "rows"}
    broken = tmp_path / "chronology_asc_REV-2025-001.xlsx"
    broken.write_bytes(path.read_bytes()[:200])  # a truncated upload
    assert attribute(broken, REVIEWS) == {"sent_by_agencies": ["asc"], "sent_for_reviews": ["REV-2025-001"],
                                          "attributed_from": "file name"}


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    ledger.ensure_schema(con)
    con.execute("create schema config; create table config.reviews (review_id varchar)")
    con.executemany("insert into config.reviews values (?)", [[r] for r in REVIEWS])
    yield con
    con.close()


def test_a_rejected_template_file_is_kept_with_who_sent_it(con, tmp_path):
    path = tmp_path / "chronology_final.csv"  # rejected: a column named twice
    path.write_text("agency,record_id,subject_ref,event_date,event_type,summary,summary\n"
                    "police,PN-1,P1,2024-01-02,police_incident,a,b\n")
    result = load_files(con, registry()["chronology_template"], [path], date(2026, 1, 15), tmp_path / "archive")
    assert [(f.status, f.reason) for f in result.files] == [("rejected", "wrong_columns")]
    row = con.execute("""select sent_by_agencies, sent_for_reviews, attributed_from from ledger.files
                         where file_name = 'chronology_final.csv'""").fetchone()
    assert row == (["police"], None, "rows")


def test_a_rejected_file_of_an_agency_extract_is_not_attributed(con, tmp_path):
    path = tmp_path / "EarlyHelp_Activity_gp_REV-2025-001.xlsx"
    path.write_text("truncated upload")
    result = load_files(con, registry()["eh_activity"], [path], date(2026, 1, 15), tmp_path / "archive")
    assert [f.status for f in result.files] == ["rejected"]
    assert con.execute("select sent_by_agencies, sent_for_reviews, attributed_from from ledger.files").fetchone() \
        == (None, None, None)
    assert attribute_rejected(con, "eh_activity", path) == {}


def test_reviews_come_from_the_declared_ones_when_the_name_says(con, tmp_path):
    path = tmp_path / "chronology_gp_rev-2025-002.pdf"
    path.write_bytes(b"%PDF-1.4")
    assert attribute_rejected(con, "(unmatched)", path) == {
        "sent_by_agencies": ["gp"], "sent_for_reviews": ["REV-2025-002"], "attributed_from": "file name"}


def test_a_row_of_another_length_than_the_header_gives_nothing(tmp_path):
    # a summary with an unquoted comma shifts the row: its review_id cell holds free text
    path = tmp_path / "chronology.csv"
    path.write_text("agency,summary,review_id\n"
                    "police,Mother said, she was fine,REV-2025-001\n"
                    "police,seen,REV-2025-002\n")
    assert attribute(path, REVIEWS) == {"sent_by_agencies": ["police"], "sent_for_reviews": ["REV-2025-002"],
                                        "attributed_from": "rows"}
