"""`make bench`: sizes S, M, L of a generated authority through the pipeline, against baselines
measured in the same run; writes BENCHMARKS.md with the machine, versions, command and figures.

Per size: generate the extracts, then each pipeline stage (ingest, identity, dbt, checks, publish)
in a subprocess of its own, so its wall time and peak memory (ru_maxrss from wait4: the largest
process of the stage, dbt's own included) are the stage's alone. Then, on the same files:
  ingest    against DuckDB's native reader copying each file into a table, untouched (the limit)
  CIN XML   the project's CIN census reader against the CIN validator's XML-to-tables step
            (csc-validator-be-cin from PyPI, in a throwaway venv of its own: it pins pandas 1.5)
  nightly   re-running every stage with one extra day's file against the full run from empty
Where a goal is missed, the slowest stage's cProfile top functions go into the results.

Usage: .venv/bin/python benchmarks/run.py [--sizes S,M,L] [--out BENCHMARKS.md] [--workdir DIR]
       [--budget-minutes N]   stop starting new work after N minutes (what was measured is kept)
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
from collections import Counter
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = {"S": 10_000, "M": 100_000, "L": 1_000_000}
STAGES = ("ingest", "identity", "dbt", "checks", "publish")
RUN_DATE = date(2025, 4, 1)
NATIVE = {".csv": "read_csv('{p}', all_varchar=true, encoding='{encoding}')",
          ".jsonl": "read_json('{p}', format='newline_delimited', ignore_errors=true)",
          # one document: its contacts unnested to a row each, their nested fields to columns
          ".json": "(select unnest(contacts, recursive := true) from read_json('{p}', maximum_object_size={size}))"}
CIN_VALIDATOR = "csc-validator-be-cin==0.1.13"
PUBLIC_CIN_LIMIT_S = 900
CIN_SAMPLES = ROOT.parent / "shared" / "samples" / "cin_census"
# the 332 children of the validator's fake data (referrals and closures only), and the two of the
# 2024 sample (assessments, section 47, plans, reviews) repeated to be one child in five
CIN_SAMPLE_WEIGHTS = {"fake_CIN_data.xml": 1, "CIN_Census_2024.xml": 40}
GOALS = {"M end to end": "<= 180 s", "L end to end": "<= 1,200 s, peak < 16 GB",
         "ingest / DuckDB throughput": ">= 0.5", "CIN XML / public parser speed": ">= 10x",
         "incremental / full": "<= 0.1"}


# ---- one stage, in its own process -----------------------------------------------------------------

def _settings(args):
    from casehistory.settings import Settings

    return Settings(extracts=Path(args.extracts), warehouse=Path(args.warehouse),
                    reviews=Path(args.reviews) if args.reviews else None, run_date=RUN_DATE)


def stage_main(argv: list[str]) -> None:
    """Run one stage in this process and print its detail as JSON on the last line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("stage")
    parser.add_argument("--extracts")
    parser.add_argument("--warehouse")
    parser.add_argument("--reviews")
    parser.add_argument("--run-id", default="bench")
    parser.add_argument("--children", type=int)
    parser.add_argument("--profile", help="write cProfile top functions to this file")
    args = parser.parse_args(argv)
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    detail = STAGE_FUNCTIONS[args.stage](args)
    if profiler:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        Path(args.profile).write_text(out.getvalue())
    print(json.dumps(detail, default=str))


def _generate(args) -> dict:
    from casehistory.synth import generate

    g = generate(Path(args.extracts).parent, args.children, 42)
    return {"rows": g.expected["rows"], "persons": g.expected["persons"], "children": g.expected["children"]}


def _ingest(args) -> dict:
    from casehistory import pipeline

    settings = _settings(args)
    settings.ensure_dirs()
    files = pipeline.prepare(settings, args.run_id)
    per_source = {}
    for source, paths in files.items():
        started = time.perf_counter()
        try:
            detail = pipeline.load(settings, args.run_id, source, paths)
        except pipeline.StepFailed as exc:
            detail = {"failed": str(exc)}
        per_source[source] = {**detail, "seconds": round(time.perf_counter() - started, 2)}
        # a line per source as it finishes: a stage stopped by the time budget still tells them
        print(json.dumps({"source_done": source, **per_source[source]}, default=str), flush=True)
    return {"sources": per_source, "rows_read": sum(d.get("rows_read", 0) for d in per_source.values())}


