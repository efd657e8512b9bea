"""Each text file is read in its own encoding and with its own delimiter, as the program that wrote
it wrote it (issue 33, item 1; ../shared/domain.md: files "say nothing of their encoding"; the rules
in ingest/readers/text.py).

The fixtures are the exact bytes each writer saves: Excel's "CSV (Comma delimited)" on Windows
(Windows-1252, CRLF, no byte-order mark: an en dash is 0x96, "ë" 0xEB), Excel's "CSV UTF-8" (BOM,
CRLF), Excel's "Unicode Text" (UTF-16 LE with BOM, tab-delimited, CRLF), LibreOffice Calc's default
(UTF-8, no BOM, LF) and Excel in a European locale (semicolons, Windows-1252). Each is found in a
drop folder by its content alone (no name pattern fits), and the ledger must hold the exact text,
"Zoë" and "–", with the encoding it was read in.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook

from casehistory.settings import DBT_DIR
from ingest import ledger
from ingest.detect import discover
from ingest.readers import FileRejected, text
from ingest.readers.tabular import CHRONOLOGY_REQUIRED, TEMPLATE_COLUMNS
from ingest.registry import SourceSpec
from tests.ingest.helpers import load_files, load_folder, registry

# ---- the chronology template, as each writer saves it ----------------------------------------------

HEADER = b"agency,record_id,subject_ref,forename,surname,date_of_birth,event_date,event_type,outcome,summary"
# two entries; in Windows-1252 "Zoë" is Zo 0xEB and the en dash 0x96
ROWS_CP1252 = [b"gp,G-1,G1,Zo\xeb,Ashworth,01/02/2018,01/03/2024,gp_appointment,attended,seen 09:00\x9609:30",
               b"gp,G-2,G1,Zo\xeb,Ashworth,01/02/2018,09/03/2024,gp_appointment,was_not_brought,mother rang \x96 not today"]
# the same in UTF-8: "ë" is C3 AB, the en dash E2 80 93
ROWS_UTF8 = [b"gp,G-1,G1,Zo\xc3\xab,Ashworth,01/02/2018,01/03/2024,gp_appointment,attended,seen 09:00\xe2\x80\x9309:30",
             b"gp,G-2,G1,Zo\xc3\xab,Ashworth,01/02/2018,09/03/2024,gp_appointment,was_not_brought,"
             b"mother rang \xe2\x80\x93 not today"]
# what the ledger must hold, written out by hand
FORENAME = "Zo\u00eb"
SUMMARIES = ["seen 09:00\u201309:30", "mother rang \u2013 not today"]


def _lines(lines: list[bytes], end: bytes) -> bytes:
    return b"".join(line + end for line in lines)


def _utf16le_tabs(lines: list[bytes]) -> bytes:
    """Excel's "Unicode Text": the BOM FF FE, then each character in two bytes, low byte first."""
    text = _lines(lines, b"\r\n").decode("utf-8").replace(",", "\t")
    return b"\xff\xfe" + text.encode("utf-16-le")


WRITERS = {
    # name: (file name, bytes, the encoding the file must be read in)
    "Excel CSV (Comma delimited), Windows": (
        "GP chronology for the panel.csv", _lines([HEADER, *ROWS_CP1252], b"\r\n"), "cp1252"),
    "Excel CSV UTF-8": (
        "GP chronology for the panel.csv", b"\xef\xbb\xbf" + _lines([HEADER, *ROWS_UTF8], b"\r\n"), "utf-8-sig"),
    "Excel Unicode Text": (
        "GP chronology for the panel.txt", _utf16le_tabs([HEADER, *ROWS_UTF8]), "utf-16"),
    "LibreOffice Calc default": (
        "GP chronology for the panel.csv", _lines([HEADER, *ROWS_UTF8], b"\n"), "utf-8"),
    "Excel CSV in a European locale": (
        "GP chronology for the panel.csv", _lines([line.replace(b",", b";") for line in [HEADER, *ROWS_CP1252]], b"\r\n"),
        "cp1252"),
}


