"""
### review_readiness: is one review's set of chronologies complete?

Trigger with `{"review_id": "REV-2025-002"}` (and optionally the nightly params) when a
chronology arrives or before a panel meets. It loads whatever is in the drop folder (files
already loaded are skipped), links, rebuilds the models, then runs the review readiness checks
for that review and writes its report to `<reports>/reviews/<review_id>.html` (agencies,
statuses, evidence counts and dates: whom to chase for what).

The last task, `readiness`, fails while the review has gaps (an agency asked whose chronology is
sent but unreadable, missing, late or partial, or one involved but not asked); it passes once they
are closed.
Business logic lives in casehistory.readiness and casehistory.pipeline; a failed task alerts
the data team, and every task writes under the warehouse's run lock (casehistory.dag_support).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

from casehistory.airflow_runner import STORE_POOL
from casehistory.dag_support import env_default, load_link_build, on_task_failure, pipeline_params, run_step


@dag(
    dag_id="review_readiness",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,  # DuckDB has one writer
    tags=["casehistory", "reviews"],
    doc_md=__doc__,
    default_args={
        "owner": "data-team",
        "pool": STORE_POOL,  # shared with the other DAG: the store's one writer (casehistory/airflow_runner.py)
        "retries": 1,
        "retry_delay": timedelta(seconds=int(env_default("RETRY_DELAY_SECONDS", "300"))),
        "on_failure_callback": on_task_failure,
    },
    params={"review_id": Param("", type="string", description="The review to check (id in the reviews file)"),
            **pipeline_params()},
)
def review_readiness():
    @task(retries=0)  # a gap will not close by itself within a retry delay
    def readiness(params=None, run_id=None) -> dict:
        return run_step("review_readiness", params, run_id, params["review_id"])

    load_link_build(required_param="review_id") >> readiness()


review_readiness()
