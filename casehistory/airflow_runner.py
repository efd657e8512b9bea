"""Run the real `nightly` DAG locally with `airflow dags test`, Airflow's state kept in the project.

AIRFLOW_HOME is <project>/.airflow (ignored by git), or CASEHISTORY_AIRFLOW_HOME: its SQLite
metadata database is created on first use. The full Airflow log goes to a file; while the DAG runs
the console shows which task is running and what the pipeline says. What happened comes after, from
Airflow's own record of the run in its metadata database, never from the log: the run's state, and
each task instance's state, tries and duration (`RunOutcome`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
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
# Progress on the console while the DAG runs (nothing is decided from these lines)
_TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+) map_index=(-?\d+)")
# "<time> [info     ] message [logger.name] loc=..." from the pipeline's own loggers
_OURS = re.compile(r"^\S+ \[(\w+)\s*\] (.*?)\s+\[(?:casehistory|ingest|expectations)[\w.]*\] loc=")


def airflow_home() -> Path:
    return Path(os.environ.get("CASEHISTORY_AIRFLOW_HOME", PROJECT_ROOT / ".airflow")).resolve()


def airflow_env(home: Path | None = None, dags_folder: Path | None = None) -> dict[str, str]:
    home = home or airflow_home()
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder or PROJECT_ROOT / "dags"),
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


@dataclass(frozen=True)
class TaskOutcome:
    """One task instance as Airflow recorded it."""

    task_id: str
    map_index: int  # -1: not a mapped task
    map_label: str | None  # the mapped instance's name (map_index_template: the agency's source)
    state: str | None  # Airflow's TaskInstanceState; None: Airflow never gave it one
    tries: int  # Airflow's try_number: 0 for a task that never started
    seconds: float | None
    started: str | None = None  # ISO time, for ordering

    @property
    def label(self) -> str:
        if self.map_index < 0:
            return self.task_id
        return f"{self.task_id}[{self.map_label or self.map_index}]"

    @property
    def ran(self) -> bool:
        return self.tries > 0

    def state_text(self) -> str:
        """The state as the table shows it: a task that never ran says so, and why when Airflow
        recorded a reason (upstream_failed, skipped, removed...); never "None"."""
        if self.state is None:
            return "not run (Airflow recorded no state)"
        if self.state in ("upstream_failed", "removed") or not self.ran and self.state != "success":
            return f"not run ({self.state})"
        return self.state


@dataclass
class RunOutcome:
    """A DAG run as Airflow's metadata database recorded it, read after `airflow dags test` ended."""

    dag_id: str
    logical_date: str
    airflow_exit: int  # `airflow dags test`'s exit code, reported but not trusted for the outcome
    run_id: str | None = None
    state: str | None = None  # the DagRun's state; None: Airflow recorded no run
    tasks: list[TaskOutcome] = field(default_factory=list)
    upstream: dict[str, list[str]] = field(default_factory=dict)  # task_id -> its upstream task_ids
    problem: str | None = None  # why the record could not be read
    log_file: Path | None = None

    @property
    def succeeded(self) -> bool:
        return self.state == "success" and self.airflow_exit == 0

    @property
    def exit_code(self) -> int:
        """0 only when Airflow recorded the run as a success (and `airflow dags test` agreed)."""
        return 0 if self.succeeded else 1

    def failed(self) -> list[TaskOutcome]:
        return [t for t in self.tasks if t.state == "failed"]

    def failed_upstream_of(self, task_id: str) -> list[str]:
        """The failed task instances upstream of task_id, through tasks not run for that reason."""
        by_task: dict[str, list[TaskOutcome]] = {}
        for t in self.tasks:
            by_task.setdefault(t.task_id, []).append(t)
        found: list[str] = []
        seen: set[str] = set()
        stack = list(self.upstream.get(task_id, []))
        while stack:
            up = stack.pop()
            if up in seen:
                continue
            seen.add(up)
            instances = by_task.get(up, [])
            found += [t.label for t in instances if t.state == "failed"]
            if any(t.state == "upstream_failed" for t in instances):
                stack += self.upstream.get(up, [])
        return sorted(set(found))

    def ordered(self) -> list[TaskOutcome]:
        """The tasks that ran in the order they started (Airflow's start times), then the ones that
        never ran in the DAG's order (upstream before downstream)."""
        depth: dict[str, int] = {}

        def depth_of(task_id: str, path: frozenset = frozenset()) -> int:
            if task_id not in depth:
                ups = [u for u in self.upstream.get(task_id, []) if u not in path]
                depth[task_id] = 1 + max((depth_of(u, path | {task_id}) for u in ups), default=-1)
            return depth[task_id]

        return sorted(self.tasks, key=lambda t: (not t.ran, (t.started or "") if t.ran else "",
                                                 depth_of(t.task_id), t.task_id, t.map_index))

    def report(self) -> str:
        """The outcome table the commands print at the end, with the failures named."""
        if self.state is None:
            why = self.problem or (f"`airflow dags test` ended (exit code {self.airflow_exit}) before the run started")
            where = f"; see {self.log_file}" if self.log_file else ""
            return f"Airflow recorded no run of {self.dag_id} at logical date {self.logical_date}: {why}{where}."
        lines = [f"Airflow's record of run {self.run_id} of {self.dag_id}: {self.state}"]
        rows = [(t.label, t.state_text(), str(t.tries), "-" if t.seconds is None or not t.ran else f"{t.seconds:.1f}")
                for t in self.ordered()]
        widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(("task", "state", "tries", "seconds"))]
        lines.append(f"  {'task':<{widths[0]}}  {'state':<{widths[1]}}  {'tries':>{widths[2]}}  {'seconds':>{widths[3]}}")
        for task, state, tries, seconds in rows:
            lines.append(f"  {task:<{widths[0]}}  {state:<{widths[1]}}  {tries:>{widths[2]}}  {seconds:>{widths[3]}}")
        if failed := self.failed():
            lines.append("Failed: " + ", ".join(f"{t.label} (after {t.tries} {'try' if t.tries == 1 else 'tries'})"
                                                for t in self.ordered() if t in failed))
        causes: dict[tuple[str, ...], list[str]] = {}
        for t in self.ordered():
            if t.state == "upstream_failed":
                causes.setdefault(tuple(self.failed_upstream_of(t.task_id)), []).append(t.label)
        for cause, labels in causes.items():
            because = f"{', '.join(cause)} failed" if cause else "a task upstream failed"
            lines.append(f"Not run because {because}: {', '.join(labels)}")
        skipped = [t.label for t in self.ordered() if t.state == "skipped"]
        if skipped:
            lines.append("Skipped: " + ", ".join(skipped))
        unfinished = [t.label for t in self.ordered() if t.state not in
                      ("success", "failed", "upstream_failed", "skipped", "removed")]
        if unfinished:
            lines.append("Not finished when the run ended: " + ", ".join(unfinished))
        if self.state == "success" and self.airflow_exit != 0:
            lines.append(f"`airflow dags test` nevertheless exited with code {self.airflow_exit}: treated as a failure.")
        return "\n".join(lines)


