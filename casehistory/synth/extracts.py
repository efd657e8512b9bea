"""Render the true world as each agency's own extract, with the noise real extracts have.

Each agency sees people through its own record of them (ids, typos, missing identifiers) and
writes its own format: csc CSV with UK dates and a later file of corrections, early help XLSX,
health visiting nested JSON, police JSON Lines, school CSV in Windows-1252, and chronology
templates from the agencies asked to contribute to a review, each saved as its software saves it
(a UTF-8 CSV, a workbook, Excel's UTF-16 "Unicode text"; amended entries sent again as a
Windows-1252 CSV whose name sorts before the first one's). A few rows in every bulk file carry a
fault that ingest must quarantine. Every row's true person and true event, and what ingest should
do with it, go to the ground truth; so does each file's encoding.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Callable, Iterator, Protocol

from casehistory.synth import names
from casehistory.synth.noise import NoiseLevel
from casehistory.synth.world import AS_OF, BULK_AGENCIES, Person, Report, TrueEvent, World
from casehistory.vocabulary import event_types

FUTURE_YEAR = 2055  # a plausible slip of the keyboard for 2025
FAULTS = ("bad_date", "unknown_code", "missing_required", "date_in_future", "date_before_birth")
CHRONOLOGY_HEADER = ["agency", "record_id", "subject_ref", "nhs_number", "upn", "la_child_id", "forename",
                     "surname", "date_of_birth", "sex", "postcode", "family_ref", "person_role", "event_date",
                     "event_time", "event_type", "outcome", "related_agency", "practitioner_role", "summary",
                     "recorded_at", "review_id"]


@dataclass
class View:
    """One agency's record of one person."""

    subject_ref: str
    forename: str
    surname: str
    dob: date
    sex: str | None
    postcode: str | None
    nhs: str | None
    upn: str | None


@dataclass
class Row:
    values: dict
    event: TrueEvent
    report: Report
    view: View
    status: str = "loaded"  # loaded | quarantined | superseded
    reason: str | None = None
    # a superseded row: the file its amendment came in, and each amended field's values
    # (in the vocabulary: {"outcome": {"first_recorded": "nfa", "current": "early_help"}})
    amended_in: str | None = None
    amended: dict | None = None


@dataclass
class Extract:
    file_name: str
    source: str
    rows: list[Row]
    sink: Callable[[Path], Sink]  # opens the file; extracts of later batches append to it
    date_col: str
    format_date: Callable[[date], object]
    bad_date: object
    code_col: str
    bad_code: str
    subject_col: str
    record_col: str
    extra_truth: list[dict] = field(default_factory=list)  # rows that are not Row objects (corrupt lines)
    encoding: str | None = None  # the codec that reads the text file as written; None: a workbook


