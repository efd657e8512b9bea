"""The columnar path: a CSV, JSON or JSON Lines file read and mapped in DuckDB, a file at a time.

The row path (ingest/load.py's parse_file) reads and maps a row at a time in Python; it is the
definition of what a file gives the ledger. This path gives the same ledger rows (events, persons,
quarantine, counts, content hashes, original values) for the files it takes, at the speed of
DuckDB's readers:

  raw.py      the file's records as a table of text, read as the row path's readers read them
  mapping.py  the source's mapping in SQL, with lookups worked out by the Mapper's own methods
  here        the rows SQL flags, mapped by the Mapper as on the row path; duplicate record ids;
              each person's last statement; the appends

What it cannot show it reads as the row path does, it leaves to the row path: a row (any row with
a problem, so every quarantined row gets the Mapper's own reason and message), or the whole file
(NotColumnar: a source using a template or pattern, a quoted field over several lines, mixed line
endings, and the like; the reason is logged). tests/ingest/test_columnar.py loads files both ways
and compares the ledgers.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from ingest import ledger
from ingest.columnar import sql
from ingest.columnar.mapping import SqlMapping, check_supported
from ingest.columnar.raw import RAW, NotColumnar, RawTable, read_raw
from ingest.rows import FirstSeen, ParsedFile, RowOutcomes, person_hash, provenance_of
from ingest.mapping import EVENT_FIELDS, PERSON_FIELDS, Mapper
from ingest.readers.base import RawRow
from ingest.registry import SINGLE_TABLE, SourceSpec

log = logging.getLogger(__name__)
FORMATS = ("csv", "json", "jsonl")
# Below this size the row path is as quick: the columnar path's fifty-odd statements cost about a
# second whatever the file's size (a 700 KB CSV of 5,000 rows takes as long either way).
MIN_BYTES = 1 << 20
_STAGED = ("_events", "_persons", "_persons_kept", "_duplicates")


def stage(con: duckdb.DuckDBPyConnection, spec: SourceSpec, path: Path, file_row: dict, run_date: date) -> ParsedFile:
    """load.parse_file's work for one file, outside the file's transaction (DuckDB builds large
    tables faster there): its events staged in _events, appended by append_staged; its persons
    staged in _persons_kept. NotColumnar when the file is the row path's."""
    if spec.format not in FORMATS:
        raise NotColumnar(f"format {spec.format}")
    check_supported(spec)
    sql.create_macros(con)
    mapping = None
    try:
        raw = read_raw(con, path, spec)
        if raw.rows_read == 0:
            raise NotColumnar("no records")  # the row path says why, in its reader's words
        table = spec.table_specs[SINGLE_TABLE]
        mapper = Mapper(spec, table, raw.columns, run_date)
        mapping = SqlMapping(con, raw, spec, table, mapper, run_date)
        mapping.build()
        outcomes = RowOutcomes(spec, provenance_of(spec, path, file_row))
        for row in raw.bad_rows:
            outcomes.unreadable(SINGLE_TABLE, row)
        _stage(con, mapping, outcomes.provenance)
        _rows_for_the_mapper(con, raw, mapping, mapper, outcomes)
        _duplicates(con, outcomes)
        if table.person is not None:
            _keep_persons(con, mapping.plain_codes)
            persons: list[dict] | str = "_persons_kept"
        else:
            persons = []
        return ParsedFile(persons, sorted(outcomes.quarantine, key=lambda q: q["row_number"]),
                          raw.rows_read, len(outcomes.bad_rows))
    except BaseException:
        drop_staged(con)
        raise
    finally:
        if mapping is not None:
            mapping.drop()
        con.execute(f"drop table if exists {RAW}")


def append_staged(append: ledger.FileAppend) -> None:
    append.events_from("_events", "row_number, event_index")


def drop_staged(con: duckdb.DuckDBPyConnection) -> None:
    for name in _STAGED:
        con.execute(f"drop table if exists {name}")


def _stage(con: duckdb.DuckDBPyConnection, mapping: SqlMapping, provenance: dict) -> None:
    """_events and _persons: the unflagged rows' records, with what the ledger needs (a person's
    content hash and identifier checks wait until its last statement in the file is known)."""
    src = {k: sql.literal(str(v)) for k, v in provenance.items()}
    received = f"{src['received_at']}::timestamp"
    event_cols = ", ".join(ledger.EVENT_COLUMNS)
    con.execute(f"create or replace temp table _events as select {event_cols}, 0 as event_index "
                "from ledger.event_records where false")
    con.execute("alter table _events alter original type varchar")  # cast to JSON once, into the ledger
    for k in range(len(mapping.table.events)):
        p = f"e{k}_"
        text = {"event_date": f"_date_text({p}event_date)", "event_time": f"_time_text({p}event_time)",
                "recorded_at": f"_timestamp_text({p}recorded_at)"}
        hashed = [f"{p}subject_ref", "subject_namespace", *(text.get(f, p + f) for f in EVENT_FIELDS)]
        digest = _hash(hashed, mapping.plain_codes)
        con.execute(f"""insert into _events ({event_cols}, event_index)
            select {src['source']}, agency, {p}record_id, {digest}, {p}subject_ref, subject_namespace,
                   {', '.join(p + f for f in EVENT_FIELDS)},
                   {src['file_name']}, {src['file_checksum']}, row_number, locator, {src['load_id']}, {received},
                   original, {k}
            from {mapping.mapped} m where not flagged and {p}wanted""")
    con.execute(f"create or replace temp table _persons as select {', '.join(ledger.PERSON_COLUMNS)}, true as plain "
                "from ledger.person_records where false")
    if mapping.table.person is None:
        return
    cols = ["source", "agency", "subject_ref", "subject_namespace", *PERSON_FIELDS, "file_name", "file_checksum",
            "row_number", "locator", "load_id", "received_at", "plain"]
    con.execute(f"""insert into _persons ({', '.join(cols)})
        select {src['source']}, agency, p_subject_ref, subject_namespace, {', '.join('p_' + f for f in PERSON_FIELDS)},
               {src['file_name']}, {src['file_checksum']}, row_number, locator, {src['load_id']}, {received}, plain
        from {mapping.mapped} m where not flagged""")


