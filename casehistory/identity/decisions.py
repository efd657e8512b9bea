"""A person's decisions on pairs of subjects: kept in a CSV beside the restricted store and obeyed on
every later run. "same" links two subjects (guard rails still apply); "different" keeps them apart
whatever any identifier or the model says. The latest decision on a pair wins; none is deleted.

The file (<warehouse>.restricted/identity_decisions.csv) is append-only and written with
`casehistory identity decide`; a data team can also review it in a spreadsheet.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

DECISIONS_FILE = "identity_decisions.csv"  # in the restricted folder beside the store
FIELDS = ["subject_a", "subject_b", "decision", "decided_by", "decided_at", "note"]
DECISIONS = ("same", "different")


class DecisionsError(ValueError):
    pass


@dataclass(frozen=True)
class Decision:
    subject_a: str
    subject_b: str
    decision: str
    decided_by: str
    decided_at: str
    note: str

    @property
    def pair(self) -> tuple[str, str]:
        return tuple(sorted((self.subject_a, self.subject_b)))  # type: ignore[return-value]


def read_decisions(path: Path) -> list[Decision]:
    """The standing decision on each pair (the latest in the file)."""
    if not path.exists():
        return []
    latest: dict[tuple[str, str], Decision] = {}
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != FIELDS:
            raise DecisionsError(f"{path}: header must be {','.join(FIELDS)}")
        for line, row in enumerate(reader, start=2):
            if row["decision"] not in DECISIONS:
                raise DecisionsError(f"{path}: line {line}: decision must be one of {DECISIONS}, not {row['decision']!r}")
            if not row["subject_a"] or not row["subject_b"] or row["subject_a"] == row["subject_b"]:
                raise DecisionsError(f"{path}: line {line}: a decision needs two different subjects")
            if not row["decided_by"]:
                raise DecisionsError(f"{path}: line {line}: decided_by is empty: say who decided")
            d = Decision(**row)
            latest[d.pair] = d
    return list(latest.values())


def record_decision(path: Path, subject_a: str, subject_b: str, decision: str, decided_by: str, note: str = "") -> Decision:
    if decision not in DECISIONS:
        raise DecisionsError(f"decision must be one of {DECISIONS}")
    if not decided_by:
        raise DecisionsError("say who decided (decided_by)")
    d = Decision(subject_a, subject_b, decision, decided_by, datetime.now().replace(microsecond=0).isoformat(), note)
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        if new:
            w.writeheader()
        w.writerow(d.__dict__)
    return d
