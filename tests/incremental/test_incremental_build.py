"""An incremental night holds exactly what a full rebuild of the same ledger holds.

Night 1 loads a generated authority (its csc corrections file held back) and a csc record of a
child nobody has linked yet; night 2 brings the corrections, a school correction of a record
already held, a csc referral's original version arriving after the version night 1 held (recorded
a day before it, so it must not displace it), and a school record that links that csc child to a
school child (her UPN, the csc record's name and date of birth): two children become one; a baby's family moving house, which
reaches the baby's siblings through the household; and an analyst's decision that splits another child's two
subjects: one child becomes two. Night 2's incremental build is then
compared, row for row (EXCEPT ALL both ways), with a full rebuild of the same ledger, for every
incremental model (dbt/macros/incremental_persons.sql); and each night's published file, whose
largest tables are patched from the night before's, with the store it was published from.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from casehistory import incremental, pipeline, warehouse
from casehistory.dbt_command import run_dbt
from casehistory.identity.decisions import DECISIONS_FILE, record_decision
from casehistory.settings import Settings
from casehistory.synth import generate

pytestmark = pytest.mark.slow

HELD_BACK = "csc_activity_2025-04-07_corrections.csv"
CSC_HEADER = ["Record ID", "Child ID", "NHS Number", "UPN", "Forename", "Surname", "DOB", "Gender", "Postcode",
              "Activity", "Activity Date", "Outcome", "Referral Source", "Worker Role", "Notes", "Recorded"]
UNLINKED_CSC_CHILD = "CSC900001"
BRIDGING_ADNO = "ADM99999"


def _night(settings: Settings, run_id: str) -> dict:
    plan = pipeline.prepare(settings, run_id)
    for source, files in sorted(plan.items()):
        pipeline.load(settings, run_id, source, files)
    pipeline.link(settings, run_id)
    return pipeline.build(settings, run_id)


def _person_of(settings: Settings, subject_key: str) -> str:
    with warehouse.store(settings, read_only=True) as con:
        return con.execute("select person_id from identity.subject_person where subject_key = ?",
                           [subject_key]).fetchone()[0]


def _school_rows(extracts: Path) -> tuple[list[str], list[dict]]:
    with (extracts / "school_welfare_attendance_2025-03-31.csv").open(encoding="cp1252", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames), list(reader)


def _write_csv(path: Path, header: list[str], rows: list[dict], encoding: str = "utf-8") -> None:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def _incremental_models(settings: Settings) -> list[str]:
    return [m.split(".")[-1] for m in incremental.incremental_models(
        settings.reports_dir / "dbt" / "target" / "manifest.json") if not m.endswith(incremental.AFFECTED_MODEL)]


PATCHED = ["marts.dim_child", "marts.fct_child_events", "marts.fct_plan_status_daily", "marts.fct_plan_transitions"]


def _publish(settings: Settings, run_id: str) -> dict:
    """Publish, then compare every published table with the store's, row for row."""
    published = pipeline.publish(settings, run_id)
    differences = {}
    with warehouse.store(settings, read_only=True) as con:
        con.execute(f"attach '{settings.warehouse}' as published (read_only)")
        for (table,) in con.execute(
                "select table_schema || '.' || table_name from information_schema.tables "
                "where table_catalog = 'published' and table_schema <> 'run'").fetchall():  # run: tonight's steps go on
            counts = [con.execute(f"select count(*) from (select * from {a} except all select * from {b})").fetchone()[0]
                      for a, b in ((table, f"published.{table}"), (f"published.{table}", table))]
            if any(counts):
                differences[table] = counts
    assert differences == {}, differences
    return published


def _differences_from_a_full_rebuild(settings: Settings, models: list[str]) -> dict:
    """Keep what the incremental models hold, rebuild everything from the same ledger, and count
    the rows each holds that the other does not (EXCEPT ALL both ways); an empty model counts too."""
    relations = {}
    with warehouse.store(settings) as con:
        con.execute("drop schema if exists incremental_night cascade; create schema incremental_night")
        for name in models:
            schema = con.execute("select table_schema from information_schema.tables where table_name = ?",
                                 [name]).fetchone()[0]
            relations[name] = f"{schema}.{name}"
            con.execute(f"create table incremental_night.{name} as select * from {relations[name]}")

    rebuilt = pipeline.build(settings, "rebuild", full_refresh=True)
    assert rebuilt["dbt_mode"] == "full refresh: asked for"
    differences = {}
    with warehouse.store(settings, read_only=True) as con:
        for name, relation in relations.items():
            only_incremental = con.execute(
                f"select count(*) from (select * from incremental_night.{name} except all select * from {relation})"
            ).fetchone()[0]
            only_full = con.execute(
                f"select count(*) from (select * from {relation} except all select * from incremental_night.{name})"
            ).fetchone()[0]
            rows = con.execute(f"select count(*) from {relation}").fetchone()[0]
            if only_incremental or only_full or not rows:
                differences[name] = {"only_incremental": only_incremental, "only_full": only_full, "rows": rows}
    return differences


