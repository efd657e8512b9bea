"""The publish gate: the analyst warehouse is replaced only when every error-severity check ran and
passed, and the extract checks read every row loaded since the last run whose checks passed.

The end-to-end nights run the nightly steps in process in the DAG's order (tests/pipeline/run_steps.py:
check before publish, a failed check ending the run before it publishes, as the DAG's publish task,
downstream of check, does not run), on a drop of chronology-template files written here, so every
count below is counted by hand from the rows in this file.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import duckdb
import great_expectations.expectations as gxe
import pytest

from casehistory import pipeline, warehouse
from casehistory.settings import Settings
from expectations.suites import Check, Suite
from tests.conftest import RUN_DATE
from tests.pipeline import run_steps

HEADER = ("agency,record_id,subject_ref,nhs_number,forename,surname,date_of_birth,sex,postcode,person_role,"
          "event_date,event_type,outcome")
CHILD = "GP-1,9990000018,Ava,Stone,2021-04-02,F,IP1 1AA,child"  # one child, known to the GP by a valid NHS number
FIRST_NIGHT = {"chronology_gp_a.csv": [f"gp,GP-A1,{CHILD},2023-01-10,gp_appointment,attended",
                                       f"gp,GP-A2,{CHILD},2023-02-14,gp_appointment,was_not_brought",
                                       f"gp,GP-A3,{CHILD},2023-03-01,welfare_concern,"]}
# loaded by the run that is killed: b1 is committed, the kill comes while b2 is half written
KILLED_NIGHT = {"chronology_gp_b1.csv": [f"gp,GP-B1,{CHILD},2023-04-03,gp_appointment,attended",
                                         f"gp,GP-B2,{CHILD},2023-05-09,gp_appointment,attended"],
                "chronology_gp_b2.csv": [f"gp,GP-B3,{CHILD},2023-06-12,gp_appointment,was_not_brought",
                                         f"gp,GP-B4,{CHILD},2023-07-20,welfare_concern,",
                                         f"gp,GP-B5,{CHILD},2023-08-01,gp_appointment,attended"]}


def _settings(tmp_path) -> Settings:
    return Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb", run_date=RUN_DATE)


# ---- an error check that cannot run holds publishing; a warning one does not ------------------

def _suite(severity: str) -> Suite:
    return Suite(name=f"needs_a_table_{severity}", description="probe", requires="marts.never_built",
                 sql="select 1 as one from marts.never_built",
                 checks=[Check("guarded", "completeness", severity, "probe",
                               lambda c: gxe.ExpectTableRowCountToBeBetween(min_value=1))])


def test_an_error_check_whose_table_is_missing_fails_the_check_step_and_holds_publishing(tmp_path, monkeypatch):
    import expectations.runner

    settings = _settings(tmp_path)
    monkeypatch.setattr(expectations.runner, "SUITES", [_suite("error")])
    with pytest.raises(pipeline.StepFailed, match=r"checks could not run: needs_a_table_error\.guarded "
                                                  r"\(the analyst warehouse was not replaced\)"):
        pipeline.check(settings, "run1")
    with warehouse.store(settings, read_only=True) as con:
        assert con.execute("select status from run.steps where step = 'check'").fetchall() == [("failed",)]
        assert con.execute("select count(*) from quality.checks_passed").fetchone()[0] == 0  # nothing passed


def test_a_warning_check_whose_table_is_missing_does_not_hold_publishing(tmp_path, monkeypatch):
    import expectations.runner

    settings = _settings(tmp_path)
    monkeypatch.setattr(expectations.runner, "SUITES", [_suite("warn")])
    detail = pipeline.check(settings, "run1")
    assert detail["not_run"] == ["needs_a_table_warn.guarded"] and detail["errors_failed"] == []
    with warehouse.store(settings, read_only=True) as con:
        assert con.execute("select run_id, through_ledger_id from quality.checks_passed").fetchall() == [("run1", -1)]


# ---- nights end to end ---------------------------------------------------------------------------

def _drop(folder: Path, files: dict[str, list[str]]) -> None:
    for name, rows in files.items():
        (folder / name).write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _extract_rows_checked(store: Path, run_id: str) -> set:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return {r[0] for r in con.execute("""select element_count from quality.check_results
                                             where run_id = ? and suite = 'extract_rows'""", [run_id]).fetchall()}
    finally:
        con.close()


def _killed_at(point: str, drop: Path, wh: Path, run_id: str, marker: Path) -> None:
    """The nightly steps in a process of their own, SIGKILLed where they reach `point`
    (casehistory/crashpoint.py), as tests/pipeline/test_crash_safety.py kills them."""
    proc = run_steps.start(drop, wh, run_id, RUN_DATE.isoformat(), pause=point, marker=marker)
    run_steps.kill_when(proc, marker.exists, point)


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    out = tmp_path_factory.mktemp("gate")
    drop, wh, marker = out / "drop", out / "warehouse.duckdb", out / "crash.marker"
    drop.mkdir()
    settings = Settings(extracts=drop, warehouse=wh, run_date=RUN_DATE)
    seen: dict[str, object] = {}

    _drop(drop, FIRST_NIGHT)
    run_steps.main(str(drop), str(wh), "night-1", RUN_DATE.isoformat())
    seen["night-1 published"] = _sha256(wh)

    _drop(drop, KILLED_NIGHT)  # a run loads b1, and is killed while b2's rows are half written
    _killed_at("ingest#2", drop, wh, "night-2", marker)
    seen["night-2 published"] = _sha256(wh)

    run_steps.main(str(drop), str(wh), "night-3", RUN_DATE.isoformat())  # b1 was loaded, b2 is loaded now
    seen["night-3 published"] = _sha256(wh)
    seen["night-3 versions"] = sorted(p.name for p in settings.versions_dir.iterdir())

    # bad data reaches the store (as a mapping fault would write it): an event dated after the run date
    with warehouse.store(settings) as con:
        con.execute("""insert into ledger.event_records select * replace (
                           nextval('ledger.record_seq') as ledger_id, 'GP-PLANTED' as record_id, 1 as version,
                           null as supersedes, 'planted' as content_hash, date '2027-01-10' as event_date,
                           ? as received_at)
                       from ledger.event_records where record_id = 'GP-A1'""", [datetime.now().replace(microsecond=0)])
    try:
        run_steps.main(str(drop), str(wh), "night-4", RUN_DATE.isoformat())
        seen["night-4 failed"] = None
    except pipeline.StepFailed as exc:
        seen["night-4 failed"] = str(exc)
    seen["night-4 published"] = _sha256(wh)
    seen["night-4 versions"] = sorted(p.name for p in settings.versions_dir.iterdir())
    return settings, seen


@pytest.mark.slow
def test_rows_loaded_by_a_run_killed_before_its_checks_are_checked_by_the_next_run(nights):
    settings, seen = nights
    assert seen["night-2 published"] == seen["night-1 published"]  # the killed run published nothing
    # night 1 checked its own 3 rows; night 3 the 2 rows night 2 committed before it was killed and
    # the 3 it loaded itself (checking only its own run's loads, it saw 3)
    assert _extract_rows_checked(settings.store, "night-1") == {3}
    assert _extract_rows_checked(settings.store, "night-3") == {5}


@pytest.mark.slow
def test_a_failing_error_check_keeps_the_previous_analyst_warehouse_published(nights):
    settings, seen = nights
    assert seen["night-4 failed"] is not None, "night 4 published a warehouse holding an event dated 2027"
    assert "checks failed: child_events.event_date_not_in_future" in seen["night-4 failed"]
    assert "(the analyst warehouse was not replaced)" in seen["night-4 failed"]
    assert seen["night-4 published"] == seen["night-3 published"]  # byte for byte the previous one
    assert seen["night-4 versions"] == seen["night-3 versions"]
    con = duckdb.connect(str(settings.store), read_only=True)
    try:
        status, detail = con.execute("select status, detail::varchar from run.steps where run_id = 'night-4' "
                                     "and step = 'check'").fetchone()
        steps = {s for (s,) in con.execute("select step from run.steps where run_id = 'night-4'").fetchall()}
        passed = {r for (r,) in con.execute("select run_id from quality.checks_passed").fetchall()}
    finally:
        con.close()
    assert status == "failed" and "child_events.event_date_not_in_future" in detail
    assert "publish" not in steps
    assert passed == {"night-1", "night-3"}  # night 4's checks did not pass: the next night starts where night 3 stopped


@pytest.mark.slow
def test_publish_on_its_own_refuses_a_run_whose_checks_failed(nights):
    # an operator clears (or forces) only the publish task of night 4: the second gate, in publish
    # itself, reads night 4's recorded checks and refuses
    settings, seen = nights
    with pytest.raises(pipeline.StepFailed, match="child_events.event_date_not_in_future"):
        pipeline.publish(settings, "night-4")
    assert _sha256(settings.warehouse) == seen["night-3 published"]
    assert sorted(p.name for p in settings.versions_dir.iterdir()) == seen["night-3 versions"]


def test_checks_that_did_not_pass_never_move_the_extract_checks_on(tmp_path):
    # whoever calls it: a failed error check must leave the rows it saw to be checked again next night
    from expectations.runner import CHECKS_PASSED_DDL, Mark, Outcome, record_passed

    failed = Outcome(results=[{"suite": "s", "check_name": "c", "severity": "error", "outcome": "failed",
                               "success": False}], reached=Mark(99, datetime(2026, 1, 15, 2, 0)))
    passed = Outcome(results=[{"suite": "s", "check_name": "c", "severity": "error", "outcome": "passed",
                               "success": True}], reached=Mark(120, datetime(2026, 1, 16, 2, 0)))
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    try:
        con.execute(CHECKS_PASSED_DDL)
        record_passed(con, "failed-night", failed)
        record_passed(con, "good-night", passed)
        assert con.execute("select run_id, through_ledger_id from quality.checks_passed").fetchall() == [
            ("good-night", 120)]
    finally:
        con.close()
