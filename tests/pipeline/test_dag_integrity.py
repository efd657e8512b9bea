"""The DAGs folder loads cleanly and the nightly DAG has the properties a 2 a.m. operator relies on."""

from __future__ import annotations

import os

import pytest

from casehistory.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def dagbag():
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.models.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags"), include_examples=False)


def test_dags_folder_has_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_nightly_dag_exists_with_tags_and_docs(dagbag):
    dag = dagbag.dags.get("nightly")
    assert dag is not None
    assert {"casehistory", "nightly"} <= set(dag.tags)
    assert dag.doc_md and "nightly" in dag.doc_md


def test_nightly_never_overlaps_itself_and_writes_one_task_at_a_time(dagbag):
    dag = dagbag.dags["nightly"]
    assert dag.max_active_runs == 1
    assert dag.max_active_tasks == 1  # DuckDB has one writer


def test_every_task_retries_except_the_final_report(dagbag):
    dag = dagbag.dags["nightly"]
    for t in dag.tasks:
        if t.task_id == "report":
            assert t.retries == 0
        else:
            assert t.retries >= 1, t.task_id
        assert t.on_failure_callback, t.task_id


def test_every_dags_tasks_alert_the_data_team_on_failure(dagbag):
    """Whichever DAG a task belongs to, its failure reaches the alert channel (casehistory.dag_support)."""
    from casehistory.dag_support import on_task_failure

    assert {"nightly", "review_readiness"} <= set(dagbag.dags)
    for dag in dagbag.dags.values():
        for t in dag.tasks:
            assert t.on_failure_callback in (on_task_failure, [on_task_failure]), (dag.dag_id, t.task_id)


def test_tasks_run_in_pipeline_order(dagbag):
    dag = dagbag.dags["nightly"]
    order = ["prepare", "load", "link", "build", "check", "publish", "report"]
    for upstream, downstream in zip(order, order[1:]):
        assert downstream in dag.get_task(upstream).downstream_task_ids


def test_one_agency_failing_does_not_stop_linking_and_the_report_always_runs(dagbag):
    dag = dagbag.dags["nightly"]
    assert dag.get_task("link").trigger_rule == "all_done_min_one_success"
    assert dag.get_task("report").trigger_rule == "all_done"
    assert dag.get_task("publish").trigger_rule == "all_success"  # failed checks hold publishing back


def test_loads_are_mapped_one_task_per_source(dagbag):
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    assert isinstance(dagbag.dags["nightly"].get_task("load"), MappedOperator)


def test_review_readiness_dag_is_triggered_with_a_review_and_ends_with_the_readiness_check(dagbag):
    dag = dagbag.dags.get("review_readiness")
    assert dag is not None and dag.schedule is None  # triggered, with {"review_id": ...}
    assert "review_id" in dag.params and dag.max_active_tasks == 1
    order = ["prepare", "load", "link", "build", "readiness"]
    for upstream, downstream in zip(order, order[1:]):
        assert downstream in dag.get_task(upstream).downstream_task_ids
    assert dag.get_task("readiness").retries == 0  # a gap does not close within a retry delay


def test_nightly_checks_reviews_after_build_and_before_the_report(dagbag):
    dag = dagbag.dags["nightly"]
    assert dag.get_task("review_readiness").upstream_task_ids == {"build"}
    assert "report" in dag.get_task("review_readiness").downstream_task_ids


def test_the_board_step_runs_after_publishing_and_before_the_report(dagbag):
    board = dagbag.dags["nightly"].get_task("board")
    assert board.upstream_task_ids == {"publish"}  # only from a published warehouse
    assert "report" in board.downstream_task_ids


def test_every_task_of_both_dags_takes_the_stores_one_slot_pool(dagbag):
    from casehistory.airflow_runner import STORE_POOL

    for dag_id in ("nightly", "review_readiness"):
        pools = {task.task_id: (task.pool, task.pool_slots) for task in dagbag.dags[dag_id].tasks}
        assert set(pools.values()) == {(STORE_POOL, 1)}, (dag_id, pools)


def test_only_publish_marks_the_published_warehouse_asset(dagbag):
    from casehistory.dag_support import PUBLISHED_WAREHOUSE_ASSET

    marking = {(dag_id, task.task_id) for dag_id in ("nightly", "review_readiness")
               for task in dagbag.dags[dag_id].tasks
               if any(getattr(o, "name", None) == PUBLISHED_WAREHOUSE_ASSET for o in task.outlets)}
    assert marking == {("nightly", "publish")}
