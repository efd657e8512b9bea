"""What the DAGs in dags/ share: how a task calls a pipeline step, what a failed task does, and the
params every DAG takes. Cheap to import (the DAG processor parses the DAG files often): the
pipeline is imported only when a task runs.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("casehistory.dag")

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# What a successful publish updates: a DAG scheduled on it (schedule=[PUBLISHED_WAREHOUSE]) runs
# after every night whose analyst warehouse was swapped in, never after one its checks held back.
PUBLISHED_WAREHOUSE_ASSET = "casehistory_published_warehouse"


def published_warehouse():
    from airflow.sdk import Asset

    return Asset(name=PUBLISHED_WAREHOUSE_ASSET)


def env_default(name: str, fallback: str) -> str:
    """CASEHISTORY_<name> from the environment (the deployment's .env), else the fallback."""
    return os.environ.get(f"CASEHISTORY_{name}", fallback)


def pipeline_params() -> dict:
    """The params of every DAG: drop folder, analyst warehouse, reviews file and the run's date."""
    from airflow.sdk import Param

    return {
        "extracts": Param(env_default("EXTRACTS", os.path.join(PROJECT_DIR, "data", "demo", "extracts")), type="string"),
        "warehouse": Param(env_default("WAREHOUSE", os.path.join(PROJECT_DIR, "data", "warehouse.duckdb")), type="string"),
        "reviews": Param(env_default("REVIEWS", ""), type="string"),
        "run_date": Param("", type="string", description="ISO date treated as today; empty = today"),
    }


def run_step(step: str, params: dict, run_id: str, *args):
    """Call a pipeline step under the warehouse's run lock; a StepFailed (a rejected file, a failed
    check, a configuration error) becomes a failure Airflow does not retry: it will not change by
    itself."""
    from airflow.exceptions import AirflowFailException

    from casehistory import pipeline
    from casehistory.runlock import step_lock
    from casehistory.settings import Settings

    settings = Settings.from_params(params)
    try:
        with step_lock(settings):  # one writer per warehouse, even beside a `casehistory run`
            return getattr(pipeline, step)(settings, run_id, *args)
    except pipeline.StepFailed as exc:
        failure = AirflowFailException(str(exc))
        _pass_to_failure_callback(failure)
        raise failure from exc
    except Exception as exc:
        _pass_to_failure_callback(exc)
        raise


def _pass_to_failure_callback(exc: BaseException) -> None:
    """Put the exception in the task's context for on_task_failure: `airflow dags test` (what
    `casehistory run` uses) runs tasks in process and calls the failure callback without it
    (Airflow 3.1's supervisor.run_task_in_process never sets context["exception"]; the task
    runner of a deployment does, with the same exception)."""
    from airflow.sdk import get_current_context

    try:
        get_current_context()["exception"] = exc
    except Exception:  # outside a task (a test calling run_step): nothing to pass it to
        pass


def on_task_failure(context) -> None:
    """A task failed for good: log it with its reason (one line, which `casehistory run` shows on
    the console) and alert the data team (casehistory/alerts.py), naming the DAG, task, agency's
    load, run, attempt and the exception's type, never its message."""
    from casehistory import alerts

    ti = context["task_instance"]
    exception = context.get("exception")
    cause = getattr(exception, "__cause__", None) or exception  # the step's own error, not Airflow's wrapper
    reason = (f"{type(cause).__name__}: {' | '.join(str(exception).splitlines())}" if exception is not None
              else "Airflow gave no exception: see this task's log above")
    log.error("task %s (map %s) of run %s failed: %s", ti.task_id, ti.map_index, context["run_id"], reason)
    alerts.send(alerts.task_failed(ti.dag_id, ti.task_id, context["run_id"], getattr(ti, "try_number", None),
                                   map_label=context.get("source_name") or (None if ti.map_index < 0 else str(ti.map_index)),
                                   error_type=type(cause).__name__ if cause else None), context)


def load_link_build(required_param: str | None = None):
    """The tasks every DAG starts with, inside its @dag function: sort the drop folder into sources,
    load each source (one mapped task per agency's source, so one failing shows on its own), link
    people (once at least one source loaded), build the dbt models. Returns the build task.

    required_param: a param the run cannot start without (the review_readiness DAG's review id)."""
    from airflow.exceptions import AirflowFailException
    from airflow.sdk import TriggerRule, get_current_context, task

    @task
    def prepare(params=None, run_id=None) -> list[dict]:
        if required_param and not params.get(required_param):
            raise AirflowFailException(f'trigger with a {required_param}: --conf \'{{"{required_param}": "..."}}\'')
        plan = run_step("prepare", params, run_id)
        return [{"source": source, "files": files} for source, files in sorted(plan.items())]

    @task(map_index_template="{{ source_name }}")
    def load(job: dict, params=None, run_id=None) -> dict:
        get_current_context()["source_name"] = job["source"]
        return run_step("load", params, run_id, job["source"], job["files"])

    @task(trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
    def link(params=None, run_id=None) -> dict:
        return run_step("link", params, run_id)

    @task
    def build(params=None, run_id=None) -> dict:
        return run_step("build", params, run_id)

    return load.expand(job=prepare()) >> link() >> build()
