"""School census CSVs (one file per census table, as COLLECT and the LIIA pipeline export them).

A table is known by its own id column: the file holding `<x>tableid` and `<x>orderseqcolumn` is
table x (pupilonroll, termlysessiondetailsonroll, ...). Rows of the child tables name their pupil
by pupilonrolltableid.

Termly session details carry no date at all: the census they came in gives it. The census
collects absence one term in arrears (DfE pupil absence methodology): the spring census holds the
autumn term (to 31 December), the summer census the spring term (to Easter Sunday), the autumn
census the first half of the summer term (to the Sunday before the spring bank holiday). The census
year and term are read from the file name (2024_autumn_termlysessiondetailsonroll.csv, the LIIA
naming); the reader adds them, and the last day of the term the absence covers, as columns, so
the date is visible in every row's original values.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

from dateutil.easter import easter

from ingest.readers.base import BadRow, FileRejected, RawRow, Table
from ingest.readers.tabular import csv_table
from ingest.readers.text import any_header
from ingest.registry import SourceSpec

# census table (as exported) -> table name in the source's YAML
TABLE_NAMES = {
    "pupilonroll": "pupil_on_roll",
    "termlysessiondetailsonroll": "session_details",
    "termlyexclusionsonroll": "exclusions",
}
# tables whose rows are dated by the census term (see the module docstring)
TERM_DATED = {"termlysessiondetailsonroll"}
TERM_COLUMNS = ["census_term", "attendance_term", "attendance_term_end"]
_CENSUS_IN_NAME = re.compile(r"(?<!\d)(\d{4})[ _\-]*(autumn|spring|summer)", re.IGNORECASE)


def census_table(columns: list[str]) -> str | None:
    """x when the header has x + 'tableid' and x + 'orderseqcolumn' (x's own id and row order)."""
    folded = {c.strip().casefold() for c in columns}
    if not {"nativeid", "sourceid"} <= folded:
        return None
    for col in sorted(folded):
        if col.endswith("orderseqcolumn"):
            stem = col.removesuffix("orderseqcolumn")
            if stem and f"{stem}tableid" in folded:
                return stem
    return None


def attendance_term(census_year: int, census_term: str) -> tuple[str, date]:
    """The term whose absence a census holds, and that term's last day."""
    term = census_term.casefold()
    if term == "spring":
        return f"{census_year - 1} autumn", date(census_year - 1, 12, 31)
    if term == "summer":
        return f"{census_year} spring", easter(census_year)
    # autumn: the first half of the summer term, which ends the Sunday before the spring bank
    # holiday (the last Monday in May)
    last_monday = date(census_year, 5, 31)
    while last_monday.weekday() != 0:
        last_monday -= timedelta(days=1)
    return f"{census_year} summer (first half)", last_monday - timedelta(days=1)


def _term_columns(path: Path) -> dict:
    found = _CENSUS_IN_NAME.search(path.name)
    if found is None:
        raise FileRejected(
            "wrong_structure",
            "termly session details carry no dates, so the census they came in dates them: name the file with "
            "the census year and term, e.g. 2024_autumn_termlysessiondetailsonroll.csv")
    year, term = int(found.group(1)), found.group(2).lower()
    covered, term_end = attendance_term(year, term)
    return {"census_term": f"{year} {term}", "attendance_term": covered, "attendance_term_end": term_end}


def _with(rows, extra: dict) -> Iterator[RawRow | BadRow]:
    for row in rows:
        yield row if isinstance(row, BadRow) else RawRow(row.row_number, row.locator, {**row.values, **extra})


def read_school_census(path: Path, spec: SourceSpec) -> list[Table]:
    table = csv_table(path, spec)
    stem = census_table(table.columns)
    if stem is None:
        raise FileRejected("wrong_columns", "the header is not a school census table (no '<table>tableid' with its "
                                            "'<table>orderseqcolumn', NativeId and sourceid); it has "
                                            + ", ".join(repr(c) for c in table.columns[:40]))
    name = TABLE_NAMES.get(stem, stem)
    where = f"school census table {stem!r}"
    if stem in TERM_DATED:
        extra = _term_columns(path)
        return [Table(table.columns + TERM_COLUMNS, _with(table.rows, extra), name=name, where=where)]
    return [Table(table.columns, table.rows, name=name, where=where)]


def columns_found(columns: list[str]) -> int:
    """NativeId, sourceid and a table's own id and row order columns, as many as the header holds
    (choosing its delimiter)."""
    folded = {c.strip().casefold() for c in columns}
    return len(folded & {"nativeid", "sourceid"}) + sum(c.endswith(("tableid", "orderseqcolumn")) for c in folded)


def sniff_school_census(path: Path) -> bool:
    if path.suffix.casefold() != ".csv":
        return False
    return any_header(path, lambda columns: census_table(columns) is not None)
