"""A file's records as one DuckDB table of text, read in bulk, as the row path's readers read them.

The table (RAW) holds a row per record: row_number as the reader gives it, line_no (the locator
is RawTable.locator of the two), the record's shape (which columns it holds, in its order: its
original JSON), plain (no value holds a control character, a quote or a backslash) and c0..cN, the
values as the reader gives them (text stripped, empty as null).

DuckDB reads the file's lines (or a JSON document's records) and SQL does what the reader does
where that is plain: a CSV line without a quote is split at its delimiter; a JSON record whose
values are all strings is flattened. Python's csv and json modules read the rest, a line or a
record at a time: a quoted CSV line, a JSON record with numbers, duplicate keys or that is no
object. Whatever the file holds that a line at a time cannot read as the whole file would be read
(a quoted field running over lines, lines ending in more than one way, a document with members
after its records) raises NotColumnar, and the file goes to the row path whole.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa

from ingest.columnar import sql
from ingest.columnar.sql import literal, text_literal
from ingest.readers import reject_blank
from ingest.readers.base import MAX_VALUE_CHARS, BadRow, RawRow, value_fault
from ingest.readers.json_stream import _Document, down_to_records, record_row
from ingest.readers.tabular import csv_header
from ingest.registry import SourceSpec

RAW = "_raw"
LINE_DELIMITER = "\x1f"  # read_csv's delimiter when it reads whole lines: a line holding it is not read here
UTF8 = ("utf-8", "utf-8-sig")


class NotColumnar(Exception):
    """This file is read on the row path (the reason is logged)."""


@dataclass
class RawTable:
    columns: list[str]  # the file's columns, named and ordered as the row path's reader names them
    shapes: list[tuple[int, ...]]  # per shape: the indexes of the columns a record holds, in its order
    locator: str  # SQL over RAW r: where a person finds the record ("line 7", "$.contacts[6]")
    bad_rows: list[BadRow] = field(default_factory=list)  # records no reader could read
    rows_read: int = 0  # records as the row path counts them (blank CSV lines are not records)

    def values(self, shape: int, cells: tuple) -> dict:
        """A record's values as the row path's reader gives them (cells: c0..cN)."""
        return {self.columns[i]: cells[i] for i in self.shapes[shape]}


def read_raw(con: duckdb.DuckDBPyConnection, path: Path, spec: SourceSpec) -> RawTable:
    reject_blank(path)
    if spec.format == "csv":
        return _csv(con, path, spec)
    if spec.format == "jsonl":
        return _jsonl(con, path, spec)
    if spec.format == "json":
        return _json_document(con, path, spec)
    raise NotColumnar(f"format {spec.format} is read a row at a time")


# ---- lines -----------------------------------------------------------------------------------------

def _scratch_folder(con: duckdb.DuckDBPyConnection) -> Path:
    """DuckDB's spill folder: the restricted tmp/ folder, beside the archive that holds the extract."""
    folder = Path(con.execute("select current_setting('temp_directory')").fetchone()[0] or ".")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def clear_scratch(con: duckdb.DuckDBPyConnection) -> None:
    """Working copies a killed run left behind (the store has one writer at a time)."""
    for leftover in _scratch_folder(con).glob(".columnar-*"):
        leftover.unlink(missing_ok=True)


@contextmanager
def _scratch_file(con: duckdb.DuckDBPyConnection, suffix: str) -> Iterator[Path]:
    """A working copy of part of an extract, in the spill folder, removed afterwards."""
    path = _scratch_folder(con) / f".columnar-{uuid.uuid4().hex}{suffix}"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


