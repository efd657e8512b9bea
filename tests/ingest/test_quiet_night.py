"""A quiet night: files already loaded are recognised by checksum, or by their stamp while it
stands, not read again; a file changed under the same name is read, recognised and loaded."""

from __future__ import annotations

import os
import time
from datetime import date, datetime

from casehistory import pipeline
from casehistory.settings import Settings
from ingest import detect, ledger, load
from ingest.load import sha256

HEADER = "agency,record_id,subject_ref,forename,surname,date_of_birth,event_date,event_type"
ROWS = ["gp,GP-1,G1,amy,lee,2018-02-01,2024-01-02,gp_appointment",
        "gp,GP-2,G1,amy,lee,2018-02-01,2024-02-03,gp_appointment"]


def test_a_file_loaded_before_is_not_read_again_and_a_changed_one_with_its_name_loads(tmp_path, monkeypatch):
    drop = tmp_path / "drop"
    drop.mkdir()
    extract = drop / "chronology_gp.csv"  # recognised by its header (content), not its name
    extract.write_text("\n".join([HEADER, *ROWS]) + "\n")
    settings = Settings(extracts=drop, warehouse=tmp_path / "out" / "wh.duckdb", run_date=date(2026, 1, 15))
    read_to_recognise: list[str] = []
    match = detect.match
    monkeypatch.setattr(detect, "match", lambda path, registry: (read_to_recognise.append(path.name),
                                                                 match(path, registry))[1])

    plan = pipeline.prepare(settings, "night1")
    assert plan["chronology_template"] == [str(extract)] and read_to_recognise == ["chronology_gp.csv"]
    assert pipeline.load(settings, "night1", "chronology_template", plan["chronology_template"])["loaded"] == 1

    read_to_recognise.clear()
    plan = pipeline.prepare(settings, "night2")
    assert plan["chronology_template"] == [str(extract)]  # still offered to its source, which skips it
    assert read_to_recognise == []
    night2 = pipeline.load(settings, "night2", "chronology_template", plan["chronology_template"])
    assert (night2["loaded"], night2["skipped"]) == (0, 1)

    extract.write_text("\n".join([HEADER, *ROWS, "gp,GP-3,G1,amy,lee,2018-02-01,2024-03-04,gp_appointment"]) + "\n")
    plan = pipeline.prepare(settings, "night3")
    assert plan["chronology_template"] == [str(extract)] and read_to_recognise == ["chronology_gp.csv"]
    night3 = pipeline.load(settings, "night3", "chronology_template", plan["chronology_template"])
    assert (night3["loaded"], night3["events_added"]) == (1, 1)


def test_a_file_unchanged_since_it_was_loaded_is_not_hashed_and_one_rewritten_in_place_is(tmp_path, monkeypatch):
    """A loaded file's path, size and modification time stand for its content while they stay the
    same (as git's index does); same-size content with a new modification time is read again."""
    drop = tmp_path / "drop"
    drop.mkdir()
    extract = drop / "chronology_gp.csv"
    extract.write_text("\n".join([HEADER, *ROWS]) + "\n")
    long_ago = time.time_ns() - 3_600 * 10**9
    os.utime(extract, ns=(long_ago, long_ago))  # last written an hour before it was loaded
    settings = Settings(extracts=drop, warehouse=tmp_path / "out" / "wh.duckdb", run_date=date(2026, 1, 15))
    hashed: list[str] = []
    for module in (load, detect):
        monkeypatch.setattr(module, "sha256", lambda path: (hashed.append(path.name), sha256(path))[1])

    plan = pipeline.prepare(settings, "night1")
    assert pipeline.load(settings, "night1", "chronology_template", plan["chronology_template"])["loaded"] == 1
    assert hashed == ["chronology_gp.csv"]

    hashed.clear()
    plan = pipeline.prepare(settings, "night2")
    night2 = pipeline.load(settings, "night2", "chronology_template", plan["chronology_template"])
    assert (plan["chronology_template"], night2["skipped"], hashed) == ([str(extract)], 1, [])

    extract.write_text("\n".join([HEADER, ROWS[0], ROWS[1].replace("2024-02-03", "2024-02-04")]) + "\n")
    assert extract.stat().st_size == len("\n".join([HEADER, *ROWS]) + "\n")  # same size, new content
    plan = pipeline.prepare(settings, "night3")
    night3 = pipeline.load(settings, "night3", "chronology_template", plan["chronology_template"])
    assert (night3["loaded"], hashed) == (1, ["chronology_gp.csv", "chronology_gp.csv"])


def test_a_file_loaded_while_it_was_being_written_is_hashed_again_the_next_night(tmp_path, monkeypatch):
    """Modified within a second of being loaded, its stamp might not tell a rewrite in the same
    clock tick from the copy that was read, so it does not stand for the content."""
    drop = tmp_path / "drop"
    drop.mkdir()
    written = drop / "chronology_gp.csv"
    written.write_text("\n".join([HEADER, *ROWS]) + "\n")
    settings = Settings(extracts=drop, warehouse=tmp_path / "out" / "wh.duckdb", run_date=date(2026, 1, 15))
    # received in the second it was written, however long a busy machine takes to get there
    with monkeypatch.context() as clock:
        clock.setattr(ledger, "now", lambda: datetime.fromtimestamp(written.stat().st_mtime).replace(microsecond=0))
        plan = pipeline.prepare(settings, "night1")
        pipeline.load(settings, "night1", "chronology_template", plan["chronology_template"])
    hashed: list[str] = []
    for module in (load, detect):
        monkeypatch.setattr(module, "sha256", lambda path: (hashed.append(path.name), sha256(path))[1])

    plan = pipeline.prepare(settings, "night2")
    night2 = pipeline.load(settings, "night2", "chronology_template", plan["chronology_template"])
    assert (night2["skipped"], hashed) == (1, ["chronology_gp.csv", "chronology_gp.csv"])
