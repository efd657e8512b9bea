"""
### nightly: agency extracts to an analyst warehouse

Every night: sort the drop folder into the registered agency sources, load each source into the
append-only ledger (one mapped task per source, so a failing agency shows on its own), link
records into stable people, build the dbt models, run the Great Expectations suites, and swap in
a new analyst warehouse.

* A rejected file fails its source's task (no retry: the file will not change by itself) and
  every other source still loads and publishes.
* A configuration error (reviews file, a source's YAML, identity thresholds) fails `prepare` at
  once, without retries; the run summary names each file, key and problem.
* A failing error-severity check holds the analyst warehouse back: analysts keep yesterday's.
* `feeds` always runs: it alerts when an agency's feed is not fresh (freshness.stale_feeds; thresholds
  in dbt/models/staging/ledger/_agency_feeds__sources.yml); a failed task alerts too (casehistory/alerts.py).
* `board` exports the published board tables, draws the board report and the review subjects'
  timelines (casehistory/board); it runs after a successful publish.
* `report` always runs: it writes the run summary and fails the run if any step failed.
* Every task takes the one slot of the `casehistory_store` pool, shared with `review_readiness`
  (DuckDB has one writer); `publish` marks the asset `casehistory_published_warehouse`.
* `review_readiness` checks every review whose deadline is within CASEHISTORY_REVIEW_WINDOW_DAYS
  (or has passed): a report per review, and outcome "warning" with alert lines when chronologies
  were sent but unreadable, are missing, late, partial or not asked for (it does not fail the run).

Params: `extracts` (drop folder), `warehouse` (analyst DuckDB file), `reviews` (reviews YAML),
`run_date` (ISO date treated as today; empty = today). Defaults come from CASEHISTORY_EXTRACTS,
CASEHISTORY_WAREHOUSE and CASEHISTORY_REVIEWS. Schedule (CASEHISTORY_SCHEDULE, cron, Europe/London) and
retries (CASEHISTORY_RETRIES, CASEHISTORY_RETRY_DELAY_SECONDS doubling up to
CASEHISTORY_MAX_RETRY_DELAY_SECONDS) come from the environment. Business logic lives in
casehistory.pipeline.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import TriggerRule, dag, task

from casehistory.airflow_runner import STORE_POOL
from casehistory.dag_support import (env_default, load_link_build, on_task_failure, pipeline_params,
                                     published_warehouse, run_step)


def _schedule() -> str | None:
    """CASEHISTORY_SCHEDULE: a cron expression in Europe/London time; "none" for manual runs only."""
    value = env_default("SCHEDULE", "0 2 * * *").strip()
    return None if value.lower() in ("", "none", "manual") else value


@dag(
    dag_id="nightly",
    schedule=_schedule(),
    start_date=pendulum.datetime(2025, 1, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,  # DuckDB has one writer: tasks that write run one at a time
    tags=["casehistory", "nightly"],
    doc_md=__doc__,
    default_args={
        "owner": "data-team",
        "pool": STORE_POOL,  # shared with the other DAG: the store's one writer (casehistory/airflow_runner.py)
        "retries": int(env_default("RETRIES", "2")),
        # about 5, 10, 20 ... minutes between attempts: a locked file or a busy disk gets time to clear
        "retry_delay": timedelta(seconds=int(env_default("RETRY_DELAY_SECONDS", "300"))),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(seconds=int(env_default("MAX_RETRY_DELAY_SECONDS", "3600"))),
        "on_failure_callback": on_task_failure,
    },
    params=pipeline_params(),
)
def nightly():
    @task
    def check(params=None, run_id=None) -> dict:
        return run_step("check", params, run_id)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def feeds(params=None, run_id=None) -> dict:
        return run_step("feeds", params, run_id)

    @task(outlets=[published_warehouse()])  # an asset event only when the warehouse was swapped in
    def publish(params=None, run_id=None) -> dict:
        return run_step("publish", params, run_id)

    @task
    def board(params=None, run_id=None) -> dict:
        return run_step("board", params, run_id)

    @task
    def review_readiness(params=None, run_id=None) -> dict:
        return run_step("nightly_readiness", params, run_id)

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def report(params=None, run_id=None) -> None:
        run_step("report", params, run_id)

    built = load_link_build()
    checked = built >> check()
    freshness = feeds()  # after every load; runs (and alerts) even when an earlier step failed
    checked >> freshness
    published, reported = publish(), report()
    [checked, freshness] >> published >> reported  # failed checks still hold publishing back
    built >> review_readiness() >> reported
    published >> board() >> reported


nightly()
