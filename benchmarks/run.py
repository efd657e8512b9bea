"""Benchmark ingest and linking; writes docs/benchmarks.md with the command that produced it.

Every figure is reported with a baseline measured in the same run, on the same files:
  ingest   the project's load (read, map, validate, quarantine, version into the ledger) against
           DuckDB's own native reader copying the same file into a table, untouched
  linking  identity with the Splink model against identity on identifiers alone
Usage: .venv/bin/python benchmarks/run.py [--children 100000] [--out docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from casehistory import warehouse  # noqa: E402
from casehistory.identity.resolve import resolve  # noqa: E402
from casehistory.settings import SOURCES_DIR, Settings  # noqa: E402
from casehistory.synth import generate  # noqa: E402
from ingest.detect import discover  # noqa: E402
from ingest.load import load_source  # noqa: E402
from ingest.registry import load_registry  # noqa: E402

NATIVE = {".csv": "read_csv('{p}', all_varchar=true, encoding='{encoding}')", ".jsonl": "read_json('{p}', format='newline_delimited', ignore_errors=true)",
          ".json": "read_json('{p}', maximum_object_size=1000000000)"}


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="casehistory-bench-"))
    os.environ.setdefault("CASEHISTORY_PSEUDONYM_KEY", "benchmark-key-" + "0" * 32)

    gen_s, demo = timed(lambda: generate(work / "demo", args.children, 42))
    settings = Settings(extracts=demo.extracts, warehouse=work / "warehouse.duckdb", run_date=date(2026, 1, 15))
    registry = load_registry(SOURCES_DIR)
    found = discover(demo.extracts, registry)

    rows = []
    with warehouse.store(settings) as con:
        for spec in registry:
            for path in found.by_source[spec.source]:
                native = NATIVE.get(path.suffix.casefold())
                base_s = None
                if native:
                    # DuckDB reads latin-1, which differs from Windows-1252 only in unused control codes
                    encoding = {"cp1252": "latin-1", "utf-8-sig": "utf-8"}.get(spec.encoding, spec.encoding)
                    base_s, _ = timed(lambda: con.execute(
                        "create or replace table bench_native as select * from "
                        + native.format(p=path, encoding=encoding)))
                ours_s, loaded = timed(lambda: load_source(con, spec, [path], run_id=f"bench-{path.name}",
                                                           run_date=settings.run_date, archive_dir=settings.archive_dir))
                f = loaded.files[0]
                rows.append((spec.source, path.name, f.rows_read, ours_s, base_s))
        con.execute("drop table if exists bench_native")
        # linking: the baseline first, then the full model on the same ledger
        ids_s, ids = timed(lambda: resolve(con, "bench-ids", b"k" * 32, settings=settings, scorer=None))
        full_s, full = timed(lambda: resolve(con, "bench-model", b"k" * 32, settings=settings))

    lines = [
        "# Benchmarks", "",
        f"Produced by `.venv/bin/python benchmarks/run.py --children {args.children}` on "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"DuckDB memory_limit {settings.memory_limit}, threads {settings.threads}. "
        f"Generating the {args.children:,} children's extracts took {gen_s:.0f} s.", "",
        "## Ingest", "",
        "Baseline: DuckDB's native reader copying the same file into a table, every column as it comes "
        "(no mapping, no validation, no versioning). XLSX has no native reader in DuckDB 1.5: no baseline.", "",
        "| source | file | rows | load (s) | baseline (s) | load / baseline | rows per second |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for source, name, n, ours, base in rows:
        ratio = f"{ours / base:.1f}x" if base else "-"
        lines.append(f"| {source} | {name} | {n:,} | {ours:.1f} | {base:.2f} | {ratio} | {n / ours:,.0f} |"
                     if base else f"| {source} | {name} | {n:,} | {ours:.1f} | - | - | {n / ours:,.0f} |")
    total_rows = sum(r[2] for r in rows)
    total_s = sum(r[3] for r in rows)
    lines += ["", f"All files: {total_rows:,} rows in {total_s:.0f} s ({total_rows / total_s:,.0f} rows per second).", "",
              "## Linking", "",
              "Baseline: identity on identifiers, exact name and date of birth alone (no model), on the same ledger.", "",
              "| | subjects | people | seconds | / baseline |", "|---|---:|---:|---:|---:|",
              f"| identifiers only (baseline) | {ids.subjects:,} | {ids.persons:,} | {ids_s:.1f} | 1.0x |",
              f"| with the Splink model | {full.subjects:,} | {full.persons:,} | {full_s:.1f} | {full_s / ids_s:.1f}x |",
              "", f"Model: {full.model}.", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