@contextmanager
def _as_utf8(con: duckdb.DuckDBPyConnection, path: Path, encoding: str) -> Iterator[Path]:
    """The file as UTF-8 (DuckDB reads only UTF-8 and Latin-1, and refuses Latin-1's control codes
    that Windows-1252 uses for quotes and the euro; UTF-16 is transcoded too). Decoded by Python's
    own codec, as the row path decodes it, so both read the same text, and a byte the row path
    cannot decode makes the file the row path's to reject."""
    if encoding in UTF8:
        yield path
        return
    decoder = codecs.getincrementaldecoder(encoding)()
    with _scratch_file(con, ".txt") as copy:
        try:
            with path.open("rb") as src, copy.open("w", encoding="utf-8", newline="") as out:
                for block in iter(lambda: src.read(1 << 22), b""):
                    out.write(decoder.decode(block))
                out.write(decoder.decode(b"", final=True))
        except UnicodeDecodeError:
            raise NotColumnar(f"not valid {encoding} text") from None
        yield copy


def _read_lines(con: duckdb.DuckDBPyConnection, path: Path, spec: SourceSpec, table: str) -> str:
    """table(line_no, line): every line of the file, numbered from 1 as Python numbers them, a
    blank line as null. DuckDB refuses a file whose lines end in more than one way (Python would
    count its lines differently): NotColumnar. Returns how the file's lines end: CRLF, LF or CR."""
    if spec.encoding == "utf-8":
        with path.open("rb") as f:  # DuckDB drops a leading byte order mark, as utf-8-sig does; utf-8 keeps it
            if f.read(3) == codecs.BOM_UTF8:
                raise NotColumnar("a byte order mark in a file declared utf-8 (not utf-8-sig)")
    with _as_utf8(con, path, spec.encoding) as text:
        previous = con.execute("select current_setting('preserve_insertion_order')").fetchone()[0]
        con.execute("set preserve_insertion_order = true")  # rows then keep the file's order
        try:
            con.execute(  # row_number() over (): a streaming window, numbering rows as the scan gives them
                f"create or replace temp table {table} as select row_number() over () as line_no, line from read_csv(?, "
                f"columns = {{'line': 'VARCHAR'}}, header = false, delim = {text_literal(LINE_DELIMITER)}, "
                "quote = '', escape = '', auto_detect = false, strict_mode = true, encoding = 'utf-8')",
                [str(text)])
        except duckdb.Error as exc:
            raise NotColumnar(f"DuckDB could not read its lines: {str(exc).splitlines()[0][:200]}") from None
        finally:
            con.execute(f"set preserve_insertion_order = {str(previous).lower()}")
    odd = con.execute(
        f"select count(*) filter (where strpos(line, {text_literal(LINE_DELIMITER)}) > 0), "
        f"coalesce(max(length(line)), 0) from {table}").fetchone()
    if odd[0]:
        raise NotColumnar("a line holds the unit separator character")
    if odd[1] > MAX_VALUE_CHARS:
        raise NotColumnar(f"a line of {odd[1]:,} characters")
    with path.open("rb") as f:
        head = f.read(1 << 20)
    ends = re.search(rb"\r\n|\n|\r", head)
    return ends.group(0).decode() if ends else "\n"


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - 1))
        return f.read(1) in (b"\n", b"\r")


# ---- CSV -------------------------------------------------------------------------------------------

def _complete_line(delimiter: str, quote: str) -> re.Pattern[str]:
    """A line that is a whole record to Python's csv reader (dialect excel, not strict): each
    field unquoted (a quote after its first character is text), or quoted, with doubled quotes
    inside and any text after the closing quote up to the delimiter. A line this does not match
    ends inside a quoted field: the record runs on to the next line."""
    d, q = re.escape(delimiter), re.escape(quote)
    unquoted = f"(?:[^{d}{q}][^{d}]*)?"
    quoted = f"{q}(?:[^{q}]|{q}{q})*{q}(?:[^{d}{q}][^{d}]*)?"
    one = f"(?:{quoted}|{unquoted})"
    return re.compile(f"{one}(?:{d}{one})*")


