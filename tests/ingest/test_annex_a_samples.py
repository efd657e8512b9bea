"""Every row of Annex A lists 1-8 in the sample reaches the ledger at its sheet and row, or is
quarantined with the reason the domain gives; lists 9-11 are ignored on record. Expectations are
read with openpyxl, never with the project's reader.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import duckdb
import pytest
from openpyxl import load_workbook

from tests.ingest.national_oracle import (as_date, current_events, expected_event_reasons, expected_reasons, load,
                                           quarantined)

pytestmark = pytest.mark.samples

SOURCE = "annex_a"
WORKBOOK = "Annex_A_2024_Jan.xlsx"
S47_START = "Strategy discussion initiating Section 47 Enquiry Start Date"
# list -> the events one row gives: (event type, the column holding its date)
LISTS = {
    "List 1": [("contact", "Date of Contact")],
    "List 2": [("caf_assessment", "Assessment start date")],
    "List 3": [("referral", "Date of Referral")],
    "List 4": [("assessment_start", "Continuous Assessment Start Date"),
               ("assessment_authorised", "Continuous Assessment Date of Authorisation")],
    "List 5": [("strategy_discussion", S47_START), ("s47_start", S47_START),
               ("icpc", "Date of Initial Child Protection Conference")],
    "List 6": [("cin_episode_start", "CIN Start Date"), ("case_closure", "CIN Closure Date")],
    "List 7": [("cp_plan_start", "Child Protection Plan Start Date"), ("cp_review", "Date of latest review conference"),
               ("cp_plan_end", "Child Protection Plan End Date")],
    "List 8": [("lac_start", "Date Started to be Looked After"),
               ("lac_episode_change", "Start date of current legal status"),
               ("lac_review", "Date of Latest Statutory Review"), ("lac_end", "Date Ceased to be Looked After")],
}


def _day(value) -> date | None:
    return value.date() if isinstance(value, datetime) else value


def sheet_rows(path, title: str) -> list[tuple[str, dict]]:
    ws = load_workbook(path, read_only=True, data_only=True)[title]
    rows = ws.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows)]
    out = []
    for number, cells in enumerate(rows, start=2):
        if any(c not in (None, "") for c in cells):
            out.append((f"{title}!{number}", dict(zip(header, cells))))
    return out


@pytest.fixture
def ledger(samples, tmp_path, run_date):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    result = load(con, SOURCE, [samples / "annex_a" / WORKBOOK], run_date, tmp_path)
    yield con, result
    con.close()


def test_the_annex_a_sample_loads_and_lists_9_to_11_are_ignored_on_record(ledger, samples):
    _con, result = ledger
    [outcome] = result.files
    assert (outcome.status, outcome.reason) == ("loaded", None)
    for title in ("List 9", "List 10", "List 11"):
        n = len(sheet_rows(samples / "annex_a" / WORKBOOK, title))
        assert f"list_{title.split()[1]} ({n} rows)" in outcome.detail


@pytest.mark.parametrize("title", list(LISTS))
def test_every_row_of_the_annex_a_list_reaches_the_ledger(ledger, samples, run_date, title):
    con, _ = ledger
    rows = sheet_rows(samples / "annex_a" / WORKBOOK, title)
    assert rows
    reasons, by_event = {}, {}
    ids_from = LISTS[title][0][0]  # every event's record id is built from the list's first date
    for loc, r in rows:
        dates = {etype: _day(r[col]) for etype, col in LISTS[title]}
        reasons[loc] = expected_reasons(dates, _day(r["Date of Birth"]), run_date, ids_from)
        by_event[loc] = expected_event_reasons(dates, _day(r["Date of Birth"]), run_date, ids_from)
    for etype, col in LISTS[title]:
        # an event loads unless its own date, or the date its record id is built from, is wrong
        want = {(loc, str(r["Child Unique ID"]), _day(r[col])) for loc, r in rows
                if r[col] and not by_event[loc][etype]}
        got = {(e["locator"], e["subject_ref"], as_date(e["event_date"])) for e in current_events(con, SOURCE, WORKBOOK, etype)
               if e["locator"].startswith(f"{title}!")}
        assert got == want, f"{title}: {etype}"
    held = {loc: r for loc, r in quarantined(con, SOURCE, WORKBOOK).items() if loc.startswith(f"{title}!")}
    assert held == {loc: r for loc, r in reasons.items() if r}


def test_a_looked_after_start_before_birth_in_the_sample_is_quarantined(ledger, samples):
    """List 8 has a child born in 2018 who started to be looked after in 2010: held back, with the reason."""
    con, _ = ledger
    bad = [(loc, r) for loc, r in sheet_rows(samples / "annex_a" / WORKBOOK, "List 8")
           if r["Date of Birth"] and r["Date Started to be Looked After"] < r["Date of Birth"]]
    assert bad
    held = quarantined(con, SOURCE, WORKBOOK)
    for loc, r in bad:
        assert "date_before_birth" in held[loc]
        assert not con.execute("select count(*) from ledger.event_records where locator = ?", [loc]).fetchone()[0]


def test_annex_a_drop_down_prefixes_do_not_reach_the_codes(ledger, samples):
    con, _ = ledger
    contacts = {e["locator"]: e for e in current_events(con, SOURCE, WORKBOOK, "contact")}
    for loc, r in sheet_rows(samples / "annex_a" / WORKBOOK, "List 1"):
        source = r["Contact Source"]  # e.g. "q) 6: Police"
        assert (contacts[loc]["related_agency"] == "police") == source.endswith("6: Police"), loc
    sexes = dict(con.execute("select subject_ref, sex from ledger.person_records").fetchall())
    for _loc, r in sheet_rows(samples / "annex_a" / WORKBOOK, "List 1"):
        gender = r["Gender"].split(") ")[-1]  # "a) Male", or "Female" typed without the prefix
        assert sexes[str(r["Child Unique ID"])] == {"Male": "M", "Female": "F"}.get(gender, "U")
    statuses = {e["locator"]: e["outcome"] for e in current_events(con, SOURCE, WORKBOOK, "lac_episode_change")}
    for loc, r in sheet_rows(samples / "annex_a" / WORKBOOK, "List 8"):
        if loc in statuses:
            assert statuses[loc] == r["Child's Legal Status"].split(":")[0]  # "C2: FCO" -> C2


def test_annex_a_referrals_keep_the_count_of_earlier_referrals(ledger, samples):
    con, _ = ledger
    referrals = {e["locator"]: json.loads(e["original"]) for e in current_events(con, SOURCE, WORKBOOK, "referral")}
    for loc, r in sheet_rows(samples / "annex_a" / WORKBOOK, "List 3"):
        assert referrals[loc]["Number of Referrals in Last 12 Months"] == str(r["Number of Referrals in Last 12 Months"])
