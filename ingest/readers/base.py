"""What every reader returns: the file's columns and its rows, each row findable by a person."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable


@dataclass(frozen=True)
class RawRow:
    row_number: int  # 1 = the first data record of the file (or of the table within it)
    locator: str  # where a person finds it: "line 7", "Activity!12", an XPath
    values: dict[str, Any]  # column -> str | date | datetime | None, as the file holds it


@dataclass(frozen=True)
class BadRow:
    """A row the reader could not turn into values at all (a cut-off JSON line, a ragged CSV row)."""

    row_number: int
    locator: str
    reason: str
    detail: str
    raw: str


class FileRejected(Exception):
    """The whole file cannot be read; it is recorded as rejected with this reason and kept."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class Table:
    columns: list[str]
    rows: Iterable[RawRow | BadRow]
    name: str = ""  # which table of a multi-table format ("" for a simple file)
    where: str = "the file"  # how to name it in messages ("sheet 'List 3'", "element Referral")


_SPACES = re.compile(r"\s+")
# No field of any agency extract comes near this; a value this long is a corrupt export (an
# unclosed quote swallowing the rest of the file) and is quarantined rather than stored.
MAX_VALUE_CHARS = 100_000


def reject_repeated_columns(columns: list[str], where: str = "the file") -> None:
    """A column named twice is ambiguous (which one is the date?): the file is rejected, not guessed at."""
    seen: dict[str, int] = {}
    for i, name in enumerate(columns, start=1):
        if name and name in seen:
            raise FileRejected("wrong_columns", f"column {name!r} appears twice in {where} "
                                                f"(columns {seen[name]} and {i})")
        seen.setdefault(name, i)


def value_fault(values: dict[str, Any]) -> tuple[str, str] | None:
    """(column, why) for a value no agency system writes: a NUL byte, or a field beyond MAX_VALUE_CHARS."""
    for column, value in values.items():
        if not isinstance(value, str):
            continue
        if "\x00" in value:
            return column, f"a NUL byte in column {column!r} (a binary or corrupt export)"
        if len(value) > MAX_VALUE_CHARS:
            return column, f"column {column!r} holds {len(value):,} characters (more than {MAX_VALUE_CHARS:,})"
    return None


def clean_header(name: Any) -> str:
    return _SPACES.sub(" ", str(name if name is not None else "").replace("\ufeff", "")).strip()


def clean_value(value: Any) -> Any:
    """Strings stripped and empty as None; dates kept; numbers as the text a person would read."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, (datetime, date)):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def flatten(obj: dict, prefix: str = "") -> dict[str, Any]:
    """{"patient": {"nhs_number": 1}} -> {"patient.nhs_number": 1}; lists kept as JSON text."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, str):  # most values: clean_value's first case, without the call
            out[name] = value.strip() or None
        elif isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            out[name] = json.dumps(value, ensure_ascii=False)
        else:
            out[name] = clean_value(value)
    return out
