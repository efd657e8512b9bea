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
