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
from ingest.columnar.raw import RAW, NotColumnar, RawTable, clear_scratch, read_raw
from ingest.rows import FirstSeen, ParsedFile, RowOutcomes, person_hash, provenance_of
from ingest.mapping import EVENT_FIELDS, PERSON_FIELDS, Mapper
from ingest.readers.base import RawRow
from ingest.registry import SINGLE_TABLE, SourceSpec

log = logging.getLogger(__name__)
FORMATS = ("csv", "json", "jsonl")
# Below this size the row path is as quick: the columnar path's fifty-odd statements cost about a
# second whatever the file's size (a 700 KB CSV of 5,000 rows takes as long either way).
MIN_BYTES = 1 << 20
# the tables a staged file keeps until its append (RAW and the lookups are SqlMapping's)
_STAGED = ("_events", "_persons_kept", "_duplicates", "_duplicate_events", "_keys", "_flagged", "_excluded", "_event_keys",
           "_person_last", "_raw_persons")


class Staged:
    """A file mapped and ready to append: its persons kept in _persons_kept, its quarantine and
    counts in `parsed`; its events are computed as they are appended (append_events), inside the
    file's transaction, so they are never written out twice. drop() when the file is done."""

    def __init__(self, con: duckdb.DuckDBPyConnection, raw: RawTable, mapping: SqlMapping, parsed: ParsedFile,
                 provenance: dict):
        self.con, self.raw, self.mapping, self.parsed, self.provenance = con, raw, mapping, parsed, provenance

    def append_events(self, append: ledger.FileAppend) -> None:
        append.events_from(_events_sql(self.mapping, self.provenance))

    def drop(self) -> None:
        self.mapping.drop()
        drop_staged(self.con)


def stage(con: duckdb.DuckDBPyConnection, spec: SourceSpec, path: Path, file_row: dict, run_date: date) -> Staged:
    """load.parse_file's work for one file, outside the file's transaction (DuckDB builds large
    tables faster there). NotColumnar when the file is the row path's."""
    if spec.format not in FORMATS:
        raise NotColumnar(f"format {spec.format}")
    check_supported(spec)
    sql.create_macros(con)
    clear_scratch(con)
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
        # one evaluation of the mapping over every row gives the rows it flags and the others' record ids
        keys = "".join(f", e{k}_wanted, e{k}_record_id, e{k}_event_type" for k in range(len(table.events)))
        con.execute(f"create or replace temp table _keys as select row_number, flagged, agency{keys} from {mapping.rows()} m")
        con.execute("create or replace temp table _flagged as select row_number from _keys where flagged")
        mapper_persons = _rows_for_the_mapper(con, raw, mapping, mapper, outcomes)
        _duplicates(con, mapping, outcomes)
        # rows SQL leaves alone: the Mapper's, and those whose every event repeats an earlier row's
        con.execute("create or replace temp table _excluded as select row_number from _flagged "
                    "union select row_number from _duplicates")
        if table.person is not None:
            _keep_persons(con, mapping, outcomes.provenance, mapper_persons)
            persons: list[dict] | str = "_persons_kept"
        else:
            persons = []
        parsed = ParsedFile(persons, sorted(outcomes.quarantine, key=lambda q: q["row_number"]),
                            raw.rows_read, len(outcomes.bad_rows), rows_loaded_in_part=outcomes.rows_loaded_in_part)
        return Staged(con, raw, mapping, parsed, outcomes.provenance)
    except BaseException:
        if mapping is not None:
            mapping.drop()
        drop_staged(con)
        raise


def drop_staged(con: duckdb.DuckDBPyConnection) -> None:
    for name in _STAGED:
        con.execute(f"drop table if exists {name}")
    con.execute(f"drop table if exists {RAW}")


ACCEPTED = "r.row_number not in (select row_number from _excluded)"  # neither flagged nor a duplicate


