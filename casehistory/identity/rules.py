"""The guard rails no link may break.

A wrong merge puts another child's history into a review; a missed link only hides one. So the
rails are absolute: whatever the evidence, two records with different valid NHS numbers, or
different valid UPNs, or dates of birth that are not a plausible typo of each other, are never the
same person.
"""

from __future__ import annotations

from datetime import date

# Forenames babies are registered under before they are named: no name, for matching.
PLACEHOLDER_FORENAMES = {"baby", "babyof", "unborn", "unknown", "notknown", "infant", "boy", "girl"}


def dob_plausible(a: date | None, b: date | None) -> bool:
    """Could these be the same person's date of birth, one of them mistyped?

    Equal; day and month transposed; one day apart; or one digit of the year different with day
    and month equal. Anything else is two different people.
    """
    if a is None or b is None or a == b:
        return True
    if a.day == b.month and a.month == b.day and a.year == b.year:
        return True
    if abs((a - b).days) == 1:
        return True
    if (a.month, a.day) == (b.month, b.day):
        ya, yb = f"{a.year:04d}", f"{b.year:04d}"
        return sum(x != y for x, y in zip(ya, yb)) == 1
    return False


def identifiers_compatible(a: set[str], b: set[str]) -> bool:
    """Two groups of records may join unless each holds valid identifiers of a kind (NHS numbers,
    UPNs) and they differ: a pupil keeps one UPN, a person one NHS number."""
    return not a or not b or a == b


def dobs_compatible(a: set[date], b: set[date]) -> bool:
    return all(dob_plausible(x, y) for x in a for y in b)
