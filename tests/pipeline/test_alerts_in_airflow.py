"""Alerts from inside Airflow: a task's own alert (as the `feeds` and `review_readiness` steps send)
and the failure callback's, in a real `airflow dags test` run whose connection comes from an
AIRFLOW_CONN_* variable, reach a local SMTP server through the SMTP provider's notifier."""

from __future__ import annotations

import email
import subprocess
import sys
from pathlib import Path

import pytest

from casehistory.airflow_runner import airflow_env
from tests.pipeline.test_alerts import SECRET, _body, _SmtpSink, _smtp_json

pytestmark = pytest.mark.slow

DAG = f'''
import pendulum
from airflow.sdk import dag, task
from casehistory.dag_support import on_task_failure


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
     default_args={{"on_failure_callback": on_task_failure, "retries": 0}})
def alerts_probe():
    @task
    def feeds():
        from datetime import datetime

        from casehistory import alerts
        from casehistory.freshness import FeedFreshness

        stale = [FeedFreshness("police", "warn", datetime(2026, 1, 10, 3), 124.8, "2 day", "7 day")]
        if not alerts.send(alerts.stale_feeds(stale, "probe")):
            raise RuntimeError("the stale-feed alert was not delivered")

    @task
    def load():
        raise ValueError("bad row: {SECRET}")

    feeds() >> load()


alerts_probe()
'''


def test_a_task_and_its_failure_callback_alert_through_the_smtp_connection(tmp_path):
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "alerts_probe.py").write_text(DAG)
    sink = _SmtpSink(connections=2, timeout=300)
    env = {**airflow_env(tmp_path / "airflow"), "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "dags"),
           "CASEHISTORY_ALERT_CHANNEL": "email", "CASEHISTORY_ALERT_EMAIL_TO": "data-team@example.org",
           "AIRFLOW_CONN_CASEHISTORY_ALERTS_SMTP": _smtp_json(sink.port)}
    airflow = str(Path(sys.executable).with_name("airflow"))
    try:
        migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
        assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
        run = subprocess.run([airflow, "dags", "test", "alerts_probe"], env=env, capture_output=True, text=True,
                             timeout=300)
    finally:
        sink.close()
    output = run.stdout + run.stderr
    assert run.returncode != 0  # `load` failed, as it should
    assert "could not be delivered" not in output, output[-3000:]
    feeds, failed = (email.message_from_string(raw) for raw in sink.messages)
    assert feeds["Subject"] == "[casehistory] stale feed: police"
    assert "police: warn; last received 2026-01-10 03:00" in _body(feeds)
    assert failed["Subject"] == "[casehistory] alerts_probe: load failed"
    assert "Task load of DAG alerts_probe failed in run manual__" in _body(failed)
    assert all(SECRET not in raw and "Amy" not in raw for raw in sink.messages)
