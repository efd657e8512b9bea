"""How fresh each agency's feed is: dbt's source freshness, kept as data.

The thresholds are configuration in dbt/models/staging/ledger/_agency_feeds__sources.yml (one
entry per agency with a registered source); loaded_at is the ledger's received_at. After each
build the pipeline runs `dbt source freshness` (in the build's dbt process) and `record` keeps the result in
audit.agency_freshness (one row per run and agency, published to the analyst warehouse), so a
stale feed is a row someone can alert on (`stale_feeds`), not a log line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb

from casehistory import warehouse
from casehistory.dbt_command import DbtCall, run_dbt_calls
from casehistory.settings import Settings

SOURCE = "agency_feeds"
TABLE = "audit.agency_freshness"
DDL = f"""
create schema if not exists audit;
create table if not exists {TABLE} (
    run_id varchar not null, agency varchar not null, status varchar not null,
    last_received_at timestamp, checked_at timestamp not null, hours_since_received double,
    warn_after varchar, error_after varchar, detail varchar);
"""
# dbt reports a feed with no rows at all as loaded at 0001-01-01
NEVER = "0001-01-01"


@dataclass(frozen=True)
class FeedFreshness:
    agency: str
    status: str  # pass | warn | error (stale or never received) | runtime error | not_checked
    last_received_at: datetime | None
    hours_since_received: float | None
    warn_after: str | None
    error_after: str | None
    detail: str | None = None

    @property
    def is_stale(self) -> bool:
        return self.status != "pass"


def command(settings: Settings) -> DbtCall:
    """`dbt source freshness` on the agency feeds (run alone by `check`, or after the build in the
    build's dbt process); the result of any earlier run is removed, never read as this one's."""
    dbt_dir = settings.reports_dir / "dbt"
    call = DbtCall(["source", "freshness", "--select", f"source:{SOURCE}"], target=dbt_dir / "freshness-target",
                   log_file=dbt_dir / "dbt_source_freshness.log")
    (call.target / "sources.json").unlink(missing_ok=True)
    return call


def check(settings: Settings) -> list[FeedFreshness]:
    """Run `dbt source freshness` on the agency feeds and read its result."""
    call = command(settings)
    run_dbt_calls(settings, [call])
    return result(call)


def result(call: DbtCall) -> list[FeedFreshness]:
    """What a freshness command found. Its exit code 1 only says some feed is stale: sources.json
    says which, and its absence that dbt failed."""
    if not (call.target / "sources.json").exists():
        return [FeedFreshness("(all)", "not_checked", None, None, None, None,
                              f"dbt source freshness wrote no result; see {call.log_file}")]
    return parse(json.loads((call.target / "sources.json").read_text()))


def parse(result: dict) -> list[FeedFreshness]:
    """dbt's sources.json, one FeedFreshness per agency feed."""
    feeds = []
    for r in result["results"]:
        agency = r["unique_id"].rsplit(".", 1)[-1]
        criteria = r.get("criteria") or {}
        loaded = r.get("max_loaded_at")
        never = loaded is None or loaded.startswith(NEVER)
        feeds.append(FeedFreshness(
            agency=agency,
            status=r["status"],
            last_received_at=None if never else datetime.fromisoformat(loaded).replace(tzinfo=None),
            hours_since_received=None if never else round(r["max_loaded_at_time_ago_in_s"] / 3600, 1),
            warn_after=_period(criteria.get("warn_after")),
            error_after=_period(criteria.get("error_after")),
            detail="nothing received yet" if never and r["status"] != "runtime error" else r.get("message"),
        ))
    return sorted(feeds, key=lambda f: f.agency)


def _period(rule: dict | None) -> str | None:
    if not rule or rule.get("count") is None:
        return None
    return f"{rule['count']} {rule['period']}"


def record(settings: Settings, run_id: str, feeds: list[FeedFreshness] | None = None) -> list[FeedFreshness]:
    """Append a freshness check's result (default: `check` now) to audit.agency_freshness."""
    feeds = check(settings) if feeds is None else feeds
    checked_at = datetime.now().replace(microsecond=0)
    with warehouse.store(settings) as con:
        con.execute(DDL)
        warehouse.insert_rows(con, TABLE, ["run_id", "agency", "status", "last_received_at", "checked_at",
                                           "hours_since_received", "warn_after", "error_after", "detail"],
                              [(run_id, f.agency, f.status, f.last_received_at, checked_at, f.hours_since_received,
                                f.warn_after, f.error_after, f.detail) for f in feeds])
    return feeds


def stale_feeds(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> list[FeedFreshness]:
    """Feeds not fresh at a run (default: the latest checked), from audit.agency_freshness."""
    rows = con.execute(f"""
        select agency, status, last_received_at, hours_since_received, warn_after, error_after, detail
        from {TABLE}
        where run_id = coalesce(?, (select arg_max(run_id, checked_at) from {TABLE})) and status <> 'pass'
        order by agency""", [run_id]).fetchall()
    return [FeedFreshness(*row) for row in rows]
