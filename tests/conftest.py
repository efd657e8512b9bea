"""Fixtures shared by every test: no test touches the user's home, the network or ../shared
unless it says so, and tests that need ../shared/samples skip cleanly without it."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

import pytest

from casehistory.settings import PROJECT_ROOT

SAMPLES = PROJECT_ROOT.parent / "shared" / "samples"

# Airflow reads AIRFLOW_HOME when first imported (and creates it): never the user's ~/airflow.
os.environ.setdefault("CASEHISTORY_AIRFLOW_HOME", tempfile.mkdtemp(prefix="casehistory-airflow-"))
os.environ["AIRFLOW_HOME"] = os.environ["CASEHISTORY_AIRFLOW_HOME"]
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
RUN_DATE = date(2026, 1, 15)  # fixed, so "in the future" means the same thing on every machine


@pytest.fixture(autouse=True, scope="session")
def _isolated_environment(tmp_path_factory):
    """A pseudonym key of the tests' own, and no usage statistics sent anywhere."""
    os.environ["CASEHISTORY_PSEUDONYM_KEY"] = "test-key-not-secret-" + "0" * 32
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    os.environ.setdefault("CASEHISTORY_MEMORY_LIMIT", "2GB")
    yield


@pytest.fixture
def samples() -> Path:
    """../shared/samples (public fake data in the national formats); skips when absent."""
    if not SAMPLES.is_dir():
        pytest.skip(f"{SAMPLES} is not present")
    return SAMPLES


@pytest.fixture
def run_date() -> date:
    return RUN_DATE
