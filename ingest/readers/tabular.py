"""CSV, XLSX, JSON, JSON Lines and the chronology template (CSV or XLSX, known by its header)."""

from __future__ import annotations

import csv
import difflib
import functools
import re
import zipfile
import zlib
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterator

from ingest.readers import json_stream
from ingest.readers.base import (BadRow, FileRejected, RawRow, Table, clean_header, clean_value,
                                 reject_repeated_columns)
from ingest.readers.text import any_header, encoding_error
from ingest.registry import SourceSpec

# The domain's chronology template (../shared/domain.md): its columns, and those it requires.
TEMPLATE_COLUMNS = ("agency", "record_id", "subject_ref", "nhs_number", "upn", "la_child_id", "forename", "surname",
                    "date_of_birth", "sex", "postcode", "family_ref", "person_role", "event_date", "event_time",
                    "event_type", "outcome", "related_agency", "practitioner_role", "summary", "recorded_at",
                    "review_id")
CHRONOLOGY_REQUIRED = ("agency", "record_id", "subject_ref", "event_date", "event_type")
# a chronology template saved as delimited text: CSV, or Excel's "Unicode text" (tab-delimited .txt)
DELIMITED_SUFFIXES = (".csv", ".tsv", ".txt")


# ---- CSV -------------------------------------------------------------------------------------------

def read_csv(path: Path, spec: SourceSpec) -> list[Table]:
    return [csv_table(path, spec)]


def csv_table(path: Path, spec: SourceSpec, header: Callable[[list[str]], list[str]] | None = None) -> Table:
    """The file's header, and its rows as a stream (the file is never in memory whole). header:
    the column names a format gives the file's (it may reject the file: see template_header)."""
    handle, reader, columns = _open_csv(path, spec, header)
    return Table(columns, _csv_rows(reader, columns, handle, path, spec.encoding))


def csv_header(path: Path, spec: SourceSpec) -> tuple[list[str], int]:
    """The file's columns as csv_table reads them (a bad header rejected the same way), and the
    number of lines the header takes."""
    handle, reader, columns = _open_csv(path, spec)
    handle.close()
    return columns, reader.line_num


def _open_csv(path: Path, spec: SourceSpec, names: Callable[[list[str]], list[str]] | None = None):
    handle = path.open(encoding=spec.encoding, newline="")
    try:
        reader = csv.reader(handle, delimiter=spec.delimiter, quotechar=spec.quotechar)
        try:
            header = next(reader)
        except StopIteration:
            raise FileRejected("empty", "the file has no header row") from None
        except csv.Error as exc:
            raise FileRejected("unreadable", f"the header row is not valid CSV: {exc}") from None
        except UnicodeDecodeError:
            raise encoding_error(path, spec.encoding) from None
        columns = [clean_header(h) for h in header]
        if not any(columns):
            raise FileRejected("empty", "the header row is blank")
        reject_other_delimiter(header, spec.delimiter)
        if names is not None:
            columns = names(columns)
        reject_repeated_columns(columns)
    except BaseException:
        handle.close()
        raise
    return handle, reader, columns


def reject_other_delimiter(header: list[str], delimiter: str) -> None:
    """A header read as one column that another delimiter would split: say so, rather than list
    every column as missing. (Only a delimiter the source's YAML sets can be wrong: one found from
    the header splits it as well as any.)"""
    if len(header) != 1:
        return
    for other in (";", "\t", "|", ","):
        if other != delimiter and header[0].count(other) >= 2:
            raise FileRejected("wrong_columns", f"the header is one column holding {other!r}: the file looks "
                                                f"delimited by {other!r}, the source's YAML sets delimiter "
                                                f"{delimiter!r} (without it, each file's delimiter is found from "
                                                "its header)")


def mapped_columns_found(spec: SourceSpec) -> Callable[[list[str]], int]:
    """How many of the columns the source's mapping reads a header holds (choosing its delimiter)."""
    wanted = {c.casefold() for table in spec.table_specs.values() for c in table.columns_used(spec.agency)}
    return lambda columns: len(wanted & {c.casefold() for c in columns})


