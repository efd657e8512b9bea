"""The guard rails no link may break.

A wrong merge puts another child's history into a review; a missed link only hides one. So the
rails are absolute: whatever the evidence, two records with different valid NHS numbers, or
different valid UPNs, or dates of birth that are not a plausible typo of each other, are never the
same person.
"""

from __future__ import annotations

from datetime import date

# Forenames babies are registered under before they are named: no name, for matching. Digits are
# dropped from name keys, so "Twin 1" and "Twin 2" of one birth both read "twin": a placeholder too,
# or two twins would share a name.
PLACEHOLDER_FORENAMES = {"baby", "babyof", "unborn", "unknown", "notknown", "infant", "boy", "girl",
                         "babyboy", "babygirl", "twin", "twinof", "twina", "twinb", "twinone", "twintwo"}

# How two dates of birth relate, strongest first; dob_relation returns one of these or None.
DOB_RELATIONS = ("exact", "day_month_swapped", "one_day_apart", "one_year_digit")


def dob_relation(a: date, b: date) -> str | None:
    """How b could be a's date of birth mistyped: the same date; day and month transposed (in the
    same year); one day apart; or one digit of the year different with day and month equal. None:
    no typo of each other, so two different people."""
    if a == b:
        return "exact"
    if a.day == b.month and a.month == b.day and a.year == b.year:
        return "day_month_swapped"
    if abs((a - b).days) == 1:
        return "one_day_apart"
    if (a.month, a.day) == (b.month, b.day):
        ya, yb = f"{a.year:04d}", f"{b.year:04d}"
        if sum(x != y for x, y in zip(ya, yb)) == 1:
            return "one_year_digit"
    return None


def dob_relation_sql(a: str, b: str) -> str:
    """dob_relation as a DuckDB expression over two date columns (tests/identity/test_rules.py
    checks the two agree)."""
    return f"""case
        when {a} = {b} then 'exact'
        when day({a}) = month({b}) and month({a}) = day({b}) and year({a}) = year({b}) then 'day_month_swapped'
        when abs(date_diff('day', {a}, {b})) = 1 then 'one_day_apart'
        when month({a}) = month({b}) and day({a}) = day({b})
             and hamming(lpad(year({a})::varchar, 4, '0'), lpad(year({b})::varchar, 4, '0')) = 1 then 'one_year_digit'
    end"""


def dob_plausible(a: date | None, b: date | None) -> bool:
    """Could these be the same person's date of birth, one of them mistyped? (Unknown: nothing
    says they are not.) Anything dob_relation does not name is two different people."""
    return a is None or b is None or dob_relation(a, b) is not None


def identifiers_compatible(a: set[str], b: set[str]) -> bool:
    """Two groups of records may join unless each holds valid identifiers of a kind (NHS numbers,
    UPNs) and they differ: a pupil keeps one UPN, a person one NHS number."""
    return not a or not b or a == b


def dobs_compatible(a: set[date], b: set[date]) -> bool:
    return all(dob_plausible(x, y) for x in a for y in b)


def sexes_conflict(a: set[str], b: set[str]) -> bool:
    """Both sides record a sex (M or F) and none in common. Not a rail for identifiers or people (a
    sex is sometimes recorded wrongly), but name and birth date alone never join across it."""
    known_a, known_b = a & {"M", "F"}, b & {"M", "F"}
    return bool(known_a) and bool(known_b) and not known_a & known_b
