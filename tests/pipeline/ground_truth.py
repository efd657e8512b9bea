"""What a run's warehouse shows of the generator's awkward input, read the way the ground truth
states it (casehistory/synth/truth.py, expected.json, plans.csv), for the end-to-end tests."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb

EXTRACT_DATE = date(2025, 3, 31)  # casehistory.synth.world.AS_OF, written out: plans open on it
PLAN_TYPES = ("early_help", "cin", "cp", "lac")


def referral_figures(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    referrals, re_referrals, under_three = con.execute(
        """select count(*), count(*) filter (where is_re_referral),
                  count(*) filter (where is_under_three_with_three_or_more)
           from marts.fct_referrals""").fetchone()
    return {"referrals": referrals, "re_referrals": re_referrals, "under_three_with_three_or_more": under_three}


def plans_open_on(con: duckdb.DuckDBPyConnection, day: date) -> dict[str, int]:
    """Children with a plan of each type open on `day`, as the daily plan status says."""
    counts = dict(con.execute(
        """select plan_type, count(distinct child_key) from marts.fct_plan_status_daily, unnest(plan_types_open) as t(plan_type)
           where status_date = ? group by plan_type""", [day]).fetchall())
    return {t: counts.get(t, 0) for t in PLAN_TYPES}


def one_day_plans(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    counts = dict(con.execute("""select plan_type, count(*) from marts.fct_plan_episodes
                                 where start_recorded and end_date = start_date group by plan_type""").fetchall())
    return {t: counts.get(t, 0) for t in PLAN_TYPES}


def true_plan_episodes(ground_truth: Path) -> list[tuple[str, date, date | None]]:
    """plans.csv as the extracts carry it: (type, start, end), end None where the end never arrived."""
    with (ground_truth / "plans.csv").open(newline="", encoding="utf-8") as f:
        return sorted((p["plan_type"], date.fromisoformat(p["start_date"]),
                       date.fromisoformat(p["end_date"]) if p["end_date"] and p["end_in_extracts"] == "True" else None)
                      for p in csv.DictReader(f) if p["start_in_extracts"] == "True")


def current_values(con: duckdb.DuckDBPyConnection, amendment: dict) -> dict[str, str]:
    """The amended record's fields in its current version (ISO dates), as the models read it."""
    row = con.execute("""select event_date::date, outcome from intermediate.int_event_records__current
                         where source_name = ? and agency = ? and record_id = ?""",
                      [amendment["source"], amendment["agency"], amendment["record_id"]]).fetchone()
    assert row is not None, amendment
    values = {"event_date": row[0].isoformat(), "outcome": row[1]}
    return {field: values[field] for field in amendment["fields"]}


def child_keys_of(con: duckdb.DuckDBPyConnection, ground_truth: Path, scenario: str, forename: str) -> list[str]:
    """The child_key(s) a scenario child's records were linked to, found by NHS number."""
    with (ground_truth / "persons.csv").open(newline="", encoding="utf-8") as f:
        nhs = next(p["nhs_number"] for p in csv.DictReader(f) if p["scenario"] == scenario and p["forename"] == forename)
    keys = [r[0] for r in con.execute("""select distinct child_key from restricted.restricted_child_chronology
                                         where nhs_number = ? and not via_household""", [nhs]).fetchall()]
    assert keys, f"{forename} ({scenario}) is not in the chronology"
    return keys


def referrals_of(con: duckdb.DuckDBPyConnection, keys: list[str]) -> list[tuple]:
    """(date, referrer, re-referral, age, under three with three or more) per referral, in date order
    (two on one day in referrer order: the rule does not say which of them comes first)."""
    return con.execute("""select referral_date, source_agency, is_re_referral, age_at_referral_years,
                                 is_under_three_with_three_or_more
                          from marts.fct_referrals where list_contains(?, child_key)
                          order by referral_date, source_agency""", [keys]).fetchall()
