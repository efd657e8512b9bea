"""Analysts never see a half-built warehouse, never block the nightly run, never see restricted data."""

from __future__ import annotations

import subprocess
import sys

import duckdb

from casehistory import warehouse
from casehistory.settings import Settings


def _store_with(settings: Settings, children: int) -> None:
    with warehouse.store(settings) as con:
        for schema in ("marts", "audit", "ledger", "identity", "restricted", "staging"):
            con.execute(f"create schema if not exists {schema}")
        con.execute(f"create or replace table marts.dim_child as select range as child_key from range({children})")
        con.execute("create or replace table ledger.event_records as select 'free text about a child' as summary")
        con.execute("create or replace table restricted.restricted_child_chronology as select 'Amy' as forename")
        con.execute("create or replace table identity.subject_person as select 'csc:C1' as subject_key")
        con.execute("create or replace view staging.stg as select 1 as x")


def test_only_analyst_schemas_are_published(tmp_path):
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    _store_with(settings, 3)
    warehouse.publish(settings)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    schemas = {r[0] for r in con.execute("select distinct table_schema from information_schema.tables").fetchall()}
    assert schemas == {"marts"}
    assert con.execute("select count(*) from marts.dim_child").fetchone()[0] == 3


ANALYST = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
count = lambda: con.execute("select count(*) from marts.dim_child").fetchone()[0]
print(count(), flush=True)
sys.stdin.readline()  # the nightly run publishes meanwhile
print(count(), flush=True)
"""


def _analyst_count(path) -> int:
    out = subprocess.run([sys.executable, "-c", "import sys, duckdb; print(duckdb.connect(sys.argv[1], read_only=True)"
                          ".execute('select count(*) from marts.dim_child').fetchone()[0])", str(path)],
                         capture_output=True, text=True, check=True)
    return int(out.stdout)


def test_a_reader_holding_the_old_warehouse_keeps_its_snapshot_and_does_not_block_publishing(tmp_path):
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    _store_with(settings, 3)
    warehouse.publish(settings)
    analyst = subprocess.Popen([sys.executable, "-c", ANALYST, str(settings.warehouse)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert analyst.stdout.readline().strip() == "3"
    _store_with(settings, 5)
    warehouse.publish(settings)  # would raise if the analyst's open file blocked it
    analyst.stdin.write("\n")
    analyst.stdin.flush()
    assert analyst.stdout.readline().strip() == "3"  # a consistent snapshot, never a half-built file
    assert analyst.wait(timeout=30) == 0
    assert _analyst_count(settings.warehouse) == 5  # the next session sees the new warehouse


def test_no_half_built_file_is_left_beside_the_warehouse(tmp_path):
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    _store_with(settings, 3)
    warehouse.publish(settings)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["wh.duckdb"]


PUBLISHER = """
import sys
from pathlib import Path
from casehistory import warehouse
from casehistory.settings import Settings
warehouse.publish(Settings(extracts=Path(sys.argv[1]), warehouse=Path(sys.argv[2])))
"""


def test_a_publish_killed_half_way_leaves_yesterdays_warehouse_whole_and_the_next_one_cleans_up(tmp_path):
    import os
    import signal
    import time

    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    _store_with(settings, 3)
    warehouse.publish(settings)
    _store_with(settings, 5)
    with warehouse.store(settings) as con:  # a second table, so the kill falls between two copies
        con.execute("create or replace table audit.files as select 1 as n")
    marker = tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", PUBLISHER, str(tmp_path), str(settings.warehouse)],
                            env={**os.environ, "CASEHISTORY_CRASH_PAUSE": "publish", "CASEHISTORY_CRASH_MARKER": str(marker)})
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _analyst_count(settings.warehouse) == 3  # yesterday's, whole
    assert any(p.name.endswith(".building") for p in tmp_path.iterdir())
    warehouse.publish(settings)
    assert _analyst_count(settings.warehouse) == 5
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file() and p.name != "marker") == ["wh.duckdb"]


def _published_rows(settings: Settings, table: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(f"select * from {table} order by all").fetchall()


def _events_store(settings: Settings) -> None:
    """A store whose marts.fct_child_events holds two events each for children 1-4."""
    with warehouse.store(settings) as con:
        con.execute("create schema if not exists marts")
        con.execute("create or replace table marts.fct_child_events as "
                    "select c.range as child_key, e.range as event_no, 'visit' as event_type "
                    "from range(1, 5) as c, range(2) as e")
        con.execute("create or replace table marts.dim_child as select range as child_key from range(1, 5)")


def test_a_patched_table_has_its_changed_rows_replaced_and_the_rest_kept_from_the_file_published(tmp_path):
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    _events_store(settings)
    assert set(warehouse.publish(settings).values()) == {"copied"}  # no patches: the first file is whole
    with warehouse.store(settings) as con:  # tonight's build recomputes child 2 and adds child 5
        con.execute("delete from marts.fct_child_events where child_key = 2")
        con.execute("insert into marts.fct_child_events values (2, 0, 'referral'), (5, 0, 'visit')")
        con.execute("insert into marts.dim_child values (5)")
    how = warehouse.publish(settings, [warehouse.Patch("marts.fct_child_events", "child_key in (2, 5)")])
    assert how == {"marts.fct_child_events": "patched", "marts.dim_child": "copied"}
    with warehouse.store(settings, read_only=True) as con:
        store_rows = con.execute("select * from marts.fct_child_events order by all").fetchall()
    assert _published_rows(settings, "marts.fct_child_events") == store_rows
    assert (2, 0, "referral") in store_rows and (2, 1, "visit") not in store_rows
    assert _published_rows(settings, "marts.dim_child") == [(n,) for n in range(1, 6)]


def test_a_change_the_patch_does_not_describe_makes_the_table_copied_whole(tmp_path):
    """The file published is not always the last build's (a rollback, a night that was not
    published): a patch that leaves the table unlike the store's is replaced by a whole copy."""
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    _events_store(settings)
    warehouse.publish(settings)
    with warehouse.store(settings) as con:
        con.execute("update marts.fct_child_events set event_type = 'referral' where child_key in (2, 3)")
    how = warehouse.publish(settings, [warehouse.Patch("marts.fct_child_events", "child_key = 2")])  # not 3
    assert how["marts.fct_child_events"] == "copied"
    assert (3, 0, "referral") in _published_rows(settings, "marts.fct_child_events")
    with warehouse.store(settings) as con:  # a row repeated: the same set of rows, not the same rows
        con.execute("insert into marts.fct_child_events values (4, 0, 'visit')")
    how = warehouse.publish(settings, [warehouse.Patch("marts.fct_child_events", "child_key = 2")])
    assert how["marts.fct_child_events"] == "copied"
    assert _published_rows(settings, "marts.fct_child_events").count((4, 0, "visit")) == 2


