"""The columnar path gives the ledger exactly what the row path gives it, and takes the files it says it takes.

Each test loads the same files twice, into two fresh ledgers: once as the loader chooses (the
columnar path for CSV, JSON and JSON Lines) and once with the columnar path switched off (every
file read a row at a time by ingest/load.py's parse_file, the definition of what a file gives).
Every ledger table must then hold the same rows: events, persons and quarantine, with their
content hashes, original values, messages, row numbers and locators, and the same file counts.
Tests also check which path read each file, so a comparison never passes because both were the
row path.
"""

from __future__ import annotations

import csv
import json
import logging
import random
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from casehistory.synth import generate
from ingest import columnar, ledger, load
from ingest.load import SourceLoad, load_source
from ingest.registry import SourceSpec
from tests.ingest.helpers import registry

RUN_DATE = date(2026, 1, 15)
EVENT_COLUMNS = ("source, agency, record_id, version, content_hash, subject_ref, subject_namespace, event_type, "
                 "event_date, event_time, outcome, related_agency, practitioner_role, summary, recorded_at, review_id, "
                 "family_ref, person_role, file_name, file_checksum, row_number, locator, load_id, received_at, "
                 "original::varchar")
PERSON_COLUMNS = ("source, agency, subject_ref, subject_namespace, version, content_hash, nhs_number, "
                  "nhs_number_valid, upn, upn_valid, la_child_id, forename, surname, date_of_birth, sex, postcode, "
                  "family_ref, person_role, file_name, file_checksum, row_number, locator, load_id, received_at")
QUARANTINE_COLUMNS = ("load_id, source, agency, file_name, file_checksum, row_number, locator, column_name, value, "
                      "reason, message, original::varchar, received_at, table_name, record_id, event_type, "
                      "row_outcome, attempt")
FILE_COLUMNS = ("load_id, source, file_name, checksum, encoding, status, reason, detail, rows_read, rows_loaded, "
                "rows_quarantined, rows_loaded_in_part, events_added, persons_added")
TABLES = {"event_records": EVENT_COLUMNS, "person_records": PERSON_COLUMNS, "quarantine": QUARANTINE_COLUMNS,
          "files": FILE_COLUMNS}


@dataclass
class Both:
    columnar: duckdb.DuckDBPyConnection
    rows: duckdb.DuckDBPyConnection
    loads: list[tuple[SourceLoad, SourceLoad]]

    def read_by(self) -> list[str | None]:
        return [f.read_by for columnar, _ in self.loads for f in columnar.files]

    def assert_same_ledger(self) -> None:
        for (a, b) in self.loads:
            assert [(f.status, f.reason, f.detail, f.rows_read, f.rows_loaded, f.rows_quarantined,
                     f.rows_loaded_in_part, f.events_added, f.persons_added) for f in a.files] == \
                   [(f.status, f.reason, f.detail, f.rows_read, f.rows_loaded, f.rows_quarantined,
                     f.rows_loaded_in_part, f.events_added, f.persons_added) for f in b.files]
        for table, columns in TABLES.items():
            theirs = self.rows.execute(f"select {columns} from ledger.{table}").fetchall()
            ours = self.columnar.execute(f"select {columns} from ledger.{table}").fetchall()
            key = lambda row: tuple((v is None, str(v)) for v in row)  # noqa: E731
            missing = sorted(set(theirs) - set(ours), key=key)[:3]
            extra = sorted(set(ours) - set(theirs), key=key)[:3]
            assert sorted(ours, key=key) == sorted(theirs, key=key), \
                f"ledger.{table}: only the row path has {missing}; only the columnar path has {extra}"


