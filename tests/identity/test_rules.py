"""Guard rails and identifier checks, as pure rules."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

import pytest

from casehistory.identifiers import is_valid_nhs_number, is_valid_upn, normalise_upn, upn_check_letter
from casehistory.identity.rules import (dob_plausible, dob_relation, dob_relation_sql, dobs_compatible,
                                       identifiers_compatible)


@pytest.mark.parametrize("nhs, valid", [
    ("9434765919", True), ("9434765918", False), ("943476591", False), ("0000000000", False),
    ("4010232137", True), ("401023213X", False),
])
def test_nhs_numbers_pass_the_modulus_11_check(nhs, valid):
    assert is_valid_nhs_number(nhs) is valid


def test_upn_check_letter_and_unknown_codes():
    body = "936200022115"
    assert is_valid_upn(upn_check_letter(body) + body)
    assert not is_valid_upn(("A" if upn_check_letter(body) != "A" else "B") + body)
    assert normalise_upn("UN2") is None and normalise_upn(" d936 2000 22115 ") == "D936200022115"


@pytest.mark.parametrize("a, b, plausible", [
    (date(2019, 3, 4), date(2019, 3, 4), True),
    (date(2019, 3, 4), date(2019, 4, 3), True),   # day and month transposed
    (date(2019, 3, 4), date(2019, 3, 5), True),   # one day out
    (date(2019, 3, 4), date(2018, 3, 4), True),   # one digit of the year
    (date(2019, 3, 4), date(2009, 3, 4), True),
    (date(2019, 3, 4), date(2019, 3, 14), False),
    (date(2019, 3, 4), date(2017, 3, 4), True),   # 2019 -> 2017: still one digit
    (date(2019, 3, 4), date(2020, 3, 4), False),  # two digits differ
    (date(2019, 3, 4), date(2019, 9, 4), False),
])
def test_a_date_of_birth_mismatch_is_plausible_only_as_a_typo(a, b, plausible):
    assert dob_plausible(a, b) is plausible
    assert dob_plausible(b, a) is plausible


def test_groups_with_different_valid_identifiers_are_incompatible():
    assert identifiers_compatible(set(), {"9434765919"})
    assert identifiers_compatible({"9434765919"}, {"9434765919"})
    assert not identifiers_compatible({"9434765919"}, {"4010232137"})
    assert not dobs_compatible({date(2019, 3, 4)}, {date(2015, 1, 1)})


@pytest.mark.parametrize("a, b, relation", [
    (date(2019, 3, 4), date(2019, 3, 4), "exact"),
    (date(2019, 3, 4), date(2019, 4, 3), "day_month_swapped"),
    (date(2019, 12, 31), date(2020, 1, 1), "one_day_apart"),  # across a year
    (date(2019, 3, 4), date(2009, 3, 4), "one_year_digit"),
    (date(2019, 3, 4), date(2018, 4, 3), None),  # swapped and another year: two typos
])
def test_how_two_dates_of_birth_relate(a, b, relation):
    assert dob_relation(a, b) == relation and dob_relation(b, a) == relation


def test_the_sql_date_relation_is_the_python_one():
    # every pair among dates around a birthday, transposable ones and year typos
    days = sorted({date(2019, 3, 4) + timedelta(days=n) for n in range(-3, 4)}
                  | {date(2019, 4, 3), date(2019, 12, 31), date(2020, 1, 1), date(2009, 3, 4), date(2018, 3, 4),
                     date(2019, 1, 1), date(1919, 3, 4), date(2012, 11, 12), date(2012, 12, 11)})
    pairs = [(a, b) for a in days for b in days]
    con = duckdb.connect()
    got = con.execute(f"select a, b, {dob_relation_sql('a', 'b')} from (select unnest(?) as a, unnest(?) as b)",
                      [[a for a, _ in pairs], [b for _, b in pairs]]).fetchall()
    assert {(a, b): r for a, b, r in got} == {(a, b): dob_relation(a, b) for a, b in pairs}
