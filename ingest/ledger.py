"""The append-only ledger in the restricted store.

Nothing here is ever updated or deleted. A record is keyed by (source, agency, record_id) for
events and (source, agency, subject_ref) for persons; a row whose content differs from the
current version becomes the next version. `version` counts a record's versions as they arrive;
which one is current is decided by when the agency recorded them (NEWEST_FIRST), so an amendment
that arrives before its original stays current. "What did we know on date D" is the current
version among those received on or before D (the dbt macro as_known_on).

Tables (schema ledger):
  loads           one row per source per run: what was seen, loaded, skipped, rejected
  files           one row per attempt to load a file: checksum, provenance, counts, outcome
  event_records   every version of every event, with the row it came from and its original values
  person_records  every version of every person as each source holds them
  quarantine      one row per problem found in a row, or in one of its events, that could not be
                  loaded, with its values: row_outcome says whether the row was quarantined whole
                  or loaded in part (its other events and person loaded); record_id and event_type
                  name the event a problem is about (null: the row's own problem); attempt 1 is the
                  file's load, a later one a retry that still found problems
  quarantine_resolutions  a quarantined row loaded by a retry, or dismissed by a named person
  quarantine_retries      each retry of a source's open quarantined rows (ingest/quarantine.py)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter

import duckdb
import pyarrow as pa

from casehistory.crashpoint import pause_here
from casehistory.warehouse import insert_rows
from ingest.mapping import EVENT_FIELDS, PERSON_FIELDS

DDL = """
create schema if not exists ledger;
create sequence if not exists ledger.record_seq;
create table if not exists ledger.loads (
    load_id varchar primary key, run_id varchar not null, source varchar not null,
    started_at timestamp not null, finished_at timestamp, status varchar not null,
    files_seen integer, files_loaded integer, files_skipped integer, files_rejected integer,
    rows_read bigint, rows_loaded bigint, rows_quarantined bigint, events_added bigint, persons_added bigint,
    message varchar);
create table if not exists ledger.files (
    load_id varchar not null, source varchar not null, file_name varchar not null, file_path varchar not null,
    checksum varchar not null, size_bytes bigint, modified_at timestamp, received_at timestamp not null,
    status varchar not null, reason varchar, detail varchar,
    rows_read bigint, rows_loaded bigint, rows_quarantined bigint, events_added bigint, persons_added bigint,
    archived_as varchar);
alter table ledger.files add column if not exists modified_ns bigint;  -- stores made before it was recorded
alter table ledger.files add column if not exists encoding varchar;  -- the text encoding the file was read in
-- who sent a rejected chronology, and for which reviews (ingest/attribution.py); null otherwise
alter table ledger.files add column if not exists sent_by_agencies varchar[];
alter table ledger.files add column if not exists sent_for_reviews varchar[];
alter table ledger.files add column if not exists attributed_from varchar;
create table if not exists ledger.event_records (
    ledger_id bigint primary key, source varchar not null, agency varchar not null, record_id varchar not null,
    version integer not null, supersedes bigint, content_hash varchar not null,
    subject_ref varchar not null, subject_namespace varchar not null,
    event_type varchar not null, event_date date not null, event_time time, outcome varchar,
    related_agency varchar, practitioner_role varchar, summary varchar, recorded_at timestamp,
    review_id varchar, family_ref varchar, person_role varchar,
    file_name varchar not null, file_checksum varchar not null, row_number integer not null,
    locator varchar not null, load_id varchar not null, received_at timestamp not null, original json);
create table if not exists ledger.person_records (
    ledger_id bigint primary key, source varchar not null, agency varchar not null, subject_ref varchar not null,
    subject_namespace varchar not null, version integer not null, supersedes bigint, content_hash varchar not null,
    nhs_number varchar, nhs_number_valid boolean, upn varchar, upn_valid boolean, la_child_id varchar,
    forename varchar, surname varchar, date_of_birth date, sex varchar, postcode varchar,
    family_ref varchar, person_role varchar,
    file_name varchar not null, file_checksum varchar not null, row_number integer not null,
    locator varchar not null, load_id varchar not null, received_at timestamp not null);
create table if not exists ledger.quarantine (
    load_id varchar not null, source varchar not null, agency varchar, file_name varchar not null,
    file_checksum varchar not null, row_number integer not null, locator varchar not null,
    column_name varchar, value varchar, reason varchar not null, message varchar not null,
    original json, received_at timestamp not null);
