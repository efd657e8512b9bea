"""The ledger is append-only: re-loading adds nothing, corrections become versions, nothing is lost."""

from __future__ import annotations

import csv
import shutil

import duckdb
import pytest

from casehistory.synth import generate
from tests.ingest.helpers import counts, load_folder, load_files, registry


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("demo"), children=250, seed=21)


def test_loading_the_same_folder_twice_leaves_the_ledger_unchanged(demo, tmp_path, run_date):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    load_folder(con, demo.extracts, "run1", run_date, tmp_path / "archive")
    before = counts(con)
    second = load_folder(con, demo.extracts, "run2", run_date, tmp_path / "archive")
    assert counts(con) == before
    assert all(f.status == "skipped" for load in second.values() for f in load.files)
    assert sum(len(load.files) for load in second.values()) == len(demo.expected["files"])


def test_every_row_of_every_file_is_loaded_or_quarantined_as_the_ground_truth_says(demo, tmp_path, run_date):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    loads = load_folder(con, demo.extracts, "run1", run_date, tmp_path / "archive")
    outcomes = {f.file_name: f for load in loads.values() for f in load.files}
    for name, expected in demo.expected["files"].items():
        assert outcomes[name].status == "loaded", name
        assert (outcomes[name].rows_read, outcomes[name].rows_loaded, outcomes[name].rows_quarantined) == \
               (expected["rows"], expected["loaded"], expected["quarantined"]), name
        reasons = dict(con.execute(
            "select reason, count(distinct row_number) from ledger.quarantine where file_name = ? group by 1",
            [name]).fetchall())
        assert reasons == expected["reasons"], name


def test_each_event_version_is_traceable_to_its_file_row_and_original_values(demo, tmp_path, run_date):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    load_folder(con, demo.extracts, "run1", run_date, tmp_path / "archive")
    csc_file = demo.extracts / "csc_activity_2025-03-31.csv"
    with csc_file.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    ledger_id, locator, row_number, original, checksum = con.execute(
        """select ledger_id, locator, row_number, original, file_checksum from ledger.event_records
           where file_name = ? and record_id = ?""", [csc_file.name, rows[9]["Record ID"]]).fetchone()
    assert row_number == 10
    import json

    assert json.loads(original)["Record ID"] == rows[9]["Record ID"]
    assert json.loads(original)["Activity Date"] == rows[9]["Activity Date"]
    archived = con.execute("select archived_as from ledger.files where checksum = ?", [checksum]).fetchone()[0]
    assert open(archived, "rb").read() == csc_file.read_bytes()


def test_a_corrected_row_is_a_new_version_and_the_current_view_shows_the_correction(demo, tmp_path, run_date):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    load_folder(con, demo.extracts, "run1", run_date, tmp_path / "archive")
    corrections = demo.extracts / "csc_activity_2025-04-07_corrections.csv"
    with corrections.open(encoding="utf-8") as f:
        fixed = list(csv.DictReader(f))
    assert fixed
    for row in fixed:
        versions = con.execute(
            """select version, supersedes, outcome, event_date, file_name from ledger.event_records
               where source = 'csc_activity' and record_id = ? order by version""", [row["Record ID"]]).fetchall()
        assert [v[0] for v in versions] == [1, 2]
        assert versions[1][4] == corrections.name
        first_id = con.execute("select ledger_id from ledger.event_records where record_id = ? and version = 1",
                               [row["Record ID"]]).fetchone()[0]
        assert versions[1][1] == first_id  # version 2 names the version it supersedes
        assert versions[0][2:4] != versions[1][2:4]  # the correction changed the outcome or the date
        current = con.execute(
            """select outcome from ledger.event_records where record_id = ?
               qualify row_number() over (partition by source, agency, record_id order by version desc) = 1""",
            [row["Record ID"]]).fetchone()
        assert current == (versions[1][2],)


def test_a_resent_file_with_one_changed_row_adds_exactly_one_version(demo, tmp_path, run_date):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    spec = registry()["school_welfare"]
    original = next(demo.extracts.glob("school_*.csv"))
    load_files(con, spec, [original], run_date, tmp_path / "archive")
    before = counts(con)
    lines = original.read_text(encoding="cp1252").splitlines(keepends=True)
    target = next(i for i, line in enumerate(lines) if ",ABS," in line and i > 5)
    lines[target] = lines[target].replace(",U,", ",A,") if ",U," in lines[target] else lines[target].replace(",A,", ",U,")
    resent = tmp_path / "resent" / original.name.replace(".csv", "_resent.csv")
    resent.parent.mkdir()
    resent.write_text("".join(lines), encoding="cp1252")
    load_files(con, spec, [resent], run_date, tmp_path / "archive", run_id="run2")
    after = counts(con)
    assert after["event_records"] == before["event_records"] + 1
    assert after["person_records"] == before["person_records"]


def test_a_copy_of_a_loaded_file_under_another_name_adds_nothing(demo, tmp_path, run_date):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    spec = registry()["police_ppn"]
    original = next(demo.extracts.glob("police_*.jsonl"))
    load_files(con, spec, [original], run_date, tmp_path / "archive")
    before = counts(con)
    copy = tmp_path / "police_ppn_copy.jsonl"
    shutil.copy(original, copy)
    result = load_files(con, spec, [copy], run_date, tmp_path / "archive", run_id="run2")
    assert result.files[0].status == "skipped"
    assert counts(con) == before


