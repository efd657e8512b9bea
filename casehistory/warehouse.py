"""DuckDB connections with explicit resource limits, and the atomic publish of the analyst file.

The pipeline writes only to the restricted store. Analysts read the published warehouse, which is
built as a new file beside the old one and swapped in with os.replace: a reader holding the old
file keeps a consistent snapshot, and no reader can ever block the nightly writer. After an
incremental build the new file starts as a copy of the old one, and the large tables the build
changed a few persons' rows of are patched rather than copied (publish).
"""

from __future__ import annotations

import logging
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa

from casehistory import encryption
from casehistory.crashpoint import pause_here
from casehistory.settings import Settings

log = logging.getLogger(__name__)

# Schemas copied into the analyst warehouse. Everything else (ledger, quarantine with original
# values, identity, staging, restricted) stays in the restricted store.
PUBLISHED_SCHEMAS = ("marts", "board", "audit", "quality", "run", "ref")
# in the published file only: the build of the store its tables were published from (publish)
PUBLISHED_BUILD = "run.published_build"


def duckdb_config(settings: Settings) -> dict:
    """Every DuckDB connection the pipeline opens: bounded memory and threads, spilling to the
    restricted temp folder."""
    return {
        "memory_limit": settings.memory_limit,
        "threads": settings.threads,
        "temp_directory": str(settings.temp_dir),
        "preserve_insertion_order": False,
        **encryption.connection_config(),  # only when encrypted files are to be written without httpfs
    }