def _step(name):
    def run(args) -> dict:
        from casehistory import pipeline

        try:
            return getattr(pipeline, name)(_settings(args), args.run_id)
        except pipeline.StepFailed as exc:  # measured all the same; the failure is reported
            return {"failed": str(exc)[:500]}
    return run


def _native(args) -> dict:
    """DuckDB's own reader copying each file into a table: the limit ingest is measured against."""
    import duckdb

    from ingest.detect import discover
    from ingest.readers.text import DETECT, detect_encoding
    from ingest.registry import load_registry

    registry = load_registry(ROOT / "ingest" / "sources")
    found = discover(Path(args.extracts), registry)
    con = duckdb.connect(str(Path(args.warehouse).with_suffix(".native.duckdb")))
    # the limit is DuckDB's reader at its best: at 1,000,000 children the health-visiting extract is
    # one 750 MB JSON document, which DuckDB reads whole and cannot within the pipeline's 4 GB
    con.execute("set threads = 2; set memory_limit = '16GB'")
    out = {}
    for spec in registry:
        for path in found.by_source[spec.source]:
            native = NATIVE.get(path.suffix.casefold())
            if not native:
                continue
            declared = detect_encoding(path) if spec.encoding == DETECT else spec.encoding
            # DuckDB reads latin-1, which differs from Windows-1252 only in unused control codes
            encoding = {"cp1252": "latin-1", "utf-8-sig": "utf-8"}.get(declared, declared)
            started = time.perf_counter()
            con.execute("create or replace table native as select * from " + native.format(p=path, encoding=encoding,
                                                                                  size=path.stat().st_size + 2 ** 20))
            seconds = time.perf_counter() - started
            out[path.name] = {"source": spec.source, "seconds": round(seconds, 3),
                              "rows": con.execute("select count(*) from native").fetchone()[0]}
    con.close()
    Path(args.warehouse).with_suffix(".native.duckdb").unlink(missing_ok=True)
    return out


def _cin_ours(args) -> dict:
    """The project's CIN census reader: every table's rows, read to the end."""
    from ingest.readers.cin_census import read_cin_census
    from ingest.registry import load_registry

    spec = load_registry(ROOT / "ingest" / "sources")["cin_census"]
    started = time.perf_counter()
    rows = sum(sum(1 for _ in table.rows) for table in read_cin_census(Path(args.extracts), spec))
    return {"seconds": round(time.perf_counter() - started, 2), "rows": rows}


def _identity_baseline(args) -> dict:
    """Identity on identifiers, exact name and date of birth alone (no Splink model), on the same
    ledger: what the model's time is measured against."""
    from casehistory import warehouse
    from casehistory.identity.resolve import resolve

    settings = _settings(args)
    with warehouse.store(settings) as con:
        result = resolve(con, "bench-identifiers-only", b"k" * 32, settings=settings, scorer=None)
    return {"subjects": result.subjects, "persons": result.persons}


STAGE_FUNCTIONS = {"identity_baseline": _identity_baseline, "generate": _generate, "ingest": _ingest, "identity": _step("link"), "dbt": _step("build"),
                   "checks": _step("check"), "publish": _step("publish"), "native": _native, "cin_ours": _cin_ours}
PUBLIC_CIN_SCRIPT = """
import json, sys, time
import xml.etree.ElementTree as ET
from cin_validator.cin_validator import convert_data
started = time.perf_counter()
tables = convert_data(ET.parse(sys.argv[1]).getroot())
print(json.dumps({"seconds": round(time.perf_counter() - started, 2),
                  "rows": sum(len(t) for name, t in tables.items() if name != "Header")}))
"""