def test_a_table_gone_from_the_store_is_gone_from_the_patched_file(tmp_path):
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    _events_store(settings)
    warehouse.publish(settings)
    with warehouse.store(settings) as con:
        con.execute("drop table marts.dim_child")
    how = warehouse.publish(settings, [warehouse.Patch("marts.fct_child_events", "false")])
    assert how == {"marts.fct_child_events": "patched"}
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select table_name from information_schema.tables").fetchall() == [("fct_child_events",)]


def test_a_file_that_holds_the_build_the_patches_lead_from_is_compared_by_row_count_alone(tmp_path):
    """A file published from build b1 says so; tonight's patches lead from b1, so each patched
    table's rows need not all be hashed again: its row count is compared, and a count that differs
    still makes it copied whole. A file that does not hold that build has every row compared."""
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    _events_store(settings)
    warehouse.publish(settings, build="b1")
    assert [r[0] for r in _published_rows(settings, warehouse.PUBLISHED_BUILD)] == ["b1"]
    with warehouse.store(settings) as con:  # a change no build described, the row count kept
        con.execute("update marts.fct_child_events set event_type = 'referral' where child_key = 3")
    patch = [warehouse.Patch("marts.fct_child_events", "child_key = 2")]

    how = warehouse.publish(settings, patch, build="b2", based_on="b0")  # the file holds b1, not b0
    assert how["marts.fct_child_events"] == "copied"  # every row compared: the change found
    assert (3, 0, "referral") in _published_rows(settings, "marts.fct_child_events")
    assert [r[0] for r in _published_rows(settings, warehouse.PUBLISHED_BUILD)] == ["b2"]

    with warehouse.store(settings) as con:
        con.execute("update marts.fct_child_events set event_type = 'visit' where child_key = 3")
    how = warehouse.publish(settings, patch, build="b3", based_on="b2")
    assert how["marts.fct_child_events"] == "patched"  # the count alone: what no build did is not looked for
    assert (3, 0, "referral") in _published_rows(settings, "marts.fct_child_events")

    with warehouse.store(settings) as con:  # a row more than the patch accounts for
        con.execute("insert into marts.fct_child_events values (4, 0, 'visit')")
    how = warehouse.publish(settings, patch, build="b4", based_on="b3")
    assert how["marts.fct_child_events"] == "copied"
    assert _published_rows(settings, "marts.fct_child_events").count((4, 0, "visit")) == 2


def test_a_file_from_an_unknown_build_says_nothing_of_one(tmp_path):
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    _events_store(settings)
    warehouse.publish(settings, build="b1")
    warehouse.publish(settings)  # a build that was not recorded, a known_on build
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert ("published_build",) not in con.execute("select table_name from information_schema.tables").fetchall()