def _csv_rows(reader, columns: list[str], handle, path: Path, encoding: str) -> Iterator[RawRow | BadRow]:
    with handle:
        n = 0
        start = reader.line_num + 1
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:  # the whole file is rejected; what it had appended is rolled back
                raise encoding_error(path, encoding) from None
            except csv.Error as exc:
                n += 1
                yield BadRow(n, f"line {start}", "unreadable_row", f"not valid CSV: {exc}", "")
                start = reader.line_num + 1
                continue
            line = start
            start = reader.line_num + 1
            if not record or all(not c.strip() for c in record):
                continue  # a blank line holds nothing to keep
            n += 1
            if len(record) != len(columns):
                yield BadRow(n, f"line {line}", "unreadable_row",
                             f"{len(record)} fields where the header has {len(columns)}", ",".join(record))
                continue
            # clean_value for text, inlined: the csv module gives only strings, a row at a time by the million
            yield RawRow(n, f"line {line}", {c: v.strip() or None for c, v in zip(columns, record)})


# ---- XLSX ------------------------------------------------------------------------------------------

def open_workbook(path: Path) -> "Workbook":
    return Workbook(path)


class Workbook:
    """A workbook's cells as the agency saw them (a formula's last computed value) and, where a
    formula was never computed (a file written by a program, never opened in Excel), the formula's
    own text: kept as data, never evaluated, never silently read as an empty cell.

    Values are read by python-calamine (Rust, many times openpyxl's rate), which reads a few cells
    otherwise: a never-computed formula as empty (it has no access to formula text), an error such
    as #N/A as empty, an integer of more than 15 digits as a float that loses its last digits. So
    each sheet's XML is first scanned for such a cell (calamine_misreads: a byte search, nothing
    parsed); a sheet with one is read by openpyxl's own cell parser instead (OpenpyxlSheetReader),
    as every sheet was before. Opening reads only the workbook's sheet list, with openpyxl's
    reader; tests/ingest/test_xlsx_reader.py compares both paths with openpyxl's full loader."""

    def __init__(self, path: Path):
        from openpyxl.reader.excel import ExcelReader

        self.path = path
        try:
            reader = ExcelReader(path, read_only=True)
            reader.read_manifest()
            reader.read_workbook()
            parts = [(sheet.name, rel.target) for sheet, rel in reader.parser.find_sheets()
                     if rel.target in reader.valid_files and "chartsheet" not in rel.Type]
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise FileRejected("unreadable", f"not a readable XLSX workbook: {exc}") from None
        self._reader = reader
        self.worksheets = [Sheet(self, title, part) for title, part in parts]

    def _open(self, part: str):
        return self._reader.archive.open(part)

    @functools.cached_property  # opened when a sheet's cells are first read, not to list the sheets
    def _calamine(self):
        from python_calamine import CalamineError, CalamineWorkbook

        try:
            return CalamineWorkbook.from_path(self.path)
        except CalamineError as exc:
            raise FileRejected("unreadable", f"not a readable XLSX workbook: {exc}") from None

    @functools.cached_property
    def _openpyxl(self) -> "OpenpyxlSheetReader":
        return OpenpyxlSheetReader(self._reader)


class Sheet:
    def __init__(self, workbook: Workbook, title: str, part: str):
        self.workbook, self.title, self._part = workbook, title, part

    def iter_rows(self, min_row: int = 1, max_row: int | None = None) -> Iterator[tuple]:
        """Rows of cell values from min_row, trailing empty cells dropped and a row without values
        as an empty tuple (so row numbers stay those the agency sees)."""
        rows = self.openpyxl_rows() if self._calamine_misreads else self.calamine_rows()
        return numbered_rows(rows, min_row, max_row)

    def openpyxl_rows(self) -> Iterator[tuple[int, list]]:
        """(row number, values) of each row the file holds, by openpyxl's cell parser."""
        with self.workbook._open(self._part) as source:
            yield from self.workbook._openpyxl.rows(source)

    def calamine_rows(self) -> Iterator[tuple[int, list]]:
        """(row number, values) of each row up to the last with a value, by python-calamine (a
        few cells read otherwise: see Workbook)."""
        sheet = self._calamine_sheet
        if sheet.start is None:
            return  # no cell holds a value
        # calamine gives the rows above the first value (as empty rows), not the columns before it
        before = [None] * sheet.start[1]
        # as openpyxl gives them: an empty cell ("" from calamine) as None, a whole-day date as a datetime
        for number, cells in enumerate(sheet.iter_rows(), start=1):
            values = [(None if c == "" else c) if type(c) is not date else datetime(c.year, c.month, c.day)
                      for c in cells]
            yield number, before + values if before else values

    @functools.cached_property
    def _calamine_misreads(self) -> bool:
        try:
            with self.workbook._open(self._part) as source:
                return calamine_misreads(source)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise FileRejected("unreadable", f"sheet {self.title!r} cannot be read: {exc}") from None

    @functools.cached_property
    def _calamine_sheet(self):
        from python_calamine import CalamineError

        try:
            return self.workbook._calamine.get_sheet_by_name(self.title)
        except CalamineError as exc:
            raise FileRejected("unreadable", f"sheet {self.title!r} cannot be read: {exc}") from None


