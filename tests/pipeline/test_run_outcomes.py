"""What `casehistory run` and `casehistory readiness` report when the DAG ends comes from Airflow's
record of the run (its metadata database: the DagRun and its task instances), not from the log:
each task's state, tries and seconds, failures named, tasks that never ran saying so and why, and
an exit code that is 0 only for a run Airflow recorded as a success.

A small DAG in a folder of its own (seconds per task, not minutes) is run for real with
`airflow dags test`, with a failing agency source; Airflow's own CLI (`airflow tasks
states-for-dag-run`) is the independent witness of the states. A run Airflow records as a success
exits 0: tests/pipeline/test_nightly_end_to_end.py."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from casehistory.airflow_runner import RunOutcome, TaskOutcome, airflow_env, run_dag

PROBE = '''
import os
from datetime import timedelta

import pendulum
from airflow.exceptions import AirflowSkipException
from airflow.sdk import Param, TriggerRule, dag, get_current_context, task


@dag(dag_id="outcomes_probe", schedule=None, start_date=pendulum.datetime(2025, 1, 1), catchup=False,
     max_active_tasks=1, default_args={"retries": 0}, params={"broken": Param(False, type="boolean")})
def outcomes_probe():
    @task
    def prepare():
        return ["csc_activity", "eh_activity"]

    @task(retries=1, retry_delay=timedelta(seconds=1))
    def flaky(params=None, run_id=None):
        marker = os.path.join(os.environ["AIRFLOW_HOME"], "flaky-" + run_id.replace(":", "_"))
        if not os.path.exists(marker):  # the first try of each run fails; the retry succeeds
            open(marker, "w").close()
            raise RuntimeError("a locked file, say")

    @task(map_index_template="{{ source_name }}")
    def load(source, params=None):
        get_current_context()["source_name"] = source
        if params["broken"] and source == "eh_activity":
            raise ValueError("unreadable file")

    @task
    def link():
        pass

    @task
    def build():
        pass

    @task
    def publish():
        pass

    @task
    def optional():
        raise AirflowSkipException("nothing to do")

    @task
    def after_optional():
        pass

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report():
        pass

    loaded = load.expand(source=prepare())
    linked, built, skipped = link(), build(), after_optional()
    flaky() >> loaded >> linked >> built >> publish()  # publish: a leaf, so a failure upstream fails the run
    optional() >> skipped
    [built, skipped] >> report()


outcomes_probe()
'''


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """The probe run with its eh_activity source failing, what the console showed while it ran, and
    Airflow's CLI's reading of the same run."""
    tmp = tmp_path_factory.mktemp("outcomes")
    (tmp / "dags").mkdir()
    (tmp / "dags" / "outcomes_probe.py").write_text(PROBE)
    env = airflow_env(tmp / "airflow", tmp / "dags")
    console = io.StringIO()
    outcome = run_dag("outcomes_probe", {"broken": True}, tmp / "broken.log", console, env=env)
    airflow = str(Path(sys.executable).with_name("airflow"))
    witness = subprocess.run([airflow, "tasks", "states-for-dag-run", "outcomes_probe", outcome.run_id or "none",
                              "-o", "json"], env=env, capture_output=True, text=True)
    assert witness.returncode == 0, witness.stdout[-2000:] + witness.stderr[-2000:]
    return outcome, console.getvalue(), json.loads(witness.stdout)


def _rows(report: str) -> dict[str, list[str]]:
    """The outcome table as {task: [state, tries, seconds]} (the state may hold spaces)."""
    rows = {}
    for line in report.splitlines():
        if line.startswith("  ") and not line.strip().startswith("task "):
            task, rest = line.split(None, 1)
            *state, tries, seconds = rest.split()
            rows[task] = [" ".join(state), tries, seconds]
    return rows


@pytest.mark.slow
def test_a_run_with_a_failed_source_reports_each_task_as_airflow_recorded_it(broken):
    outcome, _, _ = broken
    assert outcome.state == "failed" and outcome.exit_code != 0
    report = outcome.report()
    assert report.splitlines()[0] == f"Airflow's record of run {outcome.run_id} of outcomes_probe: failed"
    rows = _rows(report)
    assert {task: row[:2] for task, row in rows.items()} == {
        "prepare": ["success", "1"],
        "flaky": ["success", "2"],  # failed once, retried: Airflow's try number, not a count of log lines
        "load[csc_activity]": ["success", "1"],
        "load[eh_activity]": ["failed", "1"],
        "link": ["not run (upstream_failed)", "0"],
        "build": ["not run (upstream_failed)", "0"],
        "publish": ["not run (upstream_failed)", "0"],
        "optional": ["skipped", "1"],  # ran, and skipped itself
        "after_optional": ["not run (skipped)", "0"],
        "report": ["success", "1"],
    }
    assert all(float(row[2]) >= 0 for row in rows.values() if row[1] != "0")
    assert all(row[2] == "-" for row in rows.values() if row[1] == "0")  # no seconds for a task that never ran
    assert "Failed: load[eh_activity] (after 1 try)" in report
    assert "Not run because load[eh_activity] failed: link, build, publish" in report  # publish: three tasks down
    assert "Skipped: optional, after_optional" in report
    assert "None" not in report


@pytest.mark.slow
def test_the_states_are_the_ones_airflows_own_cli_reads_from_the_same_run(broken):
    outcome, _, witnessed = broken
    witness = {(w["task_id"], int(w["map_index"]) if w.get("map_index") else -1): w["state"] for w in witnessed}
    assert {(t.task_id, t.map_index): t.state for t in outcome.tasks} == witness
    assert len(witness) == 10


@pytest.mark.slow
def test_the_console_shows_progress_while_the_dag_runs(broken):
    """Which task is running, a retry as another start, the pipeline's own messages; the outcome is
    not decided from these lines."""
    _, console, _ = broken
    assert "  running load[1]\n" in console and "  running flaky (again: start 2)\n" in console


def _task(task_id, state, tries=1, seconds=1.0, map_index=-1, label=None, started="2026-01-15T02:00:00"):
    return TaskOutcome(task_id, map_index, label, state, tries, seconds, started if tries else None)


def test_a_task_without_a_state_says_it_did_not_run_never_none():
    outcome = RunOutcome("nightly", "2026-01-15T02:00:00+00:00", 1, "manual__x", "failed",
                         [_task("prepare", "failed"), _task("link", None, tries=0)], {"link": ["prepare"]})
    report = outcome.report()
    assert _rows(report)["link"] == ["not run (Airflow recorded no state)", "0", "-"]
    assert "None" not in report
    assert "Not finished when the run ended: link" in report


def test_the_exit_code_comes_from_the_runs_recorded_state():
    tasks = [_task("prepare", "success")]
    assert RunOutcome("nightly", "d", 0, "r", "success", tasks).exit_code == 0
    assert RunOutcome("nightly", "d", 0, "r", "failed", tasks).exit_code == 1  # even when airflow exited 0
    assert RunOutcome("nightly", "d", 1, "r", "failed", tasks).exit_code == 1
    odd = RunOutcome("nightly", "d", 1, "r", "success", tasks)  # recorded success, but `dags test` failed after
    assert odd.exit_code == 1 and "exited with code 1" in odd.report()


def test_a_run_airflow_never_recorded_is_a_failure_that_says_so():
    outcome = RunOutcome("nightly", "2026-01-15T02:00:00+00:00", 1, log_file=Path("run.log"))
    assert outcome.exit_code == 1
    assert outcome.report() == ("Airflow recorded no run of nightly at logical date 2026-01-15T02:00:00+00:00: "
                                "`airflow dags test` ended (exit code 1) before the run started; see run.log.")
