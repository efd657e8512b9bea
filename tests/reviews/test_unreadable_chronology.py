"""An agency that sent its chronology, whose file was rejected, is "sent but unreadable", not
"missing": audit.review_readiness, the review's report, the nightly alert lines and the board's
table say which file and why (the reader's reason code, never its message), and a readable file
the agency sends later closes it. Two nights through the pipeline's steps in process, on files
written here; every expected status follows from the rules in dbt/models/audit/review_readiness.sql
and dbt/models/intermediate/int_chronologies__unreadable.sql applied to these files by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from casehistory import pipeline
from casehistory.settings import Settings

pytestmark = pytest.mark.slow

REVIEW = "REV-2025-777"
REVIEWS = f"""reviews:
  - id: {REVIEW}
    type: rapid_review
    subjects:
      - {{nhs_number: "9990000018"}}
    scope_start: 2023-01-01
    scope_end: 2024-12-31
    deadline: 2026-02-01
    agencies: [gp, police, hv, school, asc]
"""
HEADER = "agency,record_id,subject_ref,nhs_number,forename,surname,date_of_birth,sex,person_role,event_date,event_type,outcome,review_id"
CHILD = "9990000018,Ava,Stone,2021-04-02,F,child"


def _row(agency: str, record: str, event_date: str, event_type: str, outcome: str = "") -> str:
    return f"{agency},{record},{agency.upper()}-1,{CHILD},{event_date},{event_type},{outcome},{REVIEW}"


NIGHT_1 = {
    # read: gp's chronology
    "chronology_gp.csv": "\n".join([HEADER, _row("gp", "G1", "2023-03-01", "gp_appointment", "attended"),
                                    _row("gp", "G2", "2023-09-12", "gp_appointment", "was_not_brought")]),
    # rejected, wrong_columns (summary twice): the rows say police and the review
    "chronology_police_final.csv": "\n".join([HEADER + ",summary,summary",
                                              _row("police", "P1", "2023-05-01", "police_incident", "domestic_abuse")
                                              + ",seen,seen"]),
    # rejected, empty: its name says hv and the review
    f"chronology_hv_{REVIEW}.csv": HEADER,
    # recognised by nothing (a Word document): its name says school and the review
    f"chronology_school_{REVIEW}.docx": "not a chronology template",
    # recognised by nothing, naming an agency but no review: not taken for a chronology
    "asc_case_notes.docx": "minutes",
}
# night 2: police sends its chronology again, readably (the rejected file stays in the folder)
NIGHT_2 = {"chronology_police_v2.csv": "\n".join([HEADER, _row("police", "P1", "2023-05-01", "police_incident",
                                                                "domestic_abuse")])}


def _night(settings: Settings, run_id: str) -> dict:
    for source, files in pipeline.prepare(settings, run_id).items():
        try:
            pipeline.load(settings, run_id, source, files)
        except pipeline.StepFailed:
            pass  # the rejected files: recorded, and the other sources load, as in the DAG
    pipeline.link(settings, run_id)
    pipeline.build(settings, run_id)
    return pipeline.nightly_readiness(settings, run_id)


def _readiness(settings: Settings) -> dict[str, tuple]:
    con = duckdb.connect(str(settings.store), read_only=True)
    try:
        return {agency: tuple(rest) for agency, *rest in con.execute(
            """select agency, status, status_label, unreadable_file_names, unreadable_reasons, first_unreadable_on
               from audit.review_readiness where review_id = ?""", [REVIEW]).fetchall()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("unreadable")
    drop = tmp / "drop"
    drop.mkdir()
    (tmp / "reviews.yml").write_text(REVIEWS)
    for name, text in NIGHT_1.items():
        (drop / name).write_text(text + "\n")
    first = Settings(extracts=drop, warehouse=tmp / "out" / "warehouse.duckdb", reviews=tmp / "reviews.yml",
                     run_date=date(2026, 1, 15))
    seen = {"night-1 alerts": _night(first, "night-1")["alerts"], "night-1": _readiness(first),
            "night-1 report": (first.reports_dir / "reviews" / f"{REVIEW}.html").read_text()}
    for name, text in NIGHT_2.items():
        (drop / name).write_text(text + "\n")
    second = Settings(extracts=drop, warehouse=first.warehouse, reviews=first.reviews, run_date=date(2026, 1, 16))
    seen["night-2 alerts"] = _night(second, "night-2")["alerts"]
    seen["night-2"] = _readiness(second)
    pipeline.publish(second, "night-2")
    return second, seen


def test_an_agency_whose_chronology_was_rejected_is_sent_but_unreadable_not_missing(nights):
    _, seen = nights
    assert seen["night-1"] == {
        "gp": ("received", "received", None, None, None),
        "police": ("sent_unreadable", "sent but unreadable", "chronology_police_final.csv", "wrong_columns",
                   date(2026, 1, 15)),
        "hv": ("sent_unreadable", "sent but unreadable", f"chronology_hv_{REVIEW}.csv", "empty", date(2026, 1, 15)),
        "school": ("sent_unreadable", "sent but unreadable", f"chronology_school_{REVIEW}.docx", "unrecognised",
                   date(2026, 1, 15)),
        "asc": ("missing", "missing", None, None, None),  # a file naming no review is not its chronology
    }


def test_a_readable_chronology_sent_later_closes_it_and_the_others_stay_open(nights):
    _, seen = nights
    assert seen["night-2"]["police"][:2] == ("received", "received")
    assert {a: s[0] for a, s in seen["night-2"].items()} == {
        "gp": "received", "police": "received", "hv": "sent_unreadable", "school": "sent_unreadable", "asc": "missing"}
    assert seen["night-2"]["hv"][4] == date(2026, 1, 15)  # when it first arrived, though rejected again since


def test_the_report_and_the_alerts_say_which_file_and_why_but_never_the_readers_message(nights):
    _, seen = nights
    report = seen["night-1 report"]
    assert "<td>Police</td><td>sent but unreadable</td>" in report
    assert "<td>Police</td><td>chronology_police_final.csv</td><td>its columns are not the template" in report
    assert "<td>Health visiting, midwifery, 0-19 public health nursing</td><td>chronology_hv_REV-2025-777.csv</td><td>it holds no rows under its header (empty)" in report
    police = next(line for line in seen["night-1 alerts"] if ": police " in line)
    assert police.startswith(f"review {REVIEW} (deadline 2026-02-01): police sent but unreadable: asked; sent 1 "
                             "file(s) that could not be read (chronology_police_final.csv: wrong_columns)")
    everything = report + "\n".join(seen["night-1 alerts"] + seen["night-2 alerts"])
    assert "appears twice" not in everything and "no data rows" not in everything  # the readers' messages


def test_the_board_table_carries_the_plain_english_label(nights):
    settings, _ = nights
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = dict(con.execute("select agency, status_label from board.board_review_readiness "
                                "where review_id = ?", [REVIEW]).fetchall())
    finally:
        con.close()
    assert rows["hv"] == "sent but unreadable" and rows["police"] == "received" and rows["asc"] == "missing"
