"""`make airflow` (`casehistory airflow`): a local Airflow UI on the project's two DAGs only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from casehistory.airflow_runner import STORE_POOL, airflow_env
from tests.pipeline.test_scheduler import _free_port

pytestmark = pytest.mark.slow


def test_the_local_airflow_serves_the_ui_with_the_projects_dags_only_and_the_stores_pool(tmp_path):
    port = _free_port()
    env = {**os.environ, "CASEHISTORY_AIRFLOW_HOME": str(tmp_path / "airflow")}
    casehistory = str(Path(sys.executable).with_name("casehistory"))
    proc = subprocess.Popen([casehistory, "airflow", "--port", str(port)], env=env, stdout=(tmp_path / "out").open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        started, version = time.monotonic(), None
        while version is None:
            assert proc.poll() is None, (tmp_path / "out").read_text()[-3000:]
            assert time.monotonic() - started < 300, (tmp_path / "out").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/version", timeout=5) as response:
                    version = json.load(response)["version"]
            except OSError:
                time.sleep(2)
        assert version.startswith("3.")
        cli_env = airflow_env(tmp_path / "airflow")
        airflow = str(Path(sys.executable).with_name("airflow"))
        listed = subprocess.run([airflow, "dags", "list", "-o", "json"], env=cli_env, capture_output=True, text=True)
        assert {d["dag_id"] for d in json.loads(listed.stdout)} == {"nightly", "review_readiness"}  # no examples
        pool = subprocess.run([airflow, "pools", "get", STORE_POOL, "-o", "json"], env=cli_env, capture_output=True, text=True)
        assert json.loads(pool.stdout)[0]["slots"] == "1", pool.stdout + pool.stderr
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
