"""Every agency with a registered source has its feed's freshness watched, and dbt's freshness
result becomes rows in audit.agency_freshness that name the stale feeds."""

from __future__ import annotations

from datetime import datetime

import duckdb
import yaml

from casehistory import freshness
from casehistory.settings import DBT_DIR
from tests.ingest.helpers import registry

FEEDS = DBT_DIR / "models" / "staging" / "ledger" / "_agency_feeds__sources.yml"


def _feeds() -> dict[str, dict]:
    (source,) = [s for s in yaml.safe_load(FEEDS.read_text())["sources"] if s["name"] == freshness.SOURCE]
    return {t["name"]: t for t in source["tables"]}


def test_every_agency_with_a_registered_source_has_its_freshness_watched():
    agencies = {spec.agency for spec in registry() if isinstance(spec.agency, str)}
    feeds = _feeds()
    assert set(feeds) == agencies
    for agency, feed in feeds.items():
        rules = feed["freshness"]
        assert rules["filter"] == f"agency = '{agency}'"
        assert rules["warn_after"]["count"] < rules["error_after"]["count"]


def _result(agency, status, loaded, ago):
    return {"unique_id": f"source.casehistory.agency_feeds.{agency}", "status": status, "max_loaded_at": loaded,
            "max_loaded_at_time_ago_in_s": ago,
            "criteria": {"warn_after": {"count": 2, "period": "day"}, "error_after": {"count": 7, "period": "day"}}}


def test_dbt_freshness_result_reads_as_one_row_per_feed():
    feeds = freshness.parse({"results": [
        _result("police", "warn", "2026-01-12T02:00:00+00:00", 3 * 86400),
        _result("csc", "pass", "2026-01-15T02:00:00+00:00", 3600),
        _result("eh", "error", "0001-01-01T00:00:00+00:00", 6.4e10),
    ]})
    assert [(f.agency, f.status, f.last_received_at, f.hours_since_received, f.is_stale) for f in feeds] == [
        ("csc", "pass", datetime(2026, 1, 15, 2), 1.0, False),
        ("eh", "error", None, None, True),
        ("police", "warn", datetime(2026, 1, 12, 2), 72.0, True),
    ]
    assert feeds[1].detail == "nothing received yet"
    assert feeds[0].warn_after == "2 day" and feeds[0].error_after == "7 day"


def test_stale_feeds_are_those_not_fresh_at_the_latest_check():
    con = duckdb.connect()
    con.execute(freshness.DDL)
    con.execute(f"""insert into {freshness.TABLE} values
        ('r1', 'csc', 'warn', '2026-01-10', '2026-01-14 03:00', 97, '2 day', '7 day', null),
        ('r2', 'csc', 'pass', '2026-01-15', '2026-01-15 03:00', 1, '2 day', '7 day', null),
        ('r2', 'police', 'error', '2026-01-01', '2026-01-15 03:00', 338, '2 day', '7 day', null)""")
    assert [(f.agency, f.status) for f in freshness.stale_feeds(con)] == [("police", "error")]
    assert [(f.agency, f.status) for f in freshness.stale_feeds(con, "r1")] == [("csc", "warn")]
