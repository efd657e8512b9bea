"""Quarantined rows stay open until each is loaded or dismissed by a named person (ingest/quarantine.py).

Every expectation is written from the rule: once the missing codes are in the source's YAML, a retry
maps the open rows again from the archived file and appends what maps now as new ledger versions,
with the original file's provenance and a load id of the retry's own; a row still failing stays
open with its current reason; a dismissal needs a name and an open row.
"""

from __future__ import annotations

import csv
import itertools
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from casehistory import pipeline, summary
from casehistory.cli import app
from casehistory.settings import Settings
from ingest import ledger, quarantine
from ingest.load import load_source
from ingest.registry import load_registry
from tests.conftest import RUN_DATE

SOURCE = "front_door"
YAML = """
source: front_door
description: A front door extract with a referral and its closure on one row (a test source)
agency: csc
format: csv
files: ["front_door_*.csv"]
date_formats: ["%d/%m/%Y"]
person:
  subject_ref: Child ID
  date_of_birth: DOB
  person_role: {const: child}
events:
  - record_id: Record ID
    subject_ref: Child ID
    event_type: {column: Activity, codes: {REF: referral__CODES__}}
    event_date: Activity Date
    related_agency: {column: Referral Source, codes: {"6": police__SOURCES__}}
  - when: Closure Date
    record_id: {template: "{Record ID}/closure"}
    subject_ref: Child ID
    event_type: {const: case_closure}
    event_date: Closure Date
"""
HEADER = ["Record ID", "Child ID", "DOB", "Activity", "Activity Date", "Referral Source", "Closure Date"]
ROWS = [
    ["R1", "C1", "01/02/2018", "REF", "01/03/2024", "6", "01/06/2024"],   # line 2: loads whole
    ["R2", "C2", "01/02/2018", "CONT", "01/03/2024", "6", "01/06/2024"],  # line 3: CONT unknown, its closure loads
    ["R3", "C3", "01/02/2018", "REF", "01/03/2024", "2A", ""],            # line 4: 2A unknown, nothing else
    ["R4", "C4", "01/02/2018", "XYZ", "01/03/2024", "6", ""],             # line 5: XYZ never becomes a code
]


def write_registry(folder: Path, *, fixed: bool) -> Path:
    """The test source's YAML; `fixed`: with the codes CONT (contact) and 2A (school) added."""
    folder.mkdir(parents=True, exist_ok=True)
    text = YAML.replace("__CODES__", ", CONT: contact" if fixed else "").replace(
        "__SOURCES__", ', "2A": school' if fixed else "")
    (folder / "front_door.yml").write_text(text)
    return folder


def write_extract(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([HEADER, *rows])
    return path


@pytest.fixture
def clock(monkeypatch):
    """ledger.now ticks a minute a call: what was received later is later."""
    ticks = itertools.count()
    monkeypatch.setattr(ledger, "now", lambda: datetime(2026, 1, 15, 2, 0) + timedelta(minutes=next(ticks)))


@pytest.fixture
def first_night(tmp_path, clock):
    """The extract loaded under the YAML without the codes; the drop file is then gone (the archive keeps it)."""
    sources = write_registry(tmp_path / "sources", fixed=False)
    registry = load_registry(sources)
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    path = write_extract(tmp_path / "front_door_2024-03.csv", ROWS)
    result = load_source(con, registry[SOURCE], [path], run_id="night1", run_date=RUN_DATE,
                         archive_dir=tmp_path / "archive",
                         registry_hash=quarantine.registry_hash(registry, SOURCE))
    path.unlink()
    yield con, result.files[0], sources
    con.close()


def _open(con) -> list[tuple]:
    return [(r.locator, r.row_outcome, r.reasons, r.attempt) for r in quarantine.open_rows(con, SOURCE)]


def test_a_row_loaded_in_part_and_rows_quarantined_whole_are_open(first_night):
    con, outcome, _ = first_night
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_loaded_in_part, outcome.rows_quarantined) == (4, 2, 1, 2)
    assert _open(con) == [("line 3", "loaded_in_part", ["unknown_code"], 1),
                          ("line 4", "quarantined", ["unknown_code"], 1),
                          ("line 5", "quarantined", ["unknown_code"], 1)]


