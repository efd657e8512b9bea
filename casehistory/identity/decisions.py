"""A person's decisions on pairs of subjects: kept in a CSV beside the restricted store and obeyed on
every later run. "same" links two subjects (guard rails still apply); "different" keeps them apart
whatever any identifier or the model says; "withdrawn" takes back the decision standing on the pair,
which is then left to the evidence again. The latest row on a pair wins; none is ever deleted, so
the file is the history of who decided what, and when.

The file (<warehouse>.restricted/identity_decisions.csv) is append-only and written with
`casehistory identity decide`, which refuses a subject key the store does not hold, a key paired
with itself, and a decision nobody signs; a data team can also review it in a spreadsheet, and a
hand-edited row that breaks those rules stops the run with the line and the problem.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

DECISIONS_FILE = "identity_decisions.csv"  # in the restricted folder beside the store
FIELDS = ["subject_a", "subject_b", "decision", "decided_by", "decided_at", "note"]
DECISIONS = ("same", "different")
WITHDRAWN = "withdrawn"


class DecisionsError(ValueError):
    pass


@dataclass(frozen=True)
class Decision:
    subject_a: str
    subject_b: str
    decision: str  # same | different | withdrawn
    decided_by: str
    decided_at: str
    note: str

    @property
    def pair(self) -> tuple[str, str]:
        return tuple(sorted((self.subject_a, self.subject_b)))  # type: ignore[return-value]


@dataclass(frozen=True)
class Entry:
    """One row of the file, and where it stands: standing, withdrawn (the pair's latest row takes a
    decision back) or superseded (a later row on the pair)."""
    line: int
    decision: Decision
    status: str


def key_problem(key: str) -> str | None:
    """Why `key` cannot be a subject key ("<namespace>:<the agency's id>", e.g. police:PN00012345)."""
    namespace, colon, ref = key.partition(":")
    if not colon or not namespace or not ref:
        return f"{key!r} is not a subject key: expected <agency>:<its id>, e.g. police:PN00012345"
    if key != key.strip() or any(c.isspace() for c in namespace) or not key.isprintable():
        return f"{key!r} is not a subject key: stray spaces or unprintable characters"
    return None


def _problem(d: Decision) -> str | None:
    if d.decision not in (*DECISIONS, WITHDRAWN):
        return f"decision must be one of {(*DECISIONS, WITHDRAWN)}, not {d.decision!r}"
    for key in (d.subject_a, d.subject_b):
        if problem := key_problem(key):
            return problem
    if d.subject_a == d.subject_b:
        return f"a decision needs two different subjects, not {d.subject_a} with itself"
    if not d.decided_by.strip():
        return "decided_by is empty: say who decided"
    return None


def read_history(path: Path) -> list[Entry]:
    """Every row of the file, in order, with its status; a malformed row stops with file, line and problem."""
    if not path.exists():
        return []
    rows: list[tuple[int, Decision]] = []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != FIELDS:
            raise DecisionsError(f"{path}: header must be {','.join(FIELDS)}")
        for line, row in enumerate(reader, start=2):
            if None in row or any(v is None for v in row.values()):
                raise DecisionsError(f"{path}: line {line}: expected {len(FIELDS)} fields ({','.join(FIELDS)})")
            d = Decision(**row)
            if problem := _problem(d):
                raise DecisionsError(f"{path}: line {line}: {problem}")
            rows.append((line, d))
    latest = {d.pair: line for line, d in rows}
    return [Entry(line, d, "superseded" if latest[d.pair] != line else
                  WITHDRAWN if d.decision == WITHDRAWN else "standing") for line, d in rows]


def read_decisions(path: Path) -> list[Decision]:
    """The standing decision on each pair: the latest in the file, unless that takes it back."""
    return [e.decision for e in read_history(path) if e.status == "standing"]


def unknown_subjects(con: duckdb.DuckDBPyConnection, keys: list[str]) -> list[str]:
    """Those of `keys` the store's subject records do not hold (all, before the first link step)."""
    try:
        held = {k for (k,) in con.execute("select distinct subject_key from identity.subject_records "
                                          "where subject_key in (select unnest(?))", [keys]).fetchall()}
    except duckdb.CatalogException:
        held = set()
    return [k for k in keys if k not in held]


def record_decision(path: Path, subject_a: str, subject_b: str, decision: str, decided_by: str, note: str = "") -> Decision:
    """Append a decision (same, different or withdrawn). Whether the subjects exist is for the
    caller to check against the store (unknown_subjects): this file knows only its own rows."""
    d = Decision(subject_a, subject_b, decision, decided_by.strip(), datetime.now().replace(microsecond=0).isoformat(), note)
    if problem := _problem(d):
        raise DecisionsError(problem)
    if decision == WITHDRAWN and d.pair not in {s.pair for s in read_decisions(path)}:
        raise DecisionsError(f"no standing decision on {subject_a} and {subject_b} to withdraw")
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        if new:
            w.writeheader()
        w.writerow(d.__dict__)
    return d