def _strict_csv(d: str, q: str) -> str:
    """An RE2 pattern for a line in the strict form (RFC 4180: a quote only opens a field and
    only closes one, doubled inside it), which DuckDB's CSV reader splits as Python's csv does."""
    d, q = f"\\x{{{ord(d):x}}}", f"\\x{{{ord(q):x}}}"
    field = f"{q}(?:[^{q}]|{q}{q})*{q}|[^{d}{q}]*"
    return f"(?:{field})(?:{d}(?:{field}))*"


def _csv_strict(con: duckdb.DuckDBPyConnection, d: str, q: str, width: int) -> list[tuple[int, str]]:
    """The quoted lines of the strict form (_quoted), split by DuckDB's CSV reader into _cells:
    written out with their line numbers in front, and read back. Returns the lines DuckDB refused
    (more or fewer fields than the header: the row path's to judge)."""
    if not con.execute("select count(*) from _quoted where strict").fetchone()[0]:
        return []
    with _scratch_file(con, ".csv") as copy:
        con.execute(f"copy (select line_no || {literal(d)} || line from _quoted where strict) to '{copy}' "
                    f"(format csv, header false, quote '', escape '', delimiter {text_literal(LINE_DELIMITER)})")
        columns = ", ".join([sql.literal("line_no") + ": 'BIGINT'"] + [f"'f{i}': 'VARCHAR'" for i in range(width)])
        con.execute(f"""create or replace temp table _strict as
            select * from read_csv(?, columns = {{{columns}}}, header = false, delim = {literal(d)},
                                   quote = {literal(q)}, escape = {literal(q)}, auto_detect = false,
                                   strict_mode = true, null_padding = false, ignore_errors = true,
                                   encoding = 'utf-8')""", [str(copy)])
    fields = [f"f{i}" for i in range(width)]
    cells = ", ".join(f"_clean(f{i}, stripping) as c{i}" for i in range(width))
    con.execute(f"""insert into _cells by name
        select line_no, line_no - 1 as row_number, {width} as width, plain, {cells}
        from (select *, not regexp_matches(concat_ws('', {', '.join(fields)}), {literal(sql.NOT_PLAIN)}) as plain,
                     regexp_matches(concat_ws(chr(1), {', '.join(fields)}), {literal(sql.needs_strip(chr(1)))})
                         as stripping
              from _strict)""")
    refused = con.execute("select line_no, line from _quoted where strict and "
                          "line_no not in (select line_no from _strict)").fetchall()
    con.execute("drop table _strict")
    return refused


