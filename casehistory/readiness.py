"""Review readiness: before a panel meets, which agencies' chronologies were sent but could not be
read, are missing, late, partial, or were never asked for (dbt audit.review_readiness holds the rules).

The steps that use it (casehistory/pipeline.py): the `review_readiness` DAG's check of one review,
which fails while the review has gaps, and the nightly step for every review whose deadline is within
Settings.review_window_days (or passed), which alerts on gaps (alert_lines: agencies, statuses,
counts, dates; no names or identifiers) and writes each review's chronology for the panel. Reports:
<reports>/reviews/<review_id>.html.

The report's markup is casehistory/board/templates/readiness.html (rendered by
casehistory/board/pages.py with autoescaping: review ids, file names and evidence are text).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb

from casehistory import warehouse
from casehistory.settings import Settings
from ingest import ledger

RUNS_DDL = """
create schema if not exists ledger;
create table if not exists ledger.runs (run_id varchar not null, run_date date not null, started_at timestamp not null);
"""
GAP_STATUSES = ("sent_unreadable", "missing", "late", "partial", "involved_not_asked")
# What the business manager should do about each status: the report's "whom to chase for what".
ACTIONS = {
    "sent_unreadable": "Ask the agency to send its chronology again: the file it sent could not be read "
                       "(which file and why are beside it).",
    "missing": "Chase the chronology: none of its records of the subjects in the scope has arrived.",
    "late": "Arrived after the deadline: check the panel has it.",
    "partial": "Ask for the missing stretch: other agencies show it involved when it has no entries.",
    "involved_not_asked": "Consider asking for a chronology: other records show it was involved.",
    "received": "",
}


# Why a file was rejected (the reader's reason codes, ingest/readers), for the person who must fix
# it; the reader's own message can quote the file's cells, so only the data team sees it (ledger.files).
REJECT_REASONS = {
    "wrong_columns": "its columns are not the template's (a required column missing, misspelt or "
                     "repeated, or another delimiter)",
    "unreadable": "its bytes are not readable text or a readable workbook (an encoding or a damaged file)",
    "empty": "it holds no rows under its header",
    "wrong_structure": "its layout is not the template's (sheets or tables)",
    "unsupported": "it is not a CSV or XLSX file",
    "unrecognised": "nothing recognised it: neither the template's header nor a known file name",
    "ambiguous": "its name or content fits more than one source",
    "reader_error": "the reader failed on it: the data team has the detail in the load log",
}


def reject_reason(codes: str | None) -> str:
    """'wrong_columns, empty' in plain English (a code without an explanation is shown as it is)."""
    return "; ".join(REJECT_REASONS.get(code.strip(), code.strip()) for code in (codes or "").split(",") if code.strip())


def record_run(con: duckdb.DuckDBPyConnection, run_id: str, run_date: date) -> None:
    """Remember the date each run treated as today: records arrive on their run's date."""
    con.execute(RUNS_DDL)
    if not con.execute("select count(*) from ledger.runs where run_id = ?", [run_id]).fetchone()[0]:
        # the ledger's clock (whole seconds): review_evidence compares it with records' received_at
        con.execute("insert into ledger.runs values (?, ?, ?)", [run_id, run_date, ledger.now()])


def due_reviews(con: duckdb.DuckDBPyConnection, run_date: date, days: int) -> list[str]:
    return [r[0] for r in con.execute(
        "select review_id from config.reviews where deadline <= ? order by deadline, review_id",
        [run_date + timedelta(days=days)]).fetchall()]


def readiness_rows(con: duckdb.DuckDBPyConnection, review_ids: list[str] | None = None) -> list[dict]:
    rows = con.execute("""select * from audit.review_readiness order by review_id,
                          case status when 'sent_unreadable' then 0 when 'missing' then 1
                                      when 'involved_not_asked' then 2 when 'late' then 3
                                      when 'partial' then 4 else 5 end, agency""")
    cols = [d[0] for d in rows.description]
    out = [dict(zip(cols, r)) for r in rows.fetchall()]
    return [r for r in out if review_ids is None or r["review_id"] in review_ids]


def alert_lines(rows: list[dict]) -> list[str]:
    """One line per gap: review, agency, status, counts and dates only (and, for a chronology sent but
    unreadable, its file names and the reader's reason codes: never the reader's message)."""
    lines = []
    for r in rows:
        if r["status"] not in GAP_STATUSES:
            continue
        lines.append(f"review {r['review_id']} (deadline {r['deadline']}): {r['agency']} "
                     f"{r['status_label']}: {r['evidence']}")
    return lines