def test_a_retry_after_the_codes_are_added_loads_the_rows_that_map_now(first_night, tmp_path):
    con, outcome, sources = first_night
    before = quarantine.registry_hash(load_registry(sources), SOURCE)
    assert not quarantine.needs_retry(con, SOURCE, before)  # nothing changed: nothing to try again
    registry = load_registry(write_registry(sources, fixed=True))
    after = quarantine.registry_hash(registry, SOURCE)
    assert after != before and quarantine.needs_retry(con, SOURCE, after)

    result = quarantine.retry(con, registry, SOURCE, run_id="night2")

    assert (result.rows_retried, result.rows_loaded, result.rows_open) == (3, 2, 1)
    assert (result.events_added, result.persons_added) == (2, 1)  # R2's referral and R3's; C3 is new
    checksum = con.execute("select checksum from ledger.files").fetchone()[0]
    added = con.execute("""select record_id, event_type, related_agency, version, file_name, file_checksum, row_number,
                                  locator, load_id
                           from ledger.event_records where load_id like '%retry%' order by record_id""").fetchall()
    assert added == [
        ("R2", "contact", "police", 1, "front_door_2024-03.csv", checksum, 2, "line 3", "night2/front_door/retry"),
        ("R3", "referral", "school", 1, "front_door_2024-03.csv", checksum, 3, "line 4", "night2/front_door/retry")]
    # the closure line 3 gave on the first night is not appended again
    assert con.execute("select count(*) from ledger.event_records where record_id = 'R2/closure'").fetchone()[0] == 1
    assert con.execute("select list(subject_ref order by subject_ref) from ledger.person_records").fetchone()[0] == \
        ["C1", "C2", "C3"]
    received = con.execute("select min(received_at) from ledger.event_records where load_id like '%retry%'").fetchone()[0]
    assert received > con.execute("select received_at from ledger.files").fetchone()[0]  # received_at: the retry's now
    assert con.execute("select locator, resolution, resolved_by, load_id from ledger.quarantine_resolutions "
                       "order by locator").fetchall() == [
        ("line 3", "loaded", quarantine.RETRIED_BY, "night2/front_door/retry"),
        ("line 4", "loaded", quarantine.RETRIED_BY, "night2/front_door/retry")]
    # the row still failing stays open, with the reason its latest attempt found
    assert _open(con) == [("line 5", "quarantined", ["unknown_code"], 2)]
    assert con.execute("select load_id, value from ledger.quarantine where attempt = 2").fetchall() == \
        [("night2/front_door/retry", "XYZ")]
    assert not quarantine.needs_retry(con, SOURCE, after)  # tried with this mapping already
    assert con.execute("select rows_retried, rows_loaded, rows_open, registry_hash from ledger.quarantine_retries"
                       ).fetchone() == (3, 2, 1, after)


def test_a_retry_never_supersedes_a_later_files_version(first_night, tmp_path):
    con, _, sources = first_night
    registry = load_registry(sources)
    # a later extract gives R2 again, as a referral this time, and C2's corrected date of birth: both load
    later = write_extract(tmp_path / "front_door_2024-04.csv",
                          [["R2", "C2", "02/02/2018", "REF", "01/03/2024", "6", "01/06/2024"]])
    load_source(con, registry[SOURCE], [later], run_id="night2", run_date=RUN_DATE, archive_dir=tmp_path / "archive")
    fixed = load_registry(write_registry(sources, fixed=True))
    result = quarantine.retry(con, fixed, SOURCE, run_id="night3")
    assert con.execute("select event_type, version, file_name from ledger.event_records where record_id = 'R2'"
                       ).fetchall() == [("referral", 1, "front_door_2024-04.csv")]
    # the old row's statement about C2 does not become the current one again
    assert con.execute("select version, date_of_birth::varchar, file_name from ledger.person_records "
                       "where subject_ref = 'C2' order by version").fetchall() == [
        (1, "2018-02-01", "front_door_2024-03.csv"), (2, "2018-02-02", "front_door_2024-04.csv")]
    assert result.rows_loaded == 2
    note = con.execute("select note from ledger.quarantine_resolutions where locator = 'line 3'").fetchone()[0]
    assert note == "R2: a later file's version stands"


def test_a_retry_of_two_files_keeps_the_order_they_arrived_in(first_night, tmp_path):
    """R2 was quarantined in March's file and again, corrected to 2 March, in April's: once both
    map, April's is the current version, whatever order the retry appended them in."""
    con, _, sources = first_night
    later = write_extract(tmp_path / "front_door_2024-04.csv",
                          [["R2", "C2", "01/02/2018", "CONT", "02/03/2024", "6", "01/06/2024"]])
    load_source(con, load_registry(sources)[SOURCE], [later], run_id="night2", run_date=RUN_DATE,
                archive_dir=tmp_path / "archive")
    quarantine.retry(con, load_registry(write_registry(sources, fixed=True)), SOURCE, run_id="night3")
    assert con.execute("select version, event_date::varchar, file_name from ledger.event_records "
                       "where record_id = 'R2' order by version").fetchall() == [
        (1, "2024-03-01", "front_door_2024-03.csv"), (2, "2024-03-02", "front_door_2024-04.csv")]


