"""Every board table of the published warehouse, exported each run to `<stem>.reports/board/`:

    board.xlsx            one sheet per table, and a `definitions` sheet (table and column descriptions)
    csv/<table>.csv       one CSV per table
    parquet/<table>.parquet

The tables are already aggregated and suppressed by dbt (dbt/models/board); a suppressed count is
an empty cell. Text that a spreadsheet would run as a formula (starting with = + - @, a tab or a
carriage return) is neutralised with a leading apostrophe in every format, so opening an export
can never execute anything an agency's data put there.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.styles import Font

from casehistory import warehouse
from casehistory.settings import Settings

BOARD_SCHEMA = "board"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
DEFINITIONS_SHEET = "definitions"


def neutralise(value):
    """A text value a spreadsheet would treat as a formula, prefixed so it stays text."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


@dataclass
class BoardTable:
    name: str
    description: str
    columns: list[str]
    column_descriptions: dict[str, str]
    rows: list[tuple] = field(default_factory=list)
    arrow: pa.Table | None = None


@dataclass
class ExportResult:
    folder: Path
    tables: list[str]
    files: list[Path]


def read_board_tables(con: duckdb.DuckDBPyConnection) -> list[BoardTable]:
    """The board schema's tables with their definitions (dbt descriptions, persisted as comments)."""
    tables = []
    for name, comment in con.execute(
            "select table_name, comment from duckdb_tables() where schema_name = ? order by table_name",
            [BOARD_SCHEMA]).fetchall():
        described = con.execute(
            "select column_name, comment from duckdb_columns() where schema_name = ? and table_name = ? "
            "order by column_index", [BOARD_SCHEMA, name]).fetchall()
        result = con.execute(f'select * from {BOARD_SCHEMA}."{name}" order by all')
        arrow = result.arrow()
        arrow = arrow.read_all() if hasattr(arrow, "read_all") else arrow
        tables.append(BoardTable(
            name=name, description=(comment or "").strip(), columns=[c for c, _ in described],
            column_descriptions={c: (d or "").strip() for c, d in described},
            rows=[tuple(r.values()) for r in arrow.to_pylist()], arrow=arrow))
    return tables


def _neutralised_arrow(table: pa.Table) -> pa.Table:
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = pa.array([neutralise(v) for v in column.to_pylist()], type=column.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def published_board_tables(settings: Settings) -> list[BoardTable]:
    with warehouse.published(settings) as con:
        return read_board_tables(con)


def export(settings: Settings, tables: list[BoardTable]) -> ExportResult:
    """Write every board table of the published warehouse as XLSX, CSV and Parquet."""
    folder = settings.reports_dir / "board"
    (folder / "csv").mkdir(parents=True, exist_ok=True)
    (folder / "parquet").mkdir(parents=True, exist_ok=True)
    files = [write_xlsx(tables, folder / "board.xlsx")]
    for table in tables:
        files.append(write_csv(table, folder / "csv" / f"{table.name}.csv"))
        path = folder / "parquet" / f"{table.name}.parquet"
        pq.write_table(_neutralised_arrow(table.arrow), path)
        files.append(path)
    return ExportResult(folder, [t.name for t in tables], files)


def write_csv(table: BoardTable, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(table.columns)
        writer.writerows([neutralise(v) for v in row] for row in table.rows)
    return path


def write_xlsx(tables: list[BoardTable], path: Path) -> Path:
    book = Workbook()
    definitions = book.active
    definitions.title = DEFINITIONS_SHEET
    definitions.append(["table", "column", "definition"])
    for table in tables:
        definitions.append([table.name, "", neutralise(table.description)])
        for column in table.columns:
            definitions.append([table.name, column, neutralise(table.column_descriptions.get(column, ""))])
        sheet = book.create_sheet(_sheet_name(table.name))
        sheet.append(table.columns)
        for row in table.rows:
            sheet.append([neutralise(v) for v in row])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    for cell in definitions[1]:
        cell.font = Font(bold=True)
    book.save(path)
    return path


def _sheet_name(table: str) -> str:
    """Excel caps sheet names at 31 characters; the board_ prefix is the same on every sheet."""
    return table.removeprefix("board_")[:31]
