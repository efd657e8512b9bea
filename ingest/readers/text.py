"""How a text file's bytes become text: each file's encoding, and a CSV file's delimiter.

Agencies' software saves files without saying how (../shared/domain.md, the chronology template):
UTF-8 with or without a byte-order mark, Windows-1252 from Excel's "CSV" on Windows, UTF-16 from
Excel's "Unicode text". Where the source's YAML sets no `encoding`, each file's is found from its
bytes, in this order:

  1. a byte-order mark decides: UTF-8's -> utf-8-sig; UTF-16's, either byte order -> utf-16;
  2. else the whole file valid UTF-8 -> utf-8;
  3. else Windows-1252 (cp1252), which decodes every byte but 0x81, 0x8D, 0x8F, 0x90 and 0x9D.

A file no candidate decodes is rejected (`unreadable`), naming the byte, its offset from the
start of the file (0 = the first byte), its line and the encodings tried. The check streams the
file a block at a time (extracts reach gigabytes); the file is read once for it.

A CSV's delimiter, where the YAML sets none, is the one of , ; tab | whose split of the header
finds most of the columns the format expects (spreadsheets write ; in European locales and tab
in "Unicode text"); with none found, the one that splits it into most columns.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ingest.readers.base import FileRejected, clean_header

DETECT = "detect"  # the registry's default encoding: found per file
DELIMITERS = (",", ";", "\t", "|")  # in this order where two find the same columns
BLOCK = 1 << 20
HEAD = 1 << 16  # the part of a file read to recognise or split its header
NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "cp1252": "Windows-1252",
         "latin-1": "Latin-1"}
_CP1252_UNDEFINED = re.compile(b"[\x81\x8d\x8f\x90\x9d]")


@dataclass(frozen=True)
class Undecodable:
    """The first byte of a file an encoding cannot decode."""

    offset: int  # from the start of the file, 0 = the first byte
    byte: int
    line: int

    def __str__(self) -> str:
        return f"byte 0x{self.byte:02x} at offset {self.offset} (line {self.line})"


def bom_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _blocks_then_end(path: Path) -> Iterator[bytes | None]:
    """The file a block at a time, then None for its end (where a decoder is told it is final)."""
    with path.open("rb") as f:
        yield from iter(lambda: f.read(BLOCK), b"")
    yield None


def _fault_in(block: bytes, exc: UnicodeDecodeError) -> int:
    """Where in the block an incremental decoder's fault is: the text it decoded is the block after
    the bytes it held from the previous one (negative: the fault begins among those), less a
    byte-order mark it took off."""
    return len(block) - len(exc.object) + exc.start


def first_undecodable(path: Path, encoding: str) -> Undecodable | None:
    """The first byte `encoding` cannot decode (a sequence the file's end cuts off included), or None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, lines = 0, 1
    for block in _blocks_then_end(path):
        data = block or b""
        state = decoder.getstate()
        try:
            text = decoder.decode(data, final=block is None)
        except UnicodeDecodeError as exc:
            at = _fault_in(data, exc)
            before = codecs.getincrementaldecoder(encoding)()
            before.setstate(state)
            lines += before.decode(data[: max(0, at)]).count("\n")
            return Undecodable(offset + at, exc.object[exc.start], lines)
        lines += text.count("\n")
        offset += len(data)
    return None


def detect_encoding(path: Path) -> str:
    """The file's encoding by the rules in the module's docstring; FileRejected if none decodes it."""
    with path.open("rb") as f:
        bom = bom_encoding(f.read(4))
    if bom is not None:
        bad = first_undecodable(path, bom)
        if bad is not None:
            raise FileRejected("unreadable", f"the file begins with a {NAMES[bom]} byte-order mark, but {bad} "
                                             f"is not valid {NAMES[bom]} (the file mixes encodings or is damaged)")
        return bom
    # one pass: is it UTF-8, and where is Windows-1252's first undefined byte (both encodings keep
    # ASCII as it is, so a line is a count of 0x0A bytes in either)
    utf8 = codecs.getincrementaldecoder("utf-8")()
    not_utf8: Undecodable | None = None
    not_cp1252: Undecodable | None = None
    offset, lines = 0, 1
    for block in _blocks_then_end(path):
        data = block or b""
        if not_utf8 is None:
            try:
                utf8.decode(data, final=block is None)
            except UnicodeDecodeError as exc:
                at = _fault_in(data, exc)  # a sequence begun in the previous block holds no line break
                not_utf8 = Undecodable(offset + at, exc.object[exc.start], lines + data.count(b"\n", 0, max(0, at)))
        undefined = _CP1252_UNDEFINED.search(data) if not_cp1252 is None else None
        if undefined is not None:
            not_cp1252 = Undecodable(offset + undefined.start(), data[undefined.start()],
                                     lines + data.count(b"\n", 0, undefined.start()))
        if not_utf8 is not None and not_cp1252 is not None:
            raise FileRejected("unreadable", f"not text in any encoding tried: not UTF-8 ({not_utf8} is not "
                                             f"valid UTF-8), not Windows-1252 ({not_cp1252} is undefined in "
                                             "Windows-1252), and no byte-order mark names another")
        lines += data.count(b"\n")
        offset += len(data)
    return "utf-8" if not_utf8 is None else "cp1252"


def encoding_error(path: Path, encoding: str) -> FileRejected:
    """Why the file is not text in the encoding its source's YAML sets (a read has failed; the file
    is streamed once more to find the first byte)."""
    bad = first_undecodable(path, encoding)
    return FileRejected("unreadable", f"not valid {NAMES.get(encoding, encoding)} text"
                                      + (f": {bad}" if bad else "")
                                      + f"; the source's YAML sets encoding {encoding!r} (without it, each file's "
                                        "encoding is found from its bytes: UTF-8, UTF-16 or Windows-1252)")


# ---- the header ------------------------------------------------------------------------------------

def head_text(path: Path, encoding: str | None = None) -> str:
    """The decoded start of the file (HEAD bytes; a character the cut splits is left out).

    encoding None (a file recognised before it is read): its byte-order mark's, else UTF-8 where
    the start is UTF-8, else Windows-1252, a byte no encoding decodes read as U+FFFD (the file's
    reading rejects it). Otherwise UnicodeDecodeError where the start is not in `encoding`."""
    with path.open("rb") as f:
        head = f.read(HEAD)
    if encoding is not None:
        return codecs.getincrementaldecoder(encoding)().decode(head)
    bom = bom_encoding(head)
    try:
        return codecs.getincrementaldecoder(bom or "utf-8")().decode(head)
    except UnicodeDecodeError:
        return codecs.getincrementaldecoder(bom or "cp1252")(errors="replace").decode(head)


def header_cells(text: str, delimiter: str, quotechar: str = '"') -> list[str]:
    """The first record of CSV text split at `delimiter`, each name cleaned as the readers clean them."""
    try:
        first = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quotechar), [])
    except csv.Error:
        return []
    return [clean_header(c) for c in first]


def choose_delimiter(text: str, quotechar: str, found: Callable[[list[str]], int]) -> str:
    """The delimiter whose split of the header finds most columns (`found` counts them), then the
    one giving most columns, then the first of DELIMITERS."""
    def fit(delimiter: str) -> tuple[int, int]:
        cells = header_cells(text, delimiter, quotechar)
        return found(cells), len(cells)
    return max(DELIMITERS, key=fit)  # max keeps the first of equals


def any_header(path: Path, fits: Callable[[list[str]], bool]) -> bool:
    """Does the file's header, split at any of DELIMITERS, fit (recognising a file by its content)?"""
    text = head_text(path)
    return any(fits(header_cells(text, d)) for d in DELIMITERS)
