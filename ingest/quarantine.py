"""Quarantined rows stay open until each is loaded or dismissed by a named person.

A row is open while ledger.quarantine holds problems of it (the row's own, or one of its events',
when the row loaded in part) and ledger.quarantine_resolutions holds no resolution of it. A row is
one (file checksum, row number, locator): the locator names the table's element where a file has
several tables.

  retry      re-read each open row's file from the archive (ledger.files.archived_as), map the
             row again with the current registry, judged as on the night the file came (its run's
             date), and append what now maps as new ledger versions through the normal append: the
             provenance is the original file's name, checksum, row number and locator, with a load
             id of the retry's own (`<run_id>/<source>/retry`) and received_at = now. A row whose
             every event is now in the ledger is resolved `loaded`; a row still failing stays open,
             its current problems appended to ledger.quarantine under the retry's load id with the
             next attempt number.
  dismiss    a named person says an open row will not be loaded, with a note.
  registry   each load and retry keeps registry_hash: a hash of the source's YAML and of the
             vocabulary the mapping checks against. The nightly load retries a source's open rows
             when it differs from the hash their last attempt was mapped with.

What a retry never does: supersede a later file's word. An event of the row whose record already
has a version received after the row's file is not appended (the later file's version stands; the
row counts as loaded, the note says so); the row's person is appended only when the ledger holds no
version of that person. A record id that another row of the same file gave is a duplicate_record,
as on the file's load. A file re-sent in full is a new file: its rows load (or are quarantined) on
their own, and the earlier file's open rows are not resolved by it (retry or dismiss them).
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from casehistory.vocabulary import REFERENCE_DIR
from casehistory.warehouse import insert_rows
from ingest import ledger
from ingest.mapping import Mapper
from ingest.readers import BadRow, FileRejected, read
from ingest.registry import Registry, SourceSpec
from ingest.rows import RowOutcomes, person_hash

log = logging.getLogger(__name__)

RESOLUTION_COLUMNS = ["source", "file_checksum", "table_name", "row_number", "locator", "resolution",
                      "resolved_by", "resolved_at", "note", "load_id"]
RETRY_COLUMNS = ["load_id", "run_id", "source", "started_at", "finished_at", "registry_hash", "rows_retried",
                 "rows_loaded", "rows_open", "events_added", "persons_added", "message"]
RETRIED_BY = "casehistory quarantine retry"  # resolved_by of a row a retry loaded
VOCABULARY_FILES = ("event_types.yml", "agencies.yml")

# every open row: its latest attempt's problems (open = no resolution of the row)
_OPEN = """
    select q.*, max(q.attempt_no) over (partition by q.file_checksum, q.row_number, q.locator) as last_attempt
    from (select *, coalesce(attempt, 1) as attempt_no from ledger.quarantine) q
    anti join ledger.quarantine_resolutions r using (file_checksum, row_number, locator)
"""


class QuarantineError(ValueError):
    """A dismissal that names no open row, or names no person."""


def registry_hash(registry: Registry, source: str) -> str:
    """What a source's mapping is made from: its YAML and the vocabulary it is checked against."""
    h = hashlib.sha256()
    for path in (registry.paths[source], *(REFERENCE_DIR / name for name in VOCABULARY_FILES)):
        h.update(Path(path).read_bytes())
        h.update(b"\0")
    return h.hexdigest()


@dataclass
class OpenRow:
    source: str
    file_name: str
    file_checksum: str
    table_name: str | None
    row_number: int
    locator: str
    row_outcome: str  # quarantined | loaded_in_part
    reasons: list[str]
    received_at: object
    attempt: int


def open_rows(con: duckdb.DuckDBPyConnection, source: str | None = None) -> list[OpenRow]:
    """Every open quarantined row (of one source), its latest attempt's reasons, oldest first."""
    ledger.ensure_schema(con)
    rows = con.execute(f"""
        select source, any_value(file_name), file_checksum, any_value(table_name), row_number, locator,
               max(coalesce(row_outcome, 'quarantined')), list(distinct reason order by reason), min(received_at),
               max(attempt_no)
        from ({_OPEN}) where attempt_no = last_attempt and ($source is null or source = $source)
        group by source, file_checksum, row_number, locator
        order by min(received_at), source, any_value(file_name), row_number, locator""",
                       {"source": source}).fetchall()
    return [OpenRow(*r) for r in rows]


