"""dbt nodes surfaced one by one, one row per run, and rollback."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import pytest

from casehistory import freshness, operations, warehouse
from casehistory.settings import Settings
from ingest import ledger


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")


RUN_RESULTS = {"results": [
    {"unique_id": "model.casehistory.dim_child", "status": "success", "execution_time": 1.25,
     "adapter_response": {"rows_affected": -1}, "relation_name": '"store"."marts"."dim_child"'},
    {"unique_id": "test.casehistory.not_null_dim_child_child_key.abc", "status": "fail", "execution_time": 0.1,
     "adapter_response": {}, "relation_name": None, "message": "Got 2 results: Amy Smith"},
    {"unique_id": "unit_test.casehistory.int_matches.same_day", "status": "pass", "execution_time": 0.2,
     "adapter_response": {}, "relation_name": None},
    {"unique_id": "exposure.casehistory.board_report", "status": "no-op", "execution_time": 0.0,
     "adapter_response": {}, "relation_name": None},
]}


def test_dbt_run_results_become_one_row_per_node_with_model_row_counts_and_no_messages(settings, tmp_path, caplog):
    results = tmp_path / "run_results.json"
    results.write_text(json.dumps(RUN_RESULTS))
    with warehouse.store(settings) as con:
        con.execute("create schema marts; create table marts.dim_child as select range as child_key from range(7)")
        rows = operations.record_dbt_models(con, "r1", results)
        stored = con.execute("select resource_type, name, status, rows, seconds from run.dbt_models "
                             "order by resource_type").fetchall()
        columns = [c[0] for c in con.execute("describe run.dbt_models").fetchall()]
    assert stored == [("exposure", "board_report", "no-op", None, 0.0),
                      ("model", "dim_child", "success", 7, 1.25),
                      ("test", "not_null_dim_child_child_key.abc", "fail", None, 0.1),
                      ("unit_test", "int_matches.same_day", "pass", None, 0.2)]
    assert "message" not in columns
    caplog.set_level("INFO")
    operations.log_dbt_models(rows)
    assert "4 nodes, 1 not passing: not_null_dim_child_child_key.abc (fail)" in caplog.text  # an exposure is fine


def test_a_pipeline_run_row_adds_up_files_rows_checks_and_seconds_per_stage(settings):
    with warehouse.store(settings) as con:
        ledger.ensure_schema(con)
        con.execute("create schema run; create table run.steps (run_id varchar, step varchar, status varchar, "
                    "started_at timestamp, finished_at timestamp, detail json)")
        con.execute("""insert into run.steps values
            ('r1', 'prepare', 'succeeded', '2026-01-15 02:00:00', '2026-01-15 02:00:02', '{}'),
            ('r1', 'load:a', 'succeeded', '2026-01-15 02:00:02', '2026-01-15 02:00:12', '{}'),
            ('r1', 'load:b', 'failed', '2026-01-15 02:00:12', '2026-01-15 02:00:15', '{}'),
            ('r1', 'build', 'error', '2026-01-15 02:00:15', '2026-01-15 02:00:20', '{}'),
            ('r1', 'build', 'succeeded', '2026-01-15 02:01:00', '2026-01-15 02:01:30', '{}'),
            ('r0', 'build', 'succeeded', '2026-01-14 02:01:00', '2026-01-14 02:09:00', '{}')""")
        con.execute("""insert into ledger.loads (load_id, run_id, source, started_at, status, files_seen, files_loaded,
                       files_skipped, files_rejected, rows_read, rows_loaded, rows_quarantined) values
            ('l1', 'r1', 'a', '2026-01-15 02:00:02', 'succeeded', 2, 1, 1, 0, 100, 97, 3),
            ('l2', 'r1', 'b', '2026-01-15 02:00:12', 'failed', 1, 0, 0, 1, 0, 0, 0)""")
        con.execute("create schema quality; create table quality.check_results (run_id varchar, success boolean, "
                    "severity varchar)")
        con.execute("insert into quality.check_results values ('r1', true, 'error'), ('r1', false, 'warn'), "
                    "('r0', false, 'error')")
        con.execute(freshness.DDL)
        con.execute("""insert into audit.agency_freshness (run_id, agency, status, checked_at) values
            ('r1', 'police', 'pass', '2026-01-15 02:01:00'), ('r1', 'school', 'warn', '2026-01-15 02:01:00'),
            ('r0', 'csc', 'error', '2026-01-14 02:01:00')""")
        row = operations.record_pipeline_run(con, "r1", "failed")
        operations.record_pipeline_run(con, "r1", "failed")  # rerunning the report replaces its row
        assert con.execute("select count(*) from run.pipeline_runs").fetchone()[0] == 1
    assert (row["files_seen"], row["files_loaded"], row["files_skipped"], row["files_rejected"]) == (3, 1, 1, 1)
    assert (row["rows_read"], row["rows_loaded"], row["rows_quarantined"]) == (100, 97, 3)
    assert (row["checks_passed"], row["checks_failed"], row["checks_failed_error"]) == (1, 1, 0)
    assert row["stage_seconds"] == {"prepare": 2.0, "load": 13.0, "build": 35.0}
    assert row["stale_feeds"] == ["school"]  # this run's check only
    assert row["failed_steps"] == ["load:b"]  # build failed once, then succeeded on retry
    assert row["started_at"] == datetime(2026, 1, 15, 2, 0) and row["finished_at"] == datetime(2026, 1, 15, 2, 1, 30)


def _publish_children(settings: Settings, children: int) -> None:
    with warehouse.store(settings) as con:
        con.execute("create schema if not exists marts")
        con.execute(f"create or replace table marts.dim_child as select range as child_key from range({children})")
    warehouse.publish(settings)


def _children(path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select count(*) from marts.dim_child").fetchone()[0]


def test_each_publish_keeps_the_previous_warehouse_and_only_the_newest_few(tmp_path):
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb", keep_versions=2)
    for n in (1, 2, 3, 4):
        _publish_children(settings, n)
    kept = warehouse.versions(settings)
    assert [_children(v) for v in kept] == [3, 2]  # newest first; the first was pruned
    assert _children(settings.warehouse) == 4


def test_rollback_publishes_the_previous_warehouse_and_can_itself_be_undone(tmp_path):
    from typer.testing import CliRunner

    from casehistory.cli import app

    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    for n in (1, 2, 3):
        _publish_children(settings, n)
    result = CliRunner().invoke(app, ["rollback", "--warehouse", str(settings.warehouse)])
    assert result.exit_code == 0, result.output
    assert _children(settings.warehouse) == 2
    rolled_back = [v for v in warehouse.versions(settings) if warehouse.ROLLED_BACK in v.name]
    assert [_children(v) for v in rolled_back] == [3]
    result = CliRunner().invoke(app, ["rollback", "--warehouse", str(settings.warehouse), "--to", rolled_back[0].stem])
    assert result.exit_code == 0, result.output
    assert _children(settings.warehouse) == 3


def test_rollback_without_a_kept_version_says_so(tmp_path):
    from typer.testing import CliRunner

    from casehistory.cli import app

    result = CliRunner().invoke(app, ["rollback", "--warehouse", str(tmp_path / "wh.duckdb")])
    assert result.exit_code == 2
    assert "no earlier version kept" in result.output
