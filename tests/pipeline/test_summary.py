"""The run summary is built from the store: what it says must be what happened."""

from __future__ import annotations

from casehistory import warehouse
from casehistory.settings import Settings
from casehistory.summary import build_summary, render
from casehistory.synth import generate
from tests.ingest.helpers import load_files, registry


def test_a_retried_load_counts_once_by_its_last_attempt(tmp_path, run_date):
    demo = generate(tmp_path / "demo", children=40, seed=2)
    settings = Settings(extracts=demo.extracts, warehouse=tmp_path / "wh.duckdb", run_date=run_date)
    path = next(demo.extracts.glob("police_*.jsonl"))
    with warehouse.store(settings) as con:
        first = load_files(con, registry()["police_ppn"], [path], run_date, settings.archive_dir, run_id="r1")
        load_files(con, registry()["police_ppn"], [path], run_date, settings.archive_dir, run_id="r1")
    summary = build_summary(settings, "r1")
    [police] = [s for s in summary["sources"] if s["source"] == "police_ppn"]
    assert (police["files_seen"], police["files_skipped"], police["rows_loaded"]) == (1, 1, 0)
    assert first.files[0].rows_loaded > 0
    assert "police_ppn" in render(summary)


def test_a_file_nothing_recognises_is_reported_on_every_run_not_only_the_first(tmp_path, run_date):
    from casehistory import pipeline

    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "minutes.docx").write_text("not an extract")
    settings = Settings(extracts=drop, warehouse=tmp_path / "wh.duckdb", run_date=run_date)
    for run in ("r1", "r2"):
        pipeline.prepare(settings, run)
        assert [f["file_name"] for f in build_summary(settings, run)["unmatched_files"]] == ["minutes.docx"]
    with warehouse.store(settings, read_only=True) as con:
        assert con.execute("select count(*) from ledger.files where file_name = 'minutes.docx'").fetchone()[0] == 1