def _drop(tmp_path: Path, files: dict[str, bytes]) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize("writer", WRITERS)
def test_a_chronology_as_each_writer_saves_it_loads_its_exact_text(writer, tmp_path, run_date):
    name, data, encoding = WRITERS[writer]
    assert data[:2] != b"\xff\xfe" or data[2:6] == b"a\x00g\x00"  # the fixture is UTF-16 LE as Excel writes it
    folder = _drop(tmp_path, {name: data})
    found = discover(folder, registry())
    assert [p.name for p in found.by_source["chronology_template"]] == [name] and not found.unmatched
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    outcome = load_folder(con, folder, "run1", run_date, tmp_path / "archive")["chronology_template"].files[0]
    assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 2, 0), outcome.detail
    assert con.execute("select status, encoding from ledger.files").fetchall() == [("loaded", encoding)]
    assert con.execute("select distinct forename from ledger.person_records").fetchall() == [(FORENAME,)]
    assert [s for (s,) in con.execute("select summary from ledger.event_records order by record_id").fetchall()] \
        == SUMMARIES


def test_a_byte_no_encoding_decodes_rejects_the_file_naming_its_offset_and_line(tmp_path, run_date):
    """Not UTF-8 (0xEB then a comma), and 0x81 is one of the five bytes Windows-1252 leaves undefined."""
    rows = [ROWS_CP1252[0], ROWS_CP1252[1].replace(b"\x96", b"\x81")]
    data = _lines([HEADER, *rows], b"\r\n")
    not_utf8 = len(HEADER) + 2 + len(b"gp,G-1,G1,Zo")  # the header line and its CRLF, then line 2 up to 0xEB
    undefined = len(HEADER) + 2 + len(rows[0]) + 2 + len(b"gp,G-2,G1,Zo\xeb,Ashworth,01/02/2018,09/03/2024,"
                                                          b"gp_appointment,was_not_brought,mother rang ")
    assert (data[not_utf8], data[undefined]) == (0xEB, 0x81)
    folder = _drop(tmp_path, {"GP chronology.csv": data})
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    outcome = load_folder(con, folder, "run1", run_date, tmp_path / "archive")["chronology_template"].files[0]
    assert (outcome.status, outcome.reason) == ("rejected", "unreadable")
    assert f"byte 0xeb at offset {not_utf8} (line 2)" in outcome.detail
    assert f"byte 0x81 at offset {undefined} (line 3)" in outcome.detail
    assert "UTF-8" in outcome.detail and "Windows-1252" in outcome.detail
    assert "YAML" not in outcome.detail  # every agency shares the template's source: its YAML is no remedy
    assert con.execute("select source, status, reason, encoding from ledger.files").fetchall() == [
        ("chronology_template", "rejected", "unreadable", None)]


def test_a_utf16_file_cut_off_mid_character_is_rejected_naming_the_offset(tmp_path, run_date):
    data = _utf16le_tabs([HEADER, *ROWS_UTF8])[:-1]  # an odd number of bytes: the last character is half there
    folder = _drop(tmp_path, {"GP chronology.txt": data})
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    outcome = load_folder(con, folder, "run1", run_date, tmp_path / "archive")["chronology_template"].files[0]
    assert (outcome.status, outcome.reason) == ("rejected", "unreadable")
    assert f"byte 0x0a at offset {len(data) - 1} (line 3)" in outcome.detail  # line 3's LF (0A 00), half there
    assert "UTF-16 byte-order mark" in outcome.detail


def test_a_utf8_file_with_a_windows_1252_byte_after_its_bom_is_rejected_naming_the_offset(tmp_path, run_date):
    """The byte-order mark says UTF-8: a Windows-1252 "ë" (0xEB) pasted in is a fault, not a reason to
    read the whole file, mark included, as Windows-1252."""
    data = b"\xef\xbb\xbf" + _lines([HEADER, ROWS_UTF8[0], ROWS_CP1252[1]], b"\r\n")
    offset = 3 + len(HEADER) + 2 + len(ROWS_UTF8[0]) + 2 + len(b"gp,G-2,G1,Zo")  # the BOM counts: it is in the file
    assert data[offset] == 0xEB
    folder = _drop(tmp_path, {"GP chronology.csv": data})
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    outcome = load_folder(con, folder, "run1", run_date, tmp_path / "archive")["chronology_template"].files[0]
    assert (outcome.status, outcome.reason) == ("rejected", "unreadable")
    assert f"UTF-8 byte-order mark, but byte 0xeb at offset {offset} (line 3)" in outcome.detail


# ---- the rules, on bytes ------------------------------------------------------------------------------

