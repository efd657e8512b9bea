"""SSDA903 (children looked after return) CSVs: each file is one table, known by its header.

Local authorities name these files as they like (header.csv, 903_episodes_2024.csv, ...), so the
table is recognised from its columns, never from the name. A header that fits no table, or more
than one, rejects the file as wrong_columns, naming the columns it has.
"""

from __future__ import annotations

from pathlib import Path

from ingest.readers.base import FileRejected, Table
from ingest.readers.tabular import csv_table
from ingest.readers.text import any_header
from ingest.registry import SourceSpec

# table -> the columns that identify it (a file may have more, e.g. a later year's additions)
TABLES: dict[str, frozenset[str]] = {
    "header": frozenset({"CHILD", "SEX", "DOB", "ETHNIC", "UPN"}),
    "episodes": frozenset({"CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE"}),
    "reviews": frozenset({"CHILD", "REVIEW", "REVIEW_CODE"}),
    "missing": frozenset({"CHILD", "MISSING", "MIS_START"}),
    "uasc": frozenset({"CHILD", "SEX", "DOB", "DUC"}),
    # the rest of the return: recognised so a full 903 drop sorts itself; a source maps or ignores them
    "oc2": frozenset({"CHILD", "DOB", "SDQ_SCORE", "CONVICTED", "HEALTH_CHECK"}),
    "oc3": frozenset({"CHILD", "DOB", "IN_TOUCH", "ACTIV", "ACCOM"}),
    "ad1": frozenset({"CHILD", "DOB", "DATE_INT", "DATE_MATCH", "FOSTER_CARE"}),
    "placed_for_adoption": frozenset({"CHILD", "DOB", "DATE_PLACED", "DATE_PLACED_CEASED"}),
    "prev_perm": frozenset({"CHILD", "DOB", "PREV_PERM", "LA_PERM", "DATE_PERM"}),
    "social_worker": frozenset({"CHILD", "SW_ID", "SW_DECOM"}),
}


def table_of(columns: list[str]) -> str | None:
    """The one table whose identifying columns the header has (the most specific if several)."""
    have = {c.strip().upper() for c in columns}
    fits = [name for name, needed in TABLES.items() if needed <= have]
    if len(fits) > 1:  # e.g. header and uasc share CHILD, SEX, DOB: the larger signature wins if it fits
        fits.sort(key=lambda name: len(TABLES[name]), reverse=True)
        if len(TABLES[fits[0]]) == len(TABLES[fits[1]]):
            return None
    return fits[0] if fits else None


def read_ssda903(path: Path, spec: SourceSpec) -> list[Table]:
    table = csv_table(path, spec)
    name = table_of(table.columns)
    if name is None:
        raise FileRejected(
            "wrong_columns",
            "the header is not an SSDA903 table: it has " + ", ".join(repr(c) for c in table.columns[:40])
            + "; an SSDA903 file has the columns of one of "
            + "; ".join(f"{t} ({', '.join(sorted(cols))})" for t, cols in TABLES.items()),
        )
    return [Table(table.columns, table.rows, name=name, where=f"SSDA903 table {name!r}")]


def columns_found(columns: list[str]) -> int:
    """The most identifying columns of one table the header holds (choosing its delimiter)."""
    have = {c.strip().upper() for c in columns}
    return max(len(needed & have) for needed in TABLES.values())


def sniff_ssda903(path: Path) -> bool:
    if path.suffix.casefold() != ".csv":
        return False
    return any_header(path, lambda columns: table_of(columns) is not None)
