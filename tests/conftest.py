"""Fixtures shared by every test: no test touches the user's home, the network or ../shared
unless it says so, and tests that need ../shared/samples skip cleanly without it."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from casehistory.settings import PROJECT_ROOT, Settings

SAMPLES = PROJECT_ROOT.parent / "shared" / "samples"

# Airflow reads AIRFLOW_HOME when first imported (and creates it): never the user's ~/airflow, and
# one per pytest-xdist worker (two processes migrating or writing one SQLite database collide). The
# workers inherit the controller's folder; the process that made it removes it at the end.
_OWN_AIRFLOW_HOME = None
if "CASEHISTORY_AIRFLOW_HOME" not in os.environ:
    _OWN_AIRFLOW_HOME = os.environ["CASEHISTORY_AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="casehistory-airflow-")
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["CASEHISTORY_AIRFLOW_HOME"] = str(Path(os.environ["CASEHISTORY_AIRFLOW_HOME"]) /
                                                 os.environ["PYTEST_XDIST_WORKER"])
os.environ["AIRFLOW_HOME"] = os.environ["CASEHISTORY_AIRFLOW_HOME"]
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
RUN_DATE = date(2026, 1, 15)  # fixed, so "in the future" means the same thing on every machine


def pytest_collection_modifyitems(config, items):
    """The end-to-end modules (marked slow, minutes each) first: pytest-xdist hands modules out in
    this order (`--no-loadscope-reorder` in pyproject.toml; by default it puts the modules with the
    most tests first, which left two end-to-end modules for the last minutes), so the run ends on
    short modules on both workers, not one long module on one."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: order kept otherwise


def pytest_unconfigure(config):
    if _OWN_AIRFLOW_HOME:
        shutil.rmtree(_OWN_AIRFLOW_HOME, ignore_errors=True)


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


def run_pipeline(settings: Settings, run_id: str = "r1", *, then: tuple[str, ...] = ()) -> None:
    """The nightly steps in process, as the DAG's tasks call them: prepare, load every source, link
    and build, then the steps named in `then` (e.g. "publish", "board"). A rejected file raises."""
    from casehistory import pipeline

    for source, files in pipeline.prepare(settings, run_id).items():
        pipeline.load(settings, run_id, source, files)
    pipeline.link(settings, run_id)
    pipeline.build(settings, run_id)
    for step in then:
        getattr(pipeline, step)(settings, run_id)


@dataclass
class GeneratedRun:
    settings: Settings
    demo: object  # casehistory.synth.Generated: extracts, reviews, ground_truth, expected


GENERATED_CHILDREN = 2000  # enough referrals that most board months show numbers above the threshold
GENERATED_RUN_ID = "generated"


@pytest.fixture(scope="session")
def generated_run(tmp_path_factory) -> GeneratedRun:
    """One generated world (its scenario families modelled on the seed reviews included) run through
    the pipeline to the board outputs, shared by every test that only reads what a run produced.
    Tests that change a warehouse build their own."""
    from casehistory.synth import generate

    tmp = tmp_path_factory.mktemp("generated")
    demo = generate(tmp / "demo", children=GENERATED_CHILDREN, seed=8)
    settings = Settings(extracts=demo.extracts, warehouse=tmp / "out" / "warehouse.duckdb",
                        reviews=demo.reviews, run_date=RUN_DATE)
    run_pipeline(settings, GENERATED_RUN_ID, then=("publish", "board"))
    return GeneratedRun(settings, demo)


@pytest.fixture(scope="session")
def cin_sample_run(tmp_path_factory) -> Settings:
    """The CIN census sample files (../shared/samples/cin_census) run through to the dbt models."""
    folder = SAMPLES / "cin_census"
    if not folder.is_dir():
        pytest.skip(f"{folder} is not present")
    tmp = tmp_path_factory.mktemp("cin_sample")
    drop = tmp / "drop"
    drop.mkdir()
    for path in sorted(folder.glob("*.xml")):
        shutil.copy(path, drop / path.name)
    settings = Settings(extracts=drop, warehouse=tmp / "wh.duckdb", run_date=RUN_DATE)
    run_pipeline(settings)
    return settings