-- stores made before an event could be quarantined without its row
alter table ledger.quarantine add column if not exists table_name varchar;
alter table ledger.quarantine add column if not exists record_id varchar;
alter table ledger.quarantine add column if not exists event_type varchar;
alter table ledger.quarantine add column if not exists row_outcome varchar;  -- quarantined | loaded_in_part
alter table ledger.quarantine add column if not exists attempt integer;  -- 1: the file's load; more: a retry
alter table ledger.files add column if not exists rows_loaded_in_part bigint;
alter table ledger.loads add column if not exists rows_loaded_in_part bigint;
-- what the source's mapping was made from when it loaded (ingest/quarantine.py: registry_hash)
alter table ledger.loads add column if not exists registry_hash varchar;
-- a quarantined row (file, row) loaded by a retry or dismissed by a named person; append-only
create table if not exists ledger.quarantine_resolutions (
    source varchar not null, file_checksum varchar not null, table_name varchar, row_number integer not null,
    locator varchar not null, resolution varchar not null, resolved_by varchar not null,
    resolved_at timestamp not null, note varchar, load_id varchar);
-- each retry of a source's open quarantined rows (ingest/quarantine.py), under a load id of its own
create table if not exists ledger.quarantine_retries (
    load_id varchar primary key, run_id varchar not null, source varchar not null, started_at timestamp not null,
    finished_at timestamp not null, registry_hash varchar not null, rows_retried bigint, rows_loaded bigint,
    rows_open bigint, events_added bigint, persons_added bigint, message varchar);
"""

EVENT_COLUMNS = ["source", "agency", "record_id", "content_hash", "subject_ref", "subject_namespace",
                 *EVENT_FIELDS, "file_name", "file_checksum", "row_number", "locator", "load_id",
                 "received_at", "original"]
PERSON_COLUMNS = ["source", "agency", "subject_ref", "subject_namespace", "content_hash", *PERSON_FIELDS,
                  "nhs_number_valid", "upn_valid", "file_name", "file_checksum", "row_number", "locator",
                  "load_id", "received_at"]
QUARANTINE_COLUMNS = ["load_id", "source", "agency", "file_name", "file_checksum", "row_number", "locator",
                      "column_name", "value", "reason", "message", "original", "received_at", "table_name",
                      "record_id", "event_type", "row_outcome", "attempt"]
EVENT_KEY = ("source", "agency", "record_id")
PERSON_KEY = ("source", "agency", "subject_ref")
FILE_COLUMNS = ["load_id", "source", "file_name", "file_path", "checksum", "size_bytes", "modified_at",
                "received_at", "status", "reason", "detail", "rows_read", "rows_loaded", "rows_quarantined",
                "events_added", "persons_added", "archived_as", "modified_ns", "encoding", "sent_by_agencies",
                "sent_for_reviews", "attributed_from", "rows_loaded_in_part"]
LOAD_COLUMNS = ["load_id", "run_id", "source", "started_at", "finished_at", "status", "files_seen", "files_loaded",
                "files_skipped", "files_rejected", "rows_read", "rows_loaded", "rows_quarantined", "events_added",
                "persons_added", "message", "rows_loaded_in_part", "registry_hash"]


# A record's current version (the rule is written in full beside the dbt macro newest_version_first,
# dbt/macros/as_known_on.sql, which the models use): the latest recorded, recorded_at or else when
# received; equal times go to the later arrival. Person records carry no recorded_at: the latest
# to arrive is current.
# The order a file's (or a retry's) new records take their ledger ids in: its files, then its rows;
# a row that gives several records, by their keys and content.
ARRIVAL_ORDER = {"event_records": "file_checksum, row_number, locator, agency, record_id, content_hash",
                 "person_records": "file_checksum, row_number, locator, agency, subject_ref, content_hash"}
NEWEST_FIRST = {"event_records": "coalesce(recorded_at, received_at) desc, ledger_id desc",
                "person_records": "ledger_id desc"}


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


@dataclass
class Added:
    events: int
    persons: int


class FileAppend:
    """One file's rows in one transaction, all of it or none of it. Events are appended in batches
    as the file is read (a large extract never sits in memory whole), or from a table the columnar
    path built; the person records, the quarantine and the file's own row come last, with the commit."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source: str):
        self.con, self.source = con, source
        self.events_added = 0
        self._committed = False

    def __enter__(self) -> "FileAppend":
        self.con.execute("begin transaction")
        return self

    def events(self, batch: list[dict]) -> None:
        self.events_added += _append_rows(self.con, "event_records", batch, EVENT_COLUMNS, EVENT_KEY, self.source)

    def events_from(self, relation: str) -> None:
        """Events held in a table or view with EVENT_COLUMNS."""
        self.events_added += append_versions(self.con, "event_records", relation, EVENT_COLUMNS, EVENT_KEY,
                                             self.source)

    def finish(self, file_row: dict, persons: list[dict] | str, quarantine: list[dict]) -> Added:
        """persons: dicts, or a table or view with PERSON_COLUMNS."""
        if isinstance(persons, str):
            persons_added = append_versions(self.con, "person_records", persons, PERSON_COLUMNS, PERSON_KEY,
                                            self.source)
        else:
            persons_added = _append_rows(self.con, "person_records", persons, PERSON_COLUMNS, PERSON_KEY, self.source)
        added = Added(events=self.events_added, persons=persons_added)
        pause_here("ingest")
        if quarantine:
            insert_rows(self.con, "ledger.quarantine", QUARANTINE_COLUMNS, quarantine)
        insert_rows(self.con, "ledger.files", FILE_COLUMNS,
                    [{**file_row, "events_added": added.events, "persons_added": added.persons}])
        self.con.execute("commit")
        self._committed = True
        return added

    def __exit__(self, *exc) -> None:
        if not self._committed:
            self.con.execute("rollback")