def _logical_date() -> str:
    """A logical date for one `airflow dags test` run, to find that run again in Airflow's record
    (a DAG's runs have distinct logical dates; `dags test` takes no run id)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def run_nightly(conf: dict, log_file: Path, console: TextIO = sys.stdout) -> RunOutcome:
    """Run the nightly DAG once; return Airflow's record of the run."""
    return run_dag(DAG_ID, conf, log_file, console)


def run_dag(dag_id: str, conf: dict, log_file: Path, console: TextIO = sys.stdout,
            env: dict[str, str] | None = None) -> RunOutcome:
    """Run a DAG once with `airflow dags test` at a logical date of our choosing, then read that
    run's DagRun and task instances from Airflow's metadata database (`read_run`)."""
    env = env or airflow_env()
    ensure_metadata_db(env)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    logical_date = _logical_date()
    command = [_airflow(), "dags", "test", dag_id, logical_date, "--conf", json.dumps(conf)]
    with log_file.open("w") as log, subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                                     stderr=subprocess.STDOUT, text=True, bufsize=1) as proc:
        assert proc.stdout is not None
        starts: dict[str, int] = {}
        for line in proc.stdout:
            log.write(line)
            started = _TASK_START.search(line)
            if started:
                task, index = started.groups()
                current = task if index == "-1" else f"{task}[{index}]"
                starts[current] = starts.get(current, 0) + 1
                again = f" (again: start {starts[current]})" if starts[current] > 1 else ""
                console.write(f"  running {current}{again}\n")
            else:
                ours = _OURS.search(line)
                if ours:
                    level, message = ours.groups()
                    prefix = "" if level == "info" else f"{level}: "
                    console.write(f"    {prefix}{message[:300]}\n")
        code = proc.wait()
    outcome = read_run(dag_id, logical_date, env)
    outcome.airflow_exit, outcome.log_file = code, log_file
    return outcome