@pytest.mark.parametrize("data, encoding", [
    (b"\xef\xbb\xbfa,b\r\n", "utf-8-sig"),
    (b"\xff\xfea\x00,\x00b\x00", "utf-16"),
    (b"\xfe\xff\x00a\x00,\x00b", "utf-16"),  # big-endian
    (b"plain ASCII,is UTF-8\n", "utf-8"),
    (b"Zo\xc3\xab\n", "utf-8"),
    (b"Zo\xeb\n", "cp1252"),
    (b"Zo\xc3", "cp1252"),  # a UTF-8 sequence the end cuts off is no UTF-8: 0xC3 is Windows-1252's "\u00c3"
    (b"\xc5\x81ukasz\n", "utf-8"),  # "Łukasz": 0x81 is a UTF-8 continuation byte here, not Windows-1252's gap
])
def test_the_encoding_is_the_byte_order_marks_else_utf8_else_windows_1252(data, encoding, tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert text.detect_encoding(path) == encoding


def test_offsets_and_lines_count_across_the_blocks_the_file_is_read_in(tmp_path, monkeypatch):
    """A UTF-8 character split by a block's end is no fault; a fault's offset counts every block."""
    monkeypatch.setattr(text, "BLOCK", 4)
    path = tmp_path / "f.csv"
    path.write_bytes(b"ab\nZo\xc3\xab\n\xc5\x81x\nq\xe9\n")  # "Ł" (C5 81) is fine in UTF-8; 0xE9 then "\n" is not
    with pytest.raises(FileRejected) as err:
        text.detect_encoding(path)
    assert "byte 0xe9 at offset 13 (line 4)" in err.value.detail  # a, b, LF, Z, o, C3, AB, LF, C5, 81, x, LF, q: 13 bytes
    assert "byte 0x81 at offset 9 (line 3)" in err.value.detail
    path.write_bytes(b"ab\nZo\xc3\xab\n")
    assert text.detect_encoding(path) == "utf-8"


def test_an_encoding_the_yaml_sets_is_used_as_given(tmp_path, run_date):
    spec = _template(encoding="cp1252")
    path = tmp_path / "chronology_gp.csv"
    path.write_bytes(_lines([HEADER, *ROWS_UTF8], b"\n"))  # UTF-8, read as the YAML says: C3 AB is "Ã«"
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    assert load_files(con, spec, [path], run_date, tmp_path / "archive").files[0].status == "loaded"
    assert con.execute("select distinct forename from ledger.person_records").fetchall() == [("Zo\u00c3\u00ab",)]
    assert con.execute("select encoding from ledger.files").fetchall() == [("cp1252",)]


def test_a_file_not_in_the_encoding_the_yaml_sets_is_rejected_saying_so(tmp_path, run_date):
    path = tmp_path / "chronology_gp.csv"
    data = _lines([HEADER, *ROWS_CP1252], b"\r\n")
    path.write_bytes(data)
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    outcome = load_files(con, _template(encoding="utf-8"), [path], run_date, tmp_path / "archive").files[0]
    assert (outcome.status, outcome.reason) == ("rejected", "unreadable")
    offset = len(HEADER) + 2 + len(b"gp,G-1,G1,Zo")  # the header line and its CRLF, then line 2 up to 0xEB
    assert f"byte 0xeb at offset {offset} (line 2)" in outcome.detail
    assert "the source's YAML sets encoding 'utf-8'" in outcome.detail


# ---- delimiters ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_a_delimiter_a_spreadsheet_writes_is_read_where_the_yaml_sets_none(delimiter, tmp_path, run_date):
    path = tmp_path / "chronology_gp.csv"
    path.write_bytes(_lines([line.replace(b",", delimiter.encode()) for line in [HEADER, *ROWS_UTF8]], b"\r\n"))
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    outcome = load_files(con, registry()["chronology_template"], [path], run_date, tmp_path / "archive").files[0]
    assert (outcome.status, outcome.rows_loaded) == ("loaded", 2), outcome.detail
    assert [s for (s,) in con.execute("select summary from ledger.event_records order by record_id").fetchall()] \
        == SUMMARIES


def test_a_delimiter_the_yaml_sets_is_used_as_given(tmp_path, run_date):
    path = tmp_path / "chronology_gp.csv"
    path.write_bytes(_lines([line.replace(b",", b";") for line in [HEADER, *ROWS_UTF8]], b"\r\n"))
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    outcome = load_files(con, _template(delimiter=","), [path], run_date, tmp_path / "archive").files[0]
    assert (outcome.status, outcome.reason) == ("rejected", "wrong_columns")
    assert "delimited by ';', the source's YAML sets delimiter ','" in outcome.detail


def test_the_delimiter_is_the_one_whose_split_finds_the_columns():
    count = lambda columns: len({"a", "b;c", "d"} & set(columns))  # noqa: E731
    assert text.choose_delimiter("a,b;c,d\n", '"', count) == ","  # ';' splits more, but finds fewer
    assert text.choose_delimiter("x;y;z\n", '"', lambda columns: 0) == ";"  # none found: the most columns
    assert text.choose_delimiter("x\n", '"', lambda columns: 0) == ","  # a tie: the first


# ---- a file that nearly is the template ----------------------------------------------------------------

def _near(tmp_path: Path, name: str, header: bytes, rows: list[bytes], run_date, delimiter: bytes = b","):
    folder = _drop(tmp_path, {name: _lines([line.replace(b",", delimiter) for line in [header, *rows]], b"\r\n")})
    found = discover(folder, registry())
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    loads = load_folder(con, folder, "run1", run_date, tmp_path / "archive")
    return found, loads["chronology_template"].files, con


def test_a_misspelt_required_column_is_a_chronology_rejected_naming_it(tmp_path, run_date):
    header = HEADER.replace(b"event_date", b"evnt_date")
    found, files, con = _near(tmp_path, "GP return.csv", header, ROWS_UTF8, run_date)
    assert [p.name for p in found.by_source["chronology_template"]] == ["GP return.csv"] and not found.unmatched
    assert [(f.status, f.reason) for f in files] == [("rejected", "wrong_columns")]
    assert "required column 'event_date' is missing; 'evnt_date' looks like it" in files[0].detail
    assert con.execute("select source, status, encoding from ledger.files").fetchall() == [
        ("chronology_template", "rejected", "utf-8")]


def test_a_missing_required_column_in_a_semicolon_windows_file_is_named(tmp_path, run_date):
    def without_event_type(line: bytes) -> bytes:
        cells = line.split(b",")
        return b",".join(cells[:7] + cells[8:])
    rows = [without_event_type(r) for r in ROWS_CP1252]
    found, files, _ = _near(tmp_path, "Police return.csv", without_event_type(HEADER), rows, run_date, b";")
    assert [p.name for p in found.by_source["chronology_template"]] == ["Police return.csv"]
    assert [(f.status, f.reason) for f in files] == [("rejected", "wrong_columns")]
    assert "required column 'event_type' is missing" in files[0].detail
    assert "looks like" not in files[0].detail


def test_template_names_match_whatever_joins_their_words(tmp_path, run_date):
    """'Event Date', 'Record-ID' and 'SUBJECT REF' are the template's columns, not misspellings."""
    header = b"Agency,Record-ID,SUBJECT REF,Forename,Surname,Date of Birth,Event Date,Event_Type,Outcome,Summary"
    found, files, con = _near(tmp_path, "GP return.csv", header, ROWS_UTF8, run_date)
    assert [(f.status, f.rows_loaded) for f in files] == [("loaded", 2)], files[0].detail
    assert con.execute("select distinct forename, date_of_birth::varchar from ledger.person_records").fetchall() == [
        (FORENAME, "2018-02-01")]


def test_a_workbook_that_nearly_is_the_template_is_rejected_naming_its_sheet(tmp_path, run_date):
    folder = tmp_path / "drop"
    folder.mkdir()
    wb = Workbook()
    wb.active.title = "Chronology"
    wb.active.append([c.replace("subject_ref", "subjectref") for c in HEADER.decode().split(",")])
    wb.active.append(ROWS_UTF8[0].decode().split(","))
    wb.save(folder / "GP return.xlsx")
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    files = load_folder(con, folder, "run1", run_date, tmp_path / "archive")["chronology_template"].files
    assert [(f.status, f.reason) for f in files] == [("rejected", "wrong_columns")]
    assert "sheet 'Chronology': " in files[0].detail
    assert "required column 'subject_ref' is missing; 'subjectref' looks like it" in files[0].detail


@pytest.mark.parametrize("header", [
    b"agency,record_id,forename,surname,summary",  # template columns only, but two of the five required
    b"agency,record_id,subject_ref,a,b,c",  # three required, but as many other columns as template ones
])
def test_a_file_far_from_the_template_is_not_taken_for_one(header, tmp_path):
    folder = _drop(tmp_path, {"ledger export.csv": header + b"\r\ngp,1,x,y,z,w\r\n"})
    found = discover(folder, registry())
    assert [(p.name, why.split(":")[0]) for p, why in found.unmatched] == [("ledger export.csv", "unrecognised")]


def test_three_required_columns_among_mostly_template_ones_are_a_chronology(tmp_path, run_date):
    header = b"agency,record_id,subject_ref,forename,surname,a"  # 3 of 5 required; 5 template columns to 1 other
    found, files, _ = _near(tmp_path, "ledger export.csv", header, [b"gp,G-1,G1,Amy,Lee,x"], run_date)
    assert [(f.status, f.reason) for f in files] == [("rejected", "wrong_columns")]
    assert "required column 'event_date' is missing; required column 'event_type' is missing" in files[0].detail


def test_the_template_columns_are_the_template_sources_mapping():
    spec = registry()["chronology_template"]
    table = spec.table_specs[""]
    assert set(table.columns_used(spec.agency)) == set(TEMPLATE_COLUMNS)
    assert set(table.required(spec.agency)) == set(CHRONOLOGY_REQUIRED)


# ---- every other text source ---------------------------------------------------------------------------

def _hv_document() -> dict:
    patient = {"id": "HV1", "nhs_number": "9434765919", "given_name": FORENAME, "family_name": "Lee",
               "birth_date": "2018-02-01", "gender": "female", "postcode": "IP1 2AB"}
    return {"contacts": [{"contact_id": f"C{i}", "patient": patient, "contact_type": "home_visit",
                          "contact_date": f"2019-0{i}-01", "outcome": "Completed", "related_org": None,
                          "staff_role": "HV", "notes": SUMMARIES[i - 1]} for i in (1, 2)]}


def _police_lines() -> list[dict]:
    base = {"person_id": "PN1", "forenames": FORENAME, "surname": "Lee", "dob": "01/02/2018", "gender": "F",
            "postcode": "IP1 2AB", "household_ref": "HH1", "role": "CHILD PRESENT", "referred_to": None,
            "officer_role": "PC"}
    return [{**base, "record_ref": f"PR{i}", "occurrence_ref": f"O{i}", "type": "DOMESTIC",
             "occurred_at": f"2024-03-0{i}T21:00:00", "summary": SUMMARIES[i - 1]} for i in (1, 2)]


@pytest.mark.parametrize("source, name, data, encoding", [
    ("hv_contacts", "hv_contacts_utf16.json",
     b"\xff\xfe" + json.dumps(_hv_document(), ensure_ascii=False).encode("utf-16-le"), "utf-16"),
    ("hv_contacts", "hv_contacts_1252.json", json.dumps(_hv_document(), ensure_ascii=False).encode("cp1252"), "cp1252"),
    ("police_ppn", "police_ppn_1252.jsonl",
     b"".join(json.dumps(r, ensure_ascii=False).encode("cp1252") + b"\r\n" for r in _police_lines()), "cp1252"),
])
def test_json_and_json_lines_are_read_in_their_own_encoding(source, name, data, encoding, tmp_path, run_date):
    path = tmp_path / name
    path.write_bytes(data)
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    outcome = load_files(con, registry()[source], [path], run_date, tmp_path / "archive").files[0]
    assert (outcome.status, outcome.rows_loaded) == ("loaded", 2), outcome.detail
    assert con.execute("select encoding from ledger.files").fetchall() == [(encoding,)]
    assert con.execute("select distinct forename from ledger.person_records").fetchall() == [(FORENAME,)]
    assert [s for (s,) in con.execute("select summary from ledger.event_records order by record_id").fetchall()] \
        == SUMMARIES


def test_an_ssda903_file_saved_as_unicode_text_is_found_and_read(tmp_path, run_date):
    from tests.ingest.test_ssda903_reader import EPISODES, episode

    lines = ["\t".join(EPISODES), "\t".join(episode("7", "01/01/2020", "S", "V2", "01/03/2020", "E11"))]
    data = b"\xff\xfe" + "".join(line + "\r\n" for line in lines).encode("utf-16-le")
    folder = _drop(tmp_path, {"episodes.csv": data})
    assert [p.name for p in discover(folder, registry()).by_source["ssda903"]] == ["episodes.csv"]
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    outcome = load_folder(con, folder, "run1", run_date, tmp_path / "archive")["ssda903"].files[0]
    assert (outcome.status, outcome.events_added) == ("loaded", 2), outcome.detail  # the episode's start and end
    assert con.execute("select encoding from ledger.files").fetchall() == [("utf-16",)]


def test_a_school_census_table_with_semicolons_is_found_and_read(tmp_path, run_date):
    from tests.ingest.test_school_census_reader import SESSIONS

    data = _lines([";".join(SESSIONS).encode(), b"P1;SCH1;S1;1;src;12.0;N"], b"\r\n")
    folder = _drop(tmp_path, {"2025_spring_termlysessiondetailsonroll.csv": data})
    assert [p.name for p in discover(folder, registry()).by_source["school_census"]] == [
        "2025_spring_termlysessiondetailsonroll.csv"]
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    outcome = load_folder(con, folder, "run1", run_date, tmp_path / "archive")["school_census"].files[0]
    assert (outcome.status, outcome.rows_loaded) == ("loaded", 1), outcome.detail
    assert con.execute("select encoding from ledger.files").fetchall() == [("utf-8",)]  # ASCII: UTF-8 as it stands


def test_a_windows_1252_cin_census_whose_prolog_says_so_loads(tmp_path, run_date):
    """XML names its encoding in its prolog, for its parser: the file is not read as text here."""
    from tests.ingest.test_cin_census_reader import child_xml

    xml = ('<?xml version="1.0" encoding="windows-1252"?>\n<Message><Header><CollectionDetails><Collection>CIN'
           "</Collection><Year>2024</Year></CollectionDetails></Header><Children>"
           + child_xml("C\u2013Zo\u00eb") + "</Children></Message>")
    path = tmp_path / "cin.xml"
    path.write_bytes(xml.encode("cp1252"))
    assert b"C\x96Zo\xeb" in path.read_bytes()
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    outcome = load_files(con, registry()["cin_census"], [path], run_date, tmp_path / "archive").files[0]
    assert outcome.status == "loaded", outcome.detail
    assert con.execute("select distinct subject_ref from ledger.event_records").fetchall() == [("C\u2013Zo\u00eb",)]
    assert con.execute("select encoding from ledger.files").fetchall() == [(None,)]


# ---- provenance ----------------------------------------------------------------------------------------

def test_a_store_made_before_the_encoding_was_recorded_still_opens(tmp_path):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    old = re.sub(r"alter table ledger\.files add column if not exists encoding varchar;[^\n]*\n", "", ledger.DDL)
    assert old != ledger.DDL
    con.execute(old)
    con.execute("insert into ledger.files (load_id, source, file_name, file_path, checksum, received_at, status) "
                "values ('l1', 's', 'f.csv', '/f.csv', 'c', now(), 'loaded')")
    ledger.ensure_schema(con)
    assert con.execute("select file_name, encoding from ledger.files").fetchall() == [("f.csv", None)]


def test_the_encoding_reaches_the_board_facing_audit_of_files(tmp_path, run_date):
    """stg_ledger__files and audit.audit_files, run on a store (their dbt references resolved by hand)."""
    name, data, _ = WRITERS["Excel CSV (Comma delimited), Windows"]
    folder = _drop(tmp_path, {name: data})
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    load_folder(con, folder, "run1", run_date, tmp_path / "archive")
    models = DBT_DIR / "models"
    staging = (models / "staging" / "ledger" / "stg_ledger__files.sql").read_text()
    audit = (models / "audit" / "audit_files.sql").read_text()
    con.execute("create view stg_ledger__files as "
                + staging.replace("{{ source('ledger', 'files') }}", "ledger.files"))
    audit = audit.replace("{{ ref('stg_ledger__files') }}", "stg_ledger__files")
    rows = con.execute(f"select source_name, file_name, encoding from ({audit})").fetchall()
    assert rows == [("chronology_template", name, "cp1252")]


def _template(**overrides) -> SourceSpec:
    doc = registry()["chronology_template"].model_dump(exclude_none=True, by_alias=True)
    doc.update(overrides)
    return SourceSpec.model_validate(doc)
