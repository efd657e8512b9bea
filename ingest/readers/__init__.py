"""Readers turn a file into columns and rows; the mapping (ingest/mapping.py) does the rest.

Generic formats (csv, xlsx, json, jsonl) are matched to a source by its file name patterns.
Formats with a recognisable content (the chronology template's header, national formats' roots
and headers) also say so through `sniff`, so a mixed drop folder is sorted by what files are.

A text file is read in its own encoding and, for CSV, with its own delimiter, where the source's
YAML leaves them to the file (`as_read`; the rules in text.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ingest.readers import school_census, ssda903
from ingest.readers.annex_a import read_annex_a, sniff_annex_a
from ingest.readers.base import BadRow, FileRejected, RawRow, Table
from ingest.readers.cin_census import read_cin_census, sniff_cin_census
from ingest.readers.school_census import read_school_census, sniff_school_census
from ingest.readers.ssda903 import read_ssda903, sniff_ssda903
from ingest.readers.tabular import (DELIMITED_SUFFIXES, mapped_columns_found, read_chronology, read_csv, read_json,
                                    read_jsonl, read_xlsx, sniff_chronology, template_columns_found)
from ingest.readers.text import DETECT, choose_delimiter, detect_encoding, encoding_error, head_text
from ingest.registry import SourceSpec

# format -> read(path, spec) -> the file's tables (one for simple formats)
READERS: dict[str, Callable[[Path, SourceSpec], list[Table]]] = {
    "csv": read_csv,
    "xlsx": read_xlsx,
    "json": read_json,
    "jsonl": read_jsonl,
    "chronology_template": read_chronology,
    "cin_census_xml": read_cin_census,
    "ssda903": read_ssda903,
    "school_census": read_school_census,
    "annex_a": read_annex_a,
}

# format -> does this file look like it? (only formats whose content identifies them)
SNIFFERS: dict[str, Callable[[Path], bool]] = {
    "chronology_template": sniff_chronology,
    "cin_census_xml": sniff_cin_census,
    "ssda903": sniff_ssda903,
    "school_census": sniff_school_census,
    "annex_a": sniff_annex_a,
}


# CSV formats -> for a source, how many of the columns it expects a header split one way holds
# (the delimiter is the one that finds most: text.choose_delimiter)
HEADER_SCORES: dict[str, Callable[[SourceSpec], Callable[[list[str]], int]]] = {
    "csv": mapped_columns_found,
    "chronology_template": lambda spec: template_columns_found,
    "ssda903": lambda spec: ssda903.columns_found,
    "school_census": lambda spec: school_census.columns_found,
}


def is_text(path: Path, spec: SourceSpec) -> bool:
    """Is the file read as text? (XML declares its own encoding, for its parser; a workbook is no text.)"""
    if spec.format == "chronology_template":
        return path.suffix.casefold() in DELIMITED_SUFFIXES
    return spec.format in ("csv", "json", "jsonl", "ssda903", "school_census")


def as_read(path: Path, spec: SourceSpec) -> SourceSpec:
    """The spec with this file's encoding and delimiter where the YAML leaves them to the file
    (text.py); a value the YAML sets is kept as given. FileRejected where no encoding decodes it."""
    if not is_text(path, spec):
        return spec
    encoding = detect_encoding(path) if spec.encoding == DETECT else spec.encoding
    found: dict = {"encoding": encoding}
    if spec.delimiter is None and spec.format in HEADER_SCORES:
        try:
            head = head_text(path, encoding)
        except UnicodeDecodeError:
            raise encoding_error(path, encoding) from None
        found["delimiter"] = choose_delimiter(head, spec.quotechar, HEADER_SCORES[spec.format](spec))
    return spec.model_copy(update=found)


def read(path: Path, spec: SourceSpec) -> list[Table]:
    reader = READERS.get(spec.format)
    if reader is None:
        raise FileRejected("unsupported", f"no reader for format {spec.format!r}")
    reject_blank(path)
    return reader(path, as_read(path, spec))


def reject_blank(path: Path) -> None:
    """The same reason whatever the format (an XML parser would call an empty file malformed)."""
    if _blank(path):
        raise FileRejected("empty", "the file has no content")


def _blank(path: Path, probe: int = 65536) -> bool:
    with path.open("rb") as f:
        return not f.read(probe).strip() and path.stat().st_size <= probe


__all__ = ["BadRow", "FileRejected", "RawRow", "Table", "as_read", "is_text", "read", "reject_blank", "READERS",
           "SNIFFERS"]
