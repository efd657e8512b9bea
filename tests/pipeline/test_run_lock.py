"""Two runs started together never both write: the second waits (bounded) or is refused with a
clear message; readers of the published warehouse are unaffected; a killed run leaves no stale lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from casehistory import warehouse
from casehistory.runlock import RunLocked, run_lock
from casehistory.settings import Settings

HOLDER = """
import sys, time
from pathlib import Path
from casehistory.runlock import run_lock
from casehistory.settings import Settings
settings = Settings(extracts=Path(sys.argv[1]), warehouse=Path(sys.argv[2]))
with run_lock(settings, wait=0):
    print("locked", flush=True)
    time.sleep(float(sys.argv[3]))
"""


def _holder(settings: Settings, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(settings.extracts), str(settings.warehouse), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")


def test_a_second_run_is_refused_with_a_message_naming_the_first(settings):
    first = _holder(settings, 30)
    try:
        started = time.monotonic()
        with pytest.raises(RunLocked) as refused:
            with run_lock(settings, wait=1):
                pytest.fail("two runs wrote at once")
        assert 1 <= time.monotonic() - started < 10
        assert f"pid {first.pid}" in str(refused.value) and "CASEHISTORY_RUN_LOCK_WAIT_SECONDS" in str(refused.value)
    finally:
        first.kill()
        first.wait()


def test_a_second_run_waits_for_the_first_to_finish(settings):
    first = _holder(settings, 2)
    started = time.monotonic()
    with run_lock(settings, wait=60):
        assert time.monotonic() - started >= 1  # it waited for the first run to let go
    assert first.wait(timeout=30) == 0


def test_a_killed_run_leaves_no_stale_lock(settings):
    first = _holder(settings, 60)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    with run_lock(settings, wait=0):
        pass


def test_readers_of_the_published_warehouse_are_unaffected_by_a_run(settings):
    with warehouse.store(settings) as con:
        con.execute("create schema marts; create table marts.dim_child as select range as child_key from range(3)")
    warehouse.publish(settings)
    first = _holder(settings, 30)
    try:
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        assert con.execute("select count(*) from marts.dim_child").fetchone()[0] == 3
        con.close()
    finally:
        first.kill()
        first.wait()


def test_casehistory_run_refuses_while_another_run_holds_the_lock(settings, tmp_path):
    first = _holder(settings, 60)
    try:
        proc = subprocess.run([str(Path(sys.executable).with_name("casehistory")), "run", "--extracts", str(tmp_path),
                               "--warehouse", str(settings.warehouse)], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "CASEHISTORY_RUN_LOCK_WAIT_SECONDS": "0"})
        assert proc.returncode == 3, proc.stdout + proc.stderr
        assert "another pipeline run is writing" in " ".join(proc.stderr.split())
    finally:
        first.kill()
        first.wait()


def test_a_dag_step_waits_for_a_run_it_is_not_part_of_but_not_for_its_own(settings, monkeypatch):
    from casehistory.runlock import step_lock

    with run_lock(settings, wait=0):  # this process is the `casehistory run` of the step below
        with step_lock(settings):
            pass
    first = _holder(settings, 30)  # another run, not ours
    monkeypatch.setenv("CASEHISTORY_RUN_LOCK_WAIT_SECONDS", "0")
    try:
        with pytest.raises(RunLocked):
            with step_lock(settings):
                pytest.fail("a step wrote during another run")
    finally:
        first.kill()
        first.wait()