def test_an_incremental_night_equals_a_full_rebuild_of_the_same_ledger(tmp_path, run_date):
    demo = generate(tmp_path / "demo", children=60, seed=11)
    drop = tmp_path / "drop"
    shutil.copytree(demo.extracts, drop, ignore=shutil.ignore_patterns(HELD_BACK))
    header, school = _school_rows(demo.extracts)
    # a school child known by UPN and not to csc: a second csc record joining its person would be
    # refused by the same-agency rail (cluster.py), which is not what this night is about
    with (demo.ground_truth / "records.csv").open(newline="") as f:
        truth = list(csv.DictReader(f))
    known_to_csc = {r["true_person"] for r in truth if r["agency"] == "csc"}
    person_of_adno = {r["subject_ref"]: r["true_person"] for r in truth if r["agency"] == "school"}
    child = next(r for r in school if r["UPN"] and r["Adno"] and person_of_adno[r["Adno"]] not in known_to_csc)
    # night 1: a csc child with the school child's date of birth, nothing else in common
    _write_csv(drop / "csc_activity_2025-03-30_extra.csv", CSC_HEADER, [
        {"Record ID": f"RX00000{i}", "Child ID": UNLINKED_CSC_CHILD, "Forename": "Layla", "Surname": "Whitfield",
         "DOB": child["DOB"], "Gender": child["Gender"], "Postcode": "NR1 1AA", "Activity": "REF",
         "Activity Date": day, "Outcome": outcome, "Referral Source": "2A", "Worker Role": "MASH Practitioner",
         "Notes": "School concerned about attendance", "Recorded": f"{day} 10:00"}
        for i, (day, outcome) in enumerate([("03/02/2021", "NFA"), ("14/09/2021", "EH")], start=1)])
    settings = Settings(extracts=drop, warehouse=tmp_path / "out" / "warehouse.duckdb", run_date=run_date)

    first = _night(settings, "night1")
    assert first["dbt_mode"] == "full refresh: no record of an earlier build"
    assert _publish(settings, "night1")["patched"] == []  # a full build says nothing of what changed
    with warehouse.store(settings, read_only=True) as con:
        namespaces = dict(con.execute("select record_key, subject_key from identity.subject_records").fetchall())
    school_subject = namespaces[f"school_welfare:school:{child['Adno']}"]
    csc_subject = namespaces[f"csc_activity:csc:{UNLINKED_CSC_CHILD}"]
    assert _person_of(settings, school_subject) != _person_of(settings, csc_subject)

    # between the nights, an analyst decides that the two subjects of one child are two children
    # (a child night 2's files do not touch, so only the decision can make it affected)
    with (demo.extracts / HELD_BACK).open(newline="") as f:
        corrected_children = [f"csc_activity:csc:{r['Child ID']}" for r in csv.DictReader(f)]
    untouched = [school_subject, *(namespaces[k] for k in corrected_children)]
    with warehouse.store(settings, read_only=True) as con:
        split_a, split_b = con.execute(f"""
            select min(subject_key), max(subject_key) from identity.subject_person
            where subject_key in (select subject_namespace || ':' || subject_ref from ledger.event_records)
            group by person_id
            having count(*) = 2 and person_id not in (
                select person_id from identity.subject_person where subject_key in ({", ".join("?" * len(untouched))}))
            order by person_id limit 1""", untouched).fetchone()
    record_decision(settings.restricted_dir / DECISIONS_FILE, split_a, split_b, "different", "A. Analyst")

    # night 2: the held-back csc corrections, a school correction, and the record that bridges them
    shutil.copy(demo.extracts / HELD_BACK, drop / HELD_BACK)
    # a referral's original, recorded a day before the version night 1 loaded, arrives only now
    with (demo.extracts / "csc_activity_2025-03-31.csv").open(newline="") as f:
        held = next(r for r in csv.DictReader(f) if r["Activity"] == "REF" and r["Outcome"] == "NFA"
                    and f"csc_activity:csc:{r['Child ID']}" not in corrected_children)
    recorded = datetime.strptime(held["Recorded"], "%d/%m/%Y %H:%M")
    _write_csv(drop / "csc_activity_2025-03-28_late.csv", CSC_HEADER, [
        {**held, "Outcome": "EH", "Recorded": f"{recorded - timedelta(days=1):%d/%m/%Y %H:%M}"}])
    corrected = {**school[0], "Detail": "U" if school[0]["Detail"] != "U" else "A"}
    bridge = {**child, "Record Ref": "S9999901", "Adno": BRIDGING_ADNO, "Legal Forename": "Layla",
              "Legal Surname": "Whitfield", "Postcode": "NR1 1AA", "Record Type": "WELF", "Date": "02/03/2025",
              "Detail": "", "Sessions": "", "Note": "Welfare concern"}
    _write_csv(drop / "school_welfare_attendance_2025-04-01.csv", header, [corrected, bridge], encoding="cp1252")
    # and a baby's family moving house ten days after a birth that reached the baby's siblings
    with warehouse.store(settings, read_only=True) as con:
        reaching = con.execute("select max(record_id) from intermediate.int_household_events "
                               "where source_name = 'hv_contacts' and event_type = 'birth'").fetchone()[0]
    health = json.loads((demo.extracts / "hv_contacts_20250331.json").read_text())
    birth = next(c for c in health["contacts"] if c["contact_id"] == reaching)
    moved = {**birth, "contact_id": "C99999901", "contact_type": "change_of_address", "outcome": None,
             "contact_date": (date.fromisoformat(birth["contact_date"]) + timedelta(days=10)).isoformat()}
    (drop / "hv_contacts_20250401.json").write_text(json.dumps({**health, "contacts": [moved]}))

    settings = replace(settings, run_date=run_date + timedelta(days=6))  # and six days have passed
    second = _night(settings, "night2")
    assert second["dbt_mode"] == "incremental"
    assert _person_of(settings, school_subject) == _person_of(settings, csc_subject)  # two children became one
    assert _person_of(settings, split_a) != _person_of(settings, split_b)  # one child became two
    with warehouse.store(settings, read_only=True) as con:
        assert con.execute("select max(version) from ledger.event_records where record_id = ?",
                           [school[0]["Record Ref"]]).fetchone()[0] == 2  # the correction is a new version
        # the late original is kept, and the version recorded after it stays current
        assert con.execute("""select version, outcome from ledger.event_records
                              where source = 'csc_activity' and record_id = ? order by version""",
                           [held["Record ID"]]).fetchall() == [(1, "nfa"), (2, "early_help")]
        assert con.execute("select outcome from intermediate.int_event_records__current where record_id = ?",
                           [held["Record ID"]]).fetchall() == [("nfa",)]
        persons = con.execute("select count(*) from identity.persons").fetchone()[0]
    assert 0 < second["persons_recomputed"] < persons / 2  # a night's worth, not everyone
    assert _publish(settings, "night2")["patched"] == PATCHED

    models = _incremental_models(settings)
    assert {"int_event_records__current", "int_events__matched", "fct_child_events",
            "restricted_child_chronology", "int_plan_events", "int_plan_episodes", "int_lead_professional_spells",
            "int_plan_episode_days", "fct_plan_status_daily", "fct_plan_transitions", "dim_child",
            "int_referrals__known_at_decision", "int_warning_signs__persistent_school_absence",
            "int_warning_signs__cancelled_or_no_access_visits", "int_warning_signs__lead_professional"} <= set(models)
    differences = _differences_from_a_full_rebuild(settings, models)
    with warehouse.store(settings, read_only=True) as con:
        reached = con.execute("select count(*) from intermediate.int_household_events where record_id = 'C99999901'")
        assert reached.fetchone()[0] > 0  # the move reaches a sibling through the household
    assert differences == {}, json.dumps(differences, indent=1)


