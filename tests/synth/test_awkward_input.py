"""The generator makes the input real agencies send that the pipeline once got wrong (issue 33),
with its ground truth: chronology templates saved by Excel as Windows-1252 CSV and as UTF-16
"Unicode text", an amendment whose file sorts before its original's, one-day plans, referrals
recorded by both sides, children born on 29 February; and expected.json's referral and plan
figures, worked out by casehistory/synth/truth.py from the definitions (checked here on a world
built by hand, whose figures are worked out by hand in the comments)."""

from __future__ import annotations

import codecs
import csv
import json
from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest

from casehistory.synth import generate, world_batches
from casehistory.synth.truth import Figures, age_in_years, open_on, twelve_months_before
from casehistory.synth.world import PLAN_EVENTS, Person, PlanEpisode, Report, TrueEvent, World

HOSP_FIRST = "chronology_hosp_REV-2025-002.txt"
HOSP_AMENDED = "chronology_hosp_REV-2025-002 (amended).csv"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("awkward"), children=200, seed=13)


def _csv(path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ---- the templates as agencies' software saves them --------------------------------------------------

def test_a_template_saved_as_excel_unicode_text_is_utf16_with_a_bom_tab_delimited_and_crlf(generated):
    raw = (generated.extracts / HOSP_FIRST).read_bytes()
    assert raw.startswith(codecs.BOM_UTF16_LE)
    text = raw[2:].decode("utf-16-le")
    lines = text.split("\r\n")
    assert lines[-1] == "" and all("\n" not in line for line in lines)  # every line ends CRLF
    assert lines[0].split("\t")[:3] == ["agency", "record_id", "subject_ref"]
    assert "Dehydration – 38.2°C" in text
    assert generated.expected["files"][HOSP_FIRST]["encoding"] == "utf-16"


def test_a_template_saved_by_excel_on_windows_is_windows_1252_with_an_en_dash_and_an_accented_name(generated):
    raw = (generated.extracts / HOSP_AMENDED).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert b"\x96" in raw and "José".encode("cp1252") in raw  # the en dash and é as Windows-1252 writes them
    text = raw.decode("cp1252")
    assert text.count("\r\n") == text.count("\n") == len(text.splitlines())
    assert generated.expected["files"][HOSP_AMENDED]["encoding"] == "cp1252"


def test_the_encoding_recorded_for_each_file_reads_it(generated):
    workbooks = set()
    for name, f in generated.expected["files"].items():
        raw = (generated.extracts / name).read_bytes()
        if f["encoding"] is None:
            assert raw[:2] == b"PK", name  # a workbook: a zip
            workbooks.add(name)
        else:
            raw.decode(f["encoding"])  # raises if the truth were wrong
    encodings = {f["encoding"] for f in generated.expected["files"].values()}
    assert encodings >= {"utf-8", "utf-16", "cp1252", None} and "chronology_asc_REV-2025-001.xlsx" in workbooks


# ---- an amendment that sorts before its original ---------------------------------------------------

def test_the_amendment_sorts_before_its_original_with_a_later_recorded_at_and_the_true_date(generated):
    assert sorted([HOSP_FIRST, HOSP_AMENDED]) == [HOSP_AMENDED, HOSP_FIRST]
    first = {r["record_id"]: r for r in csv.DictReader(
        (generated.extracts / HOSP_FIRST).read_bytes()[2:].decode("utf-16-le").splitlines(), delimiter="\t")}
    amended = list(csv.DictReader((generated.extracts / HOSP_AMENDED).read_bytes().decode("cp1252").splitlines()))
    assert len(amended) == 1
    row = amended[0]
    before = first[row["record_id"]]

    def when(text: str):
        from datetime import datetime
        return datetime.strptime(text, "%d/%m/%Y %H:%M")

    assert when(row["recorded_at"]) > when(before["recorded_at"])
    assert (before["event_date"], row["event_date"]) == ("04/02/2023", "14/02/2023")
    [truth] = [a for a in generated.expected["amendments"] if a["source"] == "chronology_template"]
    assert truth == {"file": HOSP_FIRST, "source": "chronology_template", "agency": "hosp",
                     "record_id": row["record_id"], "true_event": truth["true_event"], "amended_in": HOSP_AMENDED,
                     "fields": {"event_date": {"first_recorded": "2023-02-04", "current": "2023-02-14"}}}
    events = {e["true_event"]: e for e in _csv(generated.ground_truth / "events.csv")}
    assert events[truth["true_event"]]["event_date"] == "2023-02-14"  # the amendment holds the truth
    records = {(r["file"], r["record_id"]): r["status"] for r in _csv(generated.ground_truth / "records.csv")}
    assert (records[(HOSP_FIRST, row["record_id"])], records[(HOSP_AMENDED, row["record_id"])]) == ("superseded", "loaded")


# ---- plans -----------------------------------------------------------------------------------------

def test_plans_csv_holds_one_day_plans_and_one_closed_by_a_case_closure_on_its_start_day(generated):
    plans = _csv(generated.ground_truth / "plans.csv")
    one_day = [(p["plan_type"], p["ended_by"]) for p in plans if p["start_date"] == p["end_date"]]
    assert ("early_help", "early_help_end") in one_day
    assert ("cin", "cin_plan_end") in one_day
    assert ("cin", "case_closure") in one_day
    assert any(p["end_date"] == "" for p in plans)  # and plans still open on the extract date


def test_each_true_plan_in_plans_csv_is_its_start_and_end_events(generated):
    events = {e["true_event"]: e for e in _csv(generated.ground_truth / "events.csv")}
    for p in _csv(generated.ground_truth / "plans.csv"):
        start_type, end_type = PLAN_EVENTS[p["plan_type"]]
        opened = events[p["start_event"]]
        assert (opened["event_type"], opened["event_date"], opened["true_person"]) == \
            (start_type, p["start_date"], p["true_person"])
        if p["end_date"]:
            closer = events[p["end_event"]]
            assert closer["event_type"] == p["ended_by"] in (end_type, "case_closure")
            assert (closer["event_date"], closer["true_person"]) == (p["end_date"], p["true_person"])
        else:
            assert p["end_event"] == p["ended_by"] == ""


def test_plans_never_contradict_each_other():
    """A child never has two plans of one type open at once, and no case closure falls while a
    child in need or protection plan is open, other than on the day it ends (the true world, of
    enough children that referrals often come while a plan is open)."""
    checked = 0
    for world, _ in world_batches(3000, seed=21):
        closures = defaultdict(set)
        for e in world.events:
            if e.etype == "case_closure":
                closures[e.pid].add(e.date)
        by_child_type = defaultdict(list)
        for p in world.plans:
            by_child_type[(p.pid, p.plan_type)].append((p.start, p.end))
            if p.plan_type in ("cin", "cp"):
                assert not {d for d in closures[p.pid] if open_on(p.start, p.end, d) and d != p.end}, p
                checked += 1
        for intervals in by_child_type.values():
            intervals.sort()
            for (start, end), (next_start, _) in zip(intervals, intervals[1:]):
                # the next starts once this one is over: on its end day, or after the day of a one-day plan
                assert end is not None and (end <= next_start if end > start else end < next_start), intervals
    assert checked > 100


# ---- referrals recorded by both sides ---------------------------------------------------------------

def test_referrers_record_their_own_referrals_and_the_truth_counts_each_once(generated):
    events = [e for e in _csv(generated.ground_truth / "events.csv") if e["event_type"] == "referral"]
    both = Counter(a for e in events for a in set(e["reported_by"].split("|")) - {"csc"}
                   if "csc" in e["reported_by"].split("|"))
    assert set(both) >= {"eh", "hv", "police", "school", "gp"}  # gp on its chronology template
    assert all("csc" in e["reported_by"].split("|") for e in events)
    records = Counter(r["true_event"] for r in _csv(generated.ground_truth / "records.csv")
                      if r["event_type"] == "referral")
    assert sum(records.values()) > len(events)  # records outnumber the referrals they are of


# ---- children born on 29 February -------------------------------------------------------------------

def test_children_born_on_29_february_are_referred_on_28_february_and_1_march(generated):
    persons = {p["true_person"]: p for p in _csv(generated.ground_truth / "persons.csv")}
    leap = {pid: p for pid, p in persons.items() if p["role"] == "child" and p["date_of_birth"][5:] == "02-29"}
    assert {p["date_of_birth"][:4] for p in leap.values()} >= {"2016", "2020"}
    days = {e["event_date"] for e in _csv(generated.ground_truth / "events.csv")
            if e["true_person"] in leap and e["event_type"] == "referral"}
    assert {"2023-02-28", "2023-03-01", "2024-02-29", "2025-03-01"} <= days


# ---- the definitions, in truth.py, on hand-worked cases ----------------------------------------------

@pytest.mark.parametrize("born, day, age", [
    (date(2020, 2, 29), date(2023, 2, 28), 2),  # the third birthday is 1 March in 2023
    (date(2020, 2, 29), date(2023, 3, 1), 3),
    (date(2020, 2, 29), date(2024, 2, 28), 3),
    (date(2020, 2, 29), date(2024, 2, 29), 4),
    (date(2016, 5, 10), date(2019, 5, 9), 2),
    (date(2016, 5, 10), date(2019, 5, 10), 3),
    (date(2024, 6, 1), date(2024, 5, 1), -1),  # before birth
])
def test_age_in_years(born, day, age):
    assert age_in_years(born, day) == age


@pytest.mark.parametrize("day, before", [
    (date(2024, 3, 15), date(2023, 3, 15)),
    (date(2024, 2, 29), date(2023, 2, 28)),  # 29 February counts back to 28 February
    (date(2025, 3, 1), date(2024, 3, 1)),  # 365 days, though the year had a 29 February
    (date(2025, 2, 28), date(2024, 2, 28)),  # 366 days
])
def test_twelve_months_before(day, before):
    assert twelve_months_before(day) == before


def _hand_built_world() -> tuple[World, dict[str, date]]:
    """Children, their referrals (all carried unless said) and plans, with the figures by hand."""
    world = World()
    carried: dict[str, date] = {}
    n = 0

    def child(pid: str, born: date, role: str = "child") -> None:
        world.persons[pid] = Person(pid, "F1", role, "A", "B", "F", born, "9990000000")

    def referral(pid: str, day: date, carry: bool = True) -> None:
        nonlocal n
        n += 1
        world.events.append(TrueEvent(f"E{n}", pid, "referral", day, "nfa", [Report("csc", day)]))
        if carry:
            carried[f"E{n}"] = day

    child("isla", date(2020, 2, 29))  # 5 referrals, 4 re-referrals, under three with three or more once
    for day in (date(2022, 3, 1), date(2022, 9, 14), date(2023, 1, 10), date(2023, 2, 28), date(2023, 3, 1)):
        referral("isla", day)
    child("zoe", date(2016, 2, 29))  # 4 referrals, 2 re-referrals (29 Feb 2024, the second of 1 Mar 2025)
    for day in (date(2023, 2, 28), date(2024, 2, 29), date(2025, 3, 1), date(2025, 3, 1)):
        referral("zoe", day)
    child("exact", date(2010, 5, 5))  # 2 referrals, exactly 12 months apart: 1 re-referral
    referral("exact", date(2023, 3, 15))
    referral("exact", date(2024, 3, 15))
    child("a_day_more", date(2010, 5, 5))  # 2 referrals, 12 months and a day apart: none
    referral("a_day_more", date(2023, 3, 14))
    referral("a_day_more", date(2024, 3, 15))
    child("lost", date(2019, 1, 1))  # its referral's every record was quarantined: not counted
    referral("lost", date(2023, 6, 1), carry=False)
    child("mother", date(1990, 1, 1), role="mother")  # not a child: not counted
    referral("mother", date(2023, 6, 1))

    def plan(plan_type, start, end, start_carried=True, end_carried=True) -> None:
        nonlocal n
        n += 2
        world.plans.append(PlanEpisode("isla", plan_type, start, end, f"E{n - 1}", f"E{n}" if end else None))
        if start_carried:
            carried[f"E{n - 1}"] = start
        if end and end_carried:
            carried[f"E{n}"] = end

    as_of = date(2025, 3, 31)
    plan("cin", as_of, as_of)  # one day, the extract date: open on it
    plan("early_help", date(2024, 1, 1), as_of)  # ends on the extract date: not open on it
    plan("cp", date(2024, 6, 1), None)  # open
    plan("cin", date(2022, 1, 1), date(2022, 6, 1), start_carried=False)  # its start never arrived: not counted
    plan("early_help", date(2023, 1, 1), date(2023, 6, 1), end_carried=False)  # its end never arrived: open
    return world, carried


def test_the_figures_follow_the_definitions_on_a_world_worked_by_hand():
    world, carried = _hand_built_world()
    figures = Figures()
    rows = figures.add_batch(world, carried)
    got = figures.as_dict()
    assert got["referrals"] == {"referrals": 13, "re_referrals": 7, "under_three_with_three_or_more": 1}
    assert got["plans"] == {
        "episodes": {"early_help": 2, "cin": 1, "cp": 1, "lac": 0},
        "open_on_extract_date": {"early_help": 1, "cin": 1, "cp": 1, "lac": 0},
        "one_day": {"early_help": 0, "cin": 1, "cp": 0, "lac": 0},
    }
    assert len(rows) == 5 and [r["start_in_extracts"] for r in rows] == [True, True, True, False, True]


def test_expected_json_and_plans_csv_agree(generated):
    plans = [p for p in _csv(generated.ground_truth / "plans.csv") if p["start_in_extracts"] == "True"]
    expected = json.loads((generated.ground_truth / "expected.json").read_text())["plans"]
    assert expected["episodes"] == {t: sum(p["plan_type"] == t for p in plans) for t in PLAN_EVENTS}
    assert expected["one_day"] == {t: sum(p["plan_type"] == t and p["start_date"] == p["end_date"]
                                          and p["end_in_extracts"] == "True" for p in plans) for t in PLAN_EVENTS}
    assert sum(expected["open_on_extract_date"].values()) > 0 and expected["one_day"]["cin"] >= 2


def test_plan_episode_open_on_is_start_up_to_but_not_including_end():
    start = date(2024, 1, 10)
    assert [open_on(start, start + timedelta(days=2), start + timedelta(days=d)) for d in (-1, 0, 1, 2)] == \
        [False, True, True, False]
    assert [open_on(start, start, start + timedelta(days=d)) for d in (-1, 0, 1)] == [False, True, False]
