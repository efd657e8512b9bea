"""Run the real `nightly` DAG locally with `airflow dags test`, Airflow's state kept in the project.

AIRFLOW_HOME is <project>/.airflow (ignored by git), or CASEHISTORY_AIRFLOW_HOME: its SQLite
metadata database is created on first use. The full Airflow log goes to a file; the console
shows which task is running and what the pipeline says.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from casehistory.settings import PROJECT_ROOT

DAG_ID = "nightly"
# The restricted store has one writer. Every task of both DAGs takes this pool's one slot, so a task
# of one DAG waits in Airflow's queue, where the UI shows it, rather than on the other's store lock
# (dag_support.run_step: up to 600 s, then a failure). Made with the metadata database, here and by
# docker-compose.yml's airflow-init; `airflow dags test` runs tasks without pools.
STORE_POOL = "casehistory_store"
STORE_POOL_ARGS = ["pools", "set", STORE_POOL, "1", "the restricted store's one writer: one task of either DAG at a time"]
_TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+) map_index=(-?\d+)")
_STATE = re.compile(r"new_state=(\w+)")
# "<time> [info     ] message [logger.name] loc=..." from the pipeline's own loggers
_OURS = re.compile(r"^\S+ \[(\w+)\s*\] (.*?)\s+\[(?:casehistory|ingest|expectations)[\w.]*\] loc=")


def airflow_home() -> Path:
    return Path(os.environ.get("CASEHISTORY_AIRFLOW_HOME", PROJECT_ROOT / ".airflow")).resolve()


def airflow_env(home: Path | None = None) -> dict[str, str]:
    home = home or airflow_home()
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "CASEHISTORY_RETRY_DELAY_SECONDS": os.environ.get("CASEHISTORY_RETRY_DELAY_SECONDS", "10"),
        "GX_ANALYTICS_ENABLED": "False",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
    }


def _airflow() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def ensure_metadata_db(env: dict[str, str]) -> None:
    """Airflow's metadata database in AIRFLOW_HOME, with the store's pool (a home made before the
    pool existed gets it once: the marker file says it has it)."""
    home = Path(env["AIRFLOW_HOME"])
    marker = home / f".pool-{STORE_POOL}"
    if (home / "airflow.db").exists() and marker.exists():
        return
    home.mkdir(parents=True, exist_ok=True)
    for args in (["db", "migrate"], STORE_POOL_ARGS):
        proc = subprocess.run([_airflow(), *args], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args[:2])} failed in {home}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    marker.touch()


def run_nightly(conf: dict, log_file: Path, console: TextIO = sys.stdout) -> int:
    """Run the nightly DAG once; return airflow's exit code (non-zero when the run failed)."""
    return run_dag(DAG_ID, conf, log_file, console)


def run_dag(dag_id: str, conf: dict, log_file: Path, console: TextIO = sys.stdout) -> int:
    """Run a DAG once with `airflow dags test`; return airflow's exit code."""
    env = airflow_env()
    ensure_metadata_db(env)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    command = [_airflow(), "dags", "test", dag_id, "--conf", json.dumps(conf)]
    with log_file.open("w") as log, subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                                     stderr=subprocess.STDOUT, text=True, bufsize=1) as proc:
        assert proc.stdout is not None
        current = None
        for line in proc.stdout:
            log.write(line)
            started = _TASK_START.search(line)
            if started:
                task, index = started.groups()
                current = task if index == "-1" else f"{task}[{index}]"
                console.write(f"  running {current}\n")
            elif "Task instance state updated" in line and current:
                state = _STATE.search(line)
                if state and state.group(1) in ("failed", "up_for_retry"):
                    console.write(f"  {current}: {state.group(1)}\n")
            else:
                ours = _OURS.search(line)
                if ours:
                    level, message = ours.groups()
                    prefix = "" if level == "info" else f"{level}: "
                    console.write(f"    {prefix}{message[:300]}\n")
        return proc.wait()


def standalone(port: int = 8080) -> int:
    """Airflow's own local deployment (`airflow standalone`: API server and UI, scheduler, DAG
    processor, triggerer) on this project's DAGs only, examples off, its state in airflow_home().
    Runs until stopped (Ctrl-C); returns Airflow's exit code. The UI's password is printed by
    Airflow and kept in airflow_home()."""
    env = airflow_env()
    env.update(AIRFLOW__API__PORT=str(port), AIRFLOW__API__BASE_URL=f"http://localhost:{port}",
               AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://localhost:{port}/execution/",
               # standalone starts each component as `airflow ...` from the PATH: this environment's
               PATH=os.pathsep.join([str(Path(_airflow()).parent), env.get("PATH", "")]))
    ensure_metadata_db(env)
    return subprocess.run([_airflow(), "standalone"], env=env).returncode
