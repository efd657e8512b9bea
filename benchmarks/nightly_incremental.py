"""What a night costs: a first (full) load, a night with one day's new files, a night with nothing
new, and `casehistory rebuild`, each timed per stage from run.pipeline_runs.

    .venv/bin/python benchmarks/nightly_incremental.py --children 20000 [--out docs/benchmarks-nightly.md]

"One day's new files": a second generated set with children/30 children (a different seed), its
activity files copied into the drop folder under the next day's names (csc, health visiting, police,
schools): about a thirtieth of the rows, some of them new versions of records already held. The
pipeline steps are called in process, as the DAG's tasks call them (Airflow's own overhead, a few
seconds per task, is left out).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from casehistory import pipeline, warehouse  # noqa: E402
from casehistory.settings import Settings  # noqa: E402
from casehistory.synth import generate  # noqa: E402

DAY_FILES = {  # generated name -> the next day's name, matching the source's file pattern
    "csc_activity_2025-03-31.csv": "csc_activity_2025-04-01.csv",
    "hv_contacts_20250331.json": "hv_contacts_20250401.json",
    "police_ppn_2025-03-31.jsonl": "police_ppn_2025-04-01.jsonl",
    "school_welfare_attendance_2025-03-31.csv": "school_welfare_attendance_2025-04-01.csv",
}
STAGES = ["prepare", "load", "link", "build", "check", "feeds", "publish"]


def night(settings: Settings, label: str, load_files: bool = True, full: bool = False) -> dict:
    run_id = f"bench__{label}__{datetime.now():%H%M%S%f}"
    started = time.monotonic()
    if load_files:
        plan = pipeline.prepare(settings, run_id)
        for source, files in sorted(plan.items()):
            pipeline.load(settings, run_id, source, files)
    pipeline.link(settings, run_id, full=full)  # a rebuild retrains the identity model
    pipeline.build(settings, run_id, full_refresh=full)  # a rebuild: as `casehistory rebuild`
    for step in ("check", "feeds", "publish"):
        getattr(pipeline, step)(settings, run_id)
    pipeline.report(settings, run_id)
    seconds = time.monotonic() - started
    with warehouse.store(settings, read_only=True) as con:
        rows_loaded, stage_seconds = con.execute(
            "select rows_loaded, stage_seconds from run.pipeline_runs where run_id = ?", [run_id]).fetchone()
        build = json.loads(con.execute("select detail from run.steps where run_id = ? and step = 'build'",
                                       [run_id]).fetchone()[0])
        nodes = dict(con.execute("select resource_type, round(sum(seconds), 1) from run.dbt_models "
                                 "where run_id = ? group by all", [run_id]).fetchall())
    # dbt's wall time (one `dbt build` process) against the time its nodes ran: the rest is dbt's
    # start-up (Python, parsing or partial parsing, opening the store) and its bookkeeping per node
    dbt = {"mode": build["dbt_mode"], "persons_recomputed": build.get("persons_recomputed"),
           "process_seconds": build["seconds"], "model_seconds": nodes.get("model", 0.0),
           "test_seconds": nodes.get("test", 0.0), "unit_test_seconds": nodes.get("unit_test", 0.0)}
    return {"night": label, "seconds": round(seconds, 1), "rows_loaded": rows_loaded or 0,
            "stages": {s: stage_seconds.get(s, 0.0) for s in STAGES}, "dbt": dbt}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=20000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks-nightly.md")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-nightly-"))
    settings, results = four_nights(work, args.children, night)

    results_file = args.out.with_suffix(".json")
    measured = json.loads(results_file.read_text()) if results_file.exists() else {}
    measured[str(args.children)] = {
        "children": args.children, "measured_on": date.today().isoformat(), "machine": platform.machine(),
        "python": platform.python_version(), "memory_limit": settings.memory_limit, "threads": settings.threads,
        "results": results}
    results_file.write_text(json.dumps(measured, indent=2))
    args.out.write_text(render(measured))
    print(render(measured))


def four_nights(work: Path, children: int, night: Callable[..., dict]) -> tuple[Settings, list[dict]]:
    """The scenario both night benchmarks time: a first load into a fresh warehouse, one day's new
    files, nothing new, and a rebuild from the ledger; `night(settings, label, load_files=, full=)`
    runs and measures one night."""
    full = _generated(work / "full", children, seed=42)
    day = _generated(work / "day", max(30, children // 30), seed=4242)
    drop = work / "drop"
    for old in (drop, work / "out"):  # a --workdir reused: its generated sets are kept, the runs start afresh
        shutil.rmtree(old, ignore_errors=True)
    shutil.copytree(full.extracts, drop)
    settings = Settings(extracts=drop, warehouse=work / "out" / "warehouse.duckdb", reviews=full.reviews,
                        run_date=date(2025, 4, 2))
    results = [night(settings, "first load (everything)")]
    for generated, renamed in DAY_FILES.items():
        shutil.copy(day.extracts / generated, drop / renamed)
    results.append(night(settings, "one day's new files"))
    results.append(night(settings, "nothing new"))
    results.append(night(settings, "rebuild from the ledger", load_files=False, full=True))
    return settings, results


def _generated(root: Path, children: int, seed: int) -> SimpleNamespace:
    """A generated set, reused when --workdir already holds it (100,000 children take minutes)."""
    if not (root / "extracts").is_dir():
        generate(root, children, seed=seed)
    return SimpleNamespace(extracts=root / "extracts", reviews=root / "reviews.yml")


def render(measured: dict) -> str:
    """Every size measured so far (docs/benchmarks-nightly.json), smallest first."""
    lines = ["# Nightly runs: incremental versus full", "",
             "Produced by `.venv/bin/python benchmarks/nightly_incremental.py --children N` (one section per N; "
             "the raw figures are in `benchmarks-nightly.json`). Seconds per stage come from "
             "`run.pipeline_runs.stage_seconds` (whole seconds per step, as run.steps keeps them); the "
             "pipeline steps are called in process, without Airflow's few seconds of start-up per task. "
             "\"vs first load\" is the night's total over the first night's."]
    for size in sorted(measured, key=int):
        m = measured[size]
        first = m["results"][0]["seconds"]
        lines += ["", f"## {int(size):,} children", "",
                  f"{m['machine']}, Python {m['python']}, DuckDB memory_limit {m['memory_limit']}, threads "
                  f"{m['threads']}, measured {m['measured_on']}.", "",
                  "| night | rows loaded | total (s) | vs first load | " + " | ".join(STAGES) + " |",
                  "|---|---:|---:|---:|" + "---:|" * len(STAGES)]
        for r in m["results"]:
            lines.append(f"| {r['night']} | {r['rows_loaded']:,} | {r['seconds']:.1f} | {r['seconds'] / first:.0%} | "
                         + " | ".join(f"{r['stages'][s]:.0f}" for s in STAGES) + " |")
        if all("dbt" in r for r in m["results"]):
            lines += ["", "Inside `build`: the `dbt build` process, the time its nodes ran (run.dbt_models), and the "
                      "rest: dbt's start-up (Python, partial parse, opening the store) and its bookkeeping per node.",
                      "", "| night | dbt mode | persons recomputed | dbt process (s) | models (s) | data tests (s) "
                      "| unit tests (s) | rest (s) |", "|---|---|---:|---:|---:|---:|---:|---:|"]
            for r in m["results"]:
                d = r["dbt"]
                rest = d["process_seconds"] - d["model_seconds"] - d["test_seconds"] - d["unit_test_seconds"]
                recomputed = "all" if d["persons_recomputed"] is None else f"{d['persons_recomputed']:,}"
                lines.append(f"| {r['night']} | {d['mode']} | {recomputed} | {d['process_seconds']:.1f} | "
                             f"{d['model_seconds']:.1f} | {d['test_seconds']:.1f} | {d['unit_test_seconds']:.1f} | {rest:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
