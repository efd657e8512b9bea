"""What a run did, in numbers a person can check at 2 a.m.: built from the store, not from logs."""

from __future__ import annotations

import json

from casehistory import warehouse
from casehistory.settings import Settings
from ingest.registry import RegistryError, load_registry

PIPELINE_STEPS = ("prepare", "link", "build", "check", "publish", "board")
FAILURE_LINES = 15  # of a failed step's reason in the text summary (a dbt failure quotes its log)


def _rows(con, sql: str, params=None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _table_exists(con, schema: str, table: str) -> bool:
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, table]).fetchone()[0] > 0


def board_outputs(steps: list[dict]) -> dict:
    """The board step's report, exports and dbt docs, when it ran (casehistory.pipeline.board)."""
    detail = next((json.loads(s["detail"]) for s in steps if s["step"] == "board" and s["status"] == "succeeded"), {})
    return {"board_report": detail.get("report"), "board_exports": detail.get("folder"),
            "dbt_docs": detail.get("dbt_docs")} if detail else {}


def build_summary(settings: Settings, run_id: str) -> dict:
    try:
        registry = load_registry(settings.sources_dir).sources
    except RegistryError:
        registry = {}  # the prepare step has already reported it
    with warehouse.store(settings, read_only=True) as con:
        steps = _rows(con, "select step, status, detail from run.steps where run_id = ? order by started_at", [run_id]) \
            if _table_exists(con, "run", "steps") else []
        sources = _rows(con, """
            with latest as (  -- a retried load task counts by its last attempt
                select * from ledger.loads where run_id = ?
                qualify row_number() over (partition by source order by started_at desc, load_id desc) = 1
            )
            select l.source, coalesce(string_agg(distinct e.agency, ', ' order by e.agency), '') as agencies,
                   l.files_seen, l.files_loaded, l.files_skipped, l.files_rejected,
                   l.rows_read, l.rows_loaded, coalesce(l.rows_loaded_in_part, 0) as rows_loaded_in_part,
                   l.rows_quarantined, l.events_added, l.status, l.message
            from latest l
            left join (select distinct load_id, agency from ledger.event_records) e using (load_id)
            group by all order by l.source""", [run_id]) if _table_exists(con, "ledger", "loads") else []
        quarantine = _rows(con, """
            select source, reason,
                   count(distinct file_checksum || ':' || locator) filter (where row_outcome is distinct from 'loaded_in_part')
                       as rows,
                   count(distinct file_checksum || ':' || locator) filter (where row_outcome = 'loaded_in_part')
                       as rows_in_part
            from ledger.quarantine where starts_with(load_id, ? || '/') group by all order by source, reason""",
                           [run_id]) if _table_exists(con, "ledger", "quarantine") else []
        # every night, not only the night it happened: rows stay open until loaded or dismissed
        open_quarantine = _rows(con, """
            select source, count(*) filter (where outcome = 'quarantined') as rows,
                   count(*) filter (where outcome = 'loaded_in_part') as rows_in_part, min(received)::date as oldest
            from (select source, max(coalesce(row_outcome, 'quarantined')) as outcome, min(received_at) as received
                  from ledger.quarantine q anti join ledger.quarantine_resolutions r
                       using (file_checksum, row_number, locator)
                  group by source, file_checksum, row_number, locator)
            group by source order by source""") if _table_exists(con, "ledger", "quarantine_resolutions") else []
        retried = _rows(con, """select source, sum(rows_retried) as rows, sum(rows_loaded) as loaded,
                                       last(rows_open order by started_at) as still_open
                                from ledger.quarantine_retries where run_id = ? group by source order by source""",
                        [run_id]) if _table_exists(con, "ledger", "quarantine_retries") else []
        marts = {}
        if _table_exists(con, "marts", "fct_child_events"):
            marts = _rows(con, """
                select (select count(*) from marts.dim_child) as children,
                       count(*) filter (where not via_household) as child_events,
                       count(*) filter (where via_household) as household_events,
                       sum(records) filter (where not via_household) as event_records,
                       count(*) filter (where records > 1) as reported_by_several,
                       count(*) filter (where sources_disagree) as sources_disagree
                from marts.fct_child_events""")[0]
        persons = con.execute("select count(distinct person_id) from identity.subject_person").fetchone()[0] \
            if _table_exists(con, "identity", "subject_person") else None
        checks = _rows(con, """select suite, check_name, category, severity, success, unexpected_count,
                                      coalesce(outcome, case when success then 'passed' else 'failed' end) as outcome
                               from quality.check_results where run_id = ? order by suite, check_name""",
                       [run_id]) if _table_exists(con, "quality", "check_results") else []
        # every column: a table built before a column was added still gives the summary its rows
        reviews = _rows(con, """select * from audit.review_readiness
                                where status <> 'received' order by review_id, agency""") \
            if _table_exists(con, "audit", "review_readiness") else []

    prepared = next((json.loads(s["detail"]) for s in steps if s["step"] == "prepare"), {})
    # every run, not only the first: the ledger records an unrecognised file once
    unmatched = [dict(zip(("file_name", "detail"), line.split(": ", 1))) for line in prepared.get("unmatched", [])]
    truth = _ground_truth(settings)
    for src in sources:  # a source with no files this run still shows whose it is
        if not src["agencies"] and src["source"] in registry:
            src["agencies"] = registry[src["source"]].fixed_agency or "(each row)"
    statuses = {s["step"]: s["status"] for s in steps}  # a retried step counts by its last attempt
    last_detail = {s["step"]: json.loads(s["detail"] or "{}") for s in steps}
    failed = [step for step, status in statuses.items() if status != "succeeded"]
    # why each failed, as the step recorded it (casehistory.pipeline._step): a configuration error
    # names its file, key and problem here, on the console of `casehistory run` and in the JSON
    failures = [{"step": step, "reason": last_detail[step].get("failure") or last_detail[step].get("error")
                 or "(no reason recorded: see the Airflow log)"} for step in failed]
    failed += [f"{step} (did not run)" for step in PIPELINE_STEPS if step not in statuses and failed]
    published = statuses.get("publish") == "succeeded"
    check_detail = next((json.loads(s["detail"]) for s in steps if s["step"] == "check"), {})
    return {
        "run_id": run_id,
        "run_date": settings.run_date.isoformat(),
        "extracts": str(settings.extracts),
        "sources": sources,
        "unmatched_files": unmatched,
        "rows_read": sum(s["rows_read"] or 0 for s in sources),
        "rows_loaded": sum(s["rows_loaded"] or 0 for s in sources),
        "rows_loaded_in_part": sum(s["rows_loaded_in_part"] or 0 for s in sources),
        "rows_quarantined": sum(s["rows_quarantined"] or 0 for s in sources),
        "quarantine_by_reason": quarantine,
        "quarantine_open": open_quarantine,
        "quarantine_retried": retried,
        "persons": persons,
        **marts,
        "checks_passed": sum(1 for c in checks if c["success"]),
        "checks_failed": [f"{c['suite']}.{c['check_name']} ({c['severity']})" for c in checks if c["outcome"] == "failed"],
        "checks_not_run": [f"{c['suite']}.{c['check_name']}" for c in checks if c["outcome"] == "not_run"],
        "review_findings": reviews,
        "ground_truth": truth,
        "failed_steps": failed,
        "failures": failures,
        "published": published,
        "outputs": {
            "warehouse": str(settings.warehouse),
            "restricted_store": str(settings.store),
            "data_docs": check_detail.get("data_docs"),
            "summary": str(settings.reports_dir / "run_summary.txt"),
            "dbt_log": str(settings.reports_dir / "dbt" / "dbt_build.log"),
            **board_outputs(steps),
        },
    }


