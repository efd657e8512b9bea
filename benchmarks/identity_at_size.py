"""Identity at size: the link stage alone (a full run: the model trained, every pair scored,
everyone clustered), on a ledger generated and loaded once, timed as `make bench` times a stage:
in a process of its own (`benchmarks/run.py stage identity`), wall seconds, CPU seconds (the
stage's process, DuckDB's threads included) and peak resident memory, from wait4.

    .venv/bin/python benchmarks/identity_at_size.py --children 1000000 --workdir /tmp/identity-1m [--runs 2]

The first call generates the extracts and loads them (kept in --workdir as loaded.duckdb, about
1 GB at a million children, with the extracts); later calls with the same --workdir reuse them.
Each run starts from a copy of the loaded store. The machine's load average before and after each
run is printed too: on a shared machine wall seconds say as much about the neighbours as about
identity, CPU seconds less so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def prepare(work: Path, children: int, seed: int) -> None:
    """Generate and load once: loaded.duckdb is the store as ingest leaves it."""
    from casehistory import warehouse
    from casehistory.settings import SOURCES_DIR, Settings
    from casehistory.synth import generate
    from ingest.detect import discover
    from ingest.load import load_source
    from ingest.registry import load_registry

    started = time.perf_counter()
    generated = generate(work / "demo", children, seed)
    print(f"generated {children:,} children in {time.perf_counter() - started:.0f} s", flush=True)
    settings = Settings(extracts=generated.extracts, warehouse=work / "warehouse.duckdb", run_date=date(2025, 4, 1))
    settings.ensure_dirs()
    settings.store.unlink(missing_ok=True)
    registry = load_registry(SOURCES_DIR)
    found = discover(generated.extracts, registry)
    started = time.perf_counter()
    con = warehouse.connect(settings)
    try:
        for spec in registry:
            load_source(con, spec, found.by_source[spec.source], run_id="bench-load", run_date=settings.run_date,
                        archive_dir=settings.archive_dir)
        con.execute("checkpoint")
    finally:
        con.close()
    print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
    shutil.copy(settings.store, work / "loaded.duckdb")


def identity_run(work: Path) -> dict:
    store = work / "warehouse.restricted" / "store.duckdb"
    store.with_name(store.name + ".wal").unlink(missing_ok=True)
    shutil.copy(work / "loaded.duckdb", store)
    command = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "stage", "identity",
               "--extracts", str(work / "demo" / "extracts"), "--warehouse", str(work / "warehouse.duckdb"),
               "--run-id", "bench-identity"]
    load_before = os.getloadavg()
    started = time.perf_counter()
    with (work / "identity.out").open("w") as out, (work / "identity.log").open("a") as log:
        proc = subprocess.Popen(command, stdout=out, stderr=log, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    lines = (work / "identity.out").read_text().strip().splitlines()
    if os.waitstatus_to_exitcode(status) != 0 or not lines:
        raise SystemExit(f"the identity stage failed; see {work / 'identity.log'}")
    detail = json.loads(lines[-1])
    return {"seconds": round(seconds, 1), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_mb": round(usage.ru_maxrss / 1024), "memory_limit": os.environ.get("CASEHISTORY_MEMORY_LIMIT", "4GB"),
            "load_average": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
            **{k: detail.get(k) for k in ("subjects", "persons", "links_applied", "review_queue", "model")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("CASEHISTORY_PSEUDONYM_KEY", "benchmark-key-" + "0" * 32)  # as make bench does
    args.workdir.mkdir(parents=True, exist_ok=True)
    if not (args.workdir / "loaded.duckdb").exists():
        prepare(args.workdir, args.children, args.seed)
    for _ in range(args.runs):
        print(json.dumps(identity_run(args.workdir)), flush=True)


if __name__ == "__main__":
    main()