def _csv(con: duckdb.DuckDBPyConnection, path: Path, spec: SourceSpec) -> RawTable:
    columns, header_lines = csv_header(path, spec)  # the row path's checks: a bad header is rejected the same way
    if header_lines != 1:
        raise NotColumnar("the header runs over more than one line")
    if len(set(columns)) != len(columns):
        raise NotColumnar("blank column names repeat (a row's values would not be a mapping)")
    _read_lines(con, path, spec, "_lines")
    d, q, width = spec.delimiter, spec.quotechar, len(columns)
    strict = _strict_csv(d, q)
    cells = ", ".join(f"_clean(f[{i + 1}], stripping) as c{i}" for i in range(width))
    quoted = f"line_no > 1 and strpos(line, {literal(q)}) > 0"
    # a line without a quote: csv reads its text between delimiters
    con.execute(f"""create or replace temp table _cells as
        select line_no, line_no - 1 as row_number, len(f) as width, plain, {cells}
        from (select line_no, string_split(line, {literal(d)}) as f,
                     not regexp_matches(line, {literal(sql.NOT_PLAIN)}) as plain,
                     regexp_matches(line, {literal(sql.needs_strip(d))}) as stripping
              from _lines where line_no > 1 and strpos(line, {literal(q)}) = 0)""")
    con.execute(f"""create or replace temp table _quoted as
                    select line_no, line, regexp_full_match(line, {literal(strict)}) as strict from _lines where {quoted}""")
    loose = _csv_strict(con, d, q, width)
    loose += con.execute("select line_no, line from _quoted where not strict").fetchall()
    con.execute("drop table _quoted")
    _csv_loose(con, sorted(loose), d, q, width)
    # csv_table skips a line whose fields are all blank (and numbers only the others): an empty
    # line, or one of delimiters and white space
    every_blank = " and ".join(f"c{i} is null" for i in range(width))
    ragged = dict(con.execute(f"select line_no, line from _lines semi join (select line_no from _cells where "
                              f"width <> {width}) using (line_no)").fetchall())
    bad_lines = {}
    for line_no, line in ragged.items():
        record = next(csv.reader([line], delimiter=d, quotechar=q)) if q in line else line.split(d)
        if any(v.strip() for v in record):
            bad_lines[line_no] = (f"{len(record)} fields where the header has {width}", ",".join(record))
    skipped = [n for n, in con.execute(
        f"select line_no from _cells where width = {width} and {every_blank} "
        f"union all select line_no from _lines where line_no > 1 and line is null").fetchall()]
    skipped += [n for n in ragged if n not in bad_lines]
    con.execute("drop table _lines")
    if skipped:  # a record's number counts the blank lines before it out
        con.register("_skipped_in", pa.table({"line_no": pa.array(sorted(skipped), pa.int64())}))
        con.execute("""create or replace temp table _skipped as
                       select line_no, row_number() over (order by line_no) as k from _skipped_in""")
        con.unregister("_skipped_in")
        con.execute("""update _cells set row_number = c.line_no - 1 - s.k
                       from _cells c asof join _skipped s on c.line_no > s.line_no
                       where _cells.line_no = c.line_no""")
    numbers = dict(con.execute("select line_no, row_number from _cells semi join (select unnest(?) as line_no) "
                               "using (line_no)", [list(bad_lines)]).fetchall()) if bad_lines else {}
    bad = [BadRow(numbers[n], f"line {n}", "unreadable_row", detail, raw) for n, (detail, raw) in sorted(bad_lines.items())]
    con.execute(f"delete from _cells where width <> {width} or ({every_blank})")
    con.execute(f"alter table _cells drop column width")
    con.execute(f"alter table _cells add column shape integer default 0")
    con.execute(f"drop table if exists {RAW}")
    con.execute(f"alter table _cells rename to {RAW}")
    con.execute("drop table if exists _skipped")
    rows_read = con.execute(f"select count(*) from {RAW}").fetchone()[0] + len(bad)
    return RawTable(columns, [tuple(range(width))], "'line ' || r.line_no", bad, rows_read)


def _csv_loose(con: duckdb.DuckDBPyConnection, lines: list[tuple[int, str]], d: str, q: str, width: int) -> None:
    """Quoted lines outside the strict form, read by Python's csv module a line at a time, into _cells."""
    if not lines:
        return
    complete = _complete_line(d, q)
    for line_no, line in lines:
        if complete.fullmatch(line) is None:
            raise NotColumnar(f"a quoted field runs over lines (line {line_no})")
    records = list(csv.reader([line for _, line in lines], delimiter=d, quotechar=q))
    data: dict[str, list] = {"line_no": [n for n, _ in lines], "row_number": [n - 1 for n, _ in lines],
                             "width": [len(r) for r in records],
                             "plain": [_PLAIN_TEXT.search("".join(r)) is None for r in records]}
    for i in range(width):
        data[f"c{i}"] = [(r[i].strip() or None) if i < len(r) else None for r in records]
    con.register("_loose", pa.table(data))
    con.execute("insert into _cells by name select * from _loose")
    con.unregister("_loose")


_PLAIN_TEXT = re.compile(sql.NOT_PLAIN)


# ---- JSON Lines and JSON documents -----------------------------------------------------------------

# DuckDB's JSON reader takes a trailing comma, which Python's refuses; such a record is Python's
_TRAILING_COMMA = r",[ \t\n\r]*[}\]]"
_PLAIN_LEAVES = ("VARCHAR", "NULL")


