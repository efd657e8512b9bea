"""A quiet night: files already loaded are recognised by checksum, not read again; a file changed
under the same name is read, recognised and loaded."""

from __future__ import annotations

from datetime import date

from casehistory import pipeline
from casehistory.settings import Settings
from ingest import detect

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
