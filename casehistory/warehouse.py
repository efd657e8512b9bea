"""DuckDB connections with explicit resource limits, and the atomic publish of the analyst file.

The pipeline writes only to the restricted store. Analysts read the published warehouse, which is
built as a new file beside the old one and swapped in with os.replace: a reader holding the old
file keeps a consistent snapshot, and no reader can ever block the nightly writer.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from casehistory.settings import Settings

# Schemas copied into the analyst warehouse. Everything else (ledger, quarantine with original
# values, identity, staging, restricted) stays in the restricted store.
PUBLISHED_SCHEMAS = ("marts", "board", "audit", "quality", "run", "ref")


def connect(settings: Settings, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    settings.ensure_dirs()
    return duckdb.connect(
        str(settings.store),
        read_only=read_only,
        config={
            "memory_limit": settings.memory_limit,
            "threads": settings.threads,
            "temp_directory": str(settings.temp_dir),
            "preserve_insertion_order": False,
        },
    )


@contextmanager
def store(settings: Settings, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(settings, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def publish(settings: Settings) -> list[str]:
    """Copy the analyst-facing schemas into a new file and swap it in. Returns the tables copied."""
    target = settings.warehouse
    staging_file = target.with_name(f".{target.name}.{os.getpid()}.building")
    staging_file.unlink(missing_ok=True)
    copied: list[str] = []
    with store(settings) as con:
        con.execute(f"attach '{_sql_path(staging_file)}' as published")
        tables = con.execute(
            """
            select table_schema, table_name, table_type from information_schema.tables
            where table_catalog = current_database() and table_schema in ?
            order by 1, 2
            """,
            [list(PUBLISHED_SCHEMAS)],
        ).fetchall()
        for schema, name, _ in tables:
            con.execute(f'create schema if not exists published."{schema}"')
            con.execute(f'create table published."{schema}"."{name}" as select * from "{schema}"."{name}"')
            copied.append(f"{schema}.{name}")
        con.execute("detach published")
    os.replace(staging_file, target)
    return copied


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