def _jsonl(con: duckdb.DuckDBPyConnection, path: Path, spec: SourceSpec) -> RawTable:
    if spec.encoding not in UTF8:
        raise NotColumnar(f"JSON Lines in {spec.encoding}")
    ending = _read_lines(con, path, spec, "_lines")
    last = con.execute("select max(line_no) from _lines").fetchone()[0]
    unterminated = last if not _ends_with_newline(path) else None
    # read_jsonl skips a blank line (it still counts as a line) and numbers the others
    blank = f"line is null or not regexp_matches(line, {literal('[^' + sql.WHITESPACE_CLASS[1:])})"  # all white space
    numbered = ("row_number() over (order by line_no)"  # a sort, needed only when a blank line shifts the numbers
                if con.execute(f"select count(*) from _lines where {blank}").fetchone()[0] else "line_no")
    con.execute(f"""create or replace temp table _json as
                    select {numbered} as n, line_no, line as doc from _lines where not ({blank})""")
    con.execute("drop table _lines")

    def python_row(n: int, line_no: int | None, line: str) -> RawRow | BadRow:
        """json_stream's reading of one line, its line ending included (json's message may name it)."""
        locator = f"line {line_no}"
        try:
            record = json.loads(line if line_no == unterminated else line + ending)
        except json.JSONDecodeError as exc:
            return BadRow(n, locator, "unreadable_row", f"not valid JSON: {exc.msg}", line[:500])
        return record_row(n, locator, record)
    return _from_json_records(con, "'line ' || r.line_no", python_row)


def _json_document(con: duckdb.DuckDBPyConnection, path: Path, spec: SourceSpec) -> RawTable:
    """The list at records_path, copied out of the document and read by DuckDB as a JSON array: the
    document is read down to the list by json_stream itself, and what follows the list must be
    only the objects' closing braces."""
    if spec.encoding not in UTF8:
        raise NotColumnar(f"JSON in {spec.encoding}")
    try:
        with path.open(encoding=spec.encoding, newline="") as handle:
            doc = _Document(handle)
            where, depth = down_to_records(doc, spec.records_path)
            chars_before = doc.dropped + doc.pos
        with path.open("rb") as f:
            bom = len(codecs.BOM_UTF8) if spec.encoding == "utf-8-sig" and f.read(3) == codecs.BOM_UTF8 else 0
        with path.open(encoding=spec.encoding, newline="") as handle:
            start = bom + len(handle.read(chars_before).encode("utf-8"))
    except UnicodeDecodeError:
        raise NotColumnar(f"not valid {spec.encoding} text") from None
    end = _end_of_records(path, depth)
    with _scratch_file(con, ".json") as copy:
        with path.open("rb") as src, copy.open("wb") as out:
            src.seek(start)
            left = end - start
            while left > 0:
                block = src.read(min(left, 1 << 22))
                if not block:
                    break
                out.write(block)
                left -= len(block)
        previous = con.execute("select current_setting('preserve_insertion_order')").fetchone()[0]
        con.execute("set preserve_insertion_order = true")
        try:
            con.execute("create or replace temp table _json as select row_number() over () as n, "
                        "null::bigint as line_no, json::varchar as doc "
                        "from read_json_objects(?, format = 'array')", [str(copy)])
        except duckdb.Error as exc:
            raise NotColumnar(f"DuckDB could not read the records: {str(exc).splitlines()[0][:200]}") from None
        finally:
            con.execute(f"set preserve_insertion_order = {str(previous).lower()}")

    def python_row(n: int, line_no: int | None, text: str) -> RawRow | BadRow:
        locator = f"{where}[{n - 1}]"
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            raise NotColumnar(f"{locator} is JSON that DuckDB reads and Python does not") from None
        return record_row(n, locator, record)
    return _from_json_records(con, f"{literal(where)} || '[' || (r.row_number - 1) || ']'", python_row)