def numbered_rows(rows: Iterator[tuple[int, list]], min_row: int, max_row: int | None) -> Iterator[tuple]:
    """(row number, values) as the rows from min_row to max_row, an empty tuple for each row the
    file leaves out, trailing empty cells dropped."""
    expected = min_row
    for number, values in rows:
        if max_row is not None and number > max_row:
            return
        if number < min_row:
            continue
        while expected < number:
            yield ()
            expected += 1
        while values and values[-1] is None:
            values.pop()
        yield tuple(values)
        expected += 1


# In a cell, <f> comes before <v>, and text holds no "<" (it is escaped): a byte search suffices.
# Each pattern starts with a literal, which re finds at memchr speed: the scan is a small part of
# reading a sheet (benchmarks/workbook_read.md).
_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"  # any namespace prefix (<x:c> from some writers)
_FORMULA = re.compile(rb"<" + _PREFIX + rb"f[\s/>]")
_CELL_END = re.compile(rb"</" + _PREFIX + rb"c>")
_VALUE_WITH_TEXT = re.compile(rb"<" + _PREFIX + rb"v(?:\s[^>]*)?>[^<]")  # not <v/> nor <v></v>
_ERROR = re.compile(rb"t=[\"']e[\"']")  # a cell's type: error (anywhere else, only a slower read)
_LONG_INTEGER = re.compile(rb"v>-?\d{16}")  # more digits than a float holds exactly
SCAN_CHUNK = 1 << 22
_OVERLAP = 1024  # a tag cut by a chunk's end is found whole in the next


def calamine_misreads(source) -> bool:
    """Whether the sheet XML (a binary stream, read in chunks) has a cell python-calamine reads
    otherwise than openpyxl (see Workbook): a formula without a value, an error value, an integer
    of 16 digits or more. A formula cell left unfinished at the end of the data counts: openpyxl's
    parser then reads the sheet and says what is wrong with it."""
    pending, formulas = b"", False
    while True:
        chunk = source.read(SCAN_CHUNK)
        data = pending + chunk
        end = _sheet_data_end(data)  # after it, <xm:f> is a data validation's list, not a cell
        last = not chunk or end != -1
        if end != -1:
            data = data[:end]
        if _ERROR.search(data) or _LONG_INTEGER.search(data):
            return True
        pending = data[-_OVERLAP:]
        # a formula with text ends "f>"; one without (<f t="shared" si="0"/>) follows one with
        formulas = formulas or b"f>" in data
        for formula in _FORMULA.finditer(data) if formulas else ():
            cell_end = _CELL_END.search(data, formula.end())
            if cell_end is None:
                if last:
                    return True
                pending = data[formula.start():]  # the cell continues in the next chunk
                break
            if not _VALUE_WITH_TEXT.search(data, formula.end(), cell_end.start()):
                return True
        if last:
            return False


def _sheet_data_end(data: bytes) -> int:
    """Where </sheetData> (any prefix) starts, or -1."""
    at = data.find(b"sheetData>")
    while at != -1:
        tag = data.rfind(b"<", 0, at)
        if data[tag + 1:tag + 2] == b"/":
            return tag
        at = data.find(b"sheetData>", at + 1)
    return -1


