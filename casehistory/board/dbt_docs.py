"""The dbt docs site analysts browse (every model, column, test and exposure, with lineage),
regenerated after each publish as one static page: `<stem>.reports/dbt-docs/static_index.html`
(`make docs` / `casehistory docs` run the same). It holds descriptions and SQL, never data."""

from __future__ import annotations

from pathlib import Path

from casehistory.dbt_command import run_dbt
from casehistory.settings import Settings


def publish_dbt_docs(settings: Settings) -> Path:
    target = settings.reports_dir / "dbt-docs"
    log = settings.reports_dir / "dbt" / "dbt_docs.log"
    returncode = run_dbt(settings, ["docs", "generate", "--static"], target=target, log_file=log)
    page = target / "static_index.html"
    if returncode != 0 or not page.exists():
        raise RuntimeError(f"dbt docs generate failed (exit {returncode}); see {log}")
    return page