def _end_of_records(path: Path, depth: int) -> int:
    """The offset just past the records list's closing bracket, when only white space and the
    enclosing objects' closing braces follow it."""
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - 65536))
        tail = f.read()
    i = len(tail)
    for expected in [b"}"] * depth + [b"]"]:
        while i > 0 and tail[i - 1:i] in (b" ", b"\t", b"\n", b"\r"):
            i -= 1
        if i == 0 or tail[i - 1:i] != expected:
            raise NotColumnar("the document holds more than its records after the list")
        i -= 1
    return size - (len(tail) - i) + 1


@dataclass
class _Shape:
    names: list[str]  # flattened, in the record's order
    paths: list[str]  # the JSON path of each
    objects: dict[str, list[str]]  # JSON path of each object in the record -> its keys, in order


def _shape_of(structure: str) -> _Shape | None:
    """The flattened names of a record of this json_structure, or None when flatten() would not
    give each value as DuckDB extracts it: a value not a string or null, an empty object, a key
    that a JSON path cannot name, two keys flattening to one name."""
    shape = _Shape([], [], {})

    def walk(node: dict, prefix: str, path: str) -> bool:
        if not node:
            return False
        shape.objects[path] = list(node)
        for key, value in node.items():
            if re.search(r'["\\\x00-\x1f]', key):
                return False
            here = f'{path}."{key}"'
            if isinstance(value, dict):
                if not walk(value, f"{prefix}{key}.", here):
                    return False
            elif value in _PLAIN_LEAVES:
                shape.names.append(f"{prefix}{key}")
                shape.paths.append(here)
            else:
                return False
        return True
    tree = json.loads(structure)
    if not isinstance(tree, dict) or not walk(tree, "", "$"):
        return None
    return shape if len(set(shape.names)) == len(shape.names) else None


def _is_of(shape: _Shape) -> str:
    """SQL: the record `doc` has this shape. Its keys at each level are the shape's, in order and
    none twice (json_keys lists a repeated key twice; Python would keep its last value), and every
    value is a string or null."""
    keys = " and ".join(f"json_keys(doc, {literal(p)}) = [{', '.join(literal(k) for k in ks)}]"
                        for p, ks in shape.objects.items())
    types = f"json_type(doc, [{', '.join(literal(p) for p in shape.paths)}])"
    return f"({keys} and len(list_filter({types}, t -> t = 'VARCHAR' or t = 'NULL')) = {len(shape.paths)})"