@pytest.fixture
def both(tmp_path, monkeypatch):
    """load(spec, files) into both ledgers; returns Both."""
    monkeypatch.setattr(ledger, "now", lambda: datetime(2026, 1, 15, 2, 0))  # received_at alike in both
    monkeypatch.setattr(columnar, "MIN_BYTES", 0)  # the tests' small files too
    stores = {"columnar": duckdb.connect(str(tmp_path / "columnar.duckdb")),
              "rows": duckdb.connect(str(tmp_path / "rows.duckdb"))}
    for con in stores.values():  # as the pipeline opens the store (casehistory/warehouse.py)
        con.execute(f"set threads = 2; set preserve_insertion_order = false; set temp_directory = '{tmp_path / 'spill'}'")
    result = Both(stores["columnar"], stores["rows"], [])

    def run(spec: SourceSpec, files: list[Path], run_id: str = "run1") -> Both:
        a = load_source(stores["columnar"], spec, files, run_id=run_id, run_date=RUN_DATE,
                        archive_dir=tmp_path / "archive")
        with monkeypatch.context() as m:
            m.setattr(load, "_columnar", lambda *args: None)
            b = load_source(stores["rows"], spec, files, run_id=run_id, run_date=RUN_DATE,
                            archive_dir=tmp_path / "archive")
        assert all(f.read_by in ("rows", None) for f in b.files)
        result.loads.append((a, b))
        return result
    return run


def spec_of(**overrides) -> SourceSpec:
    """A CSV source like csc_activity with the given keys replaced."""
    doc = registry()["csc_activity"].model_dump(exclude_none=True, by_alias=True)
    doc.update(overrides)
    return SourceSpec.model_validate(doc)


# ---- the generated authority ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def extracts(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("gen"), children=400, seed=5).extracts


@pytest.mark.parametrize("source", ["csc_activity", "school_welfare", "hv_contacts", "police_ppn"])
def test_each_generated_extract_gives_the_same_ledger_both_ways(source, extracts, both):
    spec = registry()[source]
    files = sorted(p for p in extracts.iterdir() if spec.matches_name(p.name))
    loaded = both(spec, files)
    assert set(loaded.read_by()) == {"columnar"}
    loaded.assert_same_ledger()
    quarantined = loaded.columnar.execute("select count(distinct reason) from ledger.quarantine").fetchone()[0]
    assert quarantined >= 2  # the generator's faults were there to be quarantined, each with the Mapper's reason


def test_a_second_night_with_changed_rows_gives_the_same_versions(extracts, both, tmp_path):
    spec = registry()["csc_activity"]
    first = next(p for p in extracts.iterdir() if p.name.startswith("csc_activity_") and "corrections" not in p.name)
    with first.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    loaded = both(spec, [first])
    changed, dropped = (n for n, in loaded.columnar.execute(
        "select row_number from ledger.event_records order by row_number limit 2").fetchall())
    rows[changed][14] = "Changed note"  # a record whose content changed: its next version
    del rows[dropped]  # a record no longer sent: no new version
    second = tmp_path / "csc_activity_2099-01-01.csv"
    with second.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    loaded = both(spec, [second], run_id="run2")
    assert set(loaded.read_by()) == {"columnar"}
    loaded.assert_same_ledger()
    assert loaded.columnar.execute("select count(*) from ledger.event_records where version = 2").fetchone()[0] == 1


# ---- CSV text the row path's reader treats in its own way -----------------------------------------

HEADER = ["Record ID", "Child ID", "NHS Number", "UPN", "Forename", "Surname", "DOB", "Gender", "Postcode",
          "Activity", "Activity Date", "Outcome", "Referral Source", "Worker Role", "Notes", "Recorded"]
GOOD = ["R1", "C1", "943 476 5919", "A123456789012", "Amy", "Lee", "01/02/2018", "Female", "ip12ab", "REF",
        "01/03/2024", "EH", "2A", "SW", "a note", "05/03/2024 10:00"]
ODD_TEXT = ["", " ", "  x  ", "\u00a0x", "x\u3000", "Zoë", "ß", "a,b", 'say "hi"', "back\\slash", "tab\there",
            "\u2028", "x\x1cy", "null", "é ", "10:00", "31/02/2024", "1/2/2024", "2024-01-02", "29/02/2023",
            "01/01/2027", "01/01/1900", "REF", "ref ", "NFA", "xx", "2A", " 6 ", "Male", "f", "9434765919",
            "943476591", "A123456789012", "un1", "IP1 2AB", "ip12ab", "\u0663\u0664", "１２"]


