"""Sort a drop folder into sources: by content where the format says what a file is, else by name.

A file that matches no source, or more than one, is reported (and recorded in the ledger as
rejected with that reason): never silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ingest.load import sha256, stamp
from ingest.readers import SNIFFERS
from ingest.registry import Registry


@dataclass
class Discovery:
    by_source: dict[str, list[Path]] = field(default_factory=dict)
    unmatched: list[tuple[Path, str]] = field(default_factory=list)  # (file, why)


def list_files(folder: Path) -> list[Path]:
    """Every file under the folder (recursively), hidden files and folders excepted, in name order."""
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def discover(folder: Path, registry: Registry, loaded_before: Mapping[str, str] | None = None,
             unchanged: Mapping[tuple[str, int, int], str] | None = None) -> Discovery:
    """loaded_before: checksum -> source of files already loaded; unchanged: the same for loaded
    files whose stamp (ingest.load.stamp) still stands for their content. Such a file goes to that
    source without its content being read again (reading a workbook's sheets to recognise it is the
    costliest part of a quiet night, hashing every file the next); any other file, a changed one
    included, is recognised anew."""
    found = Discovery(by_source={spec.source: [] for spec in registry})
    if not folder.is_dir():
        raise FileNotFoundError(f"extracts folder {folder} does not exist")
    known = {spec.source for spec in registry}
    for path in list_files(folder):
        before = (unchanged or {}).get(stamp(path))
        if before is None and loaded_before:
            before = loaded_before.get(sha256(path))
        source, why = (before, "loaded before") if before in known else match(path, registry)
        if source is None:
            found.unmatched.append((path, why))
        else:
            found.by_source[source].append(path)
    return found


def match(path: Path, registry: Registry) -> tuple[str | None, str]:
    fits = {fmt: _sniff(fmt, path) for fmt in {s.format for s in registry if s.format in SNIFFERS}}
    by_content = [s for s in registry if fits.get(s.format)]
    if len(by_content) > 1:
        named = [s for s in by_content if s.matches_name(path.name)]
        by_content = named or by_content
    if len(by_content) == 1:
        return by_content[0].source, "content"
    if len(by_content) > 1:
        return None, "ambiguous: its content fits sources " + ", ".join(s.source for s in by_content)
    by_name = [s for s in registry if s.format not in SNIFFERS and s.matches_name(path.name)]
    if len(by_name) == 1:
        return by_name[0].source, "name"
    if len(by_name) > 1:
        return None, "ambiguous: its name matches sources " + ", ".join(s.source for s in by_name)
    return None, "unrecognised: its name matches no source's file patterns and its content no known format"


def _sniff(fmt: str, path: Path) -> bool:
    try:
        return SNIFFERS[fmt](path)
    except (OSError, ValueError):
        return False  # unreadable files are reported by name matching or as unrecognised
