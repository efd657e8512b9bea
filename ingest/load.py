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

from ingest import columnar, ledger
from ingest.attribution import attribute_rejected
from ingest.mapping import MappedRow, Mapper
from ingest.readers import BadRow, FileRejected, as_read, is_text, read
from ingest.registry import SourceSpec
from ingest.rows import FirstSeen, ParsedFile, RowOutcomes, person_hash, provenance_of

log = logging.getLogger(__name__)
EVENT_BATCH = 50_000  # events appended at a time: bounds a file's memory whatever its size


@dataclass
class FileOutcome:
    file_name: str
    status: str  # loaded | skipped (already loaded) | rejected
    reason: str | None = None
    detail: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0  # loaded whole or in part (rows_read = rows_loaded + rows_quarantined)
    rows_quarantined: int = 0  # nothing of the row loaded
    rows_loaded_in_part: int = 0  # of rows_loaded: some of its events quarantined (ingest/rows.py)
    events_added: int = 0
    persons_added: int = 0
    read_by: str | None = None  # "columnar" or "rows": which path read the file (ingest/columnar)


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


def stamp(path: Path) -> tuple[str, int, int]:
    """Where a file is, its size and its modification time in ns (ledger.unchanged_since_loaded)."""
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


def archive(path: Path, checksum: str, archive_dir: Path) -> Path:
    target = archive_dir / checksum[:2] / checksum / path.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.part")  # a run killed mid-copy never leaves a torn archive
        shutil.copy2(path, partial)
        os.replace(partial, target)
    return target


def load_source(con: duckdb.DuckDBPyConnection, spec: SourceSpec, paths: list[Path], *, run_id: str,
                run_date: date, archive_dir: Path, registry_hash: str | None = None) -> SourceLoad:
    """registry_hash: what the source's mapping is made from (ingest/quarantine.py), kept with the load."""
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
                 f" ({outcome.rows_loaded} rows loaded ({outcome.rows_loaded_in_part} in part),"
                 f" {outcome.rows_quarantined} quarantined"
                 f"{', read ' + ('in bulk' if outcome.read_by == 'columnar' else 'a row at a time') if outcome.read_by else ''})")
    status = "failed" if result.rejected else "succeeded"
    ledger.record_load(con, {
        "load_id": result.load_id, "run_id": run_id, "source": spec.source, "started_at": started,
        "finished_at": ledger.now(), "status": status, "files_seen": len(result.files),
        "files_loaded": result.count("loaded"), "files_skipped": result.count("skipped"),
        "files_rejected": len(result.rejected),
        **{name: result.total(name) for name in ("rows_read", "rows_loaded", "rows_quarantined", "rows_loaded_in_part",
                                                  "events_added", "persons_added")},
        "message": "; ".join(f"{f.file_name}: {f.reason}: {f.detail}" for f in result.rejected) or None,
        "registry_hash": registry_hash})
    return result


def load_file(con: duckdb.DuckDBPyConnection, spec: SourceSpec, path: Path, *, load_id: str, run_date: date,
              archive_dir: Path) -> FileOutcome:
    file_stamp = stamp(path)  # before the content is read: a file changed while it is read gets a new stamp
    _, size, modified_ns = file_stamp
    if ledger.loaded_unchanged(con, spec.source, file_stamp):
        return FileOutcome(path.name, "skipped", detail="this exact file was loaded before (unchanged since)")
    checksum = sha256(path)
    if ledger.already_loaded(con, spec.source, checksum):
        return FileOutcome(path.name, "skipped", detail="this exact file was loaded before")
    file_row = {"load_id": load_id, "source": spec.source, "file_name": path.name, "file_path": str(path),
                "checksum": checksum, "size_bytes": size,
                "modified_at": datetime.fromtimestamp(modified_ns / 1e9).replace(microsecond=0),
                "modified_ns": modified_ns,
                "received_at": ledger.now(), "archived_as": str(archive(path, checksum, archive_dir))}
    staged = None
    try:
        spec = as_read(path, spec)  # this file's encoding and delimiter, where the YAML leaves them to it
        file_row["encoding"] = spec.encoding if is_text(path, spec) else None
        staged = _columnar(con, spec, path, file_row, run_date)
        with ledger.FileAppend(con, spec.source) as append:  # a rejected file rolls back whatever it had appended
            if staged is not None:
                staged.append_events(append)
                parsed = staged.parsed
            else:
                parsed = parse_file(spec, path, file_row, run_date, on_events=append.events)
            # tables the source's YAML lists under ignore_tables are named on the file's record, never dropped unseen
            detail = ("not loaded, as the source's ignore_tables says: "
                      + ", ".join(f"{name} ({n} rows)" for name, n in parsed.ignored.items())) if parsed.ignored else None
            outcome = FileOutcome(path.name, "loaded", detail=detail, rows_read=parsed.rows_read,
                                  rows_quarantined=parsed.rows_quarantined,
                                  rows_loaded=parsed.rows_read - parsed.rows_quarantined,
                                  rows_loaded_in_part=parsed.rows_loaded_in_part,
                                  read_by="rows" if staged is None else "columnar")
            added = append.finish(
                {**file_row, "status": "loaded", "detail": detail, "rows_read": outcome.rows_read,
                 "rows_loaded": outcome.rows_loaded, "rows_quarantined": outcome.rows_quarantined,
                 "rows_loaded_in_part": outcome.rows_loaded_in_part},
                parsed.persons, parsed.quarantine)
    except FileRejected as exc:
        ledger.record_file(con, {**file_row, "status": "rejected", "reason": exc.reason, "detail": exc.detail,
                                 **attribute_rejected(con, spec.source, path)})  # a chronology: who sent it
        return FileOutcome(path.name, "rejected", exc.reason, exc.detail)
    except Exception as exc:  # a reader bug must not stop the other files; it is recorded and fails the task
        log.exception("%s: %s could not be read", spec.source, path.name)
        detail = f"{type(exc).__name__}: {exc}"
        ledger.record_file(con, {**file_row, "status": "rejected", "reason": "reader_error", "detail": detail,
                                 **attribute_rejected(con, spec.source, path)})
        return FileOutcome(path.name, "rejected", "reader_error", detail)
    finally:
        if staged is not None:
            staged.drop()
    outcome.events_added, outcome.persons_added = added.events, added.persons
    return outcome