class Renderer:
    """Renders one batch of the world at a time (next_batch); ids, row numbers and household refs
    carry on across batches, so the files read as one extract whatever the batch size."""

    def __init__(self, world: World, noise: NoiseLevel, seed: int):
        self.world = world
        self.noise = noise
        self.rng = random.Random(seed + 1)
        self.views: dict[tuple[str, str], View] = {}
        self._scenario_noise = replace(noise, nhs_typo=0, upn_typo=0, forename_nickname=0, forename_typo=0,
                                       surname_typo=0, surname_other=0, dob_swap=0, dob_swap_without_nhs=0,
                                       dob_typo=0, postcode_old=0, postcode_missing=0, sex_missing=0,
                                       unnamed_baby=0, name_one_part=0)
        self.last_batch = True
        self._ids: dict[str, int] = {}
        self._row_numbers: dict[str, int] = {}
        self._households: dict[str, str] = {}
        self._households_before = 0
        self._vocab = event_types()

    def next_batch(self, world: World, last: bool) -> None:
        """Families never span batches, so the last batch's records of people can go."""
        self.world, self.last_batch = world, last
        self.views.clear()
        self._households_before += len(self._households)
        self._households.clear()

    def numbered(self, key: str, items: list) -> Iterator[tuple[int, object]]:
        """Row numbers of one extract, continuing from the batches before."""
        for item in items:
            self._row_numbers[key] = self._row_numbers.get(key, 0) + 1
            yield self._row_numbers[key], item

    def household_ref(self, family: str) -> str:
        if family not in self._households:
            self._households[family] = f"HH{self._households_before + len(self._households) + 1:07d}"
        return self._households[family]

    # ---- identity as each agency holds it --------------------------------------------------------
    def _next_id(self, agency: str) -> int:
        self._ids[agency] = self._ids.get(agency, 0) + 1
        return self._ids[agency]

    def view(self, agency: str, pid: str) -> View:
        key = (agency, pid)
        if key not in self.views:
            self.views[key] = self._make_view(agency, self.world.persons[pid])
        return self.views[key]

    def _make_view(self, agency: str, p: Person) -> View:
        # the scenario families' records carry no typos: their story (the seed reviews') must be
        # visible whatever the seed; which identifiers an agency holds stays as for everyone
        rng, n = self.rng, self.noise if p.scenario is None else self._scenario_noise
        n_id = self._next_id(agency)
        ref = {"csc": f"CSC{n_id:06d}", "eh": f"EH-{n_id:05d}", "hv": f"HV{n_id:07d}",
               "police": f"PN{n_id:08d}", "school": f"ADM{n_id:05d}", "hosp": f"H{n_id:07d}"}.get(
            agency, f"{agency.upper()}-{n_id:05d}")
        forename = p.forename
        if rng.random() < n.forename_nickname and forename in names.NICKNAMES:
            forename = names.NICKNAMES[forename]
        elif rng.random() < n.forename_typo:
            forename = _typo(rng, forename)
        surname = p.surname
        if rng.random() < n.surname_other:
            surname = self._other_surname(p)
        elif rng.random() < n.surname_typo:
            surname = _typo(rng, surname)
        if agency == "hv" and p.is_child and (p.unnamed_at_birth or rng.random() < n.unnamed_baby) \
                and p.dob >= AS_OF - timedelta(days=730):
            forename = "Baby"
            mother = self.world.persons.get(p.mother or "")
            surname = mother.surname if mother else surname
        forename, surname = (_one_part(rng, name) if "-" in name and rng.random() < n.name_one_part else name
                             for name in (forename, surname))
        if n.agency_name_styles:
            forename, surname = written(forename, agency), written(surname, agency)
        nhs = p.nhs if rng.random() < n.holds_nhs(agency) else None
        if nhs and rng.random() < n.nhs_typo:
            nhs = _digit_typo(rng, nhs)
        dob = p.dob
        # a date typed in from what someone says, with no NHS number to check it against, is swapped more often
        if rng.random() < (n.dob_swap if nhs else n.dob_swap_without_nhs) and dob.day <= 12 and dob.day != dob.month:
            dob = date(dob.year, dob.day, dob.month)
        elif rng.random() < n.dob_typo:
            dob = dob + timedelta(days=rng.choice([-1, 1])) if rng.random() < 0.7 else _year_typo(rng, dob)
        fam = self.world.families[p.family]
        postcode: str | None = fam.postcode_on(AS_OF)
        if rng.random() < n.postcode_missing:
            postcode = None
        elif rng.random() < n.postcode_old and len(fam.addresses) > 1:
            postcode = fam.addresses[-2][1]
        upn = p.upn if p.upn and rng.random() < n.holds_upn(agency) else None
        if upn and rng.random() < n.upn_typo:
            upn = upn[0] + _digit_typo(rng, upn[1:])
        sex = None if rng.random() < n.sex_missing else p.sex
        return View(ref, forename, surname, dob, sex, postcode, nhs, upn)

    def _other_surname(self, p: Person) -> str:
        parent = self.world.persons.get(p.mother or "") if p.is_child else None
        if parent and parent.surname != p.surname:
            return parent.surname
        return names.surname(self.rng)

    # ---- reports by agency ------------------------------------------------------------------------
    def reports(self, agency: str) -> list[tuple[TrueEvent, Report]]:
        out = []
        for ev in self.world.events:
            fam = self.world.families[self.world.persons[ev.pid].family]
            if agency in fam.silent_agencies:
                continue
            for rep in ev.reports:
                if rep.agency == agency:
                    out.append((ev, rep))
        out.sort(key=lambda er: (er[1].date, er[0].eid))
        return out

    def uk_or_iso(self, d: date) -> str:
        return d.isoformat() if self.rng.random() < self.noise.iso_dates else d.strftime("%d/%m/%Y")

    # ---- faults ------------------------------------------------------------------------------------
    def inject_faults(self, ex: Extract) -> None:
        self._mark_noise_consequences(ex)
        if self.noise.bad_rows <= 0 or not ex.rows:
            return
        eligible = [r for r in ex.rows if self.world.persons[r.event.pid].scenario is None and r.status == "loaded"]
        wanted = min(max(len(FAULTS), round(self.noise.bad_rows * len(ex.rows))), len(eligible) // 10)
        chosen = self.rng.sample(eligible, wanted) if wanted else []
        for i, row in enumerate(chosen):
            fault = FAULTS[i % len(FAULTS)]
            if fault == "date_before_birth" and self._vocab[row.event.etype].may_precede_birth:
                fault = "bad_date"
            d = row.report.date
            if fault == "bad_date":
                row.values[ex.date_col] = ex.bad_date
            elif fault == "unknown_code":
                row.values[ex.code_col] = ex.bad_code
            elif fault == "missing_required":
                row.values[ex.subject_col] = None
            elif fault == "date_in_future":
                row.values[ex.date_col] = ex.format_date(date(FUTURE_YEAR, d.month, min(d.day, 28)))
            elif fault == "date_before_birth":
                row.values[ex.date_col] = ex.format_date(row.view.dob - timedelta(days=200))
            row.status, row.reason = "quarantined", fault


    def _mark_noise_consequences(self, ex: Extract) -> None:
        """A mistyped date of birth can put a child's genuine early events before their recorded
        birth, and ingest rightly refuses those: the ground truth says so too."""
        for row in ex.rows:
            if row.status == "loaded" and row.report.date < row.view.dob \
                    and not self._vocab[row.event.etype].may_precede_birth:
                row.status, row.reason = "quarantined", "date_before_birth"


# How each agency's system writes names with accents, apostrophes and hyphens; the others keep them
# as registered. One child is "Zoë O'Brien-Smith" to social care, "Zoe O'Brien-Smith" to early help,
# "ZOE O BRIEN SMITH" to the police and "Zoë OBrienSmith" to the school.
NAME_STYLES = {"eh": "plain letters", "police": "capitals, spaces for punctuation", "school": "punctuation dropped"}


def written(name: str, agency: str) -> str:
    style = NAME_STYLES.get(agency)
    if style == "plain letters":
        return _without_accents(name)
    if style == "capitals, spaces for punctuation":
        return re.sub(r"['\-]", " ", _without_accents(name)).upper()
    if style == "punctuation dropped":  # accents kept: Windows-1252 holds them
        return re.sub(r"['\- ]", "", name)
    return name


def _without_accents(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def _one_part(rng: random.Random, name: str) -> str:
    """One part of a double-barrelled name, as an agency that has room for one writes it."""
    return rng.choice(name.split("-"))


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.4:  # transpose two letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind < 0.7:  # drop a letter
        return word[:i] + word[i + 1:]
    return word[:i] + rng.choice("aeiourstln") + word[i + 1:]


def _digit_typo(rng: random.Random, digits: str) -> str:
    i = rng.randrange(len(digits))
    replacement = rng.choice([c for c in "0123456789" if c != digits[i]]) if digits[i].isdigit() else digits[i]
    return digits[:i] + replacement + digits[i + 1:]


def _year_typo(rng: random.Random, d: date) -> date:
    try:
        return d.replace(year=d.year + rng.choice([-10, -1, 1, 10]))
    except ValueError:
        return d + timedelta(days=1)


def _gender_word(sex: str | None) -> str:
    return {"M": "Male", "F": "Female"}.get(sex or "", "")


# ---- csc: case management system CSV, UK dates, national referral source codes -----------------

CSC_ACTIVITY = {"contact": "CONT", "referral": "REF", "strategy_discussion": "STRAT", "assessment_start": "ASMT-S",
                "assessment_authorised": "ASMT-A", "s47_start": "S47-S", "s47_end": "S47-E", "icpc": "ICPC",
                "cin_plan_start": "CIN-S", "cin_plan_end": "CIN-E", "cp_plan_start": "CPP-S", "cp_plan_end": "CPP-E",
                "cp_review": "CPP-R", "lac_start": "LAC-S", "lac_end": "LAC-E", "case_closure": "CLOSE"}
CSC_OUTCOME = {"nfa": "NFA", "early_help": "EH", "assessment": "ASMT", "strategy_discussion": "STRAT",
               "s47": "S47", "cp_plan": "CPP", "no_plan": "NOPLAN"}
CSC_OUTCOME_CODE = {code: outcome for outcome, code in CSC_OUTCOME.items()}
# CIN census referral source codes: 2A schools, 2B other education (education welfare),
# 3A GP, 3B health visitor, 3E A&E, 5D early help, 6 police, 1A individual
CSC_REFERRAL_SOURCE = {"school": "2A", "ews": "2B", "gp": "3A", "hv": "3B", "hosp": "3E", "eh": "5D",
                       "police": "6", None: "1A"}
CSC_HEADER = ["Record ID", "Child ID", "NHS Number", "UPN", "Forename", "Surname", "DOB", "Gender", "Postcode",
              "Activity", "Activity Date", "Outcome", "Referral Source", "Worker Role", "Notes", "Recorded"]


def render_csc(r: Renderer) -> list[Extract]:
    rows = []
    for n, (ev, rep) in r.numbered("csc", r.reports("csc")):
        v = r.view("csc", ev.pid)
        nhs = v.nhs and (f"{v.nhs[:3]} {v.nhs[3:6]} {v.nhs[6:]}" if r.rng.random() < 0.3 else v.nhs)
        recorded = datetime.combine(rep.date + timedelta(days=r.rng.randint(0, 5)), time(r.rng.randint(9, 16), r.rng.choice([0, 15, 30, 45])))
        values = {
            "Record ID": f"R{n:07d}", "Child ID": v.subject_ref, "NHS Number": nhs, "UPN": v.upn,
            "Forename": v.forename, "Surname": v.surname, "DOB": r.uk_or_iso(v.dob), "Gender": _gender_word(v.sex),
            "Postcode": v.postcode, "Activity": CSC_ACTIVITY[ev.etype], "Activity Date": r.uk_or_iso(rep.date),
            "Outcome": CSC_OUTCOME.get(rep.outcome, rep.outcome) if rep.outcome else None,
            "Referral Source": CSC_REFERRAL_SOURCE.get(rep.related_agency, "8") if ev.etype in ("referral", "contact") else None,
            "Worker Role": rep.practitioner_role, "Notes": rep.summary, "Recorded": recorded.strftime("%d/%m/%Y %H:%M"),
        }
        rows.append(Row(values, ev, rep, v))
    main = Extract(f"csc_activity_{AS_OF.isoformat()}.csv", "csc_activity", rows, csv_sink(CSC_HEADER, "utf-8"),
                   "Activity Date", lambda d: d.strftime("%d/%m/%Y"), "31/02/2024", "Activity", "XFER",
                   "Child ID", "Record ID", encoding="utf-8")
    r.inject_faults(main)
    corrections = _csc_corrections(r, main)
    return [main, corrections]


def _csc_corrections(r: Renderer, main: Extract) -> Extract:
    """A later file re-sending some rows with the correct outcome or date: the first file was wrong."""
    corrected = []
    candidates = [row for row in main.rows if row.status == "loaded" and r.world.persons[row.event.pid].scenario is None
                  and row.event.etype in ("referral", "assessment_start", "cp_review")]
    wanted = min(len(candidates), max(1, round(r.noise.corrections * len(main.rows)))) if r.noise.corrections else 0
    name = f"csc_activity_{(AS_OF + timedelta(days=7)).isoformat()}_corrections.csv"
    for row in r.rng.sample(candidates, wanted):
        fixed = dict(row.values)
        if row.event.etype == "referral" and row.report.outcome:
            wrong = r.rng.choice([o for o in ("NFA", "EH", "ASMT") if o != fixed["Outcome"]])
            row.values["Outcome"] = wrong
            row.amended = {"outcome": {"first_recorded": CSC_OUTCOME_CODE[wrong], "current": row.report.outcome}}
        else:
            wrong_date = row.report.date + timedelta(days=31)
            if wrong_date > AS_OF:
                continue
            row.values["Activity Date"] = wrong_date.strftime("%d/%m/%Y")
            row.amended = {"event_date": {"first_recorded": wrong_date.isoformat(), "current": row.report.date.isoformat()}}
        fixed["Recorded"] = (datetime.combine(AS_OF + timedelta(days=7), time(10, 0))).strftime("%d/%m/%Y %H:%M")
        row.status, row.amended_in = "superseded", name
        corrected.append(Row(fixed, row.event, row.report, row.view))
    return Extract(name, "csc_activity",
                   corrected, csv_sink(CSC_HEADER, "utf-8"), "Activity Date", lambda d: d.strftime("%d/%m/%Y"), "31/02/2024",
                   "Activity", "XFER", "Child ID", "Record ID", encoding="utf-8")


# ---- early help: XLSX from a case management system, Excel date cells --------------------------

EH_ACTIVITY = {"early_help_start": "EH Episode Start", "caf_assessment": "Early Help Assessment",
               "lead_professional_start": "Lead Professional Assigned", "lead_professional_end": "Lead Professional Ended",
               "tac_meeting": "TAC Meeting", "home_visit": "Home Visit", "early_help_end": "EH Episode End",
               "referral": "Referral to MASH", "step_up_request": "Step Up Request"}
EH_OUTCOME = {"held": "Held", "cancelled": "Cancelled", "completed": "Completed", "no_access": "No Access",
              "cancelled_by_family": "Cancelled by Family", "withdrew_consent": "Consent Withdrawn",
              "stepped_up": "Stepped Up", "moved_away": "Moved Away", "other": "Other"}
EH_HEADER = ["Activity ID", "Case Ref", "First Name", "Last Name", "Date of Birth", "Post Code", "NHS No",
             "Activity Type", "Activity Date", "Outcome", "Worker", "Comments"]


def render_eh(r: Renderer) -> list[Extract]:
    rows = []
    for n, (ev, rep) in r.numbered("eh", r.reports("eh")):
        v = r.view("eh", ev.pid)
        when: object = datetime.combine(rep.date, time())
        if r.rng.random() < r.noise.iso_dates / 2:
            when = rep.date.strftime("%d/%m/%Y")  # typed into a text cell
        values = {"Activity ID": f"A{n:06d}", "Case Ref": v.subject_ref, "First Name": v.forename,
                  "Last Name": v.surname, "Date of Birth": datetime.combine(v.dob, time()), "Post Code": v.postcode,
                  "NHS No": v.nhs, "Activity Type": EH_ACTIVITY[ev.etype], "Activity Date": when,
                  "Outcome": EH_OUTCOME.get(rep.outcome) if rep.outcome else None, "Worker": rep.practitioner_role,
                  "Comments": rep.summary}
        rows.append(Row(values, ev, rep, v))
    ex = Extract("EarlyHelp_Activity_Mar2025.xlsx", "eh_activity", rows, eh_xlsx_sink, "Activity Date",
                 lambda d: datetime.combine(d, time()), "31/02/2024", "Activity Type", "Parenting Course",
                 "Case Ref", "Activity ID")
    r.inject_faults(ex)
    return [ex]


# ---- health visiting: nested JSON from a clinical system ---------------------------------------

HV_CONTACT = {"birth": "birth_notification", "home_visit": "home_visit", "developmental_review": "developmental_review",
              "service_level_change": "service_level_change", "tac_meeting": "tac_meeting",
              "referral": "safeguarding_referral", "lead_professional_start": "lead_professional",
              "complaint": "complaint", "disengagement": "disengagement", "address_change": "change_of_address"}
HV_OUTCOME = {"universal": "Universal", "universal_plus": "Universal Plus",
              "universal_partnership_plus": "Universal Partnership Plus", "concern": "Concern",
              "no_concern": "No concern", "completed": "Completed", "no_access": "No access",
              "cancelled_by_family": "Cancelled by family", "held": "Held", "cancelled": "Cancelled"}


def render_hv(r: Renderer) -> list[Extract]:
    rows = []
    for n, (ev, rep) in r.numbered("hv", r.reports("hv")):
        v = r.view("hv", ev.pid)
        values = {"contact_id": f"C{n:08d}", "patient.id": v.subject_ref, "patient.nhs_number": v.nhs,
                  "patient.given_name": v.forename, "patient.family_name": v.surname,
                  "patient.birth_date": v.dob.isoformat(),
                  "patient.gender": {"M": "male", "F": "female"}.get(v.sex or "", "unknown"),
                  "patient.postcode": v.postcode, "contact_type": HV_CONTACT[ev.etype],
                  "contact_date": rep.date.isoformat(), "outcome": HV_OUTCOME.get(rep.outcome) if rep.outcome else None,
                  "related_org": rep.related_agency, "staff_role": rep.practitioner_role, "notes": rep.summary}
        rows.append(Row(values, ev, rep, v))
    ex = Extract("hv_contacts_20250331.json", "hv_contacts", rows, HvJsonSink, "contact_date",
                 lambda d: d.isoformat(), "2024-02-30", "contact_type", "immunisation", "patient.id", "contact_id",
                 encoding="utf-8")
    r.inject_faults(ex)
    return [ex]


# ---- police: JSON Lines, one record per person per occurrence ----------------------------------

POLICE_TYPE = {("police_incident", "domestic_abuse"): "DOMESTIC", ("police_incident", "other"): "INCIDENT",
               ("referral", None): "REFERRAL", ("strategy_discussion", None): "STRAT"}


def render_police(r: Renderer) -> list[Extract]:
    rows = []
    for n, (ev, rep) in r.numbered("police", r.reports("police")):
        p = r.world.persons[ev.pid]
        v = r.view("police", ev.pid)
        household = r.household_ref(p.family)
        at = datetime.combine(rep.date, time(r.rng.randint(0, 23), r.rng.randint(0, 59)))
        role = ("CHILD PRESENT" if ev.etype == "police_incident" else "SUBJECT") if p.is_child else \
            ("VICTIM" if p.role == "mother" else "SUSPECT")
        values = {"record_ref": f"PR{n:08d}", "occurrence_ref": ev.occurrence or f"OCC-{ev.eid}",
                  "person_id": v.subject_ref, "forenames": v.forename, "surname": v.surname,
                  "dob": v.dob.strftime("%d/%m/%Y"), "gender": v.sex or "U", "postcode": v.postcode,
                  "household_ref": household, "role": role,
                  "type": POLICE_TYPE[(ev.etype, rep.outcome if ev.etype == "police_incident" else None)],
                  "occurred_at": at.isoformat(timespec="seconds"), "referred_to": "CSC" if rep.related_agency == "csc" else None,
                  "officer_role": rep.practitioner_role, "summary": rep.summary}
        rows.append(Row(values, ev, rep, v))
    ex = Extract(f"police_ppn_{AS_OF.isoformat()}.jsonl", "police_ppn", rows, JsonlSink, "occurred_at",
                 lambda d: datetime.combine(d, time(12, 0)).isoformat(timespec="seconds"), "2024-13-01T10:00:00",
                 "type", "ASB", "person_id", "record_ref", encoding="utf-8")
    r.inject_faults(ex)
    if r.last_batch and r.noise.bad_rows > 0 and r._row_numbers.get("police"):
        # one line cut short by the export, at its end: unreadable as JSON, quarantined as a whole
        ex.extra_truth.append({"row_number": r._row_numbers["police"] + 1, "status": "quarantined",
                               "reason": "unreadable_row"})
    return [ex]


# ---- school: attendance and welfare CSV in Windows-1252 ----------------------------------------

SCHOOL_TYPE = {"school_absence": "ABS", "school_exclusion": "EXC", "welfare_concern": "WELF", "referral": "REF",
               "tac_meeting": "TAC", "school_move": "MOVE"}
SCHOOL_DETAIL = {"authorised": "A", "unauthorised": "U", "fixed_term": "FT", "permanent": "PERM",
                 "held": "Held", "cancelled": "Cancelled"}
SCHOOL_HEADER = ["Record Ref", "UPN", "Adno", "Legal Surname", "Legal Forename", "DOB", "Gender", "Postcode",
                 "Record Type", "Date", "Detail", "Sessions", "Related Agency", "Staff Role", "Note"]


def render_school(r: Renderer) -> list[Extract]:
    rows = []
    for n, (ev, rep) in r.numbered("school", r.reports("school")):
        v = r.view("school", ev.pid)
        values = {"Record Ref": f"S{n:07d}", "UPN": v.upn, "Adno": v.subject_ref, "Legal Surname": v.surname,
                  "Legal Forename": v.forename, "DOB": v.dob.strftime("%d/%m/%Y"), "Gender": v.sex or "",
                  "Postcode": v.postcode, "Record Type": SCHOOL_TYPE[ev.etype], "Date": r.uk_or_iso(rep.date),
                  "Detail": SCHOOL_DETAIL.get(rep.outcome) if rep.outcome else None, "Sessions": rep.sessions,
                  "Related Agency": (rep.related_agency or "").upper() or None, "Staff Role": rep.practitioner_role,
                  "Note": rep.summary}
        rows.append(Row(values, ev, rep, v))
    ex = Extract(f"school_welfare_attendance_{AS_OF.isoformat()}.csv", "school_welfare", rows,
                 csv_sink(SCHOOL_HEADER, "cp1252"),
                 "Date", lambda d: d.strftime("%d/%m/%Y"), "00/00/0000", "Record Type", "ZZ", "Adno", "Record Ref",
                 encoding="cp1252")
    r.inject_faults(ex)
    return [ex]


# ---- chronology templates sent for a review --------------------------------------------------------

@dataclass(frozen=True)
class SavedAs:
    """How an agency's software saves the chronology template (domain.md: files "arrive as each
    agency's software saves them, and say nothing of their encoding")."""

    suffix: str
    encoding: str | None  # the codec that reads the file as written; None: a workbook
    delimiter: str = ","
    uk_dates: bool = False  # Excel writes dates as a UK desktop shows them


UTF8_CSV = SavedAs(".csv", "utf-8")
WORKBOOK = SavedAs(".xlsx", None)
# Excel's "Unicode text": UTF-16, little-endian after a byte-order mark, tab-delimited, CRLF
EXCEL_UNICODE_TEXT = SavedAs(".txt", "utf-16", "\t", uk_dates=True)
# Excel's "CSV (Comma delimited)" on Windows: Windows-1252 (en dashes, accented names), CRLF
EXCEL_WINDOWS_CSV = SavedAs(".csv", "cp1252", uk_dates=True)
TEMPLATE_SAVED_AS = {"gp": UTF8_CSV, "asc": WORKBOOK, "hosp": EXCEL_UNICODE_TEXT}  # any other agency: a workbook
# An agency that amends entries sends them again, saved another way and named so that the file
# sorts before the first one: arrival order cannot tell which is newer, recorded_at can.
AMENDMENT_SAVED_AS = EXCEL_WINDOWS_CSV
AMENDED_AT = datetime.combine(AS_OF - timedelta(days=56), time(9, 30))  # when the agencies amended their entries


def render_chronologies(r: Renderer) -> list[Extract]:
    """Agencies without a bulk extract send the domain's chronology template for each review, each
    saved its own way; one whose entries were first recorded wrongly (Report.first_recorded) sends
    those entries again, amended, with a later recorded_at."""
    out = []
    for review in r.world.reviews:
        family_ids = {r.world.persons[pid].family for pid in review.subjects}
        for agency in sorted({rep.agency for ev in r.world.events for rep in ev.reports} - set(BULK_AGENCIES)):
            if agency not in review.agencies:
                continue
            saved_as = TEMPLATE_SAVED_AS.get(agency, WORKBOOK)
            rows, amended = [], []
            for ev, rep in r.reports(agency):
                p = r.world.persons[ev.pid]
                if p.family not in family_ids:
                    continue
                v = r.view(agency, ev.pid)
                n = len(rows) + 1
                recorded = datetime.combine(rep.date + timedelta(days=r.rng.randint(0, 2)),
                                            time(r.rng.randint(8, 17), r.rng.choice([0, 10, 25, 40, 55])))
                values = {"agency": agency, "record_id": f"{agency.upper()}-{review.rid}-{n:04d}",
                          "subject_ref": v.subject_ref, "nhs_number": v.nhs, "upn": v.upn, "la_child_id": None,
                          "forename": v.forename, "surname": v.surname, "date_of_birth": v.dob,
                          "sex": v.sex, "postcode": v.postcode, "family_ref": f"{agency.upper()}-FAM-{p.family}",
                          "person_role": "child" if p.is_child else p.role, "event_date": rep.date,
                          "event_time": None, "event_type": ev.etype, "outcome": rep.outcome,
                          "related_agency": rep.related_agency, "practitioner_role": rep.practitioner_role,
                          "summary": rep.summary, "recorded_at": recorded, "review_id": review.rid}
                row = Row(values, ev, rep, v)
                if rep.first_recorded:
                    if AMENDED_AT <= recorded:
                        raise ValueError(f"{values['record_id']}: an amendment must be recorded after the entry")
                    amended.append(Row({**values, "recorded_at": AMENDED_AT}, ev, rep, v))
                    row.values = {**values, **rep.first_recorded}
                    row.status = "superseded"
                    row.amended = {column: {"first_recorded": _truth_text(wrong), "current": _truth_text(values[column])}
                                   for column, wrong in rep.first_recorded.items()}
                rows.append(row)
            if not rows:
                continue
            name = f"chronology_{agency}_{review.rid}"
            first = _template_extract(f"{name}{saved_as.suffix}", rows, saved_as)
            r._mark_noise_consequences(first)
            out.append(first)
            if amended:
                again = _template_extract(f"{name} (amended){AMENDMENT_SAVED_AS.suffix}", amended, AMENDMENT_SAVED_AS)
                for row in rows:
                    if row.status == "superseded":
                        row.amended_in = again.file_name
                r._mark_noise_consequences(again)
                out.append(again)
    return out


def _truth_text(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _template_extract(file_name: str, rows: list[Row], saved_as: SavedAs) -> Extract:
    for row in rows:
        row.values = _as_written(row.values, saved_as)
    sink = chronology_xlsx_sink if saved_as.encoding is None else \
        lambda path: CsvSink(path, CHRONOLOGY_HEADER, saved_as.encoding, saved_as.delimiter)
    return Extract(file_name, "chronology_template", rows, sink, "event_date", lambda d: d.strftime("%d/%m/%Y"),
                   "31/02/2024", "event_type", "visit", "subject_ref", "record_id", encoding=saved_as.encoding)


def _as_written(values: dict, saved_as: SavedAs) -> dict:
    """Dates and times as the software writes them: cells in a workbook; in text, what a UK
    desktop shows (Excel) or ISO dates of birth and UK event dates (a CSV export)."""
    out = dict(values)
    for key in ("date_of_birth", "event_date", "recorded_at"):
        value = out[key]
        if saved_as.encoding is None:
            out[key] = value if isinstance(value, datetime) or value is None else datetime.combine(value, time())
        elif isinstance(value, datetime):
            out[key] = value.strftime("%d/%m/%Y %H:%M") if saved_as.uk_dates else value.isoformat(timespec="seconds")
        elif isinstance(value, date):
            out[key] = value.isoformat() if key == "date_of_birth" and not saved_as.uk_dates else value.strftime("%d/%m/%Y")
    return out


# ---- writers: each opens its file once and appends every batch's rows ----------------------------

class Sink(Protocol):
    def append(self, ex: Extract) -> None: ...
    def close(self) -> None: ...


class CsvSink:
    """Delimited text, CRLF as Excel and the csv module write it. "utf-16": little-endian after a
    byte-order mark, as Excel's "Unicode text" writes it (Python's utf-16 codec would pick the
    machine's byte order)."""

    def __init__(self, path: Path, header: list[str], encoding: str, delimiter: str = ","):
        self.header = header
        if encoding == "utf-16":
            self._file = path.open("w", newline="", encoding="utf-16-le")
            self._file.write("\ufeff")
        else:
            self._file = path.open("w", newline="", encoding=encoding)
        self._csv = csv.writer(self._file, delimiter=delimiter)
        self._csv.writerow(header)

    def append(self, ex: Extract) -> None:
        for row in ex.rows:
            self._csv.writerow(["" if row.values.get(c) is None else row.values[c] for c in self.header])

    def close(self) -> None:
        self._file.close()


def csv_sink(header: list[str], encoding: str) -> Callable[[Path], Sink]:
    return lambda path: CsvSink(path, header, encoding)


def save_workbook(wb, path: Path) -> None:
    """Save an XLSX whose bytes depend only on its content: openpyxl stamps the save time into the
    document properties and every zip entry, which would make the same seed give different files."""
    buffer = io.BytesIO()
    wb.save(buffer)
    stamp = f"{AS_OF.isoformat()}T02:00:00Z".encode()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            entry = zipfile.ZipInfo(info.filename, date_time=(AS_OF.year, AS_OF.month, AS_OF.day, 2, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, data)


class XlsxSink:
    """A write-only workbook: openpyxl streams the appended rows to a temporary file."""

    def __init__(self, path: Path, preamble: dict[str, list[list]], sheet: str, header: list[str],
                 columns: list[str]):
        from openpyxl import Workbook

        self.path, self.columns = path, columns
        self._wb = Workbook(write_only=True)
        for name, lines in preamble.items():
            ws = self._wb.create_sheet(name)
            for line in lines:
                ws.append(line)
        self._ws = self._wb.create_sheet(sheet)
        self._ws.append(header)

    def append(self, ex: Extract) -> None:
        for row in ex.rows:
            self._ws.append([row.values.get(c) for c in self.columns])

    def close(self) -> None:
        save_workbook(self._wb, self.path)


def eh_xlsx_sink(path: Path) -> Sink:
    about = [["Early help case management system: activity extract"], ["Extract date", datetime.combine(AS_OF, time())]]
    return XlsxSink(path, {"About": about}, "Activity", EH_HEADER, EH_HEADER)


def chronology_xlsx_sink(path: Path) -> Sink:
    header = [c.upper() if c in ("agency", "nhs_number") else c for c in CHRONOLOGY_HEADER]  # headers are case-insensitive
    return XlsxSink(path, {}, "Chronology", header, CHRONOLOGY_HEADER)


def _nest(flat: dict) -> dict:
    out: dict = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


class HvJsonSink:
    """One JSON document, {"extract": {...}, "contacts": [...]}, written a contact at a time in the
    layout json.dumps(doc, indent=1) gives."""

    _PLACEHOLDER = '"contacts go here"'

    def __init__(self, path: Path):
        doc = {"extract": {"system": "community health records", "generated": f"{AS_OF.isoformat()}T02:00:00"},
               "contacts": ["contacts go here"]}
        self._head, self._tail = json.dumps(doc, indent=1, ensure_ascii=False).split(self._PLACEHOLDER)
        self._file = path.open("w", encoding="utf-8")
        self._file.write(self._head)
        self._first = True

    def append(self, ex: Extract) -> None:
        for row in ex.rows:
            if not self._first:
                self._file.write(",\n  ")
            self._file.write(json.dumps(_nest(row.values), indent=1, ensure_ascii=False).replace("\n", "\n  "))
            self._first = False

    def close(self) -> None:
        self._file.write(self._tail)
        self._file.close()


class JsonlSink:
    def __init__(self, path: Path):
        self._file = path.open("w", encoding="utf-8")

    def append(self, ex: Extract) -> None:
        for row in ex.rows:
            self._file.write(json.dumps(row.values, ensure_ascii=False) + "\n")
        for _ in ex.extra_truth:
            self._file.write('{"record_ref": "PR-TRUNCATED", "occurrence_ref": "OCC\n')

    def close(self) -> None:
        self._file.close()


RENDERERS = (render_csc, render_eh, render_hv, render_police, render_school, render_chronologies)
