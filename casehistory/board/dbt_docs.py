"""The dbt docs site analysts browse (every model, column, test and exposure, with lineage),
regenerated after each publish as one static page: `<stem>.reports/dbt-docs/static_index.html`
(`make docs` / `casehistory docs` run the same). It holds descriptions and SQL, never data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from casehistory import encryption
from casehistory.settings import DBT_DIR, Settings


def publish_dbt_docs(settings: Settings) -> Path:
    from casehistory.pipeline import dbt_env

    target = settings.reports_dir / "dbt-docs"
    log = settings.reports_dir / "dbt" / "dbt_docs.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **dbt_env(settings)}
    command = [str(Path(sys.executable).with_name("dbt")), "docs", "generate", "--static",
               "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--target-path", str(target),
               "--log-path", str(settings.reports_dir / "dbt" / "logs"), *encryption.dbt_target(env)]
    with log.open("w") as out:
        proc = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd=DBT_DIR, env=env)
    page = target / "static_index.html"
    if proc.returncode != 0 or not page.exists():
        raise RuntimeError(f"dbt docs generate failed (exit {proc.returncode}); see {log}")
    return page
