"""How the pipeline calls dbt, in one place: the project and profile, the restricted store with its
DuckDB settings (the `encrypted` target when the store is encrypted), and where dbt writes its
target folder and log. Each caller (build, source freshness, docs, the unit tests) names its own
target folder, so one run's artefacts never overwrite another's.

dbt runs in a process of its own (its memory is returned when it ends). Commands that follow one
another (the nightly build, then source freshness) share that process: starting dbt, mostly
importing it, costs about two seconds each time. Every command starts from the project as the
nightly build last parsed it (`--partial-parse-file-path`): dbt reparses only what changed since,
and all of it when the profile's connection, vars or target differ. A store's first build starts
from the parse the last build of any store left in SHARED_PARSE: dbt runs in the restricted folder
and the profile names the store and its spill folder relative to it, so the connection dbt compares
is the same for every store (a full parse took 24 s, starting from another store's 7-12 s, on 2 busy
cores; the test suite makes dozens of stores).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from casehistory import encryption
from casehistory.settings import DBT_DIR, Settings

log = logging.getLogger(__name__)

# dbt's own exit codes: 0 success, 1 a node failed (or a feed is stale), 2 dbt itself failed
UNHANDLED = 2
# The latest parse of the project by any store's build, where a new store's first build starts.
SHARED_PARSE = DBT_DIR / "target" / "partial_parse.msgpack"


@dataclass(frozen=True)
class DbtCall:
    args: list[str]  # e.g. ["build", "--full-refresh"]
    target: Path  # dbt's target folder for this command
    log_file: Path  # the command's console output


def build_target(settings: Settings) -> Path:
    """The nightly build's target folder: its run results, and the parse every command starts from."""
    return settings.reports_dir / "dbt" / "target"


def dbt_workdir(settings: Settings) -> Path:
    """The folder dbt runs in: the profile's paths (dbt_env) are relative to it."""
    return settings.restricted_dir


def dbt_env(settings: Settings) -> dict[str, str]:
    """The profile's settings, for dbt running in dbt_workdir(settings)."""
    return {"CASEHISTORY_STORE": str(settings.store.relative_to(dbt_workdir(settings))),
            "CASEHISTORY_TEMP_DIR": str(settings.temp_dir.relative_to(dbt_workdir(settings))),
            "CASEHISTORY_MEMORY_LIMIT": settings.memory_limit, "CASEHISTORY_THREADS": str(settings.threads),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "CASEHISTORY_RUN_DATE": settings.run_date.isoformat(),  # plan status is computed as of this day
            **encryption.dbt_env()}  # an encrypted store: dbt's `encrypted` target


def run_dbt(settings: Settings, args: list[str], *, target: Path, log_file: Path) -> int:
    """Run `dbt <args>` against the store, its output into log_file; returns dbt's exit code."""
    return run_dbt_calls(settings, [DbtCall(args, target, log_file)])[0]


def run_dbt_calls(settings: Settings, calls: list[DbtCall]) -> list[int]:
    """Run the commands one after another in one dbt process, each whatever the one before returned;
    returns their exit codes (UNHANDLED for a command the process never finished)."""
    settings.ensure_dirs()  # dbt runs in the restricted folder
    env = {**os.environ, **dbt_env(settings)}
    parsed = _starting_parse(settings)
    spec = [{"args": [*call.args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
                      "--target-path", str(call.target), "--log-path", str(settings.reports_dir / "dbt" / "logs"),
                      *encryption.dbt_target(env)],
             "log_file": str(call.log_file), "parsed": str(parsed)} for call in calls]
    for call in calls:
        call.log_file.parent.mkdir(parents=True, exist_ok=True)
        call.log_file.write_text("")  # never last night's output read as tonight's
    done = subprocess.run([sys.executable, "-m", "casehistory.dbt_command", json.dumps(spec)], env=env,
                          cwd=dbt_workdir(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    codes = [json.loads(line)["exit_code"] for line in done.stdout.splitlines() if line.startswith('{"exit_code"')]
    if parsed.exists():
        _share_parse(parsed)
    if len(codes) < len(calls):  # the process died in a command: why goes into that command's log
        with calls[len(codes)].log_file.open("a") as log:
            log.write(done.stderr or f"dbt's process ended with exit code {done.returncode}\n")
    return codes + [UNHANDLED] * (len(calls) - len(codes))


def _starting_parse(settings: Settings) -> Path:
    """This store's parse of the project; for its first build, a copy of SHARED_PARSE (dbt checks
    every file against it and reparses what differs, or everything if the profile differs)."""
    own = build_target(settings) / "partial_parse.msgpack"
    if not own.exists() and SHARED_PARSE.exists():
        own.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHARED_PARSE, own)
    return own


def _share_parse(parsed: Path) -> None:
    """Leave this parse where the next new store starts (replaced whole, so a build reading it
    concurrently never sees half a file). A project folder that cannot be written only costs the
    next new store a full parse."""
    partial = SHARED_PARSE.with_name(f"{SHARED_PARSE.name}.{os.getpid()}.part")
    try:
        SHARED_PARSE.parent.mkdir(exist_ok=True)
        shutil.copyfile(parsed, partial)
        os.replace(partial, SHARED_PARSE)
    except OSError as exc:
        log.info("dbt's parse not shared with new stores (%s): their first build parses the whole project", exc)


def _main(spec: list[dict]) -> None:
    """In the dbt process: each command's console output into its own log file, its exit code on stdout."""
    from dbt.cli.main import dbtRunner

    report = sys.stdout
    for call in spec:
        # looked for as each command starts: the build before it in this process may have written it
        parsed = ["--partial-parse-file-path", call["parsed"]] if os.path.exists(call["parsed"]) else []
        with open(call["log_file"], "w") as log, redirect_stdout(log), redirect_stderr(log):
            result = dbtRunner().invoke([*call["args"], *parsed])
            if result.exception is not None:  # the CLI would print it; the runner only returns it
                print(f"dbt failed: {type(result.exception).__name__}: {result.exception}")
        code = 0 if result.success else 1 if result.exception is None else UNHANDLED
        print(json.dumps({"exit_code": code}), file=report, flush=True)


if __name__ == "__main__":
    _main(json.loads(sys.argv[1]))
