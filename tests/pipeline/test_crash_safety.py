"""A run killed with SIGKILL in any stage (mid-ingest, mid-linking, mid-dbt, mid-publish) and then
run again converges to exactly the warehouse an uninterrupted run produces: every table of the
restricted store and of the published file has the same content checksum, no event is lost or
duplicated, and the published file is never half-written.

The kills come one after another on one store (each rerun is the next kill's run), so the test pays
for two full runs, not eight. The pipeline is killed at named points (casehistory/crashpoint.py),
and mid-dbt when dbt's own log shows models being built.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from casehistory import incremental
from casehistory import warehouse as warehouse_module  # tests here name their paths "warehouse"
from casehistory.synth import generate
from tests.pipeline import run_steps

pytestmark = pytest.mark.slow

RUN_DATE = "2026-01-15"
# Columns that say when, or in which run, something happened: a run killed and rerun differs from
# an uninterrupted one there by design (other run ids, other clock times), and in nothing else.
# archived_as is where the archive copy lives, which is under each warehouse's own folder; a build's
# id is new for every build.
RUN_METADATA_COLUMNS = {"run_id", "load_id", "created_run", "received_at", "first_received_at",
                        "last_received_at", "started_at", "finished_at", "created_at", "changed_at",
                        "archived_as", "build_id"}
# Tables that log each attempt (one row per run, per step, per source load, per freshness check, and what is
# built on them): a killed run's finished steps are in them, as they should be, so they are not
# compared. (audit.agency_freshness also holds hours since a feed was received: the clock's time.)
ATTEMPT_LOGS = {"run.steps", "ledger.loads", "staging.stg_ledger__loads", "audit.audit_source_loads",
                "quality.check_results", "audit.agency_freshness", "run.dbt_models", "run.pipeline_runs",
                "ledger.runs", "staging.stg_ledger__runs",
                # how far each run's passing checks read the ledger: a killed run's never passed
                "quality.checks_passed",
                # what the last build recomputed: a rerun's build is incremental, an uninterrupted first one is not
                incremental.CHANGES, incremental.CHANGED_PERSONS, incremental.LAST_BUILD,
                # and which build a published file holds
                warehouse_module.PUBLISHED_BUILD}


def _start(extracts: Path, reviews: Path, warehouse: Path, run_id: str, pause: str | None,
           marker: Path) -> subprocess.Popen:
    return run_steps.start(extracts, warehouse, run_id, RUN_DATE, reviews, pause, marker)


def _run_to_end(*args) -> None:
    proc = _start(*args, None, Path(os.devnull))
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-4000:]


def _models_built(log: Path, offset: int, at_least: int):
    def ready() -> bool:
        if not log.exists():
            return False
        with log.open("rb") as f:
            f.seek(offset)
            return f.read().count(b" OK created ") >= at_least
    return ready


def table_checksums(path: Path) -> dict[str, tuple[int, str]]:
    """{schema.table: (rows, md5 of its rows in order)} for every table and view, run metadata columns left out."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        sums = {}
        tables = con.execute("""select table_schema, table_name from information_schema.tables
                                where table_catalog = current_database() order by 1, 2""").fetchall()
        for schema, table in tables:
            name = f"{schema}.{table}"
            if name in ATTEMPT_LOGS:
                continue
            columns = [c for (c,) in con.execute(
                """select column_name from information_schema.columns where table_catalog = current_database()
                   and table_schema = ? and table_name = ? order by ordinal_position""", [schema, table]).fetchall()
                if c not in RUN_METADATA_COLUMNS]
            select = ", ".join(f'"{c}"' for c in columns)
            sums[name] = con.execute(
                f"""select count(*), md5(coalesce(string_agg(r, chr(10) order by r), ''))
                    from (select row({select})::varchar as r from "{schema}"."{table}")""").fetchone()
        return sums
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("crash") / "demo", children=300, seed=11)


