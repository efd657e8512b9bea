"""The readiness steps, alerts and report on a store holding the audit tables (no dbt run):
a review without gaps passes, one with gaps fails naming agency and status, the nightly step
takes only reviews due within the window, and the alert text carries no names."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest

from casehistory import warehouse
from casehistory.pipeline import StepFailed, nightly_readiness, review_readiness
from casehistory.settings import Settings

READINESS = [
    # review, agency, asked, status, first, last, deadline, own, named, evidence
    ("R-CLEAN", "csc", True, "received", date(2023, 1, 5), date(2024, 2, 1), date(2026, 2, 1), 12, 0,
     "asked; 12 records of its own dated 2023-01-05 to 2024-02-01, first arrived 2026-01-10"),
    ("R-GAPS", "school", True, "received", date(2023, 1, 5), date(2024, 2, 1), date(2026, 1, 20), 9, 0,
     "asked; 9 records of its own dated 2023-01-05 to 2024-02-01, first arrived 2026-01-10"),
    ("R-GAPS", "eh", True, "missing", None, None, date(2026, 1, 20), 0, 4,
     "asked; no records of its own in scope; named in 4 records of school"),
    ("R-LATER", "hv", True, "missing", None, None, date(2026, 6, 1), 0, 1,
     "asked; no records of its own in scope; named in 1 records of csc"),
    ("R-SENT", "police", True, "sent_unreadable", None, None, date(2026, 1, 25), 0, 0,
     "asked; sent 1 file(s) that could not be read (chronology_police.csv: wrong_columns), first received "
     "2026-01-12; no records of its own in scope"),
]
# audit.review_readiness's plain-English label of each status and its unreadable files
LABELS = {"received": "received", "missing": "missing", "sent_unreadable": "sent but unreadable"}
UNREADABLE = {("R-SENT", "police"): (1, "chronology_police.csv", "wrong_columns", date(2026, 1, 12))}


@pytest.fixture
def settings(tmp_path) -> Settings:
    s = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb", reviews=tmp_path / "reviews.yml",
                 run_date=date(2026, 1, 15))
    s.ensure_dirs()
    with warehouse.store(s) as con:
        con.execute("create schema config; create schema audit")
        con.execute("""create table config.reviews as select * from (values
                       ('R-CLEAN', 'audit', date '2022-01-01', date '2024-12-31', date '2026-02-01'),
                       ('R-GAPS', 'lcspr', date '2022-01-01', date '2024-12-31', date '2026-01-20'),
                       ('R-LATER', 'scr', date '2022-01-01', date '2024-12-31', date '2026-06-01'),
                       ('R-SENT', 'rapid_review', date '2022-01-01', date '2024-12-31', date '2026-01-25'))
                       t(review_id, review_type, scope_start, scope_end, deadline)""")
        con.execute("""create table audit.review_readiness (review_id varchar, agency varchar, asked boolean,
                       status varchar, first_entry_date date, last_entry_date date, deadline date,
                       own_records bigint, named_records bigint, evidence varchar)""")
        con.executemany("insert into audit.review_readiness values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", READINESS)
        con.execute("""alter table audit.review_readiness add column status_label varchar;
                       alter table audit.review_readiness add column unreadable_files bigint default 0;
                       alter table audit.review_readiness add column unreadable_file_names varchar;
                       alter table audit.review_readiness add column unreadable_reasons varchar;
                       alter table audit.review_readiness add column first_unreadable_on date""")
        for status, label in LABELS.items():
            con.execute("update audit.review_readiness set status_label = ? where status = ?", [label, status])
        for (review, agency), values in UNREADABLE.items():
            con.execute("""update audit.review_readiness set unreadable_files = ?, unreadable_file_names = ?,
                           unreadable_reasons = ?, first_unreadable_on = ? where review_id = ? and agency = ?""",
                        [*values, review, agency])
        con.execute("""alter table audit.review_readiness add column review_type varchar default 'lcspr';
                       alter table audit.review_readiness add column scope_start date default date '2022-01-01';
                       alter table audit.review_readiness add column scope_end date default date '2024-12-31'""")
        con.execute("""create table audit.review_evidence as select * from (values
                       ('R-GAPS', 'eh', 'school', 'meeting_attendance', 'tac_meeting', date '2023-06-12'))
                       t(review_id, agency, reported_by, evidence_kind, event_type, event_date)""")
        con.execute("""create table audit.review_disagreements as select * from (values
                       ('R-GAPS', 'referral', date '2024-05-20', 'csc: 2024-05-20 early_help; school: 2024-05-21 (no outcome)'))
                       t(review_id, event_type, event_date, accounts)""")
    return s


def _name(code: str) -> str:
    """An agency as the report names it (escaped as in the page: Jinja2's autoescaping, MarkupSafe)."""
    from markupsafe import escape

    from casehistory.vocabulary import agency_name

    return escape(agency_name(code))


def test_a_review_without_gaps_passes_and_gets_its_report(settings):
    detail = review_readiness(settings, "run1", "R-CLEAN")
    assert detail["outcome"] == "ready" and detail["alerts"] == [] and detail["checks_failed"] == []
    page = (settings.reports_dir / "reviews" / "R-CLEAN.html").read_text()
    assert "Ready: every agency asked" in page and f"<td>{_name('csc')}</td><td>received</td>" in page


def test_a_review_with_gaps_fails_naming_agency_status_and_evidence(settings):
    with pytest.raises(StepFailed) as failed:
        review_readiness(settings, "run1", "R-GAPS")
    message = str(failed.value)
    assert "review R-GAPS is not ready (1 gap(s)" in message
    assert "eh missing: asked; no records of its own in scope; named in 4 records of school" in message
    page = (settings.reports_dir / "reviews" / "R-GAPS.html").read_text()
    assert f"<td>{_name('eh')}</td><td>missing</td>" in page and "1 agencies to chase" in page
    assert "Social care: 2024-05-20 passed to early help; School: 2024-05-21 (no outcome)" in page  # both accounts, by name


def test_an_undeclared_review_is_a_clear_failure(settings):
    with pytest.raises(StepFailed, match="review 'R-NOPE' is not declared"):
        review_readiness(settings, "run1", "R-NOPE")


def test_the_nightly_step_checks_reviews_due_within_the_window_and_warns(settings):
    detail = nightly_readiness(replace(settings, review_window_days=5), "run1")
    assert detail["reviews"] == ["R-GAPS"] and detail["outcome"] == "warning"
    # this store holds the readiness tables alone: the panel's chronology is not written, and it says why
    assert detail["chronologies"] == [] and "the store has no" in detail["chronologies_not_written"]
    assert detail["alerts"] == [
        "review R-GAPS (deadline 2026-01-20): eh missing: asked; no records of its own in scope; "
        "named in 4 records of school"]
    # a window of 200 days: now R-SENT, R-CLEAN and R-LATER are due too
    assert [a.split(":")[0] for a in nightly_readiness(replace(settings, review_window_days=200), "run2")["alerts"]] == [
        "review R-GAPS (deadline 2026-01-20)", "review R-LATER (deadline 2026-06-01)",
        "review R-SENT (deadline 2026-01-25)"]  # by review id


def test_a_chronology_sent_but_unreadable_is_a_gap_naming_the_file_and_why(settings):
    with pytest.raises(StepFailed) as failed:
        review_readiness(settings, "run1", "R-SENT")
    assert ("police sent but unreadable: asked; sent 1 file(s) that could not be read (chronology_police.csv: "
            "wrong_columns), first received 2026-01-12") in str(failed.value)
    page = (settings.reports_dir / "reviews" / "R-SENT.html").read_text()
    assert "<td>Police</td><td>sent but unreadable</td>" in page
    assert "Ask the agency to send its chronology again" in page
    # whom to ask to resend which file, and why it could not be read, in plain English
    assert ("<td>Police</td><td>chronology_police.csv</td><td>its columns are not the template&#39;s (a required "
            "column missing, misspelt or repeated, or another delimiter) (wrong_columns)</td><td>2026-01-12</td>") in page
    assert "review R-SENT (deadline 2026-01-25): police sent but unreadable: asked; sent 1 file(s)" in \
        "\n".join(nightly_readiness(replace(settings, review_window_days=10), "run2")["alerts"])


def test_the_report_names_agencies_counts_household_contacts_apart_and_says_none_when_empty():
    from casehistory.readiness import render_report

    rows = [{"agency": "hv", "status": "received", "status_label": "received", "asked": True,
             "first_entry_date": None, "last_entry_date": None, "named_records": 0, "evidence": "",
             "review_type": "lcspr", "scope_start": None, "scope_end": None, "deadline": None}]
    page = render_report("R", rows, [], [], date(2026, 1, 15), {("hv", "own_record"): 7, ("hv", "household_contact"): 3})
    assert f"<td>{_name('hv')}</td>" in page and "<td>hv</td>" not in page
    assert "<td class='own-child'>7</td><td class='own-household'>3</td>" in page  # apart, not 10
    assert "Local child safeguarding practice review" in page
    for section in ("evidence", "disagreements", "unreadable"):
        assert re.search(rf"<p id='{section}' class='empty'><b>[^<]+</b>: none.</p>", page), section