def random_rows(seed: int, n: int) -> list[list[str]]:
    """Rows of the csc_activity layout, each cell sometimes replaced by awkward text."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        row = list(GOOD)
        row[0], row[1] = f"R{rng.randint(1, n // 2)}", f"C{rng.randint(1, 8)}"  # repeated record ids too
        for j in range(len(row)):
            if rng.random() < 0.12:
                row[j] = rng.choice(ODD_TEXT)
        rows.append(row)
    return rows


@pytest.mark.parametrize("seed", range(6))
def test_awkward_csv_values_give_the_same_ledger(seed, both, tmp_path):
    path = tmp_path / f"csc_activity_{seed}.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([HEADER, *random_rows(seed, 300)])
    loaded = both(registry()["csc_activity"], [path])
    assert loaded.read_by() == ["columnar"]
    loaded.assert_same_ledger()


@pytest.mark.parametrize("name, text", [
    ("blank lines between and after", "{h}\r\n{r1}\r\n\r\n{r2}\r\n\r\n"),
    ("a line of delimiters and spaces", "{h}\r\n{r1}\r\n , ,,\r\n{r2}\r\n"),
    ("ragged rows", "{h}\r\n{r1},extra\r\n{r2}\r\nR9,C9\r\n\"R10\",\"a, b\"\r\n , ,\r\n"),
    ("unix line endings, none at the end", "{h}\n{r1}\n{r2}"),
    ("old Mac line endings", "{h}\r{r1}\r{r2}\r"),
    ("text after a closing quote", '{h}\r\n{r1}\r\n"R3"x,C1,,,,,,,,REF,01/03/2024,,,,,\r\n'),
    ("a space before a quote", '{h}\r\n{r1}\r\nR4, "C1",,,,,,,,REF,01/03/2024,,,,,\r\n'),
])
def test_csv_layouts_give_the_same_ledger(name, text, both, tmp_path):
    path = tmp_path / "csc_activity_layout.csv"
    r2 = list(GOOD)
    r2[0] = "R2"
    path.write_text(text.format(h=",".join(HEADER), r1=",".join(GOOD), r2=",".join(r2)), encoding="utf-8",
                    newline="")
    loaded = both(registry()["csc_activity"], [path])
    assert loaded.read_by() == ["columnar"]
    loaded.assert_same_ledger()


@pytest.mark.parametrize("name, data", [
    ("a quoted field over two lines", b'Record ID,Child ID\r\n"R1\r\nmore",C1\r\n'),
    ("line endings of two kinds", b"Record ID,Child ID\r\nR1,C1\nR2,C2\r\n"),
    ("a lone carriage return among CRLF lines", b"Record ID,Child ID\r\nR1,C1\rR2,C2\r\n"),
])
def test_files_a_line_at_a_time_cannot_read_go_to_the_row_path_whole(name, data, both, tmp_path):
    path = tmp_path / "csc_activity_odd.csv"
    header = ",".join(HEADER).encode()
    path.write_bytes(data.replace(b"Record ID,Child ID", header))
    loaded = both(registry()["csc_activity"], [path])
    assert loaded.read_by() in (["rows"], [None])  # None: rejected by both
    loaded.assert_same_ledger()


def test_windows_1252_text_gives_the_same_ledger(both, tmp_path):
    spec = spec_of(encoding="cp1252")
    path = tmp_path / "csc_activity_1252.csv"
    rows = [list(GOOD), list(GOOD)]
    rows[0][4], rows[1][0], rows[1][14] = "Zoë", "R2", "it\u2019s \u20ac5 \u201cquoted\u201d"
    with path.open("w", encoding="cp1252", newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    loaded = both(spec, [path])
    assert loaded.read_by() == ["columnar"]
    loaded.assert_same_ledger()


def test_a_byte_windows_1252_leaves_undefined_is_rejected_the_same_way(both, tmp_path):
    path = tmp_path / "csc_activity_bad.csv"
    path.write_bytes((",".join(HEADER) + "\r\n" + ",".join(GOOD) + "\r\n").encode("cp1252") + b"R2,\x81\r\n")
    loaded = both(spec_of(encoding="cp1252"), [path])
    assert loaded.loads[0][0].files[0].status == "rejected"
    loaded.assert_same_ledger()


# how each program saves a CSV (tests/ingest/test_encodings.py has their exact bytes): encoding, line end, delimiter
WRITERS = {
    "Excel CSV (Comma delimited), Windows": ("cp1252", "\r\n", ","),
    "Excel CSV UTF-8": ("utf-8-sig", "\r\n", ","),
    "Excel Unicode Text": ("utf-16", "\r\n", "\t"),
    "LibreOffice Calc default": ("utf-8", "\n", ","),
    "Excel CSV in a European locale": ("cp1252", "\r\n", ";"),
}


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize("writer", WRITERS)
def test_a_file_whose_encoding_and_delimiter_are_found_gives_the_same_ledger(writer, both, tmp_path):
    encoding, line_end, delimiter = WRITERS[writer]
    rows = [[c if _encodable(c, encoding) else "?" for c in row] for row in random_rows(11, 300)]
    known = list(GOOD)
    known[0], known[1], known[4], known[14] = "Z1", "CZ", "Zoë", "seen 09:00\u201309:30"
    rows.insert(0, known)
    path = tmp_path / "csc_activity_written.csv"
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter, lineterminator=line_end).writerows([HEADER, *rows])
    loaded = both(spec_of(encoding="detect"), [path])
    assert loaded.read_by() == ["columnar"]
    loaded.assert_same_ledger()  # the files' encodings among what is compared
    assert loaded.columnar.execute("select encoding from ledger.files").fetchall() == [(encoding,)]
    assert loaded.columnar.execute("select e.summary, p.forename from ledger.event_records e join ledger.person_records p "
                                   "using (subject_ref) where record_id = 'Z1'").fetchall() == [
        ("seen 09:00\u201309:30", "Zoë")]


def test_a_utf16_file_over_the_columnar_threshold_gives_the_same_ledger(both, tmp_path):
    rows = []
    for i in range(5000):
        row = list(GOOD)
        row[0], row[4], row[14] = f"R{i}", "Zoë", f"visit {i} \u2013 seen"
        rows.append(row)
    path = tmp_path / "csc_activity_unicode.csv"
    with path.open("w", encoding="utf-16", newline="") as f:
        csv.writer(f, delimiter="\t", lineterminator="\r\n").writerows([HEADER, *rows])
    assert path.stat().st_size >= 1 << 20  # columnar.MIN_BYTES as the pipeline sets it
    loaded = both(spec_of(encoding="detect"), [path])
    assert loaded.read_by() == ["columnar"]
    loaded.assert_same_ledger()
    assert loaded.columnar.execute("select count(*), count(*) filter (where summary = 'visit 7 \u2013 seen') "
                                   "from ledger.event_records").fetchone() == (5000, 1)


@pytest.mark.parametrize("source, name, encoding", [
    ("hv_contacts", "hv_contacts_unicode.json", "utf-16"),
    ("hv_contacts", "hv_contacts_1252.json", "cp1252"),
    ("police_ppn", "police_ppn_1252.jsonl", "cp1252"),
])
def test_json_not_in_utf8_goes_to_the_row_path_saying_why(source, name, encoding, both, tmp_path, caplog):
    """DuckDB's JSON readers take UTF-8 only: such a file is read a row at a time, and the log says why."""
    path = tmp_path / name
    if source == "hv_contacts":
        path.write_text(hv_document([HV, {**HV, "contact_id": "C2", "notes": "Zoë \u2013 seen"}]), encoding=encoding)
    else:
        path.write_text("\n".join(json.dumps({**POLICE, "record_ref": f"P{i}", "forenames": "Zoë"}, ensure_ascii=False)
                                  for i in range(3)) + "\n", encoding=encoding)
    with caplog.at_level(logging.INFO, logger="ingest.load"):
        loaded = both(registry()[source], [path])
    assert loaded.read_by() == ["rows"]
    loaded.assert_same_ledger()
    assert f"in {encoding}" in caplog.text
    assert loaded.rows.execute("select encoding from ledger.files").fetchall() == [(encoding,)]


