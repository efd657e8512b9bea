"""`casehistory rebuild` (make rebuild) rebuilds identity, dbt and checks from the ledger alone and
publishes: the same children, the previous warehouse kept, the night recorded in run.pipeline_runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from casehistory.settings import Settings
from casehistory.synth import generate
from tests.conftest import run_pipeline

pytestmark = pytest.mark.slow


def test_rebuild_from_the_ledger_publishes_the_same_children_and_keeps_the_previous_file(tmp_path, run_date):
    demo = generate(tmp_path / "demo", children=60, seed=11)
    settings = Settings(extracts=demo.extracts, warehouse=tmp_path / "out" / "warehouse.duckdb", run_date=run_date)
    run_id = "manual__night1"
    run_pipeline(settings, run_id, then=("check", "feeds", "publish", "report"))
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        before = sorted(r[0] for r in con.execute("select child_key from marts.dim_child").fetchall())
        fresh = con.execute("select count(*) filter (where status = 'pass'), count(*) from audit.agency_freshness "
                            "where run_id = ?", [run_id]).fetchone()
    assert fresh[0] == fresh[1] > 0  # every watched agency sent its file just now

    proc = subprocess.run([str(Path(sys.executable).with_name("casehistory")), "rebuild", "--warehouse",
                           str(settings.warehouse), "--run-date", run_date.isoformat()],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Published: yes" in proc.stdout
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        after = sorted(r[0] for r in con.execute("select child_key from marts.dim_child").fetchall())
        runs = con.execute("select run_id, rows_loaded, files_seen from run.pipeline_runs order by run_id").fetchall()
    assert after == before
    assert [r[0] for r in runs][0] == run_id and runs[1][0].startswith("rebuild__")
    assert runs[1][1:] == (None, None)  # nothing loaded: the rebuild reads the ledger only
    assert len(list(settings.versions_dir.glob("*.duckdb"))) == 1
