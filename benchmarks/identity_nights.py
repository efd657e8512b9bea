"""What the load and link stages cost on the nights of benchmarks/nightly_incremental.py, without
dbt, checks and publishing (so it runs at 100,000 children in minutes, not an hour): a first load,
a night with one day's new files, a night with nothing new, and a full relink as `casehistory
rebuild` does it (model retrained, every pair rescored).

    .venv/bin/python benchmarks/identity_nights.py --children 100000 [--workdir DIR]

Prints seconds per stage (wall clock, in process) and what the link step reported.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from casehistory import pipeline  # noqa: E402
from casehistory.settings import Settings  # noqa: E402
from nightly_incremental import four_nights  # noqa: E402


def night(settings: Settings, label: str, load_files: bool = True, full: bool = False) -> dict:
    run_id = f"bench__{label}__{datetime.now():%H%M%S%f}"
    seconds = {}
    if load_files:
        started = time.monotonic()
        plan = pipeline.prepare(settings, run_id)
        seconds["prepare"] = time.monotonic() - started
        started = time.monotonic()
        for source, files in sorted(plan.items()):
            pipeline.load(settings, run_id, source, files)
        seconds["load"] = time.monotonic() - started
    started = time.monotonic()
    link = pipeline.link(settings, run_id, full=full)
    seconds["link"] = time.monotonic() - started
    return {"night": label, "seconds": {k: round(v, 1) for k, v in seconds.items()},
            "link": {k: link[k] for k in ("subjects", "records_changed", "records_rescored", "model_retrained", "model")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=20000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-identity-"))
    _, results = four_nights(work, args.children, night)
    print(f"{args.children:,} children")
    for r in results:
        print(f"{r['night']:<36} " + "  ".join(f"{k} {v:6.1f}s" for k, v in r["seconds"].items()) + f"  | {r['link']}",
              flush=True)


if __name__ == "__main__":
    main()
