"""National identifiers: normalisation and check digits.

A value that fails its check is kept as the agency gave it but never used to link people: a typo
in an NHS number must not merge two children.
"""

from __future__ import annotations

import re
from functools import lru_cache

_NON_DIGITS = re.compile(r"\D")
# an extract repeats a child's identifiers on every row: the checks are cached per value
_cached = lru_cache(maxsize=1 << 16)
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # I, O and S are never used
UPN_UNKNOWN = {"UN1", "UN2", "UN3", "UN4", "UN5"}  # DfE codes for "UPN not known"


@_cached
def normalise_nhs_number(raw: str | None) -> str | None:
    """Digits only ("943 476 5919" -> "9434765919"); None when nothing is left."""
    if raw is None:
        return None
    digits = _NON_DIGITS.sub("", str(raw))
    return digits or None


def nhs_check_digit(first_nine: str) -> int | None:
    """Modulus 11 check digit for nine digits; None when the number cannot be valid (remainder 10)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


@_cached
def is_valid_nhs_number(value: str | None) -> bool:
    if value is None or len(value) != 10 or not value.isdigit():
        return False
    if len(set(value)) == 1:  # 0000000000 and friends pass the arithmetic but are placeholders
        return False
    return nhs_check_digit(value[:9]) == int(value[9])


@_cached
def normalise_upn(raw: str | None) -> str | None:
    if raw is None:
        return None
    value = re.sub(r"\s", "", str(raw)).upper()
    if not value or value in UPN_UNKNOWN:
        return None
    return value


def upn_check_letter(body: str) -> str:
    """Check letter for the 12 characters after it (the last may be a letter for temporary UPNs)."""
    total = 0
    for weight, char in enumerate(body, start=2):
        total += (int(char) if char.isdigit() else UPN_LETTERS.index(char)) * weight
    return UPN_LETTERS[total % 23]


@_cached
def is_valid_upn(value: str | None) -> bool:
    if value is None or not re.fullmatch(rf"[{UPN_LETTERS}]\d{{11}}[0-9{UPN_LETTERS}]", value):
        return False
    return upn_check_letter(value[1:]) == value[0]
