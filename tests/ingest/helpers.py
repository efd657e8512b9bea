"""Small helpers for ingest tests: a fresh ledger and a one-call loader."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb

from casehistory.settings import SOURCES_DIR
from ingest.detect import discover
from ingest.load import SourceLoad, load_source
from ingest.registry import SourceSpec, load_registry


def registry():
    return load_registry(SOURCES_DIR)


def load_folder(con: duckdb.DuckDBPyConnection, folder: Path, run_id: str, run_date: date,
                archive: Path) -> dict[str, SourceLoad]:
    found = discover(folder, registry())
    return {spec.source: load_source(con, spec, found.by_source[spec.source], run_id=run_id, run_date=run_date,
                                     archive_dir=archive) for spec in registry()}


def load_files(con: duckdb.DuckDBPyConnection, spec: SourceSpec, files: list[Path], run_date: date,
               archive: Path, run_id: str = "run1") -> SourceLoad:
    return load_source(con, spec, files, run_id=run_id, run_date=run_date, archive_dir=archive)


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f"select count(*) from ledger.{t}").fetchone()[0]
            for t in ("event_records", "person_records", "quarantine", "files")}


def write_csv_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """A small CSV for a test: a header and rows, as given."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path