def _columnar(con: duckdb.DuckDBPyConnection, spec: SourceSpec, path: Path, file_row: dict,
              run_date: date) -> columnar.Staged | None:
    """The file staged by the columnar path, or None where the row path is to read it (both give
    the same ledger rows; ingest/columnar)."""
    if spec.format not in columnar.FORMATS or path.stat().st_size < columnar.MIN_BYTES:
        return None
    if os.environ.get("CASEHISTORY_COLUMNAR_INGEST", "on").casefold() == "off":  # an operator's way back
        return None
    try:
        return columnar.stage(con, spec, path, file_row, run_date)
    except columnar.NotColumnar as why:
        log.info("%s: %s is read a row at a time: %s", spec.source, path.name, why)
        return None


def parse_file(spec: SourceSpec, path: Path, file_row: dict, run_date: date,
               on_events: Callable[[list[dict]], None]) -> ParsedFile:
    """The row path: read and map every row; hand the events to on_events in batches of
    EVENT_BATCH, in file order."""
    outcomes = RowOutcomes(spec, provenance_of(spec, path, file_row))
    events: list[dict] = []
    persons: dict[tuple, dict] = {}
    seen = FirstSeen()
    rows_read = 0
    ignored: dict[str, int] = {}

    for table in read(path, spec):
        mapping = spec.table_specs.get(table.name)
        if mapping is None:
            if table.name in spec.ignore_tables:
                ignored[table.name] = ignored.get(table.name, 0) + sum(1 for _ in table.rows)
                continue
            raise FileRejected("wrong_structure", f"{table.where} is not mapped: add it under 'tables' in the "
                                                  f"source's YAML, or to 'ignore_tables'")
        mapper = Mapper(spec, mapping, table.columns, run_date, table.where)

        for row in table.rows:
            rows_read += 1
            if isinstance(row, BadRow):
                outcomes.unreadable(table.name, row)
                continue
            accepted = outcomes.accepted(table.name, mapper, row)
            if accepted is None:
                continue
            mapped, original = accepted
            if not take_new_records(outcomes, seen, table.name, mapped, original):
                continue
            events.extend(outcomes.events_of(mapped, original))
            if len(events) >= EVENT_BATCH:
                on_events(events)
                events = []
            person = outcomes.person_of(mapped)
            if person is not None:
                # the agency's latest statement in this file about the person is its version
                persons[(mapped.agency, person["subject_ref"])] = person
    if rows_read == 0 and not any(ignored.values()):
        raise FileRejected("empty", "no data rows under the header")
    on_events(events)
    for person in persons.values():  # hashed once kept: a child's details repeat on each of their rows
        person["content_hash"] = person_hash(person)
    return ParsedFile(list(persons.values()), outcomes.quarantine, rows_read, len(outcomes.bad_rows), ignored,
                      outcomes.rows_loaded_in_part)


def take_new_records(outcomes: RowOutcomes, seen: FirstSeen, table_name: str, mapped: MappedRow,
                     original: str) -> bool:
    """Quarantine the row's events whose record ids an earlier row of the file gave (duplicate_record)
    and count the others' as seen; False when none is left (the row is quarantined whole)."""
    row = mapped.row
    keys = [(ev["agency"], ev["record_id"]) for ev in mapped.events]
    repeated = set(seen.repeated(keys))
    if repeated:
        kept = [ev for ev, key in zip(mapped.events, keys) if key not in repeated]
        outcomes.duplicates(table_name, row.row_number, row.locator, mapped.agency, original,
                            [(ev["record_id"], ev["event_type"], seen.first_row_of[key])
                             for ev, key in zip(mapped.events, keys) if key in repeated], whole=not kept)
        mapped.events = kept
        keys = [key for key in keys if key not in repeated]
        if not kept:
            return False
    seen.add(keys, row.locator)
    return True
