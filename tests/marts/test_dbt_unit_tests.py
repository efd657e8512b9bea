"""dbt's unit tests (the models' logic on fixed inputs: matching, referral counts, plans, warning
signs, suppression) run here, once per test run, rather than in every night's `dbt build`."""

from __future__ import annotations

import json

import pytest
import yaml

from casehistory.dbt_command import run_dbt
from casehistory.settings import DBT_DIR

pytestmark = pytest.mark.slow


def _defined() -> set[str]:
    """Every unit test the project's YAML defines, as model.name (read from the files, not from dbt)."""
    found = set()
    for path in (DBT_DIR / "models").rglob("*.yml"):
        for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", []):
            found.add(f"{test['model']}.{test['name']}")
    return found


def test_every_dbt_unit_test_passes(generated_run, tmp_path):
    # unit tests read their parents' column types from the store: the generated run has built them
    settings = generated_run.settings
    code = run_dbt(settings, ["test", "--select", "test_type:unit"], target=tmp_path / "target",
                   log_file=tmp_path / "dbt_unit_tests.log")
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    ran = {r["unique_id"].removeprefix("unit_test.casehistory."): r["status"] for r in results
           if r["unique_id"].startswith("unit_test.")}  # not the project's on-run-end hook
    assert set(ran) == _defined() and len(ran) >= 30
    failing = {name: status for name, status in ran.items() if status != "pass"}
    assert not failing and code == 0, (failing, (tmp_path / "dbt_unit_tests.log").read_text()[-3000:])


def test_the_nightly_build_leaves_unit_tests_out(generated_run):
    results = json.loads((generated_run.settings.reports_dir / "dbt" / "target" / "run_results.json").read_text())
    kinds = {r["unique_id"].split(".")[0] for r in results["results"]}
    assert "model" in kinds and "test" in kinds and "unit_test" not in kinds
