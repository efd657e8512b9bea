"""What the national sample files hold, read independently of the project's readers (xml.etree,
csv, openpyxl), and what the ledger holds, for tests to compare.

The expected quarantine reasons are the domain's rules applied by hand: a date after the run date
is in the future; a date before the child's birth is wrong for a type that cannot precede birth
(casehistory/reference/event_types.yml says which). A wrong date quarantines the events made from
it: its own event, and the events whose record ids are built from it; the row's other events load.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import duckdb

from casehistory.vocabulary import event_types
from ingest.load import SourceLoad
from tests.ingest.helpers import load_files, registry


def load(con: duckdb.DuckDBPyConnection, source: str, files: list[Path], run_date: date, tmp: Path) -> SourceLoad:
    return load_files(con, registry()[source], files, run_date, tmp / "archive")


def current_events(con: duckdb.DuckDBPyConnection, source: str, file_name: str, *types: str) -> list[dict]:
    """The current version of every event a file gave, of the given types."""
    rows = con.execute(
        f"""
        select * from ledger.event_records
        where source = ? and file_name = ? and event_type in ({', '.join('?' for _ in types)})
        qualify row_number() over (partition by source, agency, record_id order by version desc) = 1
        """, [source, file_name, *types]).fetchdf()
    return rows.to_dict("records")


def quarantined(con: duckdb.DuckDBPyConnection, source: str, file_name: str) -> dict[str, set[str]]:
    """locator -> the reasons its row was quarantined for."""
    out: dict[str, set[str]] = {}
    for locator, reason in con.execute("select locator, reason from ledger.quarantine where source = ? and "
                                       "file_name = ?", [source, file_name]).fetchall():
        out.setdefault(locator, set()).add(reason)
    return out


def date_reasons(etype: str, when: date | None, dob: date | None, run_date: date) -> set[str]:
    """The reasons an event of this type on this date must be quarantined for."""
    if when is None:
        return set()
    if when > run_date:
        return {"date_in_future"}
    if dob is not None and when < dob and not event_types()[etype].may_precede_birth:
        return {"date_before_birth"}
    return set()


def expected_event_reasons(dates: dict[str, date | None], dob: date | None, run_date: date,
                           ids_from: str | None = None) -> dict[str, set[str]]:
    """Per event type a row gives (type -> date): the reasons it must be quarantined for. ids_from:
    the type whose date every other event's record id is built from (a wrong one quarantines them too)."""
    key = date_reasons(ids_from, dates[ids_from], dob, run_date) if ids_from else set()
    return {etype: date_reasons(etype, when, dob, run_date) | (key if when is not None else set())
            for etype, when in dates.items()}


def expected_reasons(dates: dict[str, date | None], dob: date | None, run_date: date,
                     ids_from: str | None = None) -> set[str]:
    """Every reason a row giving these events (type -> date) has quarantine entries for."""
    return set().union(*expected_event_reasons(dates, dob, run_date, ids_from).values())


def iso(text: str | None) -> date | None:
    return date.fromisoformat(text.strip()) if text and text.strip() else None


def uk(text: str | None) -> date | None:
    return datetime.strptime(text.strip(), "%d/%m/%Y").date() if text and text.strip() else None


def as_date(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if hasattr(value, "date"):  # pandas Timestamp
        return value.date()
    raise TypeError(f"not a date: {value!r}")


def csv_records(path: Path) -> list[tuple[str, dict]]:
    """(locator as "line N", row) for every record of a CSV file, N its physical line."""
    out = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        reader.fieldnames  # reads the header
        line = reader.line_num + 1
        for row in reader:
            out.append((f"line {line}", row))
            line = reader.line_num + 1
    return out
