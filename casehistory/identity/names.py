"""When two forenames may be one person's: the same name key, or a known variant of it
(casehistory/reference/name_variants.yml: short forms, nicknames, other spellings).

Name keys are made in identity.subject_records (resolve.subject_records_sql): lower case, accents
stripped, everything but letters dropped, so accents, apostrophes, hyphens and spaces never tell
two names apart; placeholders ("Baby", "Twin 1") are no name at all.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pyarrow as pa
import yaml

VARIANTS_FILE = Path(__file__).resolve().parent.parent / "reference" / "name_variants.yml"


@cache
def forename_groups() -> dict[str, frozenset[int]]:
    """name key -> the variant groups (numbered in file order) it belongs to."""
    doc = yaml.safe_load(VARIANTS_FILE.read_text())
    groups: dict[str, set[int]] = {}
    for number, group in enumerate(doc["forename_groups"], start=1):
        for name in group:
            if not isinstance(name, str) or not name.isalpha() or name != name.lower() or not name.isascii():
                raise ValueError(f"{VARIANTS_FILE}: group {number}: {name!r} is not a name key "
                                 "(lower-case ASCII letters only)")
            groups.setdefault(name, set()).add(number)
    return {name: frozenset(numbers) for name, numbers in groups.items()}


def forenames_relation(a: str | None, b: str | None) -> str | None:
    """"exact", "variant" (one group holds both), or None (unknown, or not alike)."""
    if not a or not b:
        return None
    if a == b:
        return "exact"
    groups = forename_groups()
    return "variant" if groups.get(a, frozenset()) & groups.get(b, frozenset()) else None


def variants_table() -> pa.Table:
    """(forename_key, name_group) for every name in a group: for joining in SQL."""
    rows = sorted((name, number) for name, numbers in forename_groups().items() for number in numbers)
    return pa.table({"forename_key": pa.array([r[0] for r in rows], pa.string()),
                     "name_group": pa.array([r[1] for r in rows], pa.int32())})
