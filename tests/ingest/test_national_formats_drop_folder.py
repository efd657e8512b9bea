"""A drop folder mixing the agencies' own extracts with the national formats sorts itself by
content, and every national sample file loads with nothing rejected."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from casehistory.synth import generate
from ingest.detect import discover, list_files
from tests.ingest.helpers import load_folder, registry

pytestmark = pytest.mark.samples

NATIONAL = {"cin_census": "cin_census", "ssda903": "ssda903", "school_census": "school_census", "annex_a": "annex_a"}


def test_a_mixed_drop_folder_sorts_itself(samples, tmp_path):
    demo = generate(tmp_path / "demo", children=20, seed=3)
    drop = tmp_path / "drop"
    shutil.copytree(demo.extracts, drop)
    for folder in NATIONAL.values():
        for path in (samples / folder).iterdir():
            shutil.copy(path, drop / path.name)  # all in one folder, as an SFTP drop would hold them
    found = discover(drop, registry())
    assert found.unmatched == []
    for source, folder in NATIONAL.items():
        assert sorted(p.name for p in found.by_source[source]) == sorted(p.name for p in (samples / folder).iterdir())
    # the demo files went where their names say, as before
    demo_files = {p.name for p in list_files(demo.extracts)}
    assert {p.name for s, ps in found.by_source.items() if s not in NATIONAL for p in ps} == demo_files


def test_every_national_sample_file_loads_and_none_is_rejected(samples, tmp_path, run_date):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    loads = load_folder(con, samples, "run1", run_date, tmp_path / "archive")
    files = {f.file_name: f for load in loads.values() for f in load.files}
    expected = {p.name for folder in NATIONAL.values() for p in (samples / folder).iterdir()}
    assert set(files) == expected
    assert {name: (f.status, f.reason) for name, f in files.items() if f.status != "loaded"} == {}
    assert con.execute("select count(*) from ledger.files where status <> 'loaded'").fetchone()[0] == 0
    # what was read is in the ledger or in quarantine: every file's rows add up
    for name, f in files.items():
        assert f.rows_loaded + f.rows_quarantined == f.rows_read, name
