"""A mistake in a configuration file (the reviews file, a source's YAML, the identity thresholds)
fails the run's first task at once, with no retries, naming the file, the key and the problem on
the console of `casehistory run` and in the run summary (never "failed: None")."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from casehistory import pipeline
from casehistory.settings import SOURCES_DIR, Settings
from casehistory.summary import build_summary, render

REVIEWS = """reviews:
  - id: REV-2025-009
    type: lcspr
    subjects:
      - {nhs_number: "9990000018"}
    scope_strat: 2023-01-01        # a typo: scope_start
    scope_end: 2024-12-31
    deadline: 2025-03-01
    agencies: [csc, gp]
"""


def _typo_in_reviews(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.yml"
    path.write_text(REVIEWS)
    return path


def _typo_in_a_source(tmp_path: Path) -> Path:
    """A copy of the registry with `agency:` misspelt in school_welfare.yml."""
    folder = tmp_path / "sources"
    shutil.copytree(SOURCES_DIR, folder)
    yml = folder / "school_welfare.yml"
    text = yml.read_text()
    assert "\nagency: school\n" in text
    yml.write_text(text.replace("\nagency: school\n", "\nagnecy: school\n"))
    return folder


# ---- in process: prepare fails with a ConfigurationError (never retried), the summary says why ----

def test_a_typo_in_the_reviews_file_fails_prepare_naming_file_and_key(tmp_path, run_date):
    reviews = _typo_in_reviews(tmp_path)
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "out" / "wh.duckdb", reviews=reviews,
                        run_date=run_date)
    with pytest.raises(pipeline.ConfigurationError) as failed:
        pipeline.prepare(settings, "r1")
    assert isinstance(failed.value, pipeline.StepFailed)  # what run_step turns into a failure not retried
    assert f"{reviews}: reviews.0.scope_start: Field required" in str(failed.value)
    assert f"{reviews}: reviews.0.scope_strat: Extra inputs are not permitted" in str(failed.value)
    summary = build_summary(settings, "r1")
    assert summary["failed_steps"][0] == "prepare"
    assert f"{reviews}: reviews.0.scope_start: Field required" in summary["failures"][0]["reason"]
    text = render(summary)
    assert f"    {reviews}: reviews.0.scope_strat: Extra inputs are not permitted" in text
    assert "None" not in text.split("FAILED:")[1]


def test_problems_in_the_registry_and_the_reviews_are_reported_together(tmp_path, run_date, monkeypatch):
    monkeypatch.setenv("CASEHISTORY_SOURCES_DIR", str(_typo_in_a_source(tmp_path)))
    reviews = _typo_in_reviews(tmp_path)
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "out" / "wh.duckdb", reviews=reviews,
                        run_date=run_date)
    with pytest.raises(pipeline.ConfigurationError) as failed:
        pipeline.prepare(settings, "r1")
    message = str(failed.value)
    assert f"{tmp_path / 'sources' / 'school_welfare.yml'}: agnecy:" in message
    assert f"{reviews}: reviews.0.scope_start: Field required" in message


def test_a_broken_identity_threshold_file_fails_prepare_naming_it(tmp_path, run_date, monkeypatch):
    from casehistory.identity import model

    broken = tmp_path / "identity.yml"
    broken.write_text(model.CONFIG.read_text().replace("link_threshold:", "link_treshold:"))
    monkeypatch.setattr(model, "CONFIG", broken)
    model.config.cache_clear()
    try:
        settings = Settings(extracts=tmp_path, warehouse=tmp_path / "out" / "wh.duckdb", run_date=run_date)
        with pytest.raises(pipeline.ConfigurationError, match=re.escape(f"{broken}: key 'link_threshold' is missing")):
            pipeline.prepare(settings, "r1")
    finally:
        model.config.cache_clear()


# ---- through Airflow: `casehistory run` ---------------------------------------------------------

def _run(tmp_path: Path, reviews: Path | None, sources: Path | None) -> tuple[subprocess.CompletedProcess, Path]:
    drop = tmp_path / "drop"
    drop.mkdir(exist_ok=True)
    out = tmp_path / "out" / "warehouse.duckdb"
    command = [str(Path(sys.executable).with_name("casehistory")), "run", "--extracts", str(drop),
               "--warehouse", str(out), "--run-date", "2026-01-15"]
    if reviews:
        command += ["--reviews", str(reviews)]
    env = {**os.environ, "CASEHISTORY_RETRIES": "2", "CASEHISTORY_RETRY_DELAY_SECONDS": "1"}
    if sources:
        env["CASEHISTORY_SOURCES_DIR"] = str(sources)
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env), out


def _prepare_attempts(out: Path) -> list[str]:
    store = out.with_name(out.stem + ".restricted") / "store.duckdb"
    con = duckdb.connect(str(store), read_only=True)
    try:
        return [s for (s,) in con.execute("select status from run.steps where step = 'prepare'").fetchall()]
    finally:
        con.close()


def _airflow_log(out: Path) -> str:
    return "".join(p.read_text() for p in (out.parent / (out.stem + ".reports") / "logs").glob("nightly-*.log"))


@pytest.mark.slow
def test_casehistory_run_with_a_typo_in_the_reviews_file_fails_at_once_naming_file_and_key(tmp_path):
    reviews = _typo_in_reviews(tmp_path)
    proc, out = _run(tmp_path, reviews, None)
    assert proc.returncode != 0
    assert _prepare_attempts(out) == ["failed"]  # one attempt, though the DAG retries other failures twice
    log = _airflow_log(out)
    assert log.count("starting task_id=prepare ") == 1 and "up_for_retry" not in log
    console = proc.stdout + proc.stderr
    assert f"{reviews}: reviews.0.scope_start: Field required" in console
    assert "failed: None" not in console and "failed: None" not in log
    summary = json.loads((out.parent / "warehouse.reports" / "run_summary.json").read_text())
    assert summary["failures"][0]["step"] == "prepare"
    assert f"{reviews}: reviews.0.scope_strat: Extra inputs are not permitted" in summary["failures"][0]["reason"]


@pytest.mark.slow
def test_casehistory_run_with_a_typo_in_a_source_yaml_fails_at_once_naming_file_and_key(tmp_path):
    sources = _typo_in_a_source(tmp_path)
    proc, out = _run(tmp_path, None, sources)
    assert proc.returncode != 0
    assert _prepare_attempts(out) == ["failed"]
    log = _airflow_log(out)
    assert log.count("starting task_id=prepare ") == 1 and "up_for_retry" not in log
    console = proc.stdout + proc.stderr
    assert f"{sources / 'school_welfare.yml'}: agnecy:" in console
    assert "failed: None" not in console and "failed: None" not in log