def record_load(con: duckdb.DuckDBPyConnection, load_row: dict) -> None:
    insert_rows(con, "ledger.loads", LOAD_COLUMNS, [load_row])


def record_file(con: duckdb.DuckDBPyConnection, file_row: dict) -> None:
    """A file that was rejected (or matched no source): kept in the ledger with its reason."""
    insert_rows(con, "ledger.files", FILE_COLUMNS, [file_row])


def append_records(con: duckdb.DuckDBPyConnection, source: str, events: list[dict], persons: list[dict]) -> Added:
    """Events and persons (dicts with EVENT_COLUMNS, PERSON_COLUMNS) of one source appended as new
    versions, outside a file's load (ingest/quarantine.py's retry); the caller holds the transaction."""
    return Added(events=_append_rows(con, "event_records", events, EVENT_COLUMNS, EVENT_KEY, source),
                 persons=_append_rows(con, "person_records", persons, PERSON_COLUMNS, PERSON_KEY, source))


def _append_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict], columns: list[str],
                 key: tuple[str, ...], source: str) -> int:
    if not rows:
        return 0
    try:  # the mapper gives every column: taken a row at a time in C, then turned into columns
        values = list(map(itemgetter(*columns), rows))
    except KeyError:
        values = [tuple(r.get(c) for c in columns) for r in rows]
    incoming = pa.Table.from_arrays([pa.array(column) for column in zip(*values)], names=columns)
    con.register("_incoming", incoming)
    try:
        return append_versions(con, table, "_incoming", columns, key, source)
    finally:
        con.unregister("_incoming")


