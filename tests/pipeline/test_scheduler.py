"""A real Airflow 3 deployment on this machine (not `airflow dags test`): scheduler, DAG processor
and API server (the task execution API) as separate processes on a free port, LocalExecutor on a
SQLite metadata database in a temporary AIRFLOW_HOME. `nightly` is triggered, the scheduler runs
it to success, and the published warehouse holds the new data, while an analyst who held the
previous warehouse open through the whole run kept reading it."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from casehistory.airflow_runner import airflow_env, ensure_metadata_db
from casehistory.dag_support import PUBLISHED_WAREHOUSE_ASSET
from casehistory.synth import generate

pytestmark = pytest.mark.slow

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DEADLINE_SECONDS = 420


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _airflow(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=180)
    if check and proc.returncode != 0:
        raise AssertionError(f"airflow {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc


ANALYST = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
count = lambda: con.execute("select count(*) from marts.dim_child").fetchone()[0]
print(count(), flush=True)
for line in sys.stdin:  # one query per line, through the whole run
    print(count(), flush=True)
"""


@pytest.fixture
def deployment(tmp_path):
    home = tmp_path / "airflow"
    home.mkdir()
    port = _free_port()
    env = {
        **airflow_env(home),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API_AUTH__JWT_SECRET": "test-only-jwt-secret",
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "CASEHISTORY_RETRY_DELAY_SECONDS": "1",
        "CASEHISTORY_ALERT_CHANNEL": "log",
        "CASEHISTORY_SCHEDULE": "none",  # only the run this test triggers
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
    }
    ensure_metadata_db(env)  # as a deployment's init: the database and the store's pool
    processes = []
    logs = {}
    for name, args in (("api-server", ["api-server", "--port", str(port), "--host", "127.0.0.1", "--workers", "1"]),
                       ("dag-processor", ["dag-processor"]), ("scheduler", ["scheduler"])):
        logs[name] = home / f"{name}.out"
        processes.append(subprocess.Popen([AIRFLOW, *args], env=env, stdout=logs[name].open("w"),
                                          stderr=subprocess.STDOUT, start_new_session=True))
    try:
        yield env, logs
    finally:
        for p in processes:  # each in its own process group: end it and the workers it forked
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def _tail(logs: dict) -> str:
    return "\n".join(f"--- {name}\n" + "\n".join(path.read_text().splitlines()[-40:]) for name, path in logs.items())


def test_the_scheduler_runs_nightly_to_success_while_an_analyst_keeps_reading(deployment, tmp_path):
    env, logs = deployment
    demo = generate(tmp_path / "demo", children=80, seed=3)
    warehouse = tmp_path / "out" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    with duckdb.connect(str(warehouse)) as con:  # yesterday's published warehouse: one child
        con.execute("create schema marts; create table marts.dim_child as select 'k1' as child_key")
    analyst = subprocess.Popen([sys.executable, "-c", ANALYST, str(warehouse)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert analyst.stdout.readline().strip() == "1"

    started = time.monotonic()
    conf = {"extracts": str(demo.extracts), "warehouse": str(warehouse), "reviews": str(demo.reviews),
            "run_date": "2026-01-15"}
    while _airflow(env, "dags", "trigger", "nightly", "--conf", json.dumps(conf), check=False).returncode:
        assert time.monotonic() - started < 120, "nightly was never parsed:\n" + _tail(logs)  # until parsed
        time.sleep(2)

    state, reads = None, []
    while state not in ("success", "failed"):
        assert time.monotonic() - started < DEADLINE_SECONDS, f"run still {state}:\n" + _tail(logs)
        analyst.stdin.write("\n")
        analyst.stdin.flush()
        reads.append(analyst.stdout.readline().strip())
        time.sleep(3)
        runs = json.loads(_airflow(env, "dags", "list-runs", "nightly", "-o", "json").stdout or "[]")
        state = runs[0]["state"] if runs else None
    analyst.stdin.close()
    assert analyst.wait(timeout=30) == 0
    assert state == "success", _tail(logs)
    # the swap was announced: a DAG scheduled on the published warehouse would run now
    with sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db") as meta:
        events = meta.execute("""select count(*) from asset_event e join asset a on a.id = e.asset_id
                                 where a.name = ?""", [PUBLISHED_WAREHOUSE_ASSET]).fetchone()[0]
    assert events == 1

    assert reads and set(reads) == {"1"}  # the analyst read yesterday's warehouse all through the run
    with duckdb.connect(str(warehouse), read_only=True) as con:  # a new session sees tonight's
        children = con.execute("select count(*) from marts.dim_child").fetchone()[0]
        steps = dict(con.execute("select step, status from run.steps").fetchall())
        run = con.execute("select status, rows_loaded, stage_seconds from run.pipeline_runs").fetchall()
        dbt_nodes = con.execute("select count(*), count(*) filter (where resource_type = 'model' and rows > 0) "
                                "from run.dbt_models").fetchone()
    truth = demo.expected["children"]
    assert truth <= children <= truth * 1.05  # linking error on a small set: docs/linking-evaluation.md
    [(status, rows_loaded, stage_seconds)] = run  # tonight's row, as of publishing
    assert status == "publishing" and rows_loaded == demo.expected["rows"] - demo.expected["rows_quarantined"]
    assert {"prepare", "load", "link", "build", "check", "feeds"} <= set(stage_seconds)
    assert dbt_nodes[0] > 20 and dbt_nodes[1] > 5  # every dbt node, models with their rows
    assert steps["build"] == "succeeded" and steps["check"] == "succeeded"
    kept = list((tmp_path / "out" / "warehouse.versions").glob("*.duckdb"))  # yesterday's, for rollback
    assert len(kept) == 1
    with duckdb.connect(str(kept[0]), read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_child").fetchone()[0] == 1
