"""Load one source's files into the ledger, one file at a time, each in its own transaction.

Per file: checksum; skip if this exact file was already loaded for this source; keep a copy in
the archive; read and map every row; quarantine rows with problems; append the rest as new
versions. A file that cannot be read at all is recorded as rejected with its reason, and the
other files (and every other source) carry on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

import duckdb

from ingest import ledger
from ingest.mapping import EVENT_FIELDS, PERSON_FIELDS, Mapper, content_hash, original_json
from ingest.readers import BadRow, FileRejected, read
from ingest.readers.base import value_fault
from ingest.registry import SourceSpec

log = logging.getLogger(__name__)
EVENT_BATCH = 50_000  # events appended at a time: bounds a file's memory whatever its size


@dataclass
class FileOutcome:
    file_name: str
    status: str  # loaded | skipped (already loaded) | rejected
    reason: str | None = None
    detail: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    events_added: int = 0
    persons_added: int = 0


@dataclass
class SourceLoad:
    source: str
    load_id: str
    files: list[FileOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    def total(self, attr: str) -> int:
        return sum(getattr(f, attr) for f in self.files)

    @property
    def rejected(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "rejected"]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def archive(path: Path, checksum: str, archive_dir: Path) -> Path:
    target = archive_dir / checksum[:2] / checksum / path.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.part")  # a run killed mid-copy never leaves a torn archive
        shutil.copy2(path, partial)
        os.replace(partial, target)
    return target


def load_source(con: duckdb.DuckDBPyConnection, spec: SourceSpec, paths: list[Path], *, run_id: str,
                run_date: date, archive_dir: Path) -> SourceLoad:
    ledger.ensure_schema(con)
    started = ledger.now()
    # a retried task loads again under a load id of its own (files it already loaded are skipped)
    attempt = con.execute("select count(*) from ledger.loads where run_id = ? and source = ?",
                          [run_id, spec.source]).fetchone()[0] + 1
    result = SourceLoad(spec.source, f"{run_id}/{spec.source}" + (f"#{attempt}" if attempt > 1 else ""))
    for path in sorted(paths, key=lambda p: p.name):
        outcome = load_file(con, spec, path, load_id=result.load_id, run_date=run_date, archive_dir=archive_dir)
        result.files.append(outcome)
        log.info("%s: %s %s%s", spec.source, path.name, outcome.status,
                 f" ({outcome.reason}: {outcome.detail})" if outcome.reason else
                 f" ({outcome.rows_loaded} rows loaded, {outcome.rows_quarantined} quarantined)")
    status = "failed" if result.rejected else "succeeded"
    con.execute(
        "insert into ledger.loads values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [result.load_id, run_id, spec.source, started, ledger.now(), status, len(result.files),
         result.count("loaded"), result.count("skipped"), len(result.rejected), result.total("rows_read"),
         result.total("rows_loaded"), result.total("rows_quarantined"), result.total("events_added"),
         result.total("persons_added"),
         "; ".join(f"{f.file_name}: {f.reason}: {f.detail}" for f in result.rejected) or None],
    )
    return result


def load_file(con: duckdb.DuckDBPyConnection, spec: SourceSpec, path: Path, *, load_id: str, run_date: date,
              archive_dir: Path) -> FileOutcome:
    checksum = sha256(path)
    if ledger.already_loaded(con, spec.source, checksum):
        return FileOutcome(path.name, "skipped", detail="this exact file was loaded before")
    stat = path.stat()
    file_row = {"load_id": load_id, "source": spec.source, "file_name": path.name, "file_path": str(path),
                "checksum": checksum, "size_bytes": stat.st_size,
                "modified_at": datetime.fromtimestamp(stat.st_mtime).replace(microsecond=0),
                "received_at": ledger.now(), "archived_as": str(archive(path, checksum, archive_dir))}
    try:
        with ledger.FileAppend(con) as append:  # a rejected file rolls back whatever it had appended
            parsed = parse_file(spec, path, file_row, run_date, on_events=append.events)
            # tables the source's YAML lists under ignore_tables are named on the file's record, never dropped unseen
            detail = ("not loaded, as the source's ignore_tables says: "
                      + ", ".join(f"{name} ({n} rows)" for name, n in parsed.ignored.items())) if parsed.ignored else None
            outcome = FileOutcome(path.name, "loaded", detail=detail, rows_read=parsed.rows_read,
                                  rows_quarantined=parsed.rows_quarantined,
                                  rows_loaded=parsed.rows_read - parsed.rows_quarantined)
            added = append.finish(
                {**file_row, "status": "loaded", "detail": detail, "rows_read": outcome.rows_read,
                 "rows_loaded": outcome.rows_loaded, "rows_quarantined": outcome.rows_quarantined},
                parsed.persons, parsed.quarantine)
    except FileRejected as exc:
        ledger.record_file(con, {**file_row, "status": "rejected", "reason": exc.reason, "detail": exc.detail})
        return FileOutcome(path.name, "rejected", exc.reason, exc.detail)
    except Exception as exc:  # a reader bug must not stop the other files; it is recorded and fails the task
        log.exception("%s: %s could not be read", spec.source, path.name)
        detail = f"{type(exc).__name__}: {exc}"
        ledger.record_file(con, {**file_row, "status": "rejected", "reason": "reader_error", "detail": detail})
        return FileOutcome(path.name, "rejected", "reader_error", detail)
    outcome.events_added, outcome.persons_added = added.events, added.persons
    return outcome


@dataclass
class ParsedFile:
    """What is left of a file once its events have been handed over in batches (parse_file's on_events)."""
    persons: list[dict]
    quarantine: list[dict]
    rows_read: int
    rows_quarantined: int
    ignored: dict[str, int] = field(default_factory=dict)  # tables of the file the source ignores: rows


def parse_file(spec: SourceSpec, path: Path, file_row: dict, run_date: date,
               on_events: Callable[[list[dict]], None]) -> ParsedFile:
    """Read and map every row; hand the events to on_events in batches of EVENT_BATCH, in file order."""
    provenance = {"source": spec.source, "file_name": path.name, "file_checksum": file_row["checksum"],
                  "load_id": file_row["load_id"], "received_at": file_row["received_at"]}
    events: list[dict] = []
    persons: dict[tuple, dict] = {}
    quarantine: list[dict] = []
    bad_rows: set[tuple[str, int]] = set()
    first_row_of: dict[tuple, str] = {}
    rows_read = 0
    ignored: dict[str, int] = {}
    table_name = ""

    def quarantined(row_number, locator, agency, column, value, reason, message, original):
        bad_rows.add((table_name, row_number))
        quarantine.append({**provenance, "agency": agency, "row_number": row_number, "locator": locator,
                           "column_name": column, "value": value, "reason": reason, "message": message,
                           "original": original})

    for table in read(path, spec):
        mapping = spec.table_specs.get(table.name)
        if mapping is None:
            if table.name in spec.ignore_tables:
                ignored[table.name] = ignored.get(table.name, 0) + sum(1 for _ in table.rows)
                continue
            raise FileRejected("wrong_structure", f"{table.where} is not mapped: add it under 'tables' in the "
                                                  f"source's YAML, or to 'ignore_tables'")
        mapper = Mapper(spec, mapping, table.columns, run_date, table.where)
        table_name = table.name

        for row in table.rows:
            rows_read += 1
            if isinstance(row, BadRow):
                quarantined(row.row_number, row.locator, spec.fixed_agency, None, row.raw[:1000] or None,
                            row.reason, row.detail, None)
                continue
            fault = value_fault(row.values)
            if fault is not None:
                quarantined(row.row_number, row.locator, spec.fixed_agency, fault[0], None, "unreadable_row",
                            fault[1], None)  # the value is kept in the archived file, not copied into the ledger
                continue
            mapped = mapper.map(row)
            original = original_json(row.values)
            if mapped.problems:
                for p in mapped.problems:
                    quarantined(row.row_number, row.locator, mapped.agency, p.column, p.value, p.reason, p.message,
                                original)
                continue
            keys = [(ev["agency"], ev["record_id"]) for ev in mapped.events]
            repeated = next((k for k in keys if k in first_row_of), None)
            if repeated is not None:
                quarantined(row.row_number, row.locator, mapped.agency, None, repeated[1], "duplicate_record",
                            f"record_id {repeated[1]!r} already appears at {first_row_of[repeated]} of this file",
                            original)
                continue
            for k in keys:
                first_row_of[k] = row.locator
            where = {"row_number": row.row_number, "locator": row.locator}
            for ev in mapped.events:
                ev.update(provenance, **where, original=original)
                ev["content_hash"] = content_hash(ev, ("subject_ref", "subject_namespace", *EVENT_FIELDS))
                events.append(ev)
            if len(events) >= EVENT_BATCH:
                on_events(events)
                events = []
            if mapped.person is not None:
                person = {**mapped.person, **provenance, **where, "agency": mapped.agency}
                # the agency's latest statement in this file about the person is its version
                persons[(mapped.agency, person["subject_ref"])] = person
    if rows_read == 0 and not any(ignored.values()):
        raise FileRejected("empty", "no data rows under the header")
    on_events(events)
    for person in persons.values():  # hashed once kept: a child's details repeat on each of their rows
        person["content_hash"] = content_hash(person, ("subject_namespace", *PERSON_FIELDS))
    return ParsedFile(list(persons.values()), quarantine, rows_read, len(bad_rows), ignored)
