"""Annex A workbooks (the Ofsted inspection lists): one table per sheet, "List 3" -> list_3.

Sheets that are not lists (a cover, guidance) become tables named after their title, so the
source's YAML must map or ignore them; an empty sheet holds nothing and is skipped. The header is
the first row with at least two cells (some authorities put a title row above it).

Values arrive with the template's drop-down prefixes: "a) Male", "q) 6: Police", "k) APKN". The
prefix is stripped here, in the reader, not in each field's codes: the letter is only the item's
position in the template's drop-down list (it differs between template versions and is missing
when someone types the value, as "Female" in the sample's List 1), so it carries no meaning; left
in, every code list would need each value with and without every letter, and the sex of "a) Male"
would silently read as unknown. What follows the prefix ("6: Police", "C2: FCO") is the national
code with its label; the YAML reads the code with a field `pattern`. The archived copy of the file
keeps the cells exactly as sent.
"""

from __future__ import annotations

import re
from pathlib import Path
from ingest.readers.base import FileRejected, Table, clean_value
from ingest.readers.tabular import open_workbook, sheet_table
from ingest.registry import SourceSpec

_LIST_SHEET = re.compile(r"^\s*list\s*(\d{1,2})\b", re.IGNORECASE)
_DROPDOWN_PREFIX = re.compile(r"^[a-z]{1,2}\)(\s+|$)")
_HEADER_SEARCH_ROWS = 10


def table_name(sheet_title: str) -> str:
    found = _LIST_SHEET.match(sheet_title)
    if found:
        return f"list_{int(found.group(1))}"
    return re.sub(r"[^a-z0-9]+", "_", sheet_title.casefold()).strip("_") or "sheet"


def without_prefix(value):
    value = clean_value(value)
    if isinstance(value, str):
        value = _DROPDOWN_PREFIX.sub("", value, count=1).strip() or None
    return value


def _header_row(ws) -> int | None:
    """The first row with at least two cells (some authorities put a title row above the header)."""
    for number, cells in enumerate(ws.iter_rows(max_row=_HEADER_SEARCH_ROWS), start=1):
        if sum(1 for c in cells if clean_value(c) is not None) >= 2:
            return number
    return None


def read_annex_a(path: Path, spec: SourceSpec) -> list[Table]:
    wb = open_workbook(path)
    tables = []
    for ws in wb.worksheets:
        header_row = _header_row(ws)
        if header_row is None:
            continue  # an empty sheet: nothing to load or to lose
        tables.append(sheet_table(ws, header_row, clean=without_prefix, name=table_name(ws.title)))
    if not tables:
        raise FileRejected("empty", "no sheet of the workbook has a header row")
    return tables


def sniff_annex_a(path: Path) -> bool:
    """An XLSX workbook with sheets named "List 1", "List 2", ..."""
    if path.suffix.casefold() != ".xlsx":
        return False
    try:
        wb = open_workbook(path)
    except FileRejected:
        return False
    return any(_LIST_SHEET.match(ws.title) for ws in wb.worksheets)
