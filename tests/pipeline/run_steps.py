"""The nightly DAG's steps in one process, in the DAG's order, without Airflow (seconds, not a
minute): what the crash-safety test starts and kills.

    python -m tests.pipeline.run_steps EXTRACTS WAREHOUSE RUN_ID RUN_DATE [REVIEWS]
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from casehistory import pipeline
from casehistory.runlock import run_lock
from casehistory.settings import Settings


def main(extracts: str, warehouse: str, run_id: str, run_date: str, reviews: str | None = None) -> int:
    settings = Settings(extracts=Path(extracts), warehouse=Path(warehouse), run_date=date.fromisoformat(run_date),
                        reviews=Path(reviews) if reviews else None)
    with run_lock(settings):
        plan = pipeline.prepare(settings, run_id)
        for source, files in sorted(plan.items()):
            try:
                pipeline.load(settings, run_id, source, files)
            except pipeline.StepFailed:
                pass  # recorded; the other sources still load, as in the DAG
        pipeline.link(settings, run_id)
        pipeline.build(settings, run_id)
        pipeline.check(settings, run_id)
        pipeline.feeds(settings, run_id)
        pipeline.publish(settings, run_id)
        pipeline.report(settings, run_id)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
