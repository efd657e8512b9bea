"""The generator's names and identifiers, and a scan of text for them: what the tests use to prove
that analyst files, logs, summaries and alerts hold no personal data."""

from __future__ import annotations

import csv
import re
from pathlib import Path

FREE_TEXT = "Worries about neglect, hunger and hygiene"  # a scenario's case note (casehistory/synth)
BINARY_SUFFIXES = {".msgpack", ".gpickle", ".duckdb", ".wal", ".xlsx", ".png", ".ico", ".woff", ".woff2"}


def generated_secrets(ground_truth: Path) -> set[str]:
    """Full names, NHS numbers, UPNs and agency subject references of every generated person."""
    with (ground_truth / "persons.csv").open() as f:
        people = list(csv.DictReader(f))
    secrets = {f"{p['forename']} {p['surname']}" for p in people}
    secrets |= {p["nhs_number"] for p in people if p["nhs_number"]} | {p["upn"] for p in people if p["upn"]}
    with (ground_truth / "records.csv").open() as f:
        secrets |= {r["subject_ref"] for r in csv.DictReader(f) if r["subject_ref"]}
    return secrets | {FREE_TEXT}


def find_secrets(text: str, secrets: set[str]) -> set[str]:
    """Secrets that occur in `text` as whole words (an NHS number inside a longer number does not count)."""
    pattern = re.compile(r"(?<![\w])(" + "|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True))
                         + r")(?![\w])")
    return set(pattern.findall(text))


def scan_files(paths: list[Path], secrets: set[str]) -> dict[str, set[str]]:
    """{file: secrets found} over every text file under the given files and folders."""
    found: dict[str, set[str]] = {}
    for root in paths:
        for path in ([root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())):
            if path.suffix in BINARY_SUFFIXES:
                continue
            hits = find_secrets(path.read_text(errors="replace"), secrets)
            if hits:
                found[str(path)] = hits
    return found