def open_counts(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Per source: open rows (quarantined whole, loaded in part) and when the oldest was received."""
    ledger.ensure_schema(con)
    rows = con.execute(f"""
        select source, count(*) filter (where outcome = 'quarantined'), count(*) filter (where outcome = 'loaded_in_part'),
               min(received)
        from (select source, file_checksum, row_number, locator, max(coalesce(row_outcome, 'quarantined')) as outcome,
                     min(received_at) as received
              from ({_OPEN}) where attempt_no = last_attempt group by all)
        group by source order by source""").fetchall()
    return [{"source": s, "rows_quarantined": w, "rows_loaded_in_part": p, "oldest_received_at": o}
            for s, w, p, o in rows]


def dismiss(con: duckdb.DuckDBPyConnection, checksum: str, row_number: int, *, by: str, note: str,
            table: str | None = None) -> OpenRow:
    """Resolve an open row as dismissed by a named person. checksum: the file's, or the start of it
    (as `quarantine list` shows it); table: where the file's tables number their rows alike."""
    by = (by or "").strip()
    if not by:
        raise QuarantineError("say who dismisses the row (--by NAME): a dismissal is kept with its name")
    checksum = checksum.strip().lower()
    if len(checksum) < 8:
        raise QuarantineError(f"{checksum!r}: give at least the first 8 characters of the file's checksum")
    found = [r for r in open_rows(con) if r.file_checksum.startswith(checksum) and r.row_number == row_number
             and (table is None or r.table_name == table)]
    if not found:
        raise QuarantineError(f"no open quarantined row {row_number} in a file whose checksum starts {checksum!r}"
                              f"{' in table ' + repr(table) if table else ''} (see: casehistory quarantine list)")
    if len(found) > 1:
        raise QuarantineError(f"{len(found)} open rows match: " + "; ".join(
            f"{r.file_name} ({r.file_checksum[:12]}) table {r.table_name} at {r.locator}" for r in found)
            + ": give a longer checksum, or --table")
    row = found[0]
    insert_rows(con, "ledger.quarantine_resolutions", RESOLUTION_COLUMNS, [{
        "source": row.source, "file_checksum": row.file_checksum, "table_name": row.table_name,
        "row_number": row.row_number, "locator": row.locator, "resolution": "dismissed", "resolved_by": by,
        "resolved_at": ledger.now(), "note": note or None, "load_id": None}])
    return row


@dataclass
class Retried:
    source: str
    load_id: str
    rows_retried: int = 0
    rows_loaded: int = 0
    rows_open: int = 0
    events_added: int = 0
    persons_added: int = 0
    problems: list[str] = field(default_factory=list)  # files that could not be read again: why


def needs_retry(con: duckdb.DuckDBPyConnection, source: str, current_hash: str) -> bool:
    """Has the source's mapping changed since any of its open rows was last mapped?"""
    ledger.ensure_schema(con)
    return con.execute(f"""
        with open_rows as (
            select distinct file_checksum, row_number, locator, load_id, received_at
            from ({_OPEN}) where source = $source and attempt_no = last_attempt),
        attempts as (  -- the hash each open row was last mapped with: its file's load or a retry since
            select o.file_checksum, o.row_number, o.locator,
                   coalesce(r.registry_hash, l.registry_hash) as registry_hash
            from open_rows o
            left join ledger.quarantine_retries r on r.load_id = o.load_id
            left join ledger.loads l on l.load_id = o.load_id)
        select count(*) > 0 from attempts where registry_hash is distinct from $hash""",
                       {"source": source, "hash": current_hash}).fetchone()[0]


def retry(con: duckdb.DuckDBPyConnection, registry: Registry, source: str, *, run_id: str) -> Retried:
    """Map the source's open rows again from their archived files; append what maps now."""
    ledger.ensure_schema(con)
    spec = registry[source]
    current_hash = registry_hash(registry, source)
    started = ledger.now()
    earlier = con.execute("select count(*) from ledger.quarantine_retries where run_id = ? and source = ?",
                          [run_id, source]).fetchone()[0]
    result = Retried(source, f"{run_id}/{source}/retry" + (f"#{earlier + 1}" if earlier else ""))
    by_file: dict[str, list[OpenRow]] = {}
    for row in open_rows(con, source):
        by_file.setdefault(row.file_checksum, []).append(row)
    con.execute("begin transaction")
    try:
        for checksum, rows in by_file.items():
            result.rows_retried += len(rows)
            try:
                _retry_file(con, spec, checksum, rows, result)
            except (FileRejected, OSError) as exc:  # the rows stay open; the reason is reported
                reason = f"{exc.reason}: {exc.detail}" if isinstance(exc, FileRejected) else str(exc)
                result.problems.append(f"{rows[0].file_name} ({checksum[:12]}): {reason}")
                result.rows_open += len(rows)
        insert_rows(con, "ledger.quarantine_retries", RETRY_COLUMNS, [{
            "load_id": result.load_id, "run_id": run_id, "source": source, "started_at": started,
            "finished_at": ledger.now(), "registry_hash": current_hash, "rows_retried": result.rows_retried,
            "rows_loaded": result.rows_loaded, "rows_open": result.rows_open, "events_added": result.events_added,
            "persons_added": result.persons_added, "message": "; ".join(result.problems) or None}])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    log.info("%s: quarantine retried: %d rows, %d loaded, %d still open%s", source, result.rows_retried,
             result.rows_loaded, result.rows_open, f" ({'; '.join(result.problems)})" if result.problems else "")
    return result


def _retry_file(con: duckdb.DuckDBPyConnection, spec: SourceSpec, checksum: str, rows: list[OpenRow],
                result: Retried) -> None:
    found = con.execute("""select f.archived_as, f.file_name, f.received_at, f.load_id from ledger.files f
                           where f.source = ? and f.checksum = ? and f.status = 'loaded'
                           order by f.received_at limit 1""", [spec.source, checksum]).fetchone()
    if found is None or not found[0] or not Path(found[0]).is_file():
        raise OSError(f"the archived copy {found[0] if found else '(none recorded)'} is missing")
    archived, file_name, file_received, file_load = found
    run_date = _run_date_of(con, file_load, file_received)
    wanted = {(r.row_number, r.locator): r for r in rows}
    attempt = max(r.attempt for r in rows) + 1
    provenance = {"source": spec.source, "file_name": file_name, "file_checksum": checksum,
                  "load_id": result.load_id, "received_at": ledger.now()}
    outcomes = RowOutcomes(spec, provenance, attempt=attempt)
    candidates = []  # (open row, table name, mapped row, original values)
    for table in read(Path(archived), spec):
        mapping = spec.table_specs.get(table.name)
        if mapping is None:  # an ignored table's rows were never quarantined
            deque(table.rows, maxlen=0)  # read past them: the reader gives a file's tables in turn
            continue
        mapper = Mapper(spec, mapping, table.columns, run_date, table.where)
        for row in table.rows:
            open_row = wanted.get((row.row_number, row.locator))
            if open_row is None:
                continue
            if isinstance(row, BadRow):
                outcomes.unreadable(table.name, row)
                continue
            accepted = outcomes.accepted(table.name, mapper, row)
            if accepted is not None:
                candidates.append((open_row, table.name, *accepted))
    known = _known_records(con, spec.source, checksum, candidates)
    events, persons, resolved = [], [], []
    taken: dict[tuple, str] = {}  # (agency, record id) -> locator, of this retry's rows
    for open_row, table_name, mapped, original in candidates:
        notes = []
        fresh = []
        repeated = []
        for ev in mapped.events:
            key = (ev["agency"], ev["record_id"])
            first_at, later_version = known.get(key, (None, False))
            if first_at == open_row.locator:
                continue  # loaded from this row before (the row loaded in part)
            if first_at is not None or key in taken:
                repeated.append((ev["record_id"], ev["event_type"], first_at or taken[key]))
            elif later_version:
                notes.append(f"{ev['record_id']}: a later file's version stands")
            else:
                fresh.append(ev)
        if repeated:
            outcomes.duplicates(table_name, open_row.row_number, open_row.locator, mapped.agency, original, repeated,
                                whole=False)
        for ev in fresh:
            taken[(ev["agency"], ev["record_id"])] = open_row.locator
        mapped.events = fresh
        events += outcomes.events_of(mapped, original)
        person = outcomes.person_of(mapped)
        if person is not None:
            persons.append({**person, "content_hash": person_hash(person)})
        if not mapped.rejected and not repeated:
            resolved.append((open_row, table_name, "; ".join(notes) or None))
    persons = _new_persons(con, spec.source, persons)
    added = ledger.append_records(con, spec.source, events, persons)
    result.events_added += added.events
    result.persons_added += added.persons
    if outcomes.quarantine:
        insert_rows(con, "ledger.quarantine", ledger.QUARANTINE_COLUMNS, outcomes.quarantine)
    insert_rows(con, "ledger.quarantine_resolutions", RESOLUTION_COLUMNS, [{
        "source": spec.source, "file_checksum": checksum, "table_name": table_name, "row_number": r.row_number,
        "locator": r.locator, "resolution": "loaded", "resolved_by": RETRIED_BY, "resolved_at": ledger.now(),
        "note": note, "load_id": result.load_id} for r, table_name, note in resolved])
    result.rows_loaded += len(resolved)
    result.rows_open += len(rows) - len(resolved)


def _run_date_of(con: duckdb.DuckDBPyConnection, load_id: str, received_at) -> date:
    """The date the file's run treated as today (ledger.runs), else the day it was received: a row is
    judged again as on that night, so a date in the future then is still one."""
    has_runs = con.execute("select count(*) from information_schema.tables where table_schema = 'ledger' "
                           "and table_name = 'runs'").fetchone()[0]
    if has_runs:
        found = con.execute("select r.run_date from ledger.loads l join ledger.runs r using (run_id) "
                            "where l.load_id = ?", [load_id]).fetchone()
        if found:
            return found[0]
    return received_at.date()


def _known_records(con: duckdb.DuckDBPyConnection, source: str, checksum: str, candidates: list) -> dict:
    """(agency, record id) -> (locator of this file it was loaded from, or None; whether a version
    came from a file received after this one), for the records the retried rows give. Files are
    ordered by when they arrived, not by when a retry appended their rows."""
    keys = {(ev["agency"], ev["record_id"]) for _, _, mapped, _ in candidates for ev in mapped.events}
    if not keys:
        return {}
    con.register("_retry_keys", pa.table({"agency": [k[0] for k in keys], "record_id": [k[1] for k in keys]}))
    try:
        rows = con.execute("""
            with arrived as (
                select checksum, min(received_at) as received_at from ledger.files
                where source = $source and status = 'loaded' group by checksum)
            select e.agency, e.record_id,
                   min(e.locator) filter (where e.file_checksum = $checksum),
                   bool_or(e.file_checksum <> $checksum
                           and f.received_at > (select received_at from arrived where checksum = $checksum))
            from ledger.event_records e semi join _retry_keys k using (agency, record_id)
            join arrived f on f.checksum = e.file_checksum
            where e.source = $source group by all""", {"checksum": checksum, "source": source}).fetchall()
    finally:
        con.unregister("_retry_keys")
    return {(a, r): (loc, bool(later)) for a, r, loc, later in rows}


def _new_persons(con: duckdb.DuckDBPyConnection, source: str, persons: list[dict]) -> list[dict]:
    """The persons the ledger holds no version of: an old row never overrides a later statement."""
    kept: dict[tuple, dict] = {}
    for p in persons:
        kept[(p["agency"], p["subject_ref"])] = p  # the file's last word on the person, as on a load
    if not kept:
        return []
    con.register("_retry_persons", pa.table({"agency": [k[0] for k in kept], "subject_ref": [k[1] for k in kept]}))
    try:
        held = set(con.execute("select agency, subject_ref from ledger.person_records semi join _retry_persons "
                               "using (agency, subject_ref) where source = ?", [source]).fetchall())
    finally:
        con.unregister("_retry_persons")
    return [p for key, p in kept.items() if key not in held]
