"""Workbook reading, old path against new, in one run: an early help activity export (the columns
and layout the generator writes: an "About" sheet, then "Activity") at the row counts of sizes M
and L, read by the eh_activity source's reader (read_xlsx, every row through sheet_table) twice:

- old: every cell by openpyxl's cell parser (the only path before python-calamine; still the path
  for a sheet with a never-computed formula);
- new: Sheet.iter_rows as ingest reads it (the formula scan, then python-calamine).

Both must give the same rows (a hash of every row is compared), and the figures are written
with the command to benchmarks/workbook_read.md.

    nice -n 19 .venv/bin/python benchmarks/workbook_read.py [--sizes M,L] [--workdir /tmp/workbook-read]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from casehistory.synth.extracts import EH_ACTIVITY, EH_HEADER, EH_OUTCOME  # noqa: E402
from ingest.readers.tabular import numbered_rows, read_xlsx  # noqa: E402
from ingest.registry import load_registry  # noqa: E402

# early help rows at each size in the last full benchmark run (BENCHMARKS.md, eh_activity)
ROWS = {"M": 49_695, "L": 495_186}
WORDS = "visit family school worry plan agreed mother father health attended seen home review".split()


def write_export(path: Path, rows: int, seed: int = 36) -> None:
    from openpyxl import Workbook

    rng = random.Random(seed)
    wb = Workbook(write_only=True)
    wb.create_sheet("About").append(["Early help case management system: activity extract"])
    ws = wb.create_sheet("Activity")
    ws.append(EH_HEADER)
    types, outcomes = list(EH_ACTIVITY.values()), list(EH_OUTCOME.values())
    start = datetime(2023, 4, 1)
    for n in range(1, rows + 1):
        when = start + timedelta(days=rng.randrange(700))
        ws.append([f"A{n:06d}", f"EH{rng.randrange(10**6):06d}", rng.choice(["Amy", "Ben", "Cara", "Dev"]) + str(n % 97),
                   rng.choice(["Khan", "Smith", "Jones", "Nowak"]), start - timedelta(days=rng.randrange(6000)),
                   f"LS{rng.randrange(1, 30)} {rng.randrange(10)}AB", str(9_000_000_000 + rng.randrange(10**9)),
                   rng.choice(types), when.strftime("%d/%m/%Y") if n % 100 == 0 else when,
                   rng.choice(outcomes), "Family support worker", " ".join(rng.choices(WORDS, k=8))])
    wb.save(path)


class OldPath:
    """A sheet read by openpyxl's cell parser alone, as every sheet was before."""

    def __init__(self, sheet):
        self.sheet, self.title = sheet, sheet.title

    def iter_rows(self, min_row: int = 1, max_row: int | None = None):
        return numbered_rows(self.sheet.openpyxl_rows(), min_row, max_row)


def timed_read(path: Path, spec, old: bool) -> dict:
    import ingest.readers.tabular as tabular

    digest, rows = 0, 0
    wall, cpu = time.perf_counter(), time.process_time()
    if old:  # sheet_table as read_xlsx calls it, over the old reader
        ws = next(w for w in tabular.open_workbook(path).worksheets if w.title == spec.sheet)
        tables = [tabular.sheet_table(OldPath(ws), spec.header_row)]
    else:
        tables = read_xlsx(path, spec)
    for table in tables:
        for row in table.rows:
            rows += 1
            digest = hash((digest, row.locator, *row.values.items()))  # cheap: the reading is what is timed
    return {"rows": rows, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "digest": digest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="M,L")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/workbook-read"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "workbook_read.md")
    args = parser.parse_args()
    command = "nice -n 19 .venv/bin/python benchmarks/workbook_read.py " + " ".join(sys.argv[1:])
    args.workdir.mkdir(parents=True, exist_ok=True)
    spec = load_registry(ROOT / "ingest" / "sources").sources["eh_activity"]
    warm_up = args.workdir / "warm_up.xlsx"  # both paths' imports, outside the figures
    write_export(warm_up, 10)
    timed_read(warm_up, spec, old=True), timed_read(warm_up, spec, old=False)
    lines = []
    for size in args.sizes.split(","):
        path = args.workdir / f"EarlyHelp_Activity_{size}.xlsx"
        if not path.exists():
            write_export(path, ROWS[size])
        load_before = os.getloadavg()[0]
        old = timed_read(path, spec, old=True)
        new = timed_read(path, spec, old=False)
        load_after = os.getloadavg()[0]
        if (old["rows"], old["digest"]) != (new["rows"], new["digest"]):
            raise SystemExit(f"{size}: the new path read other rows than the old ({new['rows']} against {old['rows']})")
        line = (f"| {size} | {new['rows']:,} | {path.stat().st_size / 1e6:.1f} | {old['rows'] / old['wall']:,.0f} | "
                f"{new['rows'] / new['wall']:,.0f} | {old['wall'] / new['wall']:.1f} | {old['cpu'] / new['cpu']:.1f} | "
                f"{load_before:.2f} -> {load_after:.2f} |")
        print(line, flush=True)
        lines.append(line)
    args.out.write_text(
        "# Workbook reading: openpyxl's cell parser (old) against python-calamine (new)\n\n"
        f"Written by `{command.strip()}` on {datetime.now().strftime('%Y-%m-%d %H:%M')}, "
        f"{os.cpu_count()} cores shared with other sessions. An early help activity export (the generator's "
        "columns and sheets) read by the eh_activity source's reader, every row through sheet_table; both "
        "paths gave the same rows (a hash of every row and its sheet row number compared); imports are done "
        "before timing. Rows/s are wall-clock, and a nice'd run's wall seconds stretch with the neighbours' "
        "load: the CPU ratio (the process's CPU seconds, old / new) is the figure to quote.\n\n"
        "| size | rows | file MB | old rows/s | new rows/s | new/old (wall) | new/old (CPU) | load average (1 min) |\n"
        "|---|---|---|---|---|---|---|---|\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