def test_nights_whose_run_date_moves_on_or_back_hold_the_days_a_full_rebuild_holds(tmp_path, run_date):
    """Plan status runs up to the run date: a later night adds the days since for every child
    without recomputing the rest, and a night dated earlier (a rerun of a past night) drops the
    days after its date. An early help plan opened 50 days before the first night and never given a
    lead professional is a run of days that goes on (and is cut short) with the run date."""
    demo = generate(tmp_path / "demo", children=40, seed=3)
    unled_start = run_date - timedelta(days=50)
    _add_early_help_start(demo.extracts, unled_start)
    settings = Settings(extracts=demo.extracts, warehouse=tmp_path / "out" / "warehouse.duckdb", run_date=run_date)
    _night(settings, "night1")
    _publish(settings, "night1")
    last_day = "select max(status_date), count(*) from marts.fct_plan_status_daily"
    # the run's sign, dated its 28th day (lead_professional_missing_days); its evidence counts the days so far
    unled = ("select evidence from intermediate.int_warning_signs__lead_professional "
             "where sign = 'lead_professional_missing' and sign_date = ?")
    sign_date = unled_start + timedelta(days=27)
    with warehouse.store(settings, read_only=True) as con:
        assert con.execute(last_day).fetchone()[0] == run_date  # plans are open on the run date
        assert con.execute(unled, [sign_date]).fetchall() == [
            (f"early help plan without a lead professional for 51 days from {unled_start}",)]

    for n, days in enumerate((9, -20), start=2):
        settings = replace(settings, run_date=run_date + timedelta(days=days))
        night = _night(settings, f"night{n}")
        assert night["dbt_mode"] == "incremental" and night["persons_recomputed"] == 0  # nothing new arrived
        assert _publish(settings, f"night{n}")["patched"] == PATCHED  # the days after the kept ones replaced
        with warehouse.store(settings, read_only=True) as con:
            reached, rows = con.execute(last_day).fetchone()
            evidence = con.execute(unled, [sign_date]).fetchall()
        assert reached == settings.run_date
        unled_days = (settings.run_date - unled_start).days + 1  # 60 days on, 31 back
        assert evidence == [(f"early help plan without a lead professional for {unled_days} days from {unled_start}",)]
        differences = _differences_from_a_full_rebuild(
            settings, ["int_plan_episode_days", "fct_plan_status_daily", "fct_plan_transitions",
                       "int_warning_signs__lead_professional"])
        assert differences == {}, json.dumps(differences, indent=1)
        with warehouse.store(settings, read_only=True) as con:
            assert con.execute(last_day).fetchone() == (reached, rows)


