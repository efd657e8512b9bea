"""Readers turn a file into columns and rows; the mapping (ingest/mapping.py) does the rest.

Generic formats (csv, xlsx, json, jsonl) are matched to a source by its file name patterns.
Formats with a recognisable content (the chronology template's header, national formats' roots
and headers) also say so through `sniff`, so a mixed drop folder is sorted by what files are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ingest.readers.annex_a import read_annex_a, sniff_annex_a
from ingest.readers.base import BadRow, FileRejected, RawRow, Table
from ingest.readers.cin_census import read_cin_census, sniff_cin_census
from ingest.readers.school_census import read_school_census, sniff_school_census
from ingest.readers.ssda903 import read_ssda903, sniff_ssda903
from ingest.readers.tabular import read_chronology, read_csv, read_json, read_jsonl, read_xlsx, sniff_chronology
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


def read(path: Path, spec: SourceSpec) -> list[Table]:
    reader = READERS.get(spec.format)
    if reader is None:
        raise FileRejected("unsupported", f"no reader for format {spec.format!r}")
    reject_blank(path)
    return reader(path, spec)


def reject_blank(path: Path) -> None:
    """The same reason whatever the format (an XML parser would call an empty file malformed)."""
    if _blank(path):
        raise FileRejected("empty", "the file has no content")


def _blank(path: Path, probe: int = 65536) -> bool:
    with path.open("rb") as f:
        return not f.read(probe).strip() and path.stat().st_size <= probe


__all__ = ["BadRow", "FileRejected", "RawRow", "Table", "read", "reject_blank", "READERS", "SNIFFERS"]