def _events_sql(mapping: SqlMapping, provenance: dict) -> str:
    """Every accepted event of the file, with what the ledger needs: SQL's, then the Mapper's (_events)."""
    src = _provenance_sql(provenance)
    selects = []
    for k in range(len(mapping.table.events)):
        p = f"e{k}_"
        text = {"event_date": f"_date_text({p}event_date)", "event_time": f"_time_text({p}event_time)",
                "recorded_at": f"_timestamp_text({p}recorded_at)"}
        hashed = [f"{p}subject_ref", "subject_namespace", *(text.get(f, p + f) for f in EVENT_FIELDS)]
        selects.append(f"""select {src['source']} as source, agency, {p}record_id as record_id,
                   {_hash(hashed, mapping.plain_codes)} as content_hash, {p}subject_ref as subject_ref,
                   subject_namespace, {', '.join(f'{p}{f} as {f}' for f in EVENT_FIELDS)},
                   {src['file_name']} as file_name, {src['file_checksum']} as file_checksum, row_number, locator,
                   {src['load_id']} as load_id, {src['received_at']} as received_at, original
            from {mapping.rows(ACCEPTED)} m where {p}wanted
                 and m.row_number not in (select row_number from _duplicate_events where event_index = {k})""")
    selects.append(f"select {', '.join(ledger.EVENT_COLUMNS)} from _events "
                   "anti join _duplicate_events using (row_number, event_index)")
    return "(" + "\nunion all\n".join(selects) + ")"


def _provenance_sql(provenance: dict) -> dict[str, str]:
    src = {k: sql.literal(str(v)) for k, v in provenance.items()}
    src["received_at"] += "::timestamp"
    return src


def _hash(texts: list[str], plain_codes: bool) -> str:
    """content_hash (ingest/mapping.py) of SQL text expressions: md5 of their json.dumps list."""
    if not plain_codes:
        return f"md5({sql.json_list(texts, False)})"
    return f"md5(case when plain then {sql.json_list(texts, True)} else {sql.json_list(texts, False)} end)"


def _keep_persons(con: duckdb.DuckDBPyConnection, mapping: SqlMapping, provenance: dict,
                  mapper_persons: list[dict]) -> None:
    """_persons_kept: each person's last statement in the file (of the rows neither quarantined nor
    duplicates), hashed and its identifiers checked; the Mapper's persons come with both."""
    columns = [*ledger.PERSON_COLUMNS, "plain"]
    con.execute(f"create or replace temp table _persons_kept as select {', '.join(columns)} "
                "from ledger.person_records, (select true as plain) where false")
    if mapper_persons:
        con.register("_from_mapper", pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in mapper_persons]))
        con.execute("insert into _persons_kept by name select * from _from_mapper")
        con.unregister("_from_mapper")
    # the rows SQL maps: by the raw subject where the agency is the source's own (no lookups needed)
    by_sql = (f"select {mapping.fixed_agency} as agency, {mapping.person_subject} as subject_ref, r.row_number "
              f"from {RAW} r where {ACCEPTED}" if mapping.fixed_agency else
              f"select agency, p_subject_ref as subject_ref, row_number from {mapping.rows(ACCEPTED)} m")
    con.execute(f"""create or replace temp table _person_last as
        select max(row_number) as row_number from (
            {by_sql}
            union all
            select agency, subject_ref, row_number from _persons_kept
            where row_number not in (select row_number from _duplicates))
        group by agency, subject_ref""")
    con.execute("delete from _persons_kept where row_number not in (select row_number from _person_last)")
    # the kept rows' own raw table: the lookups are joined to them alone
    con.execute(f"create or replace temp table _raw_persons as select * from {RAW} r "
                f"where r.row_number in (select row_number from _person_last) and {ACCEPTED}")
    src = _provenance_sql(provenance)
    hashed = ["subject_namespace", *("_date_text(p_date_of_birth)" if f == "date_of_birth" else f"p_{f}"
                                     for f in PERSON_FIELDS)]
    con.execute(f"""insert into _persons_kept ({', '.join(columns)})
        select {src['source']}, agency, p_subject_ref, subject_namespace, {_hash(hashed, mapping.plain_codes)},
               {', '.join('p_' + f for f in PERSON_FIELDS)},
               {sql.nhs_number_valid('p_nhs_number')}, {sql.upn_valid('p_upn')},
               {src['file_name']}, {src['file_checksum']}, row_number, locator, {src['load_id']}, {src['received_at']}, plain
        from {mapping.rows(raw="_raw_persons")} m""")
    con.execute("alter table _persons_kept drop column plain")
    con.execute("drop table _raw_persons")


def _rows_for_the_mapper(con: duckdb.DuckDBPyConnection, raw: RawTable, mapping: SqlMapping, mapper: Mapper,
                         outcomes: RowOutcomes) -> list[dict]:
    """The flagged rows, mapped as the row path maps them: their events into _events (made here);
    their persons returned."""
    cells = ", ".join(f"r.c{i}" for i in range(len(raw.columns)))
    flagged = con.execute(f"select r.row_number, {raw.locator}, r.shape{', ' + cells if cells else ''} from {RAW} r "
                          "semi join _flagged using (row_number) order by r.row_number").fetchall()
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
    event_cols = ", ".join(ledger.EVENT_COLUMNS)
    con.execute(f"create or replace temp table _events as select {event_cols}, 0 as event_index "
                "from ledger.event_records where false")
    con.execute("alter table _events alter original type varchar")  # cast to JSON once, into the ledger
    if events:
        columns = [*ledger.EVENT_COLUMNS, "event_index"]
        con.register("_from_mapper", pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in events]))
        con.execute("insert into _events by name select * from _from_mapper")
        con.unregister("_from_mapper")
    return persons