def test_dates_only_python_reads_give_the_same_ledger(both, tmp_path):
    """Formats whose values SQL cannot vouch for (a month's name, a two-digit year, a day without
    its leading zero) are read by the Mapper's own parser."""
    spec = spec_of(date_formats=["%d %b %Y", "%d/%m/%y", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S.%f", "%d/%m/%Y %H:%M"])
    values = ["01 Mar 2024", "1 mar 2024", "05/03/24", "5/3/2024", "31/04/2024", "2024-03-01T10:11:12.5",
              "01/03/2024 9:05", "01/03/2024  09:05", "01/03/2024 09:05", "00/03/2024", "01/13/2024"]
    path = tmp_path / "csc_activity_dates.csv"
    rows = []
    for i, v in enumerate(values):
        row = list(GOOD)
        row[0], row[10], row[15] = f"R{i}", v, v
        rows.append(row)
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    loaded = both(spec, [path])
    assert loaded.read_by() == ["columnar"]
    loaded.assert_same_ledger()
    assert loaded.columnar.execute("select count(*) from ledger.event_records").fetchone()[0] >= 6


def test_a_record_id_repeated_across_events_of_rows_is_judged_as_the_row_path_does(both, tmp_path):
    """An event repeating an earlier row's record id is quarantined, the row's other event loads and
    its id counts as seen: row 2 (R1 again, N2 new) loads N2 in part; row 3 (R3 new, N2 again) loads
    R3 in part; row 4 (only R3 again) has nothing left and is quarantined whole."""
    spec = spec_of(events=[
        {"record_id": "Record ID", "subject_ref": "Child ID", "event_type": {"const": "referral"},
         "event_date": "Activity Date"},
        {"when": "Notes", "record_id": "Notes", "subject_ref": "Child ID", "event_type": {"const": "contact"},
         "event_date": "Activity Date"}])
    rows = []
    for rid, second in (("R1", ""), ("R1", "N2"), ("R3", "N2"), ("R3", "")):
        row = list(GOOD)
        row[0], row[14] = rid, second
        rows.append(row)
    path = tmp_path / "csc_activity_repeats.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    loaded = both(spec, [path])
    assert loaded.read_by() == ["columnar"]
    loaded.assert_same_ledger()
    assert loaded.columnar.execute(
        "select list((row_number, record_id, event_type, row_outcome) order by row_number) from ledger.quarantine "
        "where reason = 'duplicate_record'").fetchone()[0] == [
        (2, "R1", "referral", "loaded_in_part"), (3, "N2", "contact", "loaded_in_part"), (4, "R3", "referral", "quarantined")]
    assert loaded.columnar.execute("select list((row_number, record_id) order by row_number) from ledger.event_records"
                                   ).fetchone()[0] == [(1, "R1"), (2, "N2"), (3, "R3")]
    [(columnar_load, _)] = loaded.loads
    [f] = columnar_load.files
    assert (f.rows_read, f.rows_loaded, f.rows_loaded_in_part, f.rows_quarantined) == (4, 3, 2, 1)


def test_a_bad_event_is_quarantined_and_its_neighbours_load(both, tmp_path):
    """A csc_activity row giving a referral, an assessment and a closure: a wrong value holds back
    its event, the row's other events and its person load; a problem of the row itself (no child
    id, a date of birth that is not a date) or in every event quarantines the row whole. Both paths
    alike. (Events made from a shared wrong value: tests/ingest/test_ssda903_reader.py.)"""
    activity = registry()["csc_activity"].model_dump(exclude_none=True, by_alias=True)["events"][0]
    spec = spec_of(events=[
        {"record_id": "Record ID", "subject_ref": "Child ID", "event_type": {"const": "referral"},
         "event_date": "Activity Date", "related_agency": activity["related_agency"]},
        {"when": "Assessment ID", "record_id": "Assessment ID", "subject_ref": "Child ID",
         "event_type": {"const": "assessment_start"}, "event_date": "Assessment Date"},
        {"when": "Closure ID", "record_id": "Closure ID", "subject_ref": "Child ID",
         "event_type": {"const": "case_closure"}, "event_date": "Closure Date"}])
    header = [*HEADER, "Assessment ID", "Assessment Date", "Closure ID", "Closure Date"]
    changes = [  # (record id, child id, DOB, activity date, referral source, assessment, closure); run date 15/01/2026
        ("R1", "C1", "01/02/2018", "01/03/2024", "2A", ("A1", "05/03/2024"), ("X1", "01/06/2024")),  # all three load
        ("R2", "C2", "01/02/2018", "01/03/2024", "ZZ", ("A2", "05/03/2024"), ("X2", "01/06/2024")),  # referrer unknown
        ("R3", "C3", "01/02/2018", "01/03/2024", "6", ("A3", "05/03/2024"), ("X3", "01/01/2027")),   # closure in the future
        ("R4", "C4", "01/02/2018", "31/02/2024", "6", ("A4", "05/03/2024"), ("", "")),               # referral on no date
        ("R5", "", "01/02/2018", "01/03/2024", "6", ("A5", "05/03/2024"), ("", "")),                 # no child id
        ("R6", "C6", "32/01/2018", "01/03/2024", "6", ("A6", "05/03/2024"), ("", "")),               # born on no date
        ("R7", "C7", "01/02/2018", "01/03/2024", "ZZ", ("A7", "01/02/2027"), ("X7", "01/03/2027")),  # every event wrong
    ]
    rows = []
    for rid, child, dob, day, referrer, assessment, closure in changes:
        row = list(GOOD)
        row[0], row[1], row[6], row[10], row[12] = rid, child, dob, day, referrer
        rows.append([*row, *assessment, *closure])
    path = tmp_path / "csc_activity_partial.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    loaded = both(spec, [path])
    assert loaded.read_by() == ["columnar"]
    loaded.assert_same_ledger()
    con = loaded.columnar
    assert con.execute("select list((row_number, event_type, record_id) order by row_number, event_type) "
                       "from ledger.event_records").fetchone()[0] == [
        (1, "assessment_start", "A1"), (1, "case_closure", "X1"), (1, "referral", "R1"),
        (2, "assessment_start", "A2"), (2, "case_closure", "X2"),
        (3, "assessment_start", "A3"), (3, "referral", "R3"),
        (4, "assessment_start", "A4")]
    assert con.execute("select list(subject_ref order by subject_ref) from ledger.person_records").fetchone()[0] == \
        ["C1", "C2", "C3", "C4"]
    assert con.execute("select row_number, reason, column_name, event_type, record_id, row_outcome "
                       "from ledger.quarantine order by all").fetchall() == [
        (2, "unknown_code", "Referral Source", "referral", "R2", "loaded_in_part"),
        (3, "date_in_future", "Closure Date", "case_closure", "X3", "loaded_in_part"),
        (4, "bad_date", "Activity Date", "referral", "R4", "loaded_in_part"),
        (5, "missing_required", "Child ID", None, None, "quarantined"),
        (6, "bad_date", "DOB", None, None, "quarantined"),
        (7, "date_in_future", "Assessment Date", "assessment_start", "A7", "quarantined"),
        (7, "date_in_future", "Closure Date", "case_closure", "X7", "quarantined"),
        (7, "unknown_code", "Referral Source", "referral", "R7", "quarantined")]
    [(columnar_load, _)] = loaded.loads
    [f] = columnar_load.files
    # rows_read = rows_loaded (whole or in part) + rows_quarantined (whole)
    assert (f.rows_read, f.rows_loaded, f.rows_loaded_in_part, f.rows_quarantined) == (7, 4, 3, 3)
    assert con.execute("select rows_loaded, rows_loaded_in_part, rows_quarantined from ledger.files").fetchone() == \
        (4, 3, 3)
    assert con.execute("select rows_loaded, rows_loaded_in_part, rows_quarantined from ledger.loads").fetchone() == \
        (4, 3, 3)


# ---- JSON Lines and JSON documents -----------------------------------------------------------------

POLICE = {"record_ref": "P1", "person_id": "PN1", "forenames": "Amy", "surname": "Lee", "dob": "01/02/2018",
          "gender": "F", "postcode": "IP1 2AB", "household_ref": "H1", "role": "CHILD PRESENT", "type": "DOMESTIC",
          "occurred_at": "2024-03-01T10:00:00", "referred_to": None, "officer_role": "PC", "summary": "seen"}


def police_lines() -> list[str]:
    odd = [
        {**POLICE, "record_ref": "P2", "summary": 12.0},  # a number: flatten() writes "12"
        {**POLICE, "record_ref": "P3", "officer_role": True},
        {**POLICE, "record_ref": "P4", "summary": ["a", "b"]},  # a list: kept as JSON text
        {**POLICE, "record_ref": "P5", "extra": {"nested": "x", "deeper": {"y": "z"}}},
        {"person_id": "PN6", **{k: v for k, v in POLICE.items() if k != "person_id"}, "record_ref": "P6"},
        {**POLICE, "record_ref": "P7", "summary": "  padded\u00a0"},
        {**POLICE, "record_ref": "P8", "summary": "quote \" and \\ and \n"},
        {**POLICE, "record_ref": "P9", "surname": None, "dob": None},
    ]
    lines = [json.dumps(POLICE)] + [json.dumps(r, ensure_ascii=False) for r in odd]
    lines += ['{"record_ref": "P10", "record_ref": "P11", "person_id": "PN1", "type": "DOMESTIC", '
              '"occurred_at": "2024-03-01T10:00:00"}',  # a repeated key: Python keeps the last
              '{"record_ref": "P12", "type": "DOMESTIC",}',  # a trailing comma DuckDB would take
              '{"record_ref": "P13", "summary": NaN}', '["not", "an", "object"]', '"just text"',
              '{"record_ref": "P14", "truncated', "", "   ", json.dumps({**POLICE, "record_ref": "P15"})]
    return lines


def test_json_lines_give_the_same_ledger(both, tmp_path):
    path = tmp_path / "police_ppn_odd.jsonl"
    path.write_text("\n".join(police_lines()) + "\n", encoding="utf-8")
    loaded = both(registry()["police_ppn"], [path])
    assert loaded.read_by() == ["columnar"]
    loaded.assert_same_ledger()
    reasons = dict(loaded.columnar.execute("select reason, count(*) from ledger.quarantine group by all").fetchall())
    assert reasons.get("unreadable_row", 0) >= 4


def hv_document(records: list, tail: str = "") -> str:
    return json.dumps({"extract": {"system": "chr"}, "contacts": records}, indent=1, ensure_ascii=False)[:-2] + \
        tail + "\n}"


HV = {"contact_id": "C1", "patient": {"id": "HV1", "nhs_number": "9434765919", "given_name": "Amy",
                                      "family_name": "Lee", "birth_date": "2018-02-01", "gender": "female",
                                      "postcode": "IP1 2AB"},
      "contact_type": "home_visit", "contact_date": "2024-03-01", "outcome": "Completed", "related_org": None,
      "staff_role": "HV", "notes": None}


def test_a_json_document_gives_the_same_ledger(both, tmp_path):
    records = [HV, {**HV, "contact_id": "C2", "notes": 5}, {**HV, "contact_id": "C3", "patient": {"id": "HV2"}},
               {**HV, "contact_id": "C4", "contact_date": "2030-01-01"}, "not an object",
               {**HV, "contact_id": "C5", "notes": "Zoë said \"no\""}, {"contact_id": "C6"}]
    path = tmp_path / "hv_contacts_doc.json"
    path.write_text(hv_document(records), encoding="utf-8")
    loaded = both(registry()["hv_contacts"], [path])
    assert loaded.read_by() == ["columnar"]
    loaded.assert_same_ledger()


@pytest.mark.parametrize("name, text", [
    ("members after the records", hv_document([HV])[:-2] + ',\n "count": 1\n}'),
    ("a trailing comma inside a record", hv_document([HV]).replace('"notes": null', '"notes": null,')),
    ("no records", hv_document([])),
])
def test_json_documents_the_columnar_path_does_not_vouch_for_go_to_the_row_path(name, text, both, tmp_path):
    path = tmp_path / "hv_contacts_odd.json"
    path.write_text(text, encoding="utf-8")
    loaded = both(registry()["hv_contacts"], [path])
    assert loaded.read_by() in (["rows"], [None])
    loaded.assert_same_ledger()


# ---- which path reads a file --------------------------------------------------------------------

def test_an_operator_can_send_every_file_down_the_row_path(both, tmp_path, monkeypatch):
    path = tmp_path / "csc_activity_off.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([HEADER, GOOD])
    monkeypatch.setenv("CASEHISTORY_COLUMNAR_INGEST", "off")
    loaded = both(registry()["csc_activity"], [path])
    assert loaded.read_by() == ["rows"]


def test_a_file_under_a_megabyte_is_read_a_row_at_a_time_and_a_larger_one_in_bulk(tmp_path):
    con = duckdb.connect()
    small, large = tmp_path / "csc_activity_small.csv", tmp_path / "csc_activity_large.csv"
    for path, n in ((small, 10), (large, columnar.MIN_BYTES // 100)):
        rows = [[f"R{i}", *GOOD[1:]] for i in range(n)]
        with path.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows([HEADER, *rows])
    assert small.stat().st_size < columnar.MIN_BYTES <= large.stat().st_size
    result = load_source(con, registry()["csc_activity"], [small, large], run_id="run1", run_date=RUN_DATE,
                         archive_dir=tmp_path / "archive")
    assert [(f.file_name, f.read_by) for f in result.files] == [(large.name, "columnar"), (small.name, "rows")]


def test_into_an_encrypted_store_the_bulk_path_loads_and_leaves_no_working_copy(tmp_path, monkeypatch):
    from casehistory import warehouse
    from casehistory.settings import Settings

    monkeypatch.setenv("CASEHISTORY_STORE_ENCRYPTION_KEY", "store-key-for-tests-" + "1" * 32)
    monkeypatch.setenv("CASEHISTORY_ENCRYPTION_ALLOW_MBEDTLS", "1")  # as tests/pipeline/test_encryption.py
    monkeypatch.setattr(columnar, "MIN_BYTES", 0)
    name = "Kelsey Ashworth-Quennell"
    rows = [[f"R{i}", f"C{i}", "", "", "Kelsey", "Ashworth-Quennell", "01/02/2018", "F", "", "REF", "01/03/2024",
             "", "", "SW", "said \u201cno\u201d, twice", "05/03/2024 10:00"] for i in range(50)]
    path = tmp_path / "csc_activity_1252.csv"  # transcoded from Windows-1252, with quoted fields: both copies made
    with path.open("w", encoding="cp1252", newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    with warehouse.store(settings) as con:
        result = load_source(con, spec_of(encoding="cp1252"), [path], run_id="run1", run_date=RUN_DATE,
                             archive_dir=settings.archive_dir)
        forename = con.execute("select any_value(forename) from ledger.person_records").fetchone()[0]
    assert [(f.read_by, f.events_added) for f in result.files] == [("columnar", 50)]
    assert forename == "Kelsey"
    assert name.encode() not in settings.store.read_bytes()
    assert not list(settings.temp_dir.glob(".columnar-*"))
