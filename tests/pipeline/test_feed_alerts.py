"""The `feeds` step turns freshness.stale_feeds into one stale-feed alert: from the check `build`
recorded, or, when build never got that far, from a check of its own (real `dbt source freshness`)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from casehistory import freshness, pipeline, warehouse
from casehistory.settings import Settings
from ingest import ledger


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")


def _alerts(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("ALERT ")]


def test_feeds_alerts_on_the_stale_feeds_build_recorded_for_this_run(settings, caplog):
    with warehouse.store(settings) as con:
        con.execute(freshness.DDL)
        con.execute("""insert into audit.agency_freshness (run_id, agency, status, last_received_at, checked_at,
                           hours_since_received, warn_after, error_after) values
            ('r1', 'police', 'pass', '2026-01-15 01:00:00', '2026-01-15 02:00:00', 1, '2 day', '7 day'),
            ('r1', 'school', 'warn', '2026-01-05 01:00:00', '2026-01-15 02:00:00', 241, '7 day', '21 day'),
            ('r0', 'csc', 'error', null, '2026-01-14 02:00:00', null, '2 day', '7 day')""")
    caplog.set_level("WARNING")
    detail = pipeline.feeds(settings, "r1")
    assert detail["stale"] == ["school: warn"] and detail["alert_delivered"] is True
    [alert] = _alerts(caplog)
    assert alert.startswith("ALERT stale_feed: [casehistory] stale feed: school\n")
    assert "school: warn; last received 2026-01-05 01:00 (10.0 days ago); warn after 7 day" in alert
    # the check build made was used, not run again
    assert not (settings.reports_dir / "dbt" / "dbt_source_freshness.log").exists()


def test_feeds_checks_freshness_itself_when_build_did_not_run(settings, caplog):
    with warehouse.store(settings) as con:
        ledger.ensure_schema(con)
        con.execute("insert into ledger.event_records (ledger_id, source, agency, record_id, version, content_hash, "
                    "subject_ref, subject_namespace, event_type, event_date, file_name, file_checksum, row_number, "
                    "locator, load_id, received_at) values (1, 's', 'police', 'r', 1, 'h', 'x', 'ns', 'referral', "
                    "date '2026-01-01', 'f', 'c', 1, 'row 1', 'l', ?)", [datetime.now() - timedelta(hours=3)])
    caplog.set_level("WARNING")
    detail = pipeline.feeds(settings, "r2")
    assert detail["stale"] == ["csc: error", "eh: error", "hv: error", "school: error"]
    [alert] = _alerts(caplog)
    assert alert.startswith("ALERT stale_feed: [casehistory] stale feed: csc, eh, hv, school\n")
    assert "csc: error; nothing received yet; warn after 2 day, error after 7 day" in alert
    with warehouse.store(settings) as con:
        checked = con.execute("select agency, status from audit.agency_freshness where run_id = 'r2' "
                              "order by agency").fetchall()
    assert checked == [("csc", "error"), ("eh", "error"), ("hv", "error"), ("police", "pass"), ("school", "error")]


def test_feeds_alerts_when_the_freshness_check_itself_cannot_run(settings, caplog, monkeypatch):
    """dbt failing to check is not "all fresh": the alert says the feeds were not checked."""
    monkeypatch.setattr(freshness, "check", lambda settings: [freshness.FeedFreshness(
        "(all)", "not_checked", None, None, None, None, "dbt source freshness wrote no result; see x.log")])
    caplog.set_level("WARNING")
    assert pipeline.feeds(settings, "r3")["stale"] == ["(all): not_checked"]
    [alert] = _alerts(caplog)
    assert "(all): not checked; dbt source freshness wrote no result; see x.log" in alert
