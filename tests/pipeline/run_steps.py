"""The nightly DAG's steps in one process, in the DAG's order, without Airflow (seconds, not a
minute): what the crash-safety and publish-gate tests start and kill.

    python -m tests.pipeline.run_steps EXTRACTS WAREHOUSE RUN_ID RUN_DATE [REVIEWS]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Callable

from casehistory import pipeline
from casehistory.runlock import run_lock
from casehistory.settings import PROJECT_ROOT, Settings


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


def start(extracts: Path, warehouse: Path, run_id: str, run_date: str, reviews: Path | None = None,
          pause: str | None = None, marker: Path | None = None) -> subprocess.Popen:
    """main() in a process (and process group: dbt dies with it) of its own; with `pause`, it
    writes `marker` and waits when it reaches that crash point (casehistory/crashpoint.py)."""
    env = {k: v for k, v in os.environ.items() if k not in ("CASEHISTORY_CRASH_PAUSE", "CASEHISTORY_CRASH_MARKER")}
    if pause:
        env.update(CASEHISTORY_CRASH_PAUSE=pause, CASEHISTORY_CRASH_MARKER=str(marker))
    args = [str(extracts), str(warehouse), run_id, run_date] + ([str(reviews)] if reviews else [])
    return subprocess.Popen([sys.executable, "-m", "tests.pipeline.run_steps", *args], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], what: str) -> None:
    """SIGKILL the run's whole process group as soon as `ready()`; fails if the run ends first."""
    deadline = time.monotonic() + 300
    while not ready():
        assert proc.poll() is None, f"the run ended before {what}: {proc.stdout.read()[-4000:]}"
        assert time.monotonic() < deadline, f"{what} never came"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
