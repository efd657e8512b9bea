"""JSON and JSON Lines extracts read as streams: a health visiting export can be most of a gigabyte,
and a document parsed whole takes many times its size in memory.

Each file is read twice, record by record: the first pass checks the whole document (the file is
rejected before any row is handed on, as a document parsed whole would be) and collects the union
of the records' columns; the second hands the rows on. Memory is one read buffer and one record.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

from ingest.readers.base import BadRow, FileRejected, RawRow, Table, flatten
from ingest.readers.text import encoding_error

_SPACE = re.compile(r"[ \t\n\r]*")
CHUNK_CHARS = 1 << 22


class _Document:
    """A JSON text read piece by piece: punctuation, and whole values through json's raw_decode."""

    def __init__(self, handle):
        self.handle = handle
        self.buf, self.pos, self.line_at_buf, self.eof = "", 0, 1, False
        self.dropped = 0  # characters read past and let go: the text's offset of buf[0]
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.handle.read(CHUNK_CHARS)
        if not chunk:
            self.eof = True
            return False
        self.line_at_buf += self.buf.count("\n", 0, self.pos)
        self.dropped += self.pos
        self.buf, self.pos = self.buf[self.pos:] + chunk, 0
        return True

    def peek(self) -> str:
        """The next character that is not white space ("" at the end of the text)."""
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def take(self, expected: str) -> str:
        char = self.peek()
        if not char or char not in expected:
            raise self._invalid("Expecting " + " or ".join(repr(c) for c in expected), self.pos)
        self.pos += 1
        return char

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self._more():  # the value may run on past the buffer
                    continue
                raise self._invalid(exc.msg, exc.pos) from None
            if end == len(self.buf) and self._more():  # a number cut at the buffer's end
                continue
            self.pos = end
            return value

    def _invalid(self, message: str, pos: int) -> FileRejected:
        line = self.line_at_buf + self.buf.count("\n", 0, pos)
        column = pos - self.buf.rfind("\n", 0, pos)
        return FileRejected("unreadable", f"not valid JSON: {message} at line {line} column {column}")

    def skip_members(self) -> None:
        """The rest of an object whose opening brace and zero or more members were read."""
        while self.take(",}") == ",":
            self.value()
            self.take(":")
            self.value()


def down_to_records(doc: _Document, records_path: str | None) -> tuple[str, int]:
    """Read down to the list at records_path, other members read past; the document is left at the
    list's opening bracket. Returns where the list is ("$.contacts") and how many objects enclose it."""
    parts = records_path.split(".") if records_path else []
    where, depth = "$", 0
    for part in parts:
        if doc.peek() != "{":
            doc.value()
            raise FileRejected("wrong_structure", f"no key {part!r} under {where} (records_path: {records_path})")
        doc.take("{")
        depth += 1
        while True:
            if doc.peek() == "}":
                raise FileRejected("wrong_structure",
                                   f"no key {part!r} under {where} (records_path: {records_path})")
            key = doc.value()
            doc.take(":")
            if key == part:
                break
            doc.value()
            if doc.take(",}") == "}":
                raise FileRejected("wrong_structure",
                                   f"no key {part!r} under {where} (records_path: {records_path})")
        where += f".{part}"
    if doc.peek() != "[":
        doc.value()
        raise FileRejected("wrong_structure", f"{where} is not a list of records (set records_path)")
    return where, depth


def _records(path: Path, encoding: str, records_path: str | None) -> Iterator[tuple[int, str, Any]]:
    """(n, where, record) for each element of the list at records_path; the whole document is read."""
    with path.open(encoding=encoding, newline="") as handle:
        doc = _Document(handle)
        where, depth = down_to_records(doc, records_path)
        doc.take("[")
        n = 0
        if doc.peek() == "]":
            doc.take("]")
        else:
            while True:
                n += 1
                yield n, f"{where}[{n - 1}]", doc.value()
                if doc.take(",]") == "]":
                    break
        for _ in range(depth):  # the members after the list, in each enclosing object
            doc.skip_members()
        if doc.peek():
            raise doc._invalid("Extra data", doc.pos)
        if n == 0:
            raise FileRejected("empty", f"{where} holds no records")


def _lines(path: Path, encoding: str) -> Iterator[tuple[int, str, Any]]:
    """(n, where, record or the line's error) for each non-blank line."""
    n = 0
    with path.open(encoding=encoding, newline="") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            n += 1
            try:
                yield n, f"line {line_no}", json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, f"line {line_no}", BadRow(n, f"line {line_no}", "unreadable_row",
                                                  f"not valid JSON: {exc.msg}", line.rstrip("\r\n")[:500])
    if n == 0:
        raise FileRejected("empty", "the file holds no records")


def record_row(n: int, where: str, record: Any) -> RawRow | BadRow:
    if isinstance(record, BadRow):
        return record
    if isinstance(record, dict):
        return RawRow(n, where, flatten(record))
    return BadRow(n, where, "unreadable_row", "not a JSON object", json.dumps(record)[:500])


def _table(path: Path, encoding: str, records) -> Table:
    columns: dict[str, None] = {}
    try:
        for n, where, record in records():  # first pass: the document is whole, and its columns
            if isinstance(record, dict):
                _flat_names(record, "", columns)
    except UnicodeDecodeError:
        raise encoding_error(path, encoding) from None
    return Table(list(columns), (record_row(*item) for item in records()))


def _flat_names(obj: dict, prefix: str, into: dict[str, None]) -> None:
    """The column names flatten() gives obj, added to into in order (their values are not needed)."""
    for key, value in obj.items():
        if isinstance(value, dict):
            _flat_names(value, f"{prefix}{key}.", into)
        else:
            into[f"{prefix}{key}"] = None


def read_json(path: Path, encoding: str, records_path: str | None) -> Table:
    return _table(path, encoding, lambda: _records(path, encoding, records_path))


def read_jsonl(path: Path, encoding: str) -> Table:
    return _table(path, encoding, lambda: _lines(path, encoding))