def test_a_date_in_the_future_on_the_files_night_is_still_one_on_a_retry(tmp_path, clock):
    """Received on 15 January 2026 with an unknown code and a date of 1 March 2026: adding the code
    does not load it, as the file is judged as on its own night (the date stays in its future)."""
    sources = write_registry(tmp_path / "sources", fixed=False)
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    path = write_extract(tmp_path / "front_door_2026-01.csv", [["R9", "C9", "01/02/2018", "CONT", "01/03/2026", "6", ""]])
    load_source(con, load_registry(sources)[SOURCE], [path], run_id="night1", run_date=RUN_DATE,
                archive_dir=tmp_path / "archive")
    assert _open(con) == [("line 2", "quarantined", ["date_in_future", "unknown_code"], 1)]
    result = quarantine.retry(con, load_registry(write_registry(sources, fixed=True)), SOURCE, run_id="night2")
    assert (result.rows_loaded, result.rows_open) == (0, 1)
    assert _open(con) == [("line 2", "quarantined", ["date_in_future"], 2)]


# The ledger's tables as stores made before rows could be loaded in part hold them.
STORE_BEFORE_THE_SPLIT = """
create schema if not exists ledger;
create sequence if not exists ledger.record_seq;
create table if not exists ledger.loads (
    load_id varchar primary key, run_id varchar not null, source varchar not null,
    started_at timestamp not null, finished_at timestamp, status varchar not null,
    files_seen integer, files_loaded integer, files_skipped integer, files_rejected integer,
    rows_read bigint, rows_loaded bigint, rows_quarantined bigint, events_added bigint, persons_added bigint,
    message varchar);
create table if not exists ledger.files (
    load_id varchar not null, source varchar not null, file_name varchar not null, file_path varchar not null,
    checksum varchar not null, size_bytes bigint, modified_at timestamp, received_at timestamp not null,
    status varchar not null, reason varchar, detail varchar,
    rows_read bigint, rows_loaded bigint, rows_quarantined bigint, events_added bigint, persons_added bigint,
    archived_as varchar);
alter table ledger.files add column if not exists modified_ns bigint;  -- stores made before it was recorded
create table if not exists ledger.event_records (
    ledger_id bigint primary key, source varchar not null, agency varchar not null, record_id varchar not null,
    version integer not null, supersedes bigint, content_hash varchar not null,
    subject_ref varchar not null, subject_namespace varchar not null,
    event_type varchar not null, event_date date not null, event_time time, outcome varchar,
    related_agency varchar, practitioner_role varchar, summary varchar, recorded_at timestamp,
    review_id varchar, family_ref varchar, person_role varchar,
    file_name varchar not null, file_checksum varchar not null, row_number integer not null,
    locator varchar not null, load_id varchar not null, received_at timestamp not null, original json);
create table if not exists ledger.person_records (
    ledger_id bigint primary key, source varchar not null, agency varchar not null, subject_ref varchar not null,
    subject_namespace varchar not null, version integer not null, supersedes bigint, content_hash varchar not null,
    nhs_number varchar, nhs_number_valid boolean, upn varchar, upn_valid boolean, la_child_id varchar,
    forename varchar, surname varchar, date_of_birth date, sex varchar, postcode varchar,
    family_ref varchar, person_role varchar,
    file_name varchar not null, file_checksum varchar not null, row_number integer not null,
    locator varchar not null, load_id varchar not null, received_at timestamp not null);
create table if not exists ledger.quarantine (
    load_id varchar not null, source varchar not null, agency varchar, file_name varchar not null,
    file_checksum varchar not null, row_number integer not null, locator varchar not null,
    column_name varchar, value varchar, reason varchar not null, message varchar not null,
    original json, received_at timestamp not null);
"""


def test_a_store_made_before_the_split_opens_and_its_quarantined_rows_are_open(tmp_path, clock):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    con.execute(STORE_BEFORE_THE_SPLIT)
    con.execute("""insert into ledger.quarantine values ('old/front_door', 'front_door', 'csc', 'old.csv', 'abc123',
                   7, 'line 8', 'Activity', 'XYZ', 'unknown_code', 'event_type: XYZ', '{}', timestamp '2025-12-01')""")
    registry = load_registry(write_registry(tmp_path / "sources", fixed=False))
    path = write_extract(tmp_path / "front_door_2024-03.csv", ROWS[:1])
    [outcome] = load_source(con, registry[SOURCE], [path], run_id="night1", run_date=RUN_DATE,
                            archive_dir=tmp_path / "archive").files
    assert (outcome.status, outcome.rows_loaded, outcome.rows_loaded_in_part) == ("loaded", 1, 0)
    # the old row: quarantined whole (nothing was loaded in part then), first attempt, open
    assert _open(con) == [("line 8", "quarantined", ["unknown_code"], 1)]