def open_duckdb(path: str, settings: Settings, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    settings.ensure_dirs()
    con = duckdb.connect(path, read_only=read_only, config=duckdb_config(settings))
    con.execute("set enable_progress_bar = false")  # it would flood the Airflow task logs
    return con


def _connect_file(path: Path, kind: str, settings: Settings, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    secret = encryption.key(kind)
    if secret is None:
        return open_duckdb(str(path), settings, read_only=read_only)
    # encrypted: the file is attached under the name it would have had, so SQL is the same
    settings.ensure_dirs()
    con = duckdb.connect(":memory:", config=duckdb_config(settings))
    con.execute("set enable_progress_bar = false")
    encryption.attach(con, path, path.stem, secret, read_only=read_only)
    con.execute(f"use {path.stem}")
    return con


def connect(settings: Settings, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The restricted store (encrypted with the STORE key when one is set)."""
    return _connect_file(settings.store, "STORE", settings, read_only=read_only)


@contextmanager
def store(settings: Settings, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(settings, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def published(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """The published analyst warehouse, read-only (encrypted with the WAREHOUSE key when one is set)."""
    con = _connect_file(settings.warehouse, "WAREHOUSE", settings, read_only=True)
    try:
        yield con
    finally:
        con.close()


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], rows: list) -> None:
    """Bulk insert through Arrow: rows are tuples in `columns` order, or dicts keyed by column.
    (executemany is one statement per row: slow, and at 100k rows in one transaction it runs out
    of memory.)"""
    if not rows:
        return
    if isinstance(rows[0], dict):
        data = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows])
    else:  # a column at a time: no dict per row (a million rows of links or history in a second, not five)
        data = pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})
    con.register("_rows", data)
    try:
        con.execute(f"insert into {table} ({', '.join(columns)}) select {', '.join(columns)} from _rows")
    finally:
        con.unregister("_rows")


@dataclass(frozen=True)
class Patch:
    """The rows of a store table that changed since the last publish, as a predicate over its
    columns (casehistory/incremental.py: what the last build's delete and insert rewrote)."""
    table: str  # schema.name
    rows: str


def publish(settings: Settings, patches: list[Patch] | None = None, *, build: str | None = None,
            based_on: str | None = None) -> dict[str, str]:
    """Build the analyst-facing schemas into a new file and swap it in. Returns how each table got
    there: "copied" whole, or "patched": with `patches`, the new file starts as a copy of the one
    published, and a patched table has only the rows its predicate names deleted and inserted again
    from the store. A patched table is then compared with the store; one that differs is copied
    whole instead, so the result is the same either way. The comparison is of the row count and a
    hash of every row, or of the row count alone when the file published says it holds the build
    `based_on`, the one the patches lead from (a rollback, a night not published: it does not).
    The new file says it holds `build` (run.published_build), when that is known."""
    target = settings.warehouse
    # a run killed while publishing leaves its half-built file: never published, removed here
    for leftover in target.parent.glob(f".{target.name}.*.building*"):  # and its .wal
        leftover.unlink()
    staging_file = target.with_name(f".{target.name}.{os.getpid()}.building")
    by_table = {p.table: p for p in patches or []}
    if by_table and target.exists():
        shutil.copyfile(target, staging_file)  # a reader holding the published file is unaffected
    how: dict[str, str] = {}
    with store(settings) as con:
        _attach_published(con, staging_file)
        holds_base = based_on is not None and _published_build(con) == based_on
        tables = _columns_by_table(con, con.execute("select current_database()").fetchone()[0])
        kept = _columns_by_table(con, "published")
        for gone in sorted(set(kept) - set(tables) - {PUBLISHED_BUILD}):
            con.execute(f"drop table published.{_quoted(gone)}")
        for table, columns in tables.items():
            if table in by_table and kept.get(table) == columns:
                _patch(con, table, by_table[table].rows)
                if _same_rows(con, table, every_row=not holds_base):
                    how[table] = "patched"
                    continue
                log.warning("published %s differs from the store after patching: copied whole", table)
            schema, name = table.split(".")
            con.execute(f'create schema if not exists published."{schema}"')
            con.execute(f"create or replace table published.{_quoted(table)} as select * from {_quoted(table)}")
            how[table] = "copied"
            pause_here("publish")
        _copy_comments(con, list(PUBLISHED_SCHEMAS))
        _say_published_build(con, build)
        con.execute("detach published")
    keep_version(settings)
    _fsync(staging_file)  # on disk before it is swapped in, so a power cut cannot publish a torn file
    os.replace(staging_file, target)
    _fsync(target.parent)
    return how


def _attach_published(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    secret = encryption.key("WAREHOUSE")
    try:
        if secret is None:
            con.execute(f"attach '{_sql_path(path)}' as published")
        else:
            encryption.attach(con, path, "published", secret)
    except duckdb.Error:
        if not path.exists() or path.stat().st_size == 0:
            raise
        # the copy of yesterday's file cannot be opened (written under another key, say): start empty
        log.warning("the published warehouse could not be reopened to patch: building it whole", exc_info=True)
        path.unlink()
        _attach_published(con, path)


def _columns_by_table(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[tuple[str, str]]]:
    """{schema.table: [(column, type), ...]} of the catalog's tables in the published schemas."""
    columns: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, data_type in con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_catalog = ? and table_schema in ? order by table_schema, table_name, ordinal_position",
            [catalog, list(PUBLISHED_SCHEMAS)]).fetchall():
        columns.setdefault(f"{schema}.{table}", []).append((column, data_type))
    return columns


def _patch(con: duckdb.DuckDBPyConnection, table: str, rows: str) -> None:
    con.execute("begin transaction")
    con.execute(f"delete from published.{_quoted(table)} where {rows}")
    con.execute(f"insert into published.{_quoted(table)} select * from {_quoted(table)} where {rows}")
    con.execute("commit")


def _same_rows(con: duckdb.DuckDBPyConnection, table: str, *, every_row: bool = True) -> bool:
    """The same rows in both, as a multiset: their count and the sum of a hash of each row (or their
    count alone)."""
    fingerprint = "select count(*), sum(hash(t)) from {} as t" if every_row else "select count(*) from {}"
    return (con.execute(fingerprint.format(_quoted(table))).fetchone()
            == con.execute(fingerprint.format("published." + _quoted(table))).fetchone())


def _published_build(con: duckdb.DuckDBPyConnection) -> str | None:
    """The build the attached published file says it holds."""
    schema, table = PUBLISHED_BUILD.split(".")
    if not con.execute("select count(*) from information_schema.tables where table_catalog = 'published' "
                       "and table_schema = ? and table_name = ?", [schema, table]).fetchone()[0]:
        return None
    row = con.execute(f"select build_id from published.{_quoted(PUBLISHED_BUILD)}").fetchone()
    return row[0] if row else None


def _say_published_build(con: duckdb.DuckDBPyConnection, build: str | None) -> None:
    con.execute(f"drop table if exists published.{_quoted(PUBLISHED_BUILD)}")
    if build is not None:  # unknown: say nothing, so no later patch takes this file for a build's
        con.execute("create schema if not exists published.run")
        con.execute(f"create table published.{_quoted(PUBLISHED_BUILD)} as "
                    "select ?::varchar as build_id, ?::timestamp as published_at",
                    [build, datetime.now().replace(microsecond=0)])
        con.execute(f"comment on table published.{_quoted(PUBLISHED_BUILD)} is 'The build of the restricted store "
                    "this file was published from (casehistory/incremental.py: incremental.last_build).'")


def _quoted(table: str) -> str:
    return ".".join(f'"{part}"' for part in table.split("."))


def keep_version(settings: Settings, *, label: str = "") -> Path | None:
    """Keep the currently published file in <stem>.versions/ (a hard link: no copy, and a reader
    holding it open is unaffected), then prune to the newest settings.keep_versions."""
    current = settings.warehouse
    if not current.exists():
        return None
    settings.versions_dir.mkdir(parents=True, exist_ok=True)
    kept = settings.versions_dir / f"{datetime.now():%Y%m%dT%H%M%S%f}{label}.duckdb"
    try:
        os.link(current, kept)
    except OSError:  # another file system, or links not allowed: copy
        shutil.copy2(current, kept)
    for old in versions(settings)[settings.keep_versions:]:
        old.unlink()
    return kept


def versions(settings: Settings) -> list[Path]:
    """Kept versions, newest first."""
    if not settings.versions_dir.is_dir():
        return []
    return sorted(settings.versions_dir.glob("*.duckdb"), reverse=True)


ROLLED_BACK = "-rolled-back"


def rollback(settings: Settings, version: str | None = None) -> Path:
    """Publish a kept version again (default: the newest not itself rolled back from). The file being
    replaced is kept too, marked rolled-back, so a rollback can be undone the same way."""
    candidates = versions(settings)
    if version:
        chosen = next((v for v in candidates if v.name in (version, f"{version}.duckdb")), None)
        if chosen is None:
            raise FileNotFoundError(f"no version {version!r} in {settings.versions_dir}; kept: "
                                    + (", ".join(v.name for v in candidates) or "none"))
    else:
        chosen = next((v for v in candidates if ROLLED_BACK not in v.stem), None)
        if chosen is None:
            raise FileNotFoundError(f"no earlier version kept in {settings.versions_dir}")
    staging_file = settings.warehouse.with_name(f".{settings.warehouse.name}.{os.getpid()}.rollback")
    shutil.copy2(chosen, staging_file)  # the kept version stays as it is
    keep_version(settings, label=ROLLED_BACK)
    _fsync(staging_file)
    os.replace(staging_file, settings.warehouse)
    _fsync(settings.warehouse.parent)
    return chosen


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_comments(con: duckdb.DuckDBPyConnection, schemas: list[str]) -> None:
    """`create table as` drops comments: carry the dbt descriptions (persist_docs) across, so an
    analyst's `duckdb_tables()` / `duckdb_columns()` explains every table and column."""
    for schema, table, comment in con.execute(
            "select schema_name, table_name, comment from duckdb_tables() where database_name = current_database() "
            "and schema_name in ? and comment is not null", [schemas]).fetchall():
        con.execute(f'comment on table published."{schema}"."{table}" is {_sql_literal(comment)}')
    for schema, table, column, comment in con.execute(
            "select schema_name, table_name, column_name, comment from duckdb_columns() "
            "where database_name = current_database() and schema_name in ? and comment is not null",
            [schemas]).fetchall():
        con.execute(f'comment on column published."{schema}"."{table}"."{column}" is {_sql_literal(comment)}')


def _sql_literal(text: str) -> str:
    return "'" + text.strip().replace("'", "''") + "'"


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