def append_versions(con: duckdb.DuckDBPyConnection, table: str, incoming: str, columns: list[str],
                    key: tuple[str, ...], source: str) -> int:
    """Each incoming record (all of one source) that says something the ledger does not hold
    becomes its record's next version: when its content differs from the record's current version
    (NEWEST_FIRST), or it has none. An event row with a recorded_at whose exact content (recorded_at
    included) some earlier version has is a re-sent copy of that version and adds nothing: an
    original sent again after its amendment must not come back as a new arrival. A new version names
    the current one it displaces (`supersedes`), none when it was recorded before it.

    Ledger ids rise from file to file (the models read them as the order records arrived in, and
    break ties on them) and, within a file, follow its rows (ARRIVAL_ORDER): the same files give
    the same ids however the loads were interrupted. The sequence is drawn once per new row; its
    values, drawn in one statement by the one writing process, are consecutive, and are handed
    out in row order (nextval itself follows no order: an ORDER BY sorts after ids are drawn)."""
    cols = [c for c in columns if c != "content_hash"]
    # the ledger is appended a source at a time, so a filter on source skips the others' row groups
    held = con.execute(f"select count(*) > 0 from ledger.{table} where source = ?", [source]).fetchone()[0]
    if not held:  # the source's first records: each is its record's first version
        new_versions = f"select 1 as version, null::bigint as supersedes, i.* from {incoming} i"
    else:
        keys = ", ".join(key)
        join = " and ".join(f"c.{k} = i.{k}" for k in key)
        if "recorded_at" in cols:
            recorded, recorded_in = "coalesce(recorded_at, received_at)", "coalesce(i.recorded_at, i.received_at)"
            resent = "and (i.recorded_at is null or not coalesce(list_contains(c.hashes, i.content_hash), false))"
        else:  # every version is recorded when it arrives
            recorded, recorded_in, resent = "received_at", "i.received_at", ""
        new_versions = f"""
            select coalesce(c.versions, 0) + 1 as version,
                   case when {recorded_in} >= c.recorded then c.ledger_id end as supersedes, i.*
            from {incoming} i
            left join (
                select {keys}, ledger_id, content_hash, {recorded} as recorded,
                       max(version) over record as versions, list(content_hash) over record as hashes
                from ledger.{table}
                semi join (select distinct {keys} from {incoming}) using ({keys})
                where source = $source
                window record as (partition by {keys})
                qualify row_number() over (partition by {keys} order by {NEWEST_FIRST[table]}) = 1
            ) c on {join}
            where c.content_hash is distinct from i.content_hash {resent}"""
    con.execute(f"""create or replace temp table _new_versions as
                    select row_number() over (order by {ARRIVAL_ORDER[table]}) as arrival, *
                    from ({new_versions})""", {"source": source} if held else None)
    try:
        added = con.execute("select count(*) from _new_versions").fetchone()[0]
        if added:
            first_id, last_id = con.execute(
                "select min(id), max(id) from (select nextval('ledger.record_seq') as id from range(?))",
                [added]).fetchone()
            if last_id - first_id + 1 != added:  # another process drew from the sequence meanwhile
                raise RuntimeError(f"ledger ids drawn for {added} new {table} were not consecutive "
                                   f"({first_id}..{last_id}): is another process writing the store?")
            con.execute(f"""insert into ledger.{table} (ledger_id, version, supersedes, content_hash, {', '.join(cols)})
                            select {first_id} + arrival - 1, version, supersedes, content_hash, {', '.join(cols)}
                            from _new_versions""")
        return added
    finally:
        con.execute("drop table if exists _new_versions")


# A loaded file's stamp (path, size, modification time in ns) stands for its content while the
# stamp is unchanged, as git's index does, so a quiet night need not read every file again. Only
# when the file was last modified more than a second before it was loaded (two whole seconds of
# modified_at, which drops the fraction): a file rewritten within the same clock tick as the copy
# that was read would otherwise keep a stamp that no longer fits it.
_STAMP_STANDS = ("status = 'loaded' and modified_ns is not null "
                 "and received_at >= modified_at + interval 2 second")


def unchanged_since_loaded(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int, int], str]:
    """(path, size, modification ns) -> source of every file loaded (by one source only) whose
    stamp still stands for its content (_STAMP_STANDS)."""
    return {(path, size, ns): source for path, size, ns, source in con.execute(
        f"""select file_path, size_bytes, modified_ns, min(source) from ledger.files where {_STAMP_STANDS}
            group by all having count(distinct source) = 1""").fetchall()}


def loaded_unchanged(con: duckdb.DuckDBPyConnection, source: str, stamp: tuple[str, int, int]) -> bool:
    """The source loaded this file, and it has not changed since (_STAMP_STANDS)."""
    return con.execute(
        f"""select count(*) > 0 from ledger.files
            where source = ? and file_path = ? and size_bytes = ? and modified_ns = ? and {_STAMP_STANDS}""",
        [source, *stamp]).fetchone()[0]


def already_loaded(con: duckdb.DuckDBPyConnection, source: str, checksum: str) -> bool:
    return con.execute(
        "select count(*) > 0 from ledger.files where source = ? and checksum = ? and status = 'loaded'",
        [source, checksum],
    ).fetchone()[0]


def now() -> datetime:
    return datetime.now().replace(microsecond=0)
