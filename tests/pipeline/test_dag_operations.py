"""The nightly DAG's operating settings: schedule from configuration, retries that back off, the
feed-freshness task, and publishing still held back by failed checks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casehistory.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def dag():
    from airflow.models.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags"), include_examples=False).dags["nightly"]


@pytest.mark.parametrize("value, expected", [(None, "0 2 * * *"), ("30 4 * * 1-5", "30 4 * * 1-5"),
                                             ("none", None), ("", None)])
def test_the_schedule_comes_from_configuration(monkeypatch, value, expected):
    import dags.nightly as nightly

    if value is None:
        monkeypatch.delenv("CASEHISTORY_SCHEDULE", raising=False)
    else:
        monkeypatch.setenv("CASEHISTORY_SCHEDULE", value)
    assert nightly._schedule() == expected


def test_the_default_schedule_is_2am_london(dag):
    assert dag.timetable.summary == "0 2 * * *"
    assert str(dag.timezone.name) == "Europe/London"


def test_retries_back_off_exponentially_up_to_a_ceiling(dag):
    for task in dag.tasks:
        if task.task_id == "report":
            continue
        assert task.retry_exponential_backoff, task.task_id
        assert task.max_retry_delay == timedelta(hours=1)
        assert task.retry_delay == timedelta(minutes=5)


def test_feed_freshness_runs_whatever_failed_and_failed_checks_still_hold_back_publishing(dag):
    feeds = dag.get_task("feeds")
    assert feeds.trigger_rule == "all_done"
    assert "check" in feeds.upstream_task_ids
    assert {"check", "feeds"} <= dag.get_task("publish").upstream_task_ids
    assert dag.get_task("publish").trigger_rule == "all_success"