def _from_json_records(con: duckdb.DuckDBPyConnection, locator: str, python_row) -> RawTable:
    """RAW from _json(n, line_no, doc): SQL flattens the records whose values are all strings;
    python_row(n, line_no, doc) reads the others as json_stream does."""
    # The shapes of a sample of the records (json_structure is costly: a record is only checked
    # against them); a record of no shape among them is Python's to read.
    shapes: list[_Shape] = []
    for structure, in con.execute(f"""
            select distinct structure from (
                select try(json_structure(doc)) as structure from (select doc from _json where n <= 200
                                                                   union all
                                                                   select doc from _json using sample reservoir(2000 rows) repeatable (7)))
            where structure is not null""").fetchall():
        shape = _shape_of(structure)
        if shape is not None and all(shape.objects != known.objects for known in shapes):
            shapes.append(shape)
    whens = " ".join(f"when {_is_of(shape)} then {i}" for i, shape in enumerate(shapes))
    con.execute(f"""create or replace temp table _json_shaped as
                    select n, line_no, doc, shape, shape is not null as flat from (
                        select n, line_no, doc,
                               case when length(doc) <= {MAX_VALUE_CHARS} and json_valid(doc) and json_type(doc) = 'OBJECT'
                                         and not regexp_matches(doc, {literal(_TRAILING_COMMA)})
                                    then case {whens if whens else 'when false then 0'} end end as shape
                        from _json)""")
    con.execute("drop table _json")
    first_at: list[tuple[int, list[str]]] = [
        (first, shapes[shape].names) for shape, first in
        con.execute("select shape, min(n) from _json_shaped where flat group by shape").fetchall()]
    python_rows = [python_row(n, line_no, doc) for n, line_no, doc in
                   con.execute("select n, line_no, doc from _json_shaped where not flat order by n").fetchall()]
    line_nos = dict(con.execute("select n, line_no from _json_shaped where not flat").fetchall())
    for row in python_rows:
        if isinstance(row, RawRow):
            first_at.append((row.row_number, list(row.values)))
    columns: dict[str, int] = {}
    for _, names in sorted(first_at, key=lambda item: item[0]):  # json_stream's first pass: names as first seen
        for name in names:
            columns.setdefault(name, len(columns))
    shape_columns = [tuple(columns[name] for name in shape.names) for shape in shapes]
    cells = ", ".join(f"null::varchar as c{i}" for i in range(len(columns)))
    con.execute(f"create or replace temp table {RAW} as select 0::integer as row_number, 0::bigint as line_no, "
                f"0::integer as shape, true as plain{', ' + cells if cells else ''} where false")
    # a backslash in a record's text is where an escape gives a value a quote, a backslash or a
    # control character: a record without one is plain
    strip = sql.needs_strip("\x01")
    for i, shape in enumerate(shapes):
        extracted = ", ".join(f"c{columns[name]}" for name in shape.names)
        values = ", ".join(f"_clean(v[{j + 1}], stripping)" for j in range(len(shape.paths)))
        con.execute(f"""insert into {RAW} (row_number, line_no, shape, plain, {extracted})
                        select n, line_no, shape, plain, {values}
                        from (select *, not plain or regexp_matches(array_to_string(v, chr(1)), {literal(strip)}) as stripping
                              from (select n, line_no, shape, strpos(doc, '\\') = 0 as plain,
                                           json_extract_string(doc, [{', '.join(literal(p) for p in shape.paths)}]) as v
                                    from _json_shaped where flat and shape = {i}))""")
    rows_read = con.execute("select count(*) from _json_shaped").fetchone()[0]
    con.execute("drop table _json_shaped")
    raw = RawTable(list(columns), shape_columns, locator, [r for r in python_rows if isinstance(r, BadRow)], rows_read)
    _insert_python_rows(con, raw, [r for r in python_rows if isinstance(r, RawRow)], line_nos)
    if rows_read == 0:
        raise NotColumnar("no records")
    return raw


def _insert_python_rows(con: duckdb.DuckDBPyConnection, raw: RawTable, rows: list[RawRow],
                        line_nos: dict[int, int]) -> None:
    if not rows:
        return
    index = {name: i for i, name in enumerate(raw.columns)}
    known = {shape: i for i, shape in enumerate(raw.shapes)}
    data: dict[str, list] = {"row_number": [], "line_no": [], "shape": [], "plain": []}
    data.update({f"c{i}": [] for i in range(len(raw.columns))})
    for row in rows:
        shape = tuple(index[name] for name in row.values)
        if shape not in known:
            known[shape] = len(raw.shapes)
            raw.shapes.append(shape)
        data["row_number"].append(row.row_number)
        data["line_no"].append(line_nos.get(row.row_number))
        data["shape"].append(known[shape])
        data["plain"].append(value_fault(row.values) is None  # a long value is value_fault's: not plain
                             and _PLAIN_TEXT.search("".join(v for v in row.values.values() if v)) is None)
        for i, name in enumerate(raw.columns):
            data[f"c{i}"].append(row.values.get(name))
    types = {"row_number": pa.int32(), "line_no": pa.int64(), "shape": pa.int32(), "plain": pa.bool_()}
    table = pa.table({k: pa.array(v, type=types.get(k, pa.string())) for k, v in data.items()})
    con.register("_python_rows", table)
    con.execute(f"insert into {RAW} by name select * from _python_rows")
    con.unregister("_python_rows")
