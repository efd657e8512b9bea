"""The event vocabulary and agency list, read once from casehistory/reference/.

Everything that needs to know what an event type is (ingest validation, matching in dbt, checks)
reads it from here or from the ref.* tables this module writes into the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

REFERENCE_DIR = Path(__file__).parent / "reference"


@dataclass(frozen=True)
class EventType:
    name: str
    category: str
    outcomes: tuple[str, ...]
    open_outcome: bool
    household: bool
    may_precede_birth: bool
    match_by_referrer: bool
    match_window_days: int
    decided_by: str | None = None  # the agency whose outcome a merged event takes (event_types.yml)

    def accepts_outcome(self, outcome: str | None) -> bool:
        if outcome is None or self.open_outcome:
            return True
        return outcome in self.outcomes


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    identifiers: tuple[str, ...]
    short: str  # for a narrow column; the name where none is given


@cache
def event_types() -> dict[str, EventType]:
    doc = yaml.safe_load((REFERENCE_DIR / "event_types.yml").read_text())
    window = doc["defaults"]["match_window_days"]
    return {
        name: EventType(
            name=name,
            category=spec["category"],
            outcomes=tuple(spec.get("outcomes", ())),
            open_outcome=bool(spec.get("open_outcome", False)),
            household=bool(spec.get("household", False)),
            may_precede_birth=bool(spec.get("may_precede_birth", False)),
            match_by_referrer=bool(spec.get("match_by_referrer", False)),
            match_window_days=int(spec.get("match_window_days", window)),
            decided_by=spec.get("decided_by"),
        )
        for name, spec in doc["event_types"].items()
    }


@cache
def agencies() -> dict[str, Agency]:
    doc = yaml.safe_load((REFERENCE_DIR / "agencies.yml").read_text())
    return {
        code: Agency(code=code, name=spec["name"], identifiers=tuple(spec["identifiers"]),
                     short=spec.get("short", spec["name"]))
        for code, spec in doc["agencies"].items()
    }


@cache
def _labels() -> dict:
    return yaml.safe_load((REFERENCE_DIR / "event_types.yml").read_text()).get("labels", {})


def event_label(event_type: str) -> str:
    """What people read for an event type ("Referral to children's social care")."""
    return _labels().get("event_types", {}).get(event_type) or event_type.replace("_", " ")


def outcome_label(outcome: str | None) -> str:
    """An outcome in words ("passed to early help"); a national code without a label as it is."""
    if outcome is None:
        return ""
    return _labels().get("outcomes", {}).get(outcome) or outcome.replace("_", " ")


def plan_types() -> tuple[str, ...]:
    """The plan types with a name, in the order of the statutory ladder (early help first)."""
    return tuple(_labels().get("plan_types", {}))


def plan_name(plan_type: str) -> str:
    """A plan type in words ("child protection"); an unknown code with its underscores as spaces."""
    return _labels().get("plan_types", {}).get(plan_type) or plan_type.replace("_", " ")


def warning_signs() -> tuple[str, ...]:
    """The warning signs with a description in words."""
    return tuple(_labels().get("warning_signs", {}))


def sign_label(sign: str) -> str:
    """A warning sign in words ("a meeting cancelled and never re-booked")."""
    return _labels().get("warning_signs", {}).get(sign) or sign.replace("_", " ")


def agency_name(code: str, short: bool = False) -> str:
    """An agency's name (or short name) for people; an unknown code as it is."""
    agency = agencies().get(code)
    return (agency.short if short else agency.name) if agency else code


def write_reference_tables(con) -> None:
    """(Re)write ref.event_types and ref.agencies so dbt and checks read the same vocabulary."""
    from casehistory.warehouse import insert_rows

    con.execute("create schema if not exists ref")
    con.execute(
        """
        create or replace table ref.event_types (
            event_type varchar primary key, category varchar not null, outcomes varchar[],
            open_outcome boolean, household boolean, may_precede_birth boolean,
            match_by_referrer boolean, match_window_days integer, decided_by varchar)
        """
    )
    insert_rows(
        con, "ref.event_types",
        ["event_type", "category", "outcomes", "open_outcome", "household", "may_precede_birth", "match_by_referrer",
         "match_window_days", "decided_by"],
        [
            (t.name, t.category, list(t.outcomes), t.open_outcome, t.household,
             t.may_precede_birth, t.match_by_referrer, t.match_window_days, t.decided_by)
            for t in event_types().values()
        ],
    )
    con.execute(
        "create or replace table ref.agencies (agency varchar primary key, name varchar, identifiers varchar[])"
    )
    insert_rows(
        con, "ref.agencies", ["agency", "name", "identifiers"],
        [(a.code, a.name, list(a.identifiers)) for a in agencies().values()],
    )