def _ground_truth(settings: Settings) -> dict | None:
    """The generator's expected counts, when the extracts are a generated demo set."""
    expected = settings.extracts.parent / "ground_truth" / "expected.json"
    if not expected.exists():
        return None
    e = json.loads(expected.read_text())
    return {k: e[k] for k in ("rows", "rows_loaded", "rows_quarantined", "persons", "children", "child_events")}


def render(s: dict) -> str:
    out = [f"Nightly run {s['run_id']} (run date {s['run_date']})", f"Extracts: {s['extracts']}", ""]
    # loaded counts the rows loaded whole or in part; "in part" those of them with an event quarantined
    out.append(f"{'source':<22}{'agency':<18}{'files':>6}{'new':>5}{'rejected':>9}{'rows':>9}{'loaded':>9}"
               f"{'in part':>8}{'quarantined':>12}")
    for src in s["sources"]:
        out.append(f"{src['source']:<22}{(src['agencies'] or '-'):<18}{src['files_seen']:>6}{src['files_loaded']:>5}"
                   f"{src['files_rejected']:>9}{src['rows_read']:>9,}{src['rows_loaded']:>9,}"
                   f"{src['rows_loaded_in_part']:>8,}{src['rows_quarantined']:>12,}")
        if src["message"]:
            out.append(f"    rejected: {src['message']}")
    out.append(f"{'total':<40}{'':>20}{s['rows_read']:>9,}{s['rows_loaded']:>9,}{s['rows_loaded_in_part']:>8,}"
               f"{s['rows_quarantined']:>12,}")
    for f in s["unmatched_files"]:
        out.append(f"not loaded: {f['file_name']}: {f['detail']}")
    by_source: dict[str, list[str]] = {}
    for q in s["quarantine_by_reason"]:
        in_part = f" (+{q['rows_in_part']} in part)" if q["rows_in_part"] else ""
        by_source.setdefault(q["source"], []).append(f"{q['reason']} {q['rows']}{in_part}")
    if by_source:
        out.append("Quarantined rows (source: reason rows, and rows loaded in part for it):")
        out.extend(f"  {source}: {', '.join(reasons)}" for source, reasons in by_source.items())
    for r in s.get("quarantine_retried", []):
        out.append(f"Quarantine retried ({r['source']}, its mapping changed): {r['rows']:,} rows, "
                   f"{r['loaded']:,} loaded, {r['still_open']:,} still open")
    if s.get("quarantine_open"):
        out.append("Open quarantine, until loaded or dismissed (source: rows, rows loaded in part, oldest received):")
        out.extend(f"  {q['source']}: {q['rows']:,}, {q['rows_in_part']:,} in part, {q['oldest']}"
                   for q in s["quarantine_open"])
        out.append("  (casehistory quarantine list / retry / dismiss)")
    out.append("")
    if "children" in s:
        out.append(f"People: {s['persons']:,}; children: {s['children']:,}")
        out.append(f"Child events: {s['child_events']:,} from {s['event_records']:,} agency records "
                   f"({s['reported_by_several']:,} reported by several agencies, {s['sources_disagree']:,} where they "
                   f"disagree), and {s['household_events']:,} events of their households")
    truth = s.get("ground_truth")
    if truth and "children" in s:
        out.append(f"Ground truth of this generated set: {truth['rows']:,} rows, {truth['rows_quarantined']:,} to "
                   f"quarantine, {truth['persons']:,} people, {truth['children']:,} children, "
                   f"{truth['child_events']:,} child events "
                   "(people and children differ by the links identity missed or wrongly made: docs/linking-evaluation.md)")
    out.append(f"Checks: {s['checks_passed']} passed, {len(s['checks_failed'])} failed"
               + (": " + "; ".join(s["checks_failed"]) if s["checks_failed"] else ""))
    if s.get("checks_not_run"):
        out.append(f"  not run (their table does not exist yet): {'; '.join(s['checks_not_run'])}")
    for r in s["review_findings"]:
        out.append(f"  review {r['review_id']}: {r['agency']} {r.get('status_label') or r['status'].replace('_', ' ')}"
                   + (f" ({r['unreadable_file_names']}: {r['unreadable_reasons']})" if r.get("unreadable_file_names")
                      else ""))
    out.append("")
    if s["failed_steps"]:
        out.append("FAILED: " + ", ".join(s["failed_steps"]))
        for f in s.get("failures", []):
            lines = str(f["reason"]).splitlines() or [""]
            shown = lines[:FAILURE_LINES] + ([f"... ({len(lines) - FAILURE_LINES} more lines in run.steps)"]
                                             if len(lines) > FAILURE_LINES else [])
            out.append(f"  {f['step']}: {shown[0]}")
            out.extend(f"    {line}" for line in shown[1:])
    out.append("Published: " + ("yes" if s["published"] else "no (analysts still see the previous warehouse)"))
    for name, path in s["outputs"].items():
        if path:
            out.append(f"  {name.replace('_', ' ')}: {path}")
    return "\n".join(out)
