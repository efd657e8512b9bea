"""The seed-modelled baby (Baby E): his timeline shows the five referrals, each passed back to
early help, with the plans, agencies and household around them; written to the restricted folder."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

from casehistory.vocabulary import agency_name

pytestmark = pytest.mark.slow


def _baby_e(ground_truth: Path) -> tuple[dict, list[dict]]:
    with (ground_truth / "persons.csv").open() as f:
        baby = next(p for p in csv.DictReader(f) if p["scenario"] == "baby_e" and p["date_of_birth"] == "2023-08-24")
    with (ground_truth / "events.csv").open() as f:
        referrals = [e for e in csv.DictReader(f)
                     if e["true_person"] == baby["true_person"] and e["event_type"] == "referral"]
    return baby, referrals


def test_baby_e_timeline_shows_his_five_referrals_and_their_outcomes(generated_run):
    baby, truth = _baby_e(generated_run.demo.ground_truth)
    assert len(truth) == 5
    proc = subprocess.run([str(Path(sys.executable).with_name("casehistory")), "timeline", "--nhs-number",
                           baby["nhs_number"], "--warehouse", str(generated_run.settings.warehouse)],
                          capture_output=True, text=True, env={**os.environ}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    written = [Path(line.strip()) for line in proc.stdout.splitlines() if line.strip().endswith(".html")]
    assert len(written) == 1 and written[0].parent == generated_run.settings.restricted_dir / "timelines"
    html = written[0].read_text()
    referrals = re.findall(r'<g class="referral" data-date="([\d-]+)" data-outcome="([^"]+)"', html)
    assert sorted(referrals) == sorted((e["event_date"], e["outcome"]) for e in truth)
    assert {o for _, o in referrals} == {"early_help"}
    lanes = set(re.findall(r'class="lane-label"[^>]*>([^<]+)<', html))
    agencies = {agency_name(c, short=True) for c in ("csc", "eh", "hv", "gp", "police", "school")}
    assert {"Early help plan", "Referrals", "Household"} | agencies <= {unescape(lane) for lane in lanes}
    assert 'class="plan-band" data-plan="early_help"' in html  # the early help plan from December 2023
    assert baby["surname"] in html  # restricted: the panel sees whose life this is


def test_the_run_writes_timelines_for_the_review_subjects_only_to_the_restricted_folder(generated_run):
    timelines = sorted((generated_run.settings.restricted_dir / "timelines").glob("*.html"))
    assert len(timelines) >= 2  # Baby E and his half-brother (REV-2025-001), the JS children
    assert not list(generated_run.settings.reports_dir.rglob("*timeline*"))
    assert not list(generated_run.settings.warehouse.parent.glob("*.html"))


def _invoke(*args):
    from typer.testing import CliRunner

    from casehistory.cli import app

    return CliRunner().invoke(app, ["timeline", *args])


def test_timeline_for_a_review_draws_each_child_it_is_about(generated_run):
    warehouse = str(generated_run.settings.warehouse)
    result = _invoke("--review", "REV-2025-001", "--warehouse", warehouse)
    assert result.exit_code == 0, result.output
    written = sorted(line.strip() for line in result.output.splitlines() if line.strip().endswith(".html"))
    assert len(written) == 2  # Baby E and his half-brother (the EH-00048 subject)
    baby, _ = _baby_e(generated_run.demo.ground_truth)
    names = [Path(p).read_text() for p in written]
    assert sum(baby["surname"] in page and "born 24 August 2023" in page for page in names) == 1
    assert all(Path(p).parent == generated_run.settings.restricted_dir / "timelines" for p in written)


@pytest.mark.parametrize("args, says", [
    (["--nhs-number", "0000000000"], "matches 0 children"),
    (["--review", "REV-NOT-DECLARED"], "has no subjects"),
    (["not-a-child-key"], "no events for child_key not-a-child-key"),
    ([], "name children"),
])
def test_timeline_refuses_children_it_cannot_find(generated_run, args, says):
    result = _invoke(*args, "--warehouse", str(generated_run.settings.warehouse))
    assert result.exit_code == 2
    assert says in " ".join(result.output.split())


def test_timeline_needs_a_pipeline_run_first(tmp_path):
    result = _invoke("--review", "REV-2025-001", "--warehouse", str(tmp_path / "none.duckdb"))
    assert result.exit_code == 2
    assert "run the pipeline first" in " ".join(result.output.split())