# ---- the HTML report ---------------------------------------------------------------------------

REVIEW_TYPES = {"rapid_review": "rapid review", "lcspr": "local child safeguarding practice review",
                "scr": "serious case review", "learning_event": "learning event", "audit": "multi-agency audit"}
EVIDENCE_KINDS = {"own_record": "its own record of a subject child", "household_contact": "its contact with the household"}


def render_report(review_id: str, rows: list[dict], evidence: list[dict], disagreements: list[dict],
                  generated: date, own_counts: dict[tuple[str, str], int] | None = None) -> str:
    """A self-contained page: agencies, statuses, evidence counts and dates; no names or identifiers.
    Agencies and events by name (casehistory/vocabulary.py); an agency's records of the subject
    children and its contacts with their household (`own_counts`, by agency and evidence kind)
    counted apart; an empty section says "none" (templates/readiness.html)."""
    from casehistory.board import pages
    from casehistory.vocabulary import agency_name, event_label, outcome_label

    own_counts = own_counts or {}
    first = rows[0] if rows else {}
    review_type = str(first.get("review_type", "") or "")
    return pages.render(
        "readiness.html", review_id=review_id,
        review_type=REVIEW_TYPES.get(review_type, review_type.replace("_", " ")).capitalize(),
        scope_start=str(first.get("scope_start", "")), scope_end=str(first.get("scope_end", "")),
        deadline=str(first.get("deadline", "")), generated=generated,
        gaps=sum(1 for r in rows if r["status"] in GAP_STATUSES),
        chase=[{"status": r["status"], "code": r["agency"], "agency": agency_name(r["agency"]),
                "label": r["status_label"], "asked": "yes" if r["asked"] else "no",
                "own_child": own_counts.get((r["agency"], "own_record"), 0),
                "own_household": own_counts.get((r["agency"], "household_contact"), 0),
                "first": str(r["first_entry_date"] or ""), "last": str(r["last_entry_date"] or ""),
                "named": r["named_records"], "action": ACTIONS[r["status"]], "evidence": r["evidence"]} for r in rows],
        # whom to ask to resend what, and why their file could not be read
        unreadable=[{"agency": agency_name(r["agency"]), "files": r["unreadable_file_names"],
                     "why": reject_reason(r["unreadable_reasons"]), "codes": r["unreadable_reasons"],
                     "first": str(r["first_unreadable_on"])} for r in rows if r.get("unreadable_files")],
        evidence=[{"agency": agency_name(v["agency"]), "reported_by": agency_name(v["reported_by"]),
                   "kind": v["evidence_kind"].replace("_", " "), "event": event_label(v["event_type"]),
                   "date": str(v["event_date"])} for v in evidence],
        disagreements=[{"event": event_label(d["event_type"]), "date": str(d["event_date"]),
                        "accounts": _named_accounts(d["accounts"], agency_name, outcome_label)} for d in disagreements])


def _named_accounts(accounts: str | None, agency_name, outcome_label) -> str:
    """'csc: 2024-01-02 nfa; eh: 2024-01-03 early_help' with the agencies and outcomes by name."""
    out = []
    for account in (accounts or "").split("; "):
        code, _, rest = account.partition(": ")
        words = rest.split(" ", 1)
        if len(words) == 2:
            rest = f"{words[0]} {outcome_label(words[1])}"
        out.append(f"{agency_name(code, short=True)}: {rest}" if rest else account)
    return "; ".join(out)


def write_report(settings: Settings, con: duckdb.DuckDBPyConnection, review_id: str) -> Path:
    rows = readiness_rows(con, [review_id])
    evidence = _dicts(con, """select agency, reported_by, evidence_kind, event_type, event_date
                              from audit.review_evidence where review_id = ? and reported_by <> agency
                              order by agency, event_date, reported_by, event_type""", [review_id])
    own_counts = {(a, k): n for a, k, n in con.execute(
        """select agency, evidence_kind, count(*) from audit.review_evidence
           where review_id = ? and reported_by = agency group by all""", [review_id]).fetchall()}
    disagreements = _dicts(con, """select event_type, event_date, accounts from audit.review_disagreements
                                   where review_id = ? order by event_date, event_type""", [review_id])
    path = settings.reports_dir / "reviews" / f"{review_id}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(review_id, rows, evidence, disagreements, settings.run_date, own_counts),
                    encoding="utf-8")
    return path


def _dicts(con, sql: str, params: list) -> list[dict]:
    cur = con.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]
