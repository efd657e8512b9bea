"""What the data team watches: each dbt node's outcome, one row per run.

    run.dbt_models      dbt node per run (models, tests, unit tests): status, rows, seconds
    run.pipeline_runs   run: files, rows, quarantine, check results, stale feeds, seconds per stage, outcome

Both are built from what the pipeline already records (ledger.loads, run.steps,
quality.check_results, audit.agency_freshness, dbt's run_results.json), hold no names or
identifiers, and are published with the rest of the `run` schema. Feed freshness itself is
casehistory/freshness.py (dbt source freshness per agency feed).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

from casehistory import freshness, warehouse

log = logging.getLogger(__name__)

DDL = """
create schema if not exists run;
create table if not exists run.dbt_models (
    run_id varchar not null, unique_id varchar not null, resource_type varchar not null, name varchar not null,
    status varchar not null, rows bigint, seconds double, relation varchar);
create table if not exists run.pipeline_runs (
    run_id varchar primary key, started_at timestamp, finished_at timestamp, status varchar not null,
    files_seen bigint, files_loaded bigint, files_skipped bigint, files_rejected bigint,
    rows_read bigint, rows_loaded bigint, rows_quarantined bigint,
    checks_passed bigint, checks_failed bigint, checks_failed_error bigint,
    dbt_nodes bigint, dbt_nodes_failed bigint, stale_feeds varchar[], failed_steps varchar[],
    stage_seconds map(varchar, double), recorded_at timestamp not null);
"""


# dbt node statuses that are not a problem (an exposure is always "no-op": nothing to build)
PASSING = ("success", "pass", "skipped", "no-op")


def dbt_node_results(run_results: Path) -> list[dict]:
    """One row per node from dbt's target/run_results.json (no messages: a failing model's message
    can quote a row's values)."""
    doc = json.loads(run_results.read_text())
    rows = []
    for r in doc["results"]:
        resource_type, _, rest = r["unique_id"].partition(".")
        rows_affected = (r.get("adapter_response") or {}).get("rows_affected")
        rows.append({"unique_id": r["unique_id"], "resource_type": resource_type,
                     "name": rest.split(".", 1)[-1], "status": r["status"],
                     "rows": rows_affected if isinstance(rows_affected, int) and rows_affected >= 0 else None,
                     "seconds": round(r.get("execution_time") or 0.0, 3), "relation": r.get("relation_name")})
    return rows


def record_dbt_models(con, run_id: str, run_results: Path) -> list[dict]:
    """Write run.dbt_models for this run; a table model's rows are counted in the store."""
    con.execute(DDL)
    rows = dbt_node_results(run_results)
    for r in rows:
        if r["resource_type"] == "model" and r["status"] == "success" and r["relation"]:
            try:
                r["rows"] = con.execute(f"select count(*) from {r['relation']}").fetchone()[0]
            except Exception:  # a view over a missing source, say: rows stay unknown
                r["rows"] = None
    con.execute("delete from run.dbt_models where run_id = ?", [run_id])
    warehouse.insert_rows(con, "run.dbt_models", ["run_id", *rows[0]] if rows else [],
                          [{"run_id": run_id, **r} for r in rows])
    return rows


def log_dbt_models(rows: list[dict]) -> None:
    """One line per node into the task log, slowest first among models."""
    for r in sorted(rows, key=lambda r: (r["resource_type"] != "model", -(r["seconds"] or 0))):
        log.info("dbt %-10s %-45s %-7s rows=%-8s %6.2fs", r["resource_type"], r["name"], r["status"],
                 "-" if r["rows"] is None else r["rows"], r["seconds"] or 0)
    bad = [r for r in rows if r["status"] not in PASSING]
    log.info("dbt: %d nodes, %d not passing%s", len(rows), len(bad),
             (": " + ", ".join(f"{r['name']} ({r['status']})" for r in bad)) if bad else "")


def _exists(con, schema: str, table: str) -> bool:
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, table]).fetchone()[0] > 0


def _failed_steps(con, run_id: str) -> list[str]:
    """Steps whose last attempt did not succeed (a retried step counts by its last attempt)."""
    return [r[0] for r in con.execute(
        """select step from run.steps where run_id = ?
           qualify row_number() over (partition by step order by finished_at desc, started_at desc) = 1
               and status != 'succeeded'
           order by step""", [run_id]).fetchall()]


def record_pipeline_run(con, run_id: str, status: str) -> dict:
    """(Re)write run.pipeline_runs for this run from run.steps, ledger.loads, quality.check_results,
    run.dbt_models and audit.agency_freshness."""
    con.execute(DDL)
    steps = con.execute(
        """select step, status, min(started_at), max(finished_at),
                  sum(epoch(finished_at) - epoch(started_at))::double
           from run.steps where run_id = ? group by step, status""", [run_id]).fetchall()
    stage_seconds: dict[str, float] = {}
    for step, _, _, _, seconds in steps:
        stage = step.split(":", 1)[0]  # load:<source> steps add up into one "load" stage
        stage_seconds[stage] = stage_seconds.get(stage, 0.0) + float(seconds or 0)
    loads = con.execute(
        """select sum(files_seen), sum(files_loaded), sum(files_skipped), sum(files_rejected),
                  sum(rows_read), sum(rows_loaded), sum(rows_quarantined)
           from ledger.loads where run_id = ?""", [run_id]).fetchone()
    checks = (None, None, None)
    if _exists(con, "quality", "check_results"):
        checks = con.execute(
            """select count(*) filter (where success), count(*) filter (where not success),
                      count(*) filter (where not success and severity = 'error')
               from quality.check_results where run_id = ?""", [run_id]).fetchone()
    dbt = con.execute("""select count(*), count(*) filter (where status not in ?)
                         from run.dbt_models where run_id = ?""", [list(PASSING), run_id]).fetchone()
    stale = [f.agency for f in freshness.stale_feeds(con, run_id)] if _exists(con, "audit", "agency_freshness") else []
    row = {
        "run_id": run_id,
        "started_at": min((s[2] for s in steps), default=None),
        "finished_at": max((s[3] for s in steps), default=None),
        "status": status,
        **dict(zip(["files_seen", "files_loaded", "files_skipped", "files_rejected",
                    "rows_read", "rows_loaded", "rows_quarantined"], loads)),
        **dict(zip(["checks_passed", "checks_failed", "checks_failed_error"], checks)),
        "dbt_nodes": dbt[0], "dbt_nodes_failed": dbt[1], "stale_feeds": stale,
        "failed_steps": _failed_steps(con, run_id),
        "stage_seconds": {k: round(v, 1) for k, v in stage_seconds.items()},
        "recorded_at": datetime.now().replace(microsecond=0),
    }
    con.execute("delete from run.pipeline_runs where run_id = ?", [run_id])
    con.execute(f"insert into run.pipeline_runs ({', '.join(row)}) values ({', '.join('?' * len(row))})",
                list(row.values()))
    return row