@pytest.fixture(scope="module")
def uninterrupted(demo, tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("uninterrupted") / "warehouse.duckdb"
    _run_to_end(demo.extracts, demo.reviews, warehouse, "run-1")
    return warehouse


@pytest.fixture(scope="module")
def interrupted(demo, tmp_path_factory):
    """Killed mid-ingest, then mid-linking, then mid-dbt, then mid-publish; then run to the end."""
    out = tmp_path_factory.mktemp("interrupted")
    warehouse, marker = out / "warehouse.duckdb", out / "crash.marker"
    args = (demo.extracts, demo.reviews, warehouse)
    observed: dict[str, object] = {}

    proc = _start(*args, "kill-1", "ingest#3", marker)  # two files committed, the third half written
    run_steps.kill_when(proc, marker.exists, "the ingest crash point")
    marker.unlink()
    con = duckdb.connect(str(warehouse.with_name("warehouse.restricted") / "store.duckdb"), read_only=True)
    observed["files_after_ingest_kill"] = con.execute(
        "select count(*) from ledger.files where status = 'loaded'").fetchone()[0]
    con.close()

    proc = _start(*args, "kill-2", "link", marker)
    run_steps.kill_when(proc, marker.exists, "the linking crash point")
    marker.unlink()

    dbt_log = out / "warehouse.reports" / "dbt" / "logs" / "dbt.log"
    offset = dbt_log.stat().st_size if dbt_log.exists() else 0
    proc = _start(*args, "kill-3", None, marker)
    run_steps.kill_when(proc, _models_built(dbt_log, offset, 15), "dbt building models")

    proc = _start(*args, "kill-4", "publish#3", marker)  # three tables copied into the new file
    run_steps.kill_when(proc, marker.exists, "the publish crash point")
    observed["published_after_publish_kill"] = warehouse.exists()
    observed["leftovers_after_publish_kill"] = sorted(p.name for p in out.glob(".warehouse.duckdb.*.building"))
    marker.unlink()

    _run_to_end(*args, "run-5")
    return warehouse, observed


def test_a_kill_mid_ingest_keeps_the_files_already_committed_and_none_half_written(interrupted, uninterrupted):
    _, observed = interrupted
    assert observed["files_after_ingest_kill"] == 2


def test_a_kill_mid_publish_leaves_no_published_file_only_a_hidden_half_built_one(interrupted):
    _, observed = interrupted
    assert observed["published_after_publish_kill"] is False  # the first publish: nothing half-written shown
    assert len(observed["leftovers_after_publish_kill"]) == 1


def test_after_the_kills_the_rerun_leaves_no_half_built_file(interrupted):
    warehouse, _ = interrupted
    assert sorted(p.name for p in warehouse.parent.iterdir() if p.is_file()) == ["warehouse.duckdb"]


def test_the_restricted_store_converges_to_the_uninterrupted_one_table_by_table(interrupted, uninterrupted):
    warehouse, _ = interrupted
    store = lambda w: w.with_name("warehouse.restricted") / "store.duckdb"  # noqa: E731
    got, expected = table_checksums(store(warehouse)), table_checksums(store(uninterrupted))
    assert {"ledger.event_records", "identity.subject_person", "marts.fct_child_events"} <= set(expected)
    assert {t: got.get(t) for t in expected if got.get(t) != expected[t]} == {}
    assert set(got) == set(expected)


def test_the_published_warehouse_converges_to_the_uninterrupted_one_table_by_table(interrupted, uninterrupted):
    warehouse, _ = interrupted
    got, expected = table_checksums(warehouse), table_checksums(uninterrupted)
    assert {"marts.fct_child_events", "marts.dim_child", "audit.audit_files"} <= set(expected)
    assert {t: got.get(t) for t in expected if got.get(t) != expected[t]} == {}
    assert set(got) == set(expected)


def test_no_event_is_lost_or_duplicated(interrupted, uninterrupted, demo):
    warehouse, _ = interrupted
    query = """select count(*), count(distinct (source, agency, record_id, version)) from ledger.event_records"""
    counts = []
    for w in (warehouse, uninterrupted):
        con = duckdb.connect(str(w.with_name("warehouse.restricted") / "store.duckdb"), read_only=True)
        counts.append(con.execute(query).fetchone())
        con.close()
    assert counts[0] == counts[1]
    assert counts[0][0] == counts[0][1]  # no record version twice
    truth = demo.expected
    assert counts[0][0] >= truth["rows"] - truth["rows_quarantined"] - 50  # a few rows are unchanged re-sends
