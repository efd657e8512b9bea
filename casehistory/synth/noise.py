"""How far an agency's record of a person strays from the truth, at each noise level.

Rates are per (agency, person): an agency system holds one record per person, so a typo in it is
repeated on every row that agency sends about that person.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NoiseLevel:
    nhs_typo: float = 0.01  # a mistyped digit (fails the modulus 11 check nearly always)
    upn_typo: float = 0.01
    forename_nickname: float = 0.05
    forename_typo: float = 0.02
    surname_typo: float = 0.02
    surname_other: float = 0.02  # the other parent's surname, or a former surname
    dob_swap: float = 0.01  # day and month transposed (when the day is 12 or less)
    dob_swap_without_nhs: float = 0.04  # the same, on a record holding no NHS number (typed from what is said)
    dob_typo: float = 0.01  # one day out, or a digit of the year
    postcode_old: float = 0.1  # the family's previous address
    postcode_missing: float = 0.05
    sex_missing: float = 0.03
    unnamed_baby: float = 0.02  # health visiting records a newborn as "Baby <surname>"
    name_one_part: float = 0.2  # a double-barrelled name written as one of its parts (Smith-Jones as Jones)
    # each agency writes accents, apostrophes and hyphens its own way (extracts.NAME_STYLES)
    agency_name_styles: bool = True
    iso_dates: float = 0.1  # share of rows in an extract that mix ISO into UK dates
    bad_rows: float = 0.003  # share of rows with a fault that must be quarantined
    corrections: float = 0.01  # share of csc rows corrected in a later file
    # share of persons for whom an agency holds the identifier at all
    nhs_held: dict | None = None
    upn_held: dict | None = None

    def holds_nhs(self, agency: str) -> float:
        return (self.nhs_held or DEFAULT_NHS_HELD).get(agency, 0.0)

    def holds_upn(self, agency: str) -> float:
        return (self.upn_held or DEFAULT_UPN_HELD).get(agency, 0.0)


DEFAULT_NHS_HELD = {"csc": 0.85, "hv": 0.98, "eh": 0.1, "gp": 1.0, "hosp": 0.95, "asc": 0.6}
DEFAULT_UPN_HELD = {"csc": 0.6, "school": 0.99}

LEVELS = {
    "none": NoiseLevel(nhs_typo=0, upn_typo=0, forename_nickname=0, forename_typo=0, surname_typo=0,
                       surname_other=0, dob_swap=0, dob_swap_without_nhs=0, dob_typo=0, postcode_old=0,
                       postcode_missing=0, sex_missing=0, unnamed_baby=0, name_one_part=0, agency_name_styles=False,
                       iso_dates=0, bad_rows=0, corrections=0),
    "default": NoiseLevel(),
    "high": NoiseLevel(nhs_typo=0.03, upn_typo=0.03, forename_nickname=0.12, forename_typo=0.06,
                       surname_typo=0.06, surname_other=0.06, dob_swap=0.03, dob_swap_without_nhs=0.1, dob_typo=0.03,
                       postcode_old=0.25, postcode_missing=0.15, sex_missing=0.08, unnamed_baby=0.05, name_one_part=0.35,
                       iso_dates=0.3, bad_rows=0.01, corrections=0.03,
                       nhs_held={"csc": 0.6, "hv": 0.9, "eh": 0.05, "gp": 0.95, "hosp": 0.8, "asc": 0.4},
                       upn_held={"csc": 0.4, "school": 0.95}),
}


def level(name: str) -> NoiseLevel:
    try:
        return LEVELS[name]
    except KeyError:
        raise ValueError(f"unknown noise level {name!r}; choose from {', '.join(LEVELS)}") from None