def _hash(texts: list[str], plain_codes: bool) -> str:
    """content_hash (ingest/mapping.py) of SQL text expressions: md5 of their json.dumps list."""
    if not plain_codes:
        return f"md5({sql.json_list(texts, False)})"
    return f"md5(case when plain then {sql.json_list(texts, True)} else {sql.json_list(texts, False)} end)"


def _keep_persons(con: duckdb.DuckDBPyConnection, plain_codes: bool) -> None:
    """_persons_kept: each person's last statement in the file, hashed and its identifiers checked
    (the Mapper's persons come with both)."""
    hashed = ["subject_namespace", *("_date_text(date_of_birth)" if f == "date_of_birth" else f for f in PERSON_FIELDS)]
    con.execute(f"""create or replace temp table _persons_kept as
        select * exclude (plain) replace (
                   coalesce(content_hash, {_hash(hashed, plain_codes)}) as content_hash,
                   coalesce(nhs_number_valid, {sql.nhs_number_valid('nhs_number')}) as nhs_number_valid,
                   coalesce(upn_valid, {sql.upn_valid('upn')}) as upn_valid)
        from (select * from _persons
              qualify row_number() over (partition by agency, subject_ref order by row_number desc) = 1)""")


def _rows_for_the_mapper(con: duckdb.DuckDBPyConnection, raw: RawTable, mapping: SqlMapping, mapper: Mapper,
                         outcomes: RowOutcomes) -> None:
    """The flagged rows, mapped as the row path maps them; their records join the staged ones."""
    cells = ", ".join(f"r.c{i}" for i in range(len(raw.columns)))
    flagged = con.execute(f"select r.row_number, {raw.locator}, r.shape{', ' + cells if cells else ''} from {RAW} r "
                          f"semi join (select row_number from {mapping.mapped} m where flagged) using (row_number) "
                          "order by r.row_number").fetchall()
    events: list[dict] = []
    persons: list[dict] = []
    for row_number, locator, shape, *values in flagged:
        accepted = outcomes.accepted(SINGLE_TABLE, mapper, RawRow(row_number, locator, raw.values(shape, values)))
        if accepted is None:
            continue
        mapped, original = accepted
        for index, event in enumerate(outcomes.events_of(mapped, original)):
            events.append({**event, "event_index": index})
        person = outcomes.person_of(mapped)
        if person is not None:
            persons.append({**person, "content_hash": person_hash(person), "plain": False})
    for table, rows, columns in (("_events", events, [*ledger.EVENT_COLUMNS, "event_index"]),
                                 ("_persons", persons, [*ledger.PERSON_COLUMNS, "plain"])):
        if rows:
            con.register("_from_mapper", pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows]))
            con.execute(f"insert into {table} by name select * from _from_mapper")
            con.unregister("_from_mapper")


def _duplicates(con: duckdb.DuckDBPyConnection, outcomes: RowOutcomes) -> None:
    """A record id given by an earlier accepted row of the file: the later row is quarantined whole,
    as the row path does (FirstSeen over the rows that share a record id, in file order)."""
    rows = con.execute("""
        with repeated as (select agency, record_id from _events group by all having count(distinct row_number) > 1)
        select row_number, any_value(locator), any_value(agency), any_value(original),
               list((agency, record_id) order by event_index)
        from _events semi join repeated using (agency, record_id)
        group by row_number order by row_number""").fetchall()
    if not rows:
        return
    seen = FirstSeen()
    duplicates = []
    for row_number, locator, agency, original, keys in rows:
        keys = [tuple(k.values()) if isinstance(k, dict) else tuple(k) for k in keys]
        repeated = seen.repeated(keys)
        if repeated is None:
            seen.add(keys, locator)
            continue
        outcomes.quarantined(SINGLE_TABLE, row_number, locator, agency, None, repeated[1], "duplicate_record",
                             f"record_id {repeated[1]!r} already appears at {seen.first_row_of[repeated]} of this file",
                             original)
        duplicates.append(row_number)
    con.register("_duplicates_in", pa.table({"row_number": pa.array(duplicates, pa.int32())}))
    for table in ("_events", "_persons"):
        con.execute(f"delete from {table} where row_number in (select row_number from _duplicates_in)")
    con.unregister("_duplicates_in")


__all__ = ["FORMATS", "NotColumnar", "append_staged", "drop_staged", "stage"]
