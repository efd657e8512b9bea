"""One small generated world run through the pipeline's steps (without Airflow), shared by the
board tests: the store, the published warehouse and the generator's ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from casehistory import pipeline
from casehistory.settings import Settings
from casehistory.synth import generate
from tests.conftest import RUN_DATE


@dataclass
class BoardRun:
    settings: Settings
    demo: object  # casehistory.synth.Generated: extracts, reviews, ground_truth, expected


def run_pipeline(settings: Settings, run_id: str = "board-test") -> None:
    plan = pipeline.prepare(settings, run_id)
    for source, files in plan.items():
        pipeline.load(settings, run_id, source, files)
    pipeline.link(settings, run_id)
    pipeline.build(settings, run_id)
    pipeline.publish(settings, run_id)
    pipeline.board(settings, run_id)


BOARD_CHILDREN = 2000  # enough referrals that most months show numbers above the threshold


@pytest.fixture(scope="session")
def board_run(tmp_path_factory) -> BoardRun:
    tmp = tmp_path_factory.mktemp("board")
    demo = generate(tmp / "demo", children=BOARD_CHILDREN, seed=8)
    settings = Settings(extracts=demo.extracts, warehouse=tmp / "out" / "warehouse.duckdb",
                        reviews=demo.reviews, run_date=RUN_DATE)
    run_pipeline(settings)
    return BoardRun(settings, demo)