def read_run(dag_id: str, logical_date: str, env: dict[str, str]) -> RunOutcome:
    """Airflow's record of one run of dag_id: read by `python -m casehistory.airflow_runner` in the
    run's Airflow environment (Airflow reads AIRFLOW_HOME when imported, so not in this process)."""
    outcome = RunOutcome(dag_id, logical_date, airflow_exit=0)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        proc = subprocess.run([sys.executable, "-m", "casehistory.airflow_runner", dag_id, logical_date, str(out)],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0 or not out.exists():
            outcome.problem = ("could not read Airflow's record of the run:\n"
                               + "\n".join((proc.stdout + proc.stderr).splitlines()[-15:]))
            return outcome
        record = json.loads(out.read_text())
    if record["run"] is None:
        return outcome
    outcome.run_id, outcome.state = record["run"]["run_id"], record["run"]["state"]
    outcome.upstream = record["upstream"]
    outcome.tasks = [TaskOutcome(t["task_id"], t["map_index"], t["map_label"], t["state"], t["try_number"],
                                 t["duration"], t["start_date"]) for t in record["tasks"]]
    return outcome


def _record(dag_id: str, logical_date: str) -> dict:
    """The DagRun of dag_id at logical_date and its task instances, from Airflow's metadata database
    (run in a process whose environment names it). Airflow's CLI shows the same states
    (`airflow tasks states-for-dag-run`) but not the try numbers; its REST API needs an API server,
    which `airflow dags test` does not start."""
    from airflow.models.dagrun import DagRun
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils import timezone as af_timezone
    from airflow.utils.session import create_session

    def iso(value) -> str | None:
        return value.isoformat() if value else None

    def text(state) -> str | None:
        return None if state is None else str(getattr(state, "value", state))

    with create_session() as session:
        runs = DagRun.find(dag_id=dag_id, logical_date=af_timezone.parse(logical_date), session=session)
        if not runs:
            return {"run": None, "tasks": [], "upstream": {}}
        run = runs[0]
        tasks = [{"task_id": ti.task_id, "map_index": ti.map_index, "map_label": ti.rendered_map_index,
                  "state": text(ti.state), "try_number": ti.try_number or 0,
                  "duration": ti.duration if ti.duration is not None else (
                      (ti.end_date - ti.start_date).total_seconds() if ti.start_date and ti.end_date else None),
                  "start_date": iso(ti.start_date)}
                 for ti in run.get_task_instances(session=session)]
        try:
            dag = SerializedDagModel.get_dag(dag_id, session=session)
            upstream = {task_id: sorted(task.upstream_task_ids) for task_id, task in dag.task_dict.items()} if dag else {}
        except Exception:  # the reasons for tasks not run are a courtesy: the states stand without them
            upstream = {}
        return {"run": {"run_id": run.run_id, "state": text(run.state), "start_date": iso(run.start_date),
                        "end_date": iso(run.end_date)},
                "tasks": tasks, "upstream": upstream}


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


if __name__ == "__main__":  # read_run's reader: python -m casehistory.airflow_runner DAG_ID LOGICAL_DATE OUT.json
    _dag_id, _logical, _out = sys.argv[1:4]
    Path(_out).write_text(json.dumps(_record(_dag_id, _logical)))