# ---- the driver ------------------------------------------------------------------------------------

@dataclass
class Measure:
    seconds: float
    peak_mb: float
    detail: dict = field(default_factory=dict)
    error: str | None = None


def run_stage(stage: str, work: Path, *extra: str, timeout: float | None = None,
              python: str = sys.executable, script: list[str] | None = None) -> Measure:
    """A stage in a subprocess: wall time, and peak RSS of its largest process (wait4's ru_maxrss)."""
    command = [python, *(script or [str(Path(__file__)), "stage", stage]), *extra]
    out_path = work / f"{stage}.out"
    started = time.perf_counter()
    with (work / f"{stage}.log").open("a") as log, out_path.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=log, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        killer = threading.Timer(timeout, proc.kill) if timeout else None
        if killer:
            killer.start()
        # wait4, not wait: the peak resident set of this process (and of those it waited for, dbt)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if killer:
            killer.cancel()
    seconds = time.perf_counter() - started
    peak = usage.ru_maxrss / 1024
    lines = out_path.read_text().strip().splitlines()
    if proc.returncode != 0 or not lines:
        why = f"stopped after {timeout:.0f} s (time limit)" if timeout and seconds >= timeout else \
            f"exit {proc.returncode}; see {work / (stage + '.log')}"
        done = [json.loads(line) for line in lines if line.startswith('{"source_done"')]
        detail = {"sources": {d.pop("source_done"): d for d in done}} if done else {}
        return Measure(seconds, peak, detail, error=why)
    return Measure(seconds, peak, json.loads(lines[-1]))