def test_a_dismissal_needs_a_name_and_an_open_row(first_night):
    con, _, _ = first_night
    checksum = con.execute("select checksum from ledger.files").fetchone()[0]
    # rows are numbered from the first under the header: line 5 is row 4
    with pytest.raises(quarantine.QuarantineError, match="--by"):
        quarantine.dismiss(con, checksum[:12], 4, by="  ", note="not ours")
    with pytest.raises(quarantine.QuarantineError, match="no open quarantined row 1"):
        quarantine.dismiss(con, checksum[:12], 1, by="A. Analyst", note="loaded already")
    with pytest.raises(quarantine.QuarantineError, match="no open quarantined row 4"):
        quarantine.dismiss(con, "0" * 12, 4, by="A. Analyst", note="no such file")
    row = quarantine.dismiss(con, checksum[:12], 4, by="A. Analyst", note="XYZ is a test record")
    assert row.locator == "line 5"
    assert con.execute("select resolution, resolved_by, note from ledger.quarantine_resolutions").fetchall() == \
        [("dismissed", "A. Analyst", "XYZ is a test record")]
    assert [loc for loc, *_ in _open(con)] == ["line 3", "line 4"]
    with pytest.raises(quarantine.QuarantineError, match="no open quarantined row 4"):
        quarantine.dismiss(con, checksum[:12], 4, by="B. Analyst", note="again")


# ---- through the pipeline's load step, the run summary and the CLI -------------------------------

def _night(settings: Settings, run_id: str, files: list[str]) -> tuple[dict, dict]:
    detail = pipeline.load(settings, run_id, SOURCE, files)
    return detail, summary.build_summary(settings, run_id)


def test_the_nightly_load_retries_when_the_yaml_changed_and_the_open_quarantine_shows_every_night(tmp_path, clock):
    sources = write_registry(tmp_path / "sources", fixed=False)
    drop = tmp_path / "drop"
    drop.mkdir()
    path = write_extract(drop / "front_door_2024-03.csv", ROWS)
    settings = Settings(extracts=drop, warehouse=tmp_path / "wh.duckdb", run_date=RUN_DATE, sources_dir=sources)

    first, first_summary = _night(settings, "night1", [str(path)])
    second, second_summary = _night(settings, "night2", [str(path)])  # nothing new, nothing changed
    assert "quarantine_retried" not in first and "quarantine_retried" not in second
    for night in (first_summary, second_summary):  # still there the night after
        assert night["quarantine_open"] == [{"source": SOURCE, "rows": 2, "rows_in_part": 1,
                                             "oldest": date(2026, 1, 15)}]
    assert "Open quarantine" in summary.render(second_summary)

    write_registry(sources, fixed=True)
    third, third_summary = _night(settings, "night3", [str(path)])
    assert third["quarantine_retried"] == {"rows": 3, "loaded": 2, "still_open": 1, "problems": []}
    assert third_summary["quarantine_open"] == [{"source": SOURCE, "rows": 1, "rows_in_part": 0,
                                                 "oldest": date(2026, 1, 15)}]
    assert third_summary["quarantine_retried"] == [{"source": SOURCE, "rows": 3, "loaded": 2, "still_open": 1}]
    text = summary.render(third_summary)
    assert "Quarantine retried (front_door, its mapping changed): 3 rows, 2 loaded, 1 still open" in text

    runner = CliRunner()
    listed = runner.invoke(app, ["quarantine", "list", "--warehouse", str(settings.warehouse)])
    assert listed.exit_code == 0, listed.output
    assert "line 5" in listed.output and "unknown_code" in listed.output and "line 3" not in listed.output
    with duckdb.connect(str(settings.store), read_only=True) as con:
        checksum = con.execute("select checksum from ledger.files").fetchone()[0]
    refused = runner.invoke(app, ["quarantine", "dismiss", checksum[:12], "4", "--by", "", "--note", "test record",
                                  "--warehouse", str(settings.warehouse)])
    assert refused.exit_code == 2 and "--by" in refused.output
    unknown = runner.invoke(app, ["quarantine", "dismiss", checksum[:12], "9", "--by", "A. Analyst", "--note", "x",
                                  "--warehouse", str(settings.warehouse)])
    assert unknown.exit_code == 2 and "no open quarantined row 9" in unknown.output
    done = runner.invoke(app, ["quarantine", "dismiss", checksum[:12], "4", "--by", "A. Analyst", "--note",
                               "test record", "--warehouse", str(settings.warehouse)])
    assert done.exit_code == 0, done.output
    _, fourth_summary = _night(settings, "night4", [str(path)])
    assert fourth_summary["quarantine_open"] == []
    assert json.dumps(fourth_summary, default=str)  # the summary is written as JSON too
