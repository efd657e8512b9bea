"""How the pipeline calls dbt, in one place: the project and profile, the restricted store with its
DuckDB settings (the `encrypted` target when the store is encrypted), and where dbt writes its
target folder and log. Each caller (build, source freshness, docs, the unit tests) names its own
target folder, so one run's artefacts never overwrite another's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from casehistory import encryption
from casehistory.settings import DBT_DIR, Settings


def dbt_env(settings: Settings) -> dict[str, str]:
    return {"CASEHISTORY_STORE": str(settings.store), "CASEHISTORY_TEMP_DIR": str(settings.temp_dir),
            "CASEHISTORY_MEMORY_LIMIT": settings.memory_limit, "CASEHISTORY_THREADS": str(settings.threads),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "CASEHISTORY_RUN_DATE": settings.run_date.isoformat(),  # plan status is computed as of this day
            **encryption.dbt_env()}  # an encrypted store: dbt's `encrypted` target


def run_dbt(settings: Settings, args: list[str], *, target: Path, log_file: Path) -> int:
    """Run `dbt <args>` against the store, its output into log_file; returns dbt's exit code."""
    env = {**os.environ, **dbt_env(settings)}
    command = [str(Path(sys.executable).with_name("dbt")), *args, "--project-dir", str(DBT_DIR),
               "--profiles-dir", str(DBT_DIR), "--target-path", str(target),
               "--log-path", str(settings.reports_dir / "dbt" / "logs"), *encryption.dbt_target(env)]
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w") as out:
        return subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=DBT_DIR).returncode