class OpenpyxlSheetReader:
    """openpyxl's own cell parser (pinned in requirements.lock), for a sheet calamine misreads:
    one pass gives a formula cell's computed value where the file holds one, else the
    formula's text (a shared formula translated to each cell, as openpyxl's full loader gives it)."""

    def __init__(self, reader):
        from openpyxl.styles.stylesheet import apply_stylesheet

        reader.read_strings()
        apply_stylesheet(reader.archive, reader.wb)
        self._reader = reader

    def rows(self, source) -> Iterator[tuple[int, list]]:
        wb = self._reader.wb
        parser = _cell_parser_class()(source, self._reader.shared_strings, epoch=wb.epoch,
                                      date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
        for number, cells in parser.parse():
            values = [None] * max((cell["column"] for cell in cells), default=0)
            for cell in cells:
                values[cell["column"] - 1] = cell["value"]
            yield number, values


@functools.cache  # openpyxl's parser is imported when a sheet first needs it, not with every reader
def _cell_parser_class():
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    class CellParser(WorkSheetParser):
        def parse_cell(self, element):
            formula = element.find(FORMULA_TAG)
            computed = formula is None or bool(element.findtext(VALUE_TAG))
            if formula is not None and computed:
                self.parse_formula(element)  # a shared formula's first cell: the others follow it
            self.data_only = computed
            cell = super().parse_cell(element)
            if not isinstance(cell["value"], (str, int, float, bool, type(None))) and cell["data_type"] == "f":
                cell["value"] = None  # an array or data-table formula: no text a row could hold
            return cell

    return CellParser


def read_xlsx(path: Path, spec: SourceSpec) -> list[Table]:
    wb = open_workbook(path)
    wanted = spec.sheet
    if wanted:
        by_name = {ws.title.casefold(): ws for ws in wb.worksheets}
        ws = by_name.get(wanted.casefold())
        if ws is None:
            raise FileRejected("wrong_structure", f"no sheet named {wanted!r}; the workbook has "
                               + ", ".join(repr(w.title) for w in wb.worksheets))
    else:
        ws = wb.worksheets[0]
    return [sheet_table(ws, spec.header_row)]


def sheet_table(ws, header_row: int, *, clean: Callable[[object], object] = clean_value,
                name: str = "", names: Callable[[list[str]], list[str]] | None = None) -> Table:
    """The sheet's rows under its header row; `clean` turns each cell into the value a row holds;
    `names` gives the column names a format gives the sheet's."""
    rows = ws.iter_rows(min_row=header_row)
    header = next(rows, None)
    if header is None or not any(h is not None for h in header):
        raise FileRejected("empty", f"sheet {ws.title!r} has no header in row {header_row}")
    columns = [clean_header(h) for h in header]
    while columns and not columns[-1]:
        columns.pop()
    if names is not None:
        columns = names(columns)
    reject_repeated_columns(columns, f"sheet {ws.title!r}")
    return Table(columns, _sheet_rows(ws.title, rows, columns, header_row, clean), name=name,
                 where=f"sheet {ws.title!r}")


def _sheet_rows(title: str, rows, columns: list[str], header_row: int, clean) -> Iterator[RawRow]:
    n = 0
    inline_text = clean is clean_value
    for offset, cells in enumerate(rows, start=header_row + 1):
        if inline_text:  # clean_value's first case, without the call: a cell at a time by the million
            values = [(c.strip() or None) if type(c) is str else clean(c) for c in cells[: len(columns)]]
        else:
            values = [clean(c) for c in cells[: len(columns)]]
        if all(v is None for v in values):
            continue
        n += 1
        values += [None] * (len(columns) - len(values))
        yield RawRow(n, f"{title}!{offset}", dict(zip(columns, values)))


# ---- JSON and JSON Lines (streamed: json_stream.py) ------------------------------------------------

def read_json(path: Path, spec: SourceSpec) -> list[Table]:
    return [json_stream.read_json(path, spec.encoding, spec.records_path)]


def read_jsonl(path: Path, spec: SourceSpec) -> list[Table]:
    return [json_stream.read_jsonl(path, spec.encoding)]


# ---- the chronology template ----------------------------------------------------------------------
#
# A header names a template column whatever its case and however its words are joined: 'Event Date',
# 'event-date' and 'EVENT_DATE' are event_date. A header with every required column is the template.
# One that nearly is (at least NEAR_REQUIRED of the required columns, and more template columns than
# other named columns) is recognised as a chronology that cannot be read, and rejected naming what
# differs, so the file is the template source's and the agency can be told (never "unrecognised").

NEAR_REQUIRED = 3
_WORD_JOINS = re.compile(r"[\s_\-]+")
_TEMPLATE = frozenset(TEMPLATE_COLUMNS)


def _joined(column: str) -> str:
    return _WORD_JOINS.sub("_", column.casefold()).strip("_")


def template_name(column: str) -> str | None:
    """The template column a header cell names, or None."""
    name = _joined(column)
    return name if name in _TEMPLATE else None


def template_columns_found(columns: list[str]) -> int:
    return sum(template_name(c) is not None for c in columns)


def _missing_required(columns: list[str]) -> list[str]:
    named = {template_name(c) for c in columns}
    return [c for c in CHRONOLOGY_REQUIRED if c not in named]


def is_template_like(columns: list[str]) -> bool:
    """The template, or nearly it (see above)."""
    named = [c for c in columns if c]
    required = len(CHRONOLOGY_REQUIRED) - len(_missing_required(named))
    return required == len(CHRONOLOGY_REQUIRED) or (
        required >= NEAR_REQUIRED and template_columns_found(named) > len(named) / 2)


def template_header(columns: list[str]) -> list[str]:
    """The header with each template column under its template name; wrong_columns, naming each
    missing required column and a column that looks like it, where one is missing."""
    missing = _missing_required(columns)
    if not missing:
        return [template_name(c) or c for c in columns]
    others = {_joined(c): c for c in columns if c and template_name(c) is None}
    problems = []
    for name in missing:
        alike = difflib.get_close_matches(name, list(others), n=1, cutoff=0.7)
        problems.append(f"required column {name!r} is missing" + (f"; {others[alike[0]]!r} looks like it" if alike else ""))
    raise FileRejected("wrong_columns", "not the chronology template as it stands: " + "; ".join(problems)
                       + f" (the template requires {', '.join(CHRONOLOGY_REQUIRED)}; a name matches whatever "
                         "its case, with spaces, hyphens or underscores between words)")


def _first_row(ws) -> list[str]:
    return [clean_header(c) for c in next(ws.iter_rows(max_row=1), ())]


def sniff_chronology(path: Path) -> bool:
    suffix = path.suffix.casefold()
    if suffix in DELIMITED_SUFFIXES:
        return any_header(path, is_template_like)
    if suffix == ".xlsx":
        try:
            wb = open_workbook(path)
        except FileRejected:
            return False
        return any(is_template_like(_first_row(ws)) for ws in wb.worksheets)
    return False


def read_chronology(path: Path, spec: SourceSpec) -> list[Table]:
    """The template's columns under their own names (template_header), whatever a file's header
    makes of their case and the joins between their words. A workbook: its first sheet with the
    template's header, else one nearly with it, rejected naming what differs."""
    suffix = path.suffix.casefold()
    if suffix in DELIMITED_SUFFIXES:
        return [csv_table(path, spec, template_header)]
    elif suffix == ".xlsx":
        wb = open_workbook(path)
        headers = [(ws, _first_row(ws)) for ws in wb.worksheets]
        for ws, header in headers:
            if not _missing_required(header):
                return [sheet_table(ws, 1, names=template_header)]
        for ws, header in headers:
            if is_template_like(header):
                try:
                    template_header(header)
                except FileRejected as exc:
                    raise FileRejected(exc.reason, f"sheet {ws.title!r}: {exc.detail}") from None
        raise FileRejected("wrong_columns", "no sheet has the chronology template header "
                           f"(needs {', '.join(CHRONOLOGY_REQUIRED)})")
    raise FileRejected("unsupported", "a chronology template must be .csv, .tsv, .txt (delimited text) or .xlsx, "
                                      f"not {path.suffix or 'no extension'}")