def _add_early_help_start(extracts: Path, day: date) -> None:
    """A second early help extract: a new early help episode of the first file's first child,
    starting on `day`, with no lead professional named."""
    first = openpyxl.load_workbook(next(extracts.glob("EarlyHelp_Activity_*.xlsx")), read_only=True)
    header, row = list(first["Activity"].iter_rows(max_row=2, values_only=True))
    first.close()
    values = {**dict(zip(header, row)), "Activity ID": "A9999901", "Activity Type": "EH Episode Start",
              "Activity Date": datetime.combine(day, datetime.min.time()), "Outcome": None, "Comments": None}
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Activity"
    sheet.append(header)
    sheet.append([values[h] for h in header])
    book.save(extracts / f"EarlyHelp_Activity_{day:%b%Y}.xlsx")


def test_a_known_on_build_makes_the_next_night_rebuild_everything(tmp_path, run_date):
    demo = generate(tmp_path / "demo", children=30, seed=5)
    settings = Settings(extracts=demo.extracts, warehouse=tmp_path / "out" / "warehouse.duckdb", run_date=run_date)
    assert _night(settings, "night1")["dbt_mode"] == "full refresh: no record of an earlier build"
    count = "select (select count(*) from intermediate.int_event_records__current), (select count(*) from marts.fct_child_events)"
    with warehouse.store(settings, read_only=True) as con:
        today = con.execute(count).fetchone()
    assert min(today) > 0

    # "what did we know on 1 January 2020", built on the store itself (everything arrived today:
    # nothing was known then), so the models now hold that day
    log = tmp_path / "known-on.log"
    code = run_dbt(settings, ["build", "--select", "int_event_records__current+", "--vars", "{known_on: 2020-01-01}",
                              "--exclude-resource-type", "unit_test"],  # their fixtures are not as known on that day
                   target=tmp_path / "known-on-target", log_file=log)
    assert code == 0, log.read_text()[-3000:]
    with warehouse.store(settings, read_only=True) as con:
        assert con.execute(count).fetchone() == (0, 0)

    after = pipeline.build(settings, "night2")  # nothing new, yet everything is rebuilt
    assert after["dbt_mode"] == "full refresh: no record of an earlier build"
    with warehouse.store(settings, read_only=True) as con:
        assert con.execute(count).fetchone() == today
