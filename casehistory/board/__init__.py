"""What a safeguarding board and a review panel read: the board tables' exports (export.py), the
static HTML board report (report.py, charts in svg.py), per-child timelines (timeline.py) and
each review's merged chronology (chronology.py; restricted, printed by browser.py). Their HTML,
and the readiness report's, is Jinja2 templates in templates/, autoescaped (pages.py).

The board tables themselves are dbt models (dbt/models/board), aggregated and suppressed there;
the suppression threshold is the dbt var `board_min_count` in dbt/dbt_project.yml, read here so
the report and the tests use the same number.
"""

from __future__ import annotations

import yaml

from casehistory.settings import DBT_DIR


def board_min_count() -> int:
    """The smallest count a board output may show (smaller non-zero counts are suppressed)."""
    project = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text())
    return int(project["vars"]["board_min_count"])
