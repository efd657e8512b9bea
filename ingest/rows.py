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
    """What is left of a file once its events have been handed over in batches (parse_file's on_events)."""
    persons: list[dict]
    quarantine: list[dict]
    rows_read: int
    rows_quarantined: int
    ignored: dict[str, int] = field(default_factory=dict)  # tables of the file the source ignores: rows


class RowOutcomes:
    """What a file's rows come to, a row at a time: a quarantined row's problems (each with the
    row's original values), or an accepted row's events and person. The row path takes every row
    here; the columnar path (ingest/columnar) only the rows SQL does not map."""

    def __init__(self, spec: SourceSpec, provenance: dict):
        self.spec = spec
        self.provenance = provenance
        self.quarantine: list[dict] = []
        self.bad_rows: set[tuple[str, int]] = set()

    def quarantined(self, table_name: str, row_number: int, locator: str, agency: str | None, column: str | None,
                    value: str | None, reason: str, message: str, original: str | None) -> None:
        self.bad_rows.add((table_name, row_number))
        self.quarantine.append({**self.provenance, "agency": agency, "row_number": row_number, "locator": locator,
                                "column_name": column, "value": value, "reason": reason, "message": message,
                                "original": original})

    def unreadable(self, table_name: str, row: BadRow) -> None:
        self.quarantined(table_name, row.row_number, row.locator, self.spec.fixed_agency, None, row.raw[:1000] or None,
                         row.reason, row.detail, None)

    def accepted(self, table_name: str, mapper: Mapper, row: RawRow) -> tuple[MappedRow, str] | None:
        """The row mapped, with its original values as JSON; None when it is quarantined."""
        fault = value_fault(row.values)
        if fault is not None:
            self.quarantined(table_name, row.row_number, row.locator, self.spec.fixed_agency, fault[0], None,
                             "unreadable_row", fault[1], None)  # the value is kept in the archived file, not copied
            return None
        mapped = mapper.map(row)
        original = original_json(row.values)
        if mapped.problems:
            for p in mapped.problems:
                self.quarantined(table_name, row.row_number, row.locator, mapped.agency, p.column, p.value, p.reason,
                                 p.message, original)
            return None
        return mapped, original

    def duplicate(self, table_name: str, row_number: int, locator: str, agency: str | None, original: str,
                  record_id: str, first_at: str) -> None:
        self.quarantined(table_name, row_number, locator, agency, None, record_id, "duplicate_record",
                         f"record_id {record_id!r} already appears at {first_at} of this file", original)

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
    """The row each (agency, record id) of a file first appeared on: a later row repeating one is a
    duplicate_record and is quarantined whole, its record ids never counted as seen."""

    def __init__(self):
        self.first_row_of: dict[tuple, str] = {}

    def repeated(self, keys: list[tuple]) -> tuple | None:
        return next((k for k in keys if k in self.first_row_of), None)

    def add(self, keys: list[tuple], locator: str) -> None:
        for k in keys:
            self.first_row_of[k] = locator


def provenance_of(spec: SourceSpec, path: Path, file_row: dict) -> dict:
    return {"source": spec.source, "file_name": path.name, "file_checksum": file_row["checksum"],
            "load_id": file_row["load_id"], "received_at": file_row["received_at"]}
