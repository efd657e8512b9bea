"""What a file's rows come to, a row at a time: shared by the row path (ingest/load.py) and the
rows the columnar path (ingest/columnar) leaves to the Mapper."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingest.mapping import EVENT_FIELDS, PERSON_FIELDS, MappedRow, Mapper, content_hash, original_json
from ingest.readers import BadRow, RawRow
from ingest.readers.base import value_fault
from ingest.registry import SourceSpec


@dataclass
class ParsedFile:
    """What is left of a file once its events have been handed over in batches (parse_file's on_events).

    Every row read is one of: loaded (all it gives is in the ledger), loaded in part (some of its
    events are quarantined, its other events and its person loaded) or quarantined (nothing of it
    loaded). rows_quarantined counts the last; rows_loaded_in_part the second; the loader's
    rows_loaded counts the first two (rows_read = rows_loaded + rows_quarantined)."""
    persons: list[dict]
    quarantine: list[dict]
    rows_read: int
    rows_quarantined: int
    ignored: dict[str, int] = field(default_factory=dict)  # tables of the file the source ignores: rows
    rows_loaded_in_part: int = 0


class RowOutcomes:
    """What a file's rows come to, a row at a time: a quarantined row's or event's problems (each
    with the row's original values), or an accepted row's events and person. The row path takes
    every row here; the columnar path (ingest/columnar) only the rows SQL does not map."""

    def __init__(self, spec: SourceSpec, provenance: dict, attempt: int = 1):
        self.spec = spec
        self.provenance = provenance
        self.attempt = attempt  # 1 on the file's load; more when ingest/quarantine.py maps a row again
        self.quarantine: list[dict] = []
        self._by_row: dict[tuple[str, int], list[dict]] = {}
        self.bad_rows: set[tuple[str, int]] = set()  # quarantined whole
        self.part_rows: set[tuple[str, int]] = set()  # loaded in part (some events quarantined)

    @property
    def rows_loaded_in_part(self) -> int:
        return len(self.part_rows - self.bad_rows)

    def quarantined(self, table_name: str, row_number: int, locator: str, agency: str | None, column: str | None,
                    value: str | None, reason: str, message: str, original: str | None, *,
                    record_id: str | None = None, event_type: str | None = None, whole: bool = True) -> None:
        """A problem of the row (whole) or of one of its events (whole=False: the row loaded in part)."""
        key = (table_name, row_number)
        entry = {**self.provenance, "agency": agency, "table_name": table_name, "row_number": row_number,
                 "locator": locator, "column_name": column, "value": value, "reason": reason, "message": message,
                 "original": original, "record_id": record_id, "event_type": event_type,
                 "row_outcome": "loaded_in_part", "attempt": self.attempt}
        self.quarantine.append(entry)
        self._by_row.setdefault(key, []).append(entry)
        if whole:
            self.whole(table_name, row_number)
        else:
            self.part_rows.add(key)

    def whole(self, table_name: str, row_number: int) -> None:
        """Nothing of the row loads: each of its quarantine entries says so."""
        key = (table_name, row_number)
        self.bad_rows.add(key)
        for entry in self._by_row.get(key, ()):
            entry["row_outcome"] = "quarantined"

    def unreadable(self, table_name: str, row: BadRow) -> None:
        self.quarantined(table_name, row.row_number, row.locator, self.spec.fixed_agency, None, row.raw[:1000] or None,
                         row.reason, row.detail, None)

    def accepted(self, table_name: str, mapper: Mapper, row: RawRow) -> tuple[MappedRow, str] | None:
        """The row mapped (its events that load), with its original values as JSON; None when it is
        quarantined whole."""
        fault = value_fault(row.values)
        if fault is not None:
            self.quarantined(table_name, row.row_number, row.locator, self.spec.fixed_agency, fault[0], None,
                             "unreadable_row", fault[1], None)  # the value is kept in the archived file, not copied
            return None
        mapped = mapper.map(row)
        original = original_json(row.values)
        whole = mapped.quarantined_whole
        for p in mapped.row_problems:
            self.quarantined(table_name, row.row_number, row.locator, mapped.agency, p.column, p.value, p.reason,
                             p.message, original)
        for event in mapped.rejected:
            for p in event.problems:
                self.quarantined(table_name, row.row_number, row.locator, mapped.agency, p.column, p.value, p.reason,
                                 p.message, original, record_id=event.record_id, event_type=event.event_type,
                                 whole=whole)
        return None if whole else (mapped, original)

    def duplicates(self, table_name: str, row_number: int, locator: str, agency: str | None, original: str,
                   repeated: list[tuple[str, str | None, str]], whole: bool) -> None:
        """Events of the row whose record ids an earlier row of the file gave: (record id, event
        type, where it first appears) each. `whole`: they were all the row gave."""
        for record_id, event_type, first_at in repeated:
            self.quarantined(table_name, row_number, locator, agency, None, record_id, "duplicate_record",
                             f"record_id {record_id!r} already appears at {first_at} of this file", original,
                             record_id=record_id, event_type=event_type, whole=whole)
        if whole:
            self.whole(table_name, row_number)

    def events_of(self, mapped: MappedRow, original: str) -> list[dict]:
        """The row's events as the ledger takes them: provenance, where in the file, content hash."""
        where = {"row_number": mapped.row.row_number, "locator": mapped.row.locator}
        for ev in mapped.events:
            ev.update(self.provenance, **where, original=original)
            ev["content_hash"] = content_hash(ev, EVENT_HASHED)
        return mapped.events

    def person_of(self, mapped: MappedRow) -> dict | None:
        """The row's person, without its content hash (person_hash, once the file's last word on it is known)."""
        if mapped.person is None:
            return None
        return {**mapped.person, **self.provenance, "row_number": mapped.row.row_number,
                "locator": mapped.row.locator, "agency": mapped.agency}


EVENT_HASHED = ("subject_ref", "subject_namespace", *EVENT_FIELDS)
PERSON_HASHED = ("subject_namespace", *PERSON_FIELDS)


def person_hash(person: dict) -> str:
    return content_hash(person, PERSON_HASHED)


class FirstSeen:
    """The row each (agency, record id) of a file first loaded on: an event of a later row repeating
    one is a duplicate_record and is quarantined (its row whole when it gave nothing else); the
    record ids of quarantined events are never counted as seen."""

    def __init__(self):
        self.first_row_of: dict[tuple, str] = {}

    def repeated(self, keys: list[tuple]) -> list[tuple]:
        return [k for k in keys if k in self.first_row_of]

    def add(self, keys: list[tuple], locator: str) -> None:
        for k in keys:
            self.first_row_of.setdefault(k, locator)


def provenance_of(spec: SourceSpec, path: Path, file_row: dict) -> dict:
    return {"source": spec.source, "file_name": path.name, "file_checksum": file_row["checksum"],
            "load_id": file_row["load_id"], "received_at": file_row["received_at"]}