def _duplicates(con: duckdb.DuckDBPyConnection, mapping: SqlMapping, outcomes: RowOutcomes) -> None:
    """An event whose record id an earlier row of the file gave is quarantined, as the row path
    does (FirstSeen over the rows that share a record id, in file order): _duplicate_events holds
    (row_number, event_index) of each; _duplicates the rows it leaves with nothing to load."""
    keys = [f"select row_number, {k} as event_index, agency, e{k}_record_id as record_id, e{k}_event_type as event_type "
            f"from _keys where flagged is not true and e{k}_wanted" for k in range(len(mapping.table.events))]
    keys.append("select row_number, event_index, agency, record_id, event_type from _events")
    con.execute("create or replace temp table _event_keys as " + " union all ".join(keys))
    con.execute("drop table _keys")
    rows = con.execute("""
        with repeated as (select agency, record_id from _event_keys group by all having count(distinct row_number) > 1),
        counted as (select *, count(*) over (partition by row_number) as events_of_row from _event_keys)
        select row_number, any_value(agency), any_value(events_of_row),
               list((agency, record_id, event_index, event_type) order by event_index)
        from counted semi join repeated using (agency, record_id)
        group by row_number order by row_number""").fetchall()
    con.execute("drop table _event_keys")
    con.execute("create or replace temp table _duplicate_events (row_number bigint, event_index integer)")
    con.execute("create or replace temp table _duplicates (row_number bigint)")
    if not rows:
        return
    seen = FirstSeen()
    duplicates: dict[int, tuple] = {}  # row_number -> agency, [(record id, event type, first at)], whole
    dropped: list[tuple[int, int]] = []  # (row_number, event_index)
    for row_number, agency, events_of_row, keys_of_row in rows:
        keys_of_row = [tuple(k.values()) if isinstance(k, dict) else tuple(k) for k in keys_of_row]
        pairs = [(a, r) for a, r, _, _ in keys_of_row]
        repeated = set(seen.repeated(pairs))
        fresh = [k for k in pairs if k not in repeated]
        if fresh:
            seen.add(fresh, _locator(con, mapping, row_number))
        if repeated:
            found = [(r, t, seen.first_row_of[(a, r)]) for a, r, _, t in keys_of_row if (a, r) in repeated]
            dropped += [(row_number, i) for a, r, i, _ in keys_of_row if (a, r) in repeated]
            duplicates[row_number] = (agency, found, len(found) == events_of_row)
    con.register("_duplicates_in", pa.table({"row_number": pa.array([r for r, _ in dropped], pa.int64()),
                                             "event_index": pa.array([i for _, i in dropped], pa.int32())}))
    con.execute("create or replace temp table _duplicate_events as select * from _duplicates_in")
    con.unregister("_duplicates_in")
    whole = [r for r, (_, _, all_of_it) in duplicates.items() if all_of_it]
    con.register("_duplicates_in", pa.table({"row_number": pa.array(whole, pa.int64())}))
    con.execute("create or replace temp table _duplicates as select * from _duplicates_in")
    con.unregister("_duplicates_in")
    unflagged = "r.row_number not in (select row_number from _flagged)"
    found = con.execute(f"""select row_number, locator, original from {mapping.rows(
        f'{unflagged} and r.row_number in (select row_number from _duplicate_events)')} m
        union all select distinct row_number, locator, original from _events semi join _duplicate_events using (row_number)""").fetchall()
    for row_number, locator, original in found:
        agency, repeated, all_of_it = duplicates[row_number]
        outcomes.duplicates(SINGLE_TABLE, row_number, locator, agency, original, repeated, all_of_it)


def _locator(con: duckdb.DuckDBPyConnection, mapping: SqlMapping, row_number: int) -> str:
    return con.execute(f"select {mapping.raw.locator} from {RAW} r where r.row_number = ?", [row_number]).fetchone()[0]


__all__ = ["FORMATS", "NotColumnar", "Staged", "drop_staged", "stage"]
