"""
### nightly: agency extracts to an analyst warehouse

Every night: sort the drop folder into the registered agency sources, load each source into the
append-only ledger (one mapped task per source, so a failing agency shows on its own), link
records into stable people, build the dbt models, run the Great Expectations suites, and swap in
a new analyst warehouse.

* A rejected file fails its source's task (no retry: the file will not change by itself) and
  every other source still loads and publishes.
* A failing error-severity check holds the analyst warehouse back: analysts keep yesterday's.
* `board` exports the published board tables, draws the board report and the review subjects'
  timelines (casehistory/board); it runs after a successful publish.
* `report` always runs: it writes the run summary and fails the run if any step failed.
* `review_readiness` checks every review whose deadline is within CASEHISTORY_REVIEW_WINDOW_DAYS
  (or has passed): a report per review, and outcome "warning" with alert lines when chronologies
  are missing, late, partial or not asked for (it does not fail the run).

Params: `extracts` (drop folder), `warehouse` (analyst DuckDB file), `reviews` (reviews YAML),
`run_date` (ISO date treated as today; empty = today). Defaults come from CASEHISTORY_EXTRACTS,
CASEHISTORY_WAREHOUSE and CASEHISTORY_REVIEWS. Business logic lives in casehistory.pipeline.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

import pendulum
from airflow.exceptions import AirflowFailException
from airflow.sdk import Param, TriggerRule, dag, get_current_context, task

log = logging.getLogger("casehistory.dag")


def _settings(params: dict):
    from casehistory.settings import Settings

    return Settings.from_params(params)


def _run(step: str, params: dict, run_id: str, *args):
    """Call a pipeline step; a StepFailed becomes a failure Airflow does not retry."""
    from casehistory import pipeline

    try:
        return getattr(pipeline, step)(_settings(params), run_id, *args)
    except pipeline.StepFailed as exc:
        raise AirflowFailException(str(exc)) from exc


def _log_failure(context) -> None:
    ti = context["task_instance"]
    log.error("task %s (map %s) of run %s failed: %s", ti.task_id, ti.map_index, context["run_id"],
              context.get("exception"))


def _default(name: str, fallback: str) -> str:
    return os.environ.get(f"CASEHISTORY_{name}", fallback)


def _project_path(*parts: str) -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), *parts)


@dag(
    dag_id="nightly",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2025, 1, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,  # DuckDB has one writer: tasks that write run one at a time
    tags=["casehistory", "nightly"],
    doc_md=__doc__,
    default_args={
        "owner": "data-team",
        "retries": 2,
        "retry_delay": timedelta(seconds=int(_default("RETRY_DELAY_SECONDS", "300"))),
        "on_failure_callback": _log_failure,
    },
    params={
        "extracts": Param(_default("EXTRACTS", _project_path("data", "demo", "extracts")), type="string"),
        "warehouse": Param(_default("WAREHOUSE", _project_path("data", "warehouse.duckdb")), type="string"),
        "reviews": Param(_default("REVIEWS", ""), type="string"),
        "run_date": Param("", type="string", description="ISO date treated as today; empty = today"),
    },
)
def nightly():
    @task
    def prepare(params=None, run_id=None) -> list[dict]:
        plan = _run("prepare", params, run_id)
        return [{"source": source, "files": files} for source, files in sorted(plan.items())]

    @task(map_index_template="{{ source_name }}")
    def load(job: dict, params=None, run_id=None) -> dict:
        get_current_context()["source_name"] = job["source"]
        return _run("load", params, run_id, job["source"], job["files"])

    @task(trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
    def link(params=None, run_id=None) -> dict:
        return _run("link", params, run_id)

    @task
    def build(params=None, run_id=None) -> dict:
        return _run("build", params, run_id)

    @task
    def check(params=None, run_id=None) -> dict:
        return _run("check", params, run_id)

    @task
    def publish(params=None, run_id=None) -> dict:
        return _run("publish", params, run_id)

    @task
    def board(params=None, run_id=None) -> dict:
        return _run("board", params, run_id)

    @task
    def review_readiness(params=None, run_id=None) -> dict:
        return _run("nightly_readiness", params, run_id)

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def report(params=None, run_id=None) -> None:
        _run("report", params, run_id)

    loads = load.expand(job=prepare())
    built = loads >> link() >> build()
    published, reported = publish(), report()
    built >> check() >> published >> reported
    built >> review_readiness() >> reported
    published >> board() >> reported


nightly()
