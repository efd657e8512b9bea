"""The benchmark's own pieces: the CIN census it builds, the next night's file, and a stage run in
a process of its own with its time and peak memory."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import pytest

from casehistory.settings import PROJECT_ROOT
from ingest.readers.cin_census import read_cin_census
from ingest.registry import load_registry

_spec = importlib.util.spec_from_file_location("bench_run", PROJECT_ROOT / "benchmarks" / "run.py")
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_run"] = bench
_spec.loader.exec_module(bench)

needs_samples = pytest.mark.skipif(not bench.CIN_SAMPLES.exists(), reason="../shared/samples is absent")


@pytest.mark.samples
@needs_samples
def test_the_cin_census_has_the_children_asked_for_each_with_its_own_id(tmp_path):
    xml = tmp_path / "cin.xml"
    bench.write_cin_census(xml, 500)
    spec = load_registry(PROJECT_ROOT / "ingest" / "sources")["cin_census"]
    tables = {t.name: list(t.rows) for t in read_cin_census(xml, spec)}
    ids = {row.values["LAchildID"] for row in tables["cin_details"]}
    assert len(ids) == 500  # every sample child has a CIN episode
    # the 2024 sample's children bring the nested elements: assessments, section 47, plans, reviews
    for table in ("assessments", "section47", "cp_plans", "cp_reviews"):
        assert tables[table], table


@pytest.mark.samples
@needs_samples
def test_a_stage_runs_in_its_own_process_and_reports_time_memory_and_detail(tmp_path):
    xml = tmp_path / "cin.xml"
    bench.write_cin_census(xml, 40)
    m = bench.run_stage("cin_ours", tmp_path, "--extracts", str(xml))
    assert m.error is None
    assert m.detail["rows"] > 40 and m.seconds > 0
    assert 10 < m.peak_mb < 2000  # a Python process's resident set, in MB


def test_a_failing_stage_is_reported_not_hidden(tmp_path):
    m = bench.run_stage("cin_ours", tmp_path, "--extracts", str(tmp_path / "missing.xml"))
    assert m.error and "exit" in m.error


def test_the_next_night_file_holds_new_records_dated_the_next_day(tmp_path):
    header = ["Record ID", "Activity Date", "Recorded", "Child ID"]
    with (tmp_path / "csc_activity_2025-03-31.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows([["R1", "30/03/2025", "x", "C1"], ["R2", "31/03/2025", "x", "C2"], ["R3", "2025-03-31", "x", "C3"]])
    bench._next_day_file(tmp_path)
    with (tmp_path / "csc_activity_2025-04-01.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["Child ID"] for r in rows] == ["C2", "C3"]
    assert {r["Activity Date"] for r in rows} == {"01/04/2025"}
    assert not {r["Record ID"] for r in rows} & {"R1", "R2", "R3"}