def test_a_retried_load_in_the_same_run_records_a_second_attempt_and_adds_nothing(demo, tmp_path, run_date):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    spec = registry()["police_ppn"]
    path = next(demo.extracts.glob("police_*.jsonl"))
    first = load_files(con, spec, [path], run_date, tmp_path / "archive", run_id="run1")
    before = counts(con)
    again = load_files(con, spec, [path], run_date, tmp_path / "archive", run_id="run1")
    assert (first.load_id, again.load_id) == ("run1/police_ppn", "run1/police_ppn#2")
    assert again.files[0].status == "skipped"
    assert {k: v for k, v in counts(con).items() if k != "files"} == {k: v for k, v in before.items() if k != "files"}


LEDGER_CONTENT = """select source, agency, record_id, version, content_hash, file_name, row_number, original
                    from ledger.event_records order by file_name, row_number, record_id"""


def test_events_appended_in_small_batches_make_the_same_ledger(demo, tmp_path, run_date, monkeypatch):
    """A large file's events are appended as it is read (ingest.load.EVENT_BATCH); the batch size
    never changes what the ledger holds."""
    import ingest.load

    whole = duckdb.connect(str(tmp_path / "whole.duckdb"))
    load_folder(whole, demo.extracts, "run1", run_date, tmp_path / "archive")
    monkeypatch.setattr(ingest.load, "EVENT_BATCH", 7)
    batched = duckdb.connect(str(tmp_path / "batched.duckdb"))
    load_folder(batched, demo.extracts, "run1", run_date, tmp_path / "archive")
    assert counts(batched) == counts(whole)
    assert batched.execute(LEDGER_CONTENT).fetchall() == whole.execute(LEDGER_CONTENT).fetchall()


def _cin_cut_off(demo, folder):
    from tests.ingest.test_cin_census_reader import child_xml, cin_file

    whole = cin_file(folder.parent / "whole.xml", *(child_xml(f"C{i}") for i in range(30))).read_text()
    cut = folder / "cin_cut.xml"
    cut.write_text(whole[:-60], encoding="utf-8")  # the last child cut off mid-element
    return "cin_census", cut, "unreadable", "not well-formed"


def _csv_with_a_bad_byte_near_the_end(demo, folder):
    rows = (demo.extracts / "csc_activity_2025-03-31.csv").read_bytes().split(b"\n")
    line = len(rows) - 3
    rows[line - 1] = rows[line - 1].replace(b",", b",\xe9", 1)  # a Windows-1252 byte in a UTF-8 file
    path = folder / "csc_activity_2025-03-31.csv"
    path.write_bytes(b"\n".join(rows))
    offset = len(b"\n".join(rows[: line - 1])) + 1 + rows[line - 1].index(b"\xe9")  # the lines before, and their breaks
    return "csc_activity", path, "unreadable", f"byte 0xe9 at offset {offset} (line {line})"


@pytest.mark.parametrize("make", [_cin_cut_off, _csv_with_a_bad_byte_near_the_end])
def test_a_file_rejected_after_some_batches_were_appended_leaves_none_of_its_rows(demo, tmp_path, run_date,
                                                                                   monkeypatch, make):
    """Files are read as streams: a fault near the end is found after earlier rows were appended,
    and the file's transaction takes them back."""
    import ingest.load

    monkeypatch.setattr(ingest.load, "EVENT_BATCH", 1)
    folder = tmp_path / "drop"
    folder.mkdir()
    source, path, reason, says = make(demo, folder)
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    load = load_files(con, registry()[source], [path], run_date, tmp_path / "archive")
    assert [(f.status, f.reason) for f in load.files] == [("rejected", reason)]
    assert says in load.files[0].detail
    assert con.execute("select count(*) from ledger.event_records").fetchone()[0] == 0
    assert con.execute("select count(*) from ledger.person_records").fetchone()[0] == 0
    assert con.execute("select status from ledger.files").fetchall() == [("rejected",)]


def test_ledger_ids_follow_each_files_rows_so_the_same_files_always_give_the_same_ids(demo, tmp_path, run_date):
    # The models break ties between versions on ledger ids (arrival order), and a killed run and
    # its rerun must make the ledger an uninterrupted run makes: ids rise with the file's rows, in
    # a first load and in an amendments file that joins the versions already held alike.
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    load_folder(con, demo.extracts, "run1", run_date, tmp_path / "archive")
    out_of_row_order = con.execute(
        """select table_name, file_name, count(*) from (
               select 'event_records' as table_name, file_name, ledger_id, row_number, locator, agency, record_id
               from ledger.event_records
               qualify ledger_id < lag(ledger_id) over (partition by file_checksum
                                                       order by row_number, locator, agency, record_id, content_hash)
               union all
               select 'person_records', file_name, ledger_id, row_number, locator, agency, subject_ref
               from ledger.person_records
               qualify ledger_id < lag(ledger_id) over (partition by file_checksum
                                                       order by row_number, locator, agency, subject_ref, content_hash))
           group by all""").fetchall()
    assert out_of_row_order == []
    amended = con.execute("""select count(*) from ledger.event_records
                             where file_name = 'csc_activity_2025-04-07_corrections.csv' and version = 2""").fetchone()[0]
    assert amended >= 2  # the join path was taken for more than one row