class Bench:
    """Results are kept in benchmarks/results.json: a later run of other sizes (L alone, say)
    keeps the figures of the sizes it did not run, each with the command and time it was measured."""

    def __init__(self, args):
        self.args = args
        self.started = time.monotonic()
        self.results: dict[str, dict] = _load_results(args.results)
        self.notes: list[str] = []

    def time_left(self) -> float:
        if not self.args.budget_minutes:
            return float("inf")
        return self.args.budget_minutes * 60 - (time.monotonic() - self.started)

    def out_of_time(self, what: str, size: str) -> bool:
        if self.time_left() <= 0:
            self.results[size].setdefault("not_run", []).append(what)
            self.write()
            return True
        return False

    def stage(self, size: str, key: str, stage: str, work: Path, *extra: str, limit: float | None = None,
              **kw) -> Measure | None:
        if self.out_of_time(key, size):
            return None
        timeout = min(limit or float("inf"), max(1.0, self.time_left()))
        m = run_stage(stage, work, *extra, timeout=None if timeout == float("inf") else timeout, **kw)
        self.results[size][key] = m
        load = Path("/proc/loadavg").read_text().split()[:3]
        self.results[size].setdefault("load", []).append(f"{key} {' '.join(load)}")
        print(f"[{size}] {key}: {m.seconds:.1f} s, peak {m.peak_mb:,.0f} MB{' ERROR ' + m.error if m.error else ''}",
              flush=True)
        self.write()
        return m

    def pipeline(self, size: str, label: str, work: Path, extracts: Path, warehouse: Path, reviews: Path,
                 run_id: str) -> None:
        common = ["--extracts", str(extracts), "--warehouse", str(warehouse), "--reviews", str(reviews),
                  "--run-id", run_id]
        for stage in STAGES:
            self.stage(size, f"{label}:{stage}", stage, work, *common)

    def run_size(self, size: str) -> None:
        size, _, given = size.partition("=")  # S, M, L, or NAME=children for a size of one's own
        children = int(given) if given else SIZES[size]
        work = self.args.workdir / size
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        self.results[size] = {"children": children, "command": self.args.command,
                              "measured": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"}
        extracts, reviews = work / "demo" / "extracts", work / "demo" / "reviews.yml"
        gen = self.stage(size, "generate", "generate", work, "--extracts", str(extracts), "--children", str(children))
        if gen is None or gen.error:
            return
        warehouse = work / "warehouse.duckdb"
        self.pipeline(size, "full", work, extracts, warehouse, reviews, "bench-full")
        self.stage(size, "native", "native", work, "--extracts", str(extracts), "--warehouse", str(warehouse))
        # the next night: one extra day's file, the same warehouse
        _next_day_file(extracts)
        self.pipeline(size, "incremental", work, extracts, warehouse, reviews, "bench-next-day")
        self.cin(size, work, children)
        # last: it writes identity rows of its own into the store
        self.stage(size, "identity:baseline", "identity_baseline", work, "--extracts", str(extracts),
                   "--warehouse", str(warehouse))
        if size in self.args.profile.split(","):
            # the slowest stage against its goal, again under cProfile on a fresh warehouse (the
            # profiler's overhead stays out of the figures above)
            self.stage(size, "profile:ingest", "ingest", work, "--extracts", str(extracts), "--warehouse",
                       str(work / "profiled" / "warehouse.duckdb"), "--reviews", str(reviews),
                       "--profile", str(work / "profile-ingest.txt"))

    def cin(self, size: str, work: Path, children: int) -> None:
        """The authority's CIN census: England counts about 400,000 children in need at 31 March
        among 12 million children, one in thirty."""
        if self.out_of_time("cin", size) or not CIN_SAMPLES.exists():
            return
        xml = work / "cin_census.xml"
        self.results[size]["cin_children"] = write_cin_census(xml, children // 30)
        self.stage(size, "cin:ours", "cin_ours", work, "--extracts", str(xml))
        python = public_cin_python(self.args.workdir)
        if python is None:
            self.notes.append(f"{CIN_VALIDATOR} could not be installed: no public parser measured")
            return
        # the validator grows its tables a child at a time (pandas concat): its time grows with the
        # square of the children, so it gets a limit of its own; a stopped run is a lower bound
        self.stage(size, "cin:public", "cin_public", work, str(xml), python=python, script=["-c", PUBLIC_CIN_SCRIPT],
                   limit=PUBLIC_CIN_LIMIT_S)

    def write(self) -> None:
        self.args.out.write_text(render(self.args, self.results, self.notes))
        self.args.results.write_text(json.dumps(
            {size: {k: (asdict(v) if isinstance(v, Measure) else v) for k, v in r.items()}
             for size, r in self.results.items()}, indent=1, default=str))


def _load_results(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    return {size: {k: (Measure(**v) if isinstance(v, dict) and "seconds" in v and "peak_mb" in v else v)
                   for k, v in r.items()}
            for size, r in json.loads(path.read_text()).items()}


def _next_day_file(extracts: Path) -> None:
    """csc activity of one more day: the last day's rows of the main file again, as new records
    dated the day after (a night's delta of a large authority's case management system)."""
    main = next(extracts.glob("csc_activity_*-31.csv"))
    with main.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    last_day = "31/03/2025"
    day = [r for r in rows if r["Activity Date"] in (last_day, "2025-03-31")] or rows[-50:]
    with (extracts / "csc_activity_2025-04-01.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for n, r in enumerate(day, start=1):
            w.writerow({**r, "Record ID": f"N{n:07d}", "Activity Date": "01/04/2025",
                        "Recorded": "01/04/2025 17:00"})


def write_cin_census(path: Path, children: int) -> int:
    """A CIN census of `children` children: the public samples' children repeated with new ids."""
    import xml.etree.ElementTree as ET

    kids, ids, header = [], [], ""
    for name, weight in CIN_SAMPLE_WEIGHTS.items():
        sample = ET.parse(CIN_SAMPLES / name).getroot()
        header = header or ET.tostring(sample.find("Header"), encoding="unicode")
        for child in list(sample.find("Children")) * weight:
            kids.append(ET.tostring(child, encoding="unicode"))
            ids.append(child.findtext("ChildIdentifiers/LAchildID"))
    with path.open("w", encoding="utf-8") as f:
        f.write(f"<Message>\n  {header}\n  <Children>\n")
        for n in range(children):
            i = n % len(kids)
            f.write(kids[i].replace(f">{ids[i]}<", f">BENCH{n:09d}<"))
        f.write("  </Children>\n</Message>\n")
    return children


def public_cin_python(workdir: Path) -> str | None:
    """The CIN validator in a venv of its own (it pins pandas 1.5, which the lock does not have)."""
    venv = workdir / "cin-validator-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        # pandas 1.5 is built against numpy 1: pip would otherwise pick numpy 2, which it cannot import
        proc = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                               CIN_VALIDATOR, "numpy<2"], capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
            return None
    return str(python)


# ---- the results file ------------------------------------------------------------------------------

def _versions() -> str:
    from importlib.metadata import version

    names = ["duckdb", "dbt-core", "dbt-duckdb", "great-expectations", "splink", "apache-airflow"]
    return ", ".join(f"{n} {version(n)}" for n in names)


def _machine() -> str:
    mem = next((l.split()[1] for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")), "0")
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    return (f"{platform.machine()}, {os.cpu_count()} cores ({cpu}), {int(mem) / 1024 ** 2:.0f} GB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def render(args, results: dict, notes: list[str]) -> str:
    lines = ["# Benchmarks", "",
             "Produced by `make bench` (`benchmarks/run.py`, which says what each figure is). Sizes "
             "measured:", ""]
    lines += [f"- {size} ({r['children']:,} children): `{r.get('command', '?')}`, {r.get('measured', '?')}"
              for size, r in results.items()]
    lines += ["",
             f"- Machine: {_machine()}. Other work on it shows in the load average (1, 5, 15 min) at "
             "the end of each stage, listed per size: the benchmark's own stages account for up to "
             "about 2 (one process at a time, DuckDB on 2 threads).",
             f"- Versions: {_versions()}.",
             "- DuckDB settings: memory_limit and threads from `CASEHISTORY_MEMORY_LIMIT` / "
             f"`CASEHISTORY_THREADS` (here {os.environ.get('CASEHISTORY_MEMORY_LIMIT', '4GB')}, "
             f"{os.environ.get('CASEHISTORY_THREADS', '2')}).",
             "- Each stage runs in a process of its own; its peak memory is the largest resident set of "
             "that process or of a process it waited for (wait4's ru_maxrss: for dbt, dbt's own process).", ""]
    lines += ["## Stages", "", "| size | children | stage | full run (s) | peak (MB) | next night (s) |",
              "|---|---:|---|---:|---:|---:|"]
    for size, r in results.items():
        for stage in ("generate",) + STAGES:
            full = r.get(stage if stage == "generate" else f"full:{stage}")
            inc = r.get(f"incremental:{stage}")
            if full is None:
                continue
            lines.append(f"| {size} | {r['children']:,} | {stage} | {_s(full)} | {full.peak_mb:,.0f} | {_s(inc)} |")
        full_total = _total(r, "full")
        inc_total = _total(r, "incremental")
        lines.append(f"| {size} | | **end to end** (ingest to publish) | **{full_total:,.0f}** | | **{inc_total:,.0f}** |"
                     if full_total else f"| {size} | | end to end | - | | - |")
    failures = []
    for size, r in results.items():
        for key, m in r.items():
            if isinstance(m, Measure) and (m.error or m.detail.get("failed")):
                failures.append(f"- {size} {key}: {m.error or m.detail['failed']}")
        if r.get("not_run"):
            failures.append(f"- {size}: not run within the time budget: {', '.join(r['not_run'])}")
    lines += ["", "Failures and stages not run:", ""] + (failures or ["- none: every stage of every size ran"])
    lines += ["", "## Ratios measured in the same run", "",
              "| size | measure | ours | baseline | ratio | goal | met |", "|---|---|---:|---:|---:|---|---|"]
    for size, r in results.items():
        lines += _ratios(size, r)
    lines += ["", "Ingest: DuckDB's reader copies each file into a table untouched (every column as text, "
              "the HV document's contacts unnested; up to 16 GB of memory, as the 750 MB HV document at L needs more "
              "than the pipeline's 4 GB); ours reads, maps, validates, quarantines and versions "
              "into the ledger. CIN: both are timed from parsing the file to the last table row, without "
              "interpreter start-up; the validator makes more rows because it keeps ChildIdentifiers, "
              "ChildCharacteristics, Disabilities and AssessmentFactorsList as tables of their own, where "
              "ours carries the identifiers on every row. Next night: every stage again on the same "
              "warehouse with one more file (the last day's csc activity as new records the day after).",
              "", "Ingest rows per second by source (full run; files with a native DuckDB reader only in "
              "the ratio; XLSX has none in DuckDB 1.5):", "", "| size | source | rows | seconds | rows/s | DuckDB native (s) |",
              "|---|---|---:|---:|---:|---:|"]
    for size, r in results.items():
        ingest, native = r.get("full:ingest"), r.get("native")
        if not ingest or not ingest.detail.get("sources"):
            continue
        for source, d in ingest.detail["sources"].items():
            if not d.get("rows_read"):
                continue
            nat = sum(v["seconds"] for v in (native.detail.values() if native and not native.error else [])
                      if v["source"] == source)
            lines.append(f"| {size} | {source} | {d['rows_read']:,} | {d['seconds']:.1f} | "
                         f"{d['rows_read'] / max(d['seconds'], 0.01):,.0f} | {nat:.2f} |" if nat else
                         f"| {size} | {source} | {d['rows_read']:,} | {d['seconds']:.1f} | "
                         f"{d['rows_read'] / max(d['seconds'], 0.01):,.0f} | - |")
    lines += ["", "Load average per stage (1, 5, 15 min):", ""]
    for size, r in results.items():
        lines.append(f"- {size}: " + "; ".join(r.get("load", [])))
    lines += [""] + [f"Note: {n}" for n in notes]
    findings = ROOT / "benchmarks" / "findings.md"
    if findings.exists():  # hand-written: what the figures say, updated with each measurement
        lines += ["", findings.read_text().strip()]
    profiles = sorted(args.workdir.glob("*/profile-ingest.txt"))
    if profiles:
        lines += ["", "## Profile of ingest", "",
                  "cProfile's top functions by cumulative time, at the sizes given by --profile (a separate "
                  "run on a fresh warehouse; the profiler slows it down).", ""]
        for p in profiles:
            lines += [f"Size {p.parent.name}:", "", "```", *_profile_top(p.read_text()), "```", ""]
    return "\n".join(lines) + "\n"


def _profile_top(text: str, n: int = 25) -> list[str]:
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.strip().startswith("ncalls")), 0)
    return lines[start:start + n + 1]


def _s(m: Measure | None) -> str:
    if m is None:
        return "-"
    if m.error and "time limit" in m.error:
        return f"> {m.seconds:,.0f} (stopped)"
    return f"{m.seconds:,.1f}" + (" (failed)" if m.error or m.detail.get("failed") else "")


def _total(r: dict, label: str) -> float:
    ms = [r.get(f"{label}:{s}") for s in STAGES]
    complete = all(m is not None and not (m.error and "time limit" in m.error) for m in ms)
    return sum(m.seconds for m in ms) if complete else 0.0


def _met(flag: bool) -> str:
    return "yes" if flag else "**no**"


def _ratios(size: str, r: dict) -> list[str]:
    out = []
    ingest, native = r.get("full:ingest"), r.get("native")
    if ingest and native and not ingest.error and not native.error:
        # sources whose every file DuckDB can read (not the chronology template: CSV and XLSX)
        native_files = Counter(v["source"] for v in native.detail.values())
        sources = {s for s, d in ingest.detail["sources"].items() if d.get("files") and native_files[s] == d["files"]}
        ours_s = sum(d["seconds"] for s, d in ingest.detail["sources"].items() if s in sources)
        rows = sum(d.get("rows_read", 0) for s, d in ingest.detail["sources"].items() if s in sources)
        base_s = sum(v["seconds"] for v in native.detail.values() if v["source"] in sources)
        out.append(f"| {size} | ingest throughput, rows/s ({', '.join(sorted(sources))}: CSV, JSON, JSONL) | {rows / ours_s:,.0f} | "
                   f"{rows / base_s:,.0f} | {base_s / ours_s:.3f} | {GOALS['ingest / DuckDB throughput']} | "
                   f"{_met(base_s / ours_s >= 0.5)} |")
    ours, public = r.get("cin:ours"), r.get("cin:public")
    if ours and public and not ours.error and public.error and "time limit" in public.error:
        out.append(f"| {size} | CIN census XML of {r['cin_children']:,} children to tables, s | "
                   f"{ours.detail['seconds']:.1f} | > {public.seconds:.0f} (stopped) | "
                   f"> {public.seconds / ours.detail['seconds']:.0f}x | {GOALS['CIN XML / public parser speed']} | "
                   f"{_met(True) if public.seconds / ours.detail['seconds'] >= 10 else 'not known'} |")
    if ours and public and not ours.error and not public.error:
        out.append(f"| {size} | CIN census XML of {r['cin_children']:,} children to tables, s (rows: ours "
                   f"{ours.detail['rows']:,}, public {public.detail['rows']:,}) | {ours.detail['seconds']:.1f} | "
                   f"{public.detail['seconds']:.1f} | {public.detail['seconds'] / ours.detail['seconds']:.1f}x | "
                   f"{GOALS['CIN XML / public parser speed']} | "
                   f"{_met(public.detail['seconds'] / ours.detail['seconds'] >= 10)} |")
    model, ids = r.get("full:identity"), r.get("identity:baseline")
    if model and ids and not model.error and not ids.error:
        out.append(f"| {size} | identity with the Splink model / on identifiers alone, s (people: "
                   f"{model.detail.get('persons', 0):,} / {ids.detail['persons']:,}) | {model.seconds:,.1f} | "
                   f"{ids.seconds:,.1f} | {model.seconds / ids.seconds:.1f}x | - | - |")
    full, inc = _total(r, "full"), _total(r, "incremental")
    if full and inc:
        out.append(f"| {size} | next night (one extra day's file) / full run from empty, s | {inc:,.1f} | "
                   f"{full:,.1f} | {inc / full:.3f} | {GOALS['incremental / full']} | {_met(inc / full <= 0.1)} |")
    if full:
        goal = {"M": GOALS["M end to end"], "L": GOALS["L end to end"]}.get(size, "-")
        peak = max((m.peak_mb for k, m in r.items() if isinstance(m, Measure) and k.startswith("full:")), default=0)
        met = {"M": full <= 180, "L": full <= 1200 and peak < 16 * 1024}.get(size)
        out.append(f"| {size} | end to end, s (peak MB) | {full:,.0f} ({peak:,.0f}) | - | - | {goal} | "
                   f"{'-' if met is None else _met(met)} |")
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "stage":
        stage_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="S,M,L")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--budget-minutes", type=float, default=None)
    parser.add_argument("--render", action="store_true", help="only rewrite the results file from results.json")
    parser.add_argument("--profile", default="S", help="sizes whose ingest is profiled with cProfile")
    args = parser.parse_args()
    given = [a for a in sys.argv[1:] if a not in ("--sizes", args.sizes)]
    args.command = (f"make bench SIZES={args.sizes}" + (f' BENCH_ARGS="{" ".join(given)}"' if given else "")
                    if os.environ.get("MAKELEVEL") else ".venv/bin/python benchmarks/run.py " + " ".join(sys.argv[1:]))
    keep = args.workdir is not None
    args.workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="casehistory-bench-"))).resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("CASEHISTORY_PSEUDONYM_KEY", "benchmark-key-" + "0" * 32)
    bench = Bench(args)
    if args.render:
        bench.write()
        return
    for size in args.sizes.split(","):
        bench.run_size(size.strip())
    bench.write()
    print(f"wrote {args.out}")
    if not keep:
        shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
