"""Every looked-after episode, review and missing episode in the SSDA903 samples reaches the ledger,
traceable to its file and line, with lac_start / lac_end meaning a period of care starting / ending.

Expectations are read with the csv module, never with the project's reader.
"""

from __future__ import annotations

import duckdb
import pytest

from tests.ingest.national_oracle import as_date, csv_records, current_events, expected_reasons, load, quarantined, uk

pytestmark = pytest.mark.samples

SOURCE = "ssda903"


@pytest.fixture
def ledger(samples, tmp_path, run_date):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    result = load(con, SOURCE, sorted((samples / "ssda903").glob("*.csv")), run_date, tmp_path)
    yield con, result
    con.close()


def test_every_ssda903_sample_file_loads(ledger, samples):
    _con, result = ledger
    assert {f.file_name for f in result.files} == {p.name for p in (samples / "ssda903").glob("*.csv")}
    assert [(f.file_name, f.status, f.reason) for f in result.files if f.status != "loaded"] == []


def test_every_looked_after_episode_in_the_sample_reaches_the_ledger(ledger, samples, run_date):
    con, _ = ledger
    rows = csv_records(samples / "ssda903" / "episodes.csv")
    assert rows
    # an episode starting with RNE S starts a period of care; any other RNE changes placement or legal
    # status within one; every row is exactly one of the two
    starts = {(loc, r["CHILD"], uk(r["DECOM"]), r["LS"]) for loc, r in rows if r["RNE"] == "S"}
    changes = {(loc, r["CHILD"], uk(r["DECOM"]), r["LS"]) for loc, r in rows if r["RNE"] != "S"}
    # a period of care ends where an episode ceases for a reason other than X1 (X1: the next episode follows)
    ends = {(loc, r["CHILD"], uk(r["DEC"]), r["REC"]) for loc, r in rows if r["DEC"] and r["REC"] != "X1"}
    assert starts and changes and ends

    def got(etype):
        return {(e["locator"], e["subject_ref"], as_date(e["event_date"]), e["outcome"])
                for e in current_events(con, SOURCE, "episodes.csv", etype)}

    assert got("lac_start") == starts
    assert got("lac_episode_change") == changes
    assert got("lac_end") == ends
    assert not quarantined(con, SOURCE, "episodes.csv")
    # every row is in the ledger, one episode event each, at its own line
    episode_lines = [e["locator"] for e in current_events(con, SOURCE, "episodes.csv", "lac_start", "lac_episode_change")]
    assert sorted(episode_lines) == sorted(loc for loc, _ in rows)


def test_every_looked_after_review_in_the_sample_is_loaded_or_quarantined(ledger, samples, run_date):
    con, _ = ledger
    rows = csv_records(samples / "ssda903" / "reviews.csv")
    reasons: dict[str, set[str]] = {}
    seen: set[tuple[str, str]] = set()
    for loc, r in rows:
        reasons[loc] = expected_reasons({"lac_review": uk(r["REVIEW"])}, uk(r["DOB"]), run_date)
        # one review per child per day: a second row for the same day (the sample has some, with a
        # different participation code) contradicts the first and is held back, not loaded twice
        if not reasons[loc]:
            if (r["CHILD"], r["REVIEW"]) in seen:
                reasons[loc] = {"duplicate_record"}
            seen.add((r["CHILD"], r["REVIEW"]))
    loaded = {(loc, r["CHILD"], uk(r["REVIEW"]), r["REVIEW_CODE"]) for loc, r in rows if not reasons[loc]}
    got = {(e["locator"], e["subject_ref"], as_date(e["event_date"]), e["outcome"])
           for e in current_events(con, SOURCE, "reviews.csv", "lac_review")}
    assert got == loaded
    # reviews dated after the run date and repeated reviews are quarantined as such, not dropped
    assert quarantined(con, SOURCE, "reviews.csv") == {loc: r for loc, r in reasons.items() if r}
    assert {"date_in_future", "duplicate_record"} <= set().union(*reasons.values())


def test_every_missing_episode_in_the_sample_reaches_the_ledger(ledger, samples):
    con, _ = ledger
    rows = csv_records(samples / "ssda903" / "missing.csv")
    kinds = {"M": "missing", "A": "away"}
    starts = {(loc, r["CHILD"], uk(r["MIS_START"]), kinds[r["MISSING"]]) for loc, r in rows}
    ends = {(loc, r["CHILD"], uk(r["MIS_END"])) for loc, r in rows if r["MIS_END"]}
    assert {(e["locator"], e["subject_ref"], as_date(e["event_date"]), e["outcome"])
            for e in current_events(con, SOURCE, "missing.csv", "missing_episode_start")} == starts
    assert {(e["locator"], e["subject_ref"], as_date(e["event_date"]))
            for e in current_events(con, SOURCE, "missing.csv", "missing_episode_end")} == ends


def test_the_903_header_gives_each_child_as_a_person_and_a_young_mothers_baby_as_a_birth(ledger, samples):
    con, _ = ledger
    rows = csv_records(samples / "ssda903" / "header.csv")
    sexes = {"1": "M", "2": "F"}
    want = {(r["CHILD"], uk(r["DOB"]), sexes[r["SEX"]], r["UPN"] or None) for _, r in rows}
    got = set(con.execute("select subject_ref, date_of_birth, sex, upn from ledger.person_records "
                          "where file_name = 'header.csv' and subject_namespace = 'csc'").fetchall())
    assert got == want
    mothers = {(loc, r["CHILD"], uk(r["MC_DOB"])) for loc, r in rows
               if r["MOTHER"] and float(r["MOTHER"]) == 1 and r["MC_DOB"]}
    births = current_events(con, SOURCE, "header.csv", "birth")
    assert {(e["locator"], e["subject_ref"], as_date(e["event_date"])) for e in births} == mothers
    assert all(e["person_role"] == "mother" for e in births)
    assert all('"MOTHER"' in e["original"] and '"MC_DOB"' in e["original"] for e in births)


def test_an_ignored_903_table_is_named_on_the_files_record(ledger, samples):
    con, result = ledger
    rows = csv_records(samples / "ssda903" / "uasc.csv")
    uasc = next(f for f in result.files if f.file_name == "uasc.csv")
    assert uasc.status == "loaded" and uasc.rows_read == 0
    assert f"uasc ({len(rows)} rows)" in uasc.detail
    assert con.execute("select detail from ledger.files where file_name = 'uasc.csv'").fetchone()[0] == uasc.detail
