"""The review chronology: the document a review panel reads ("what was life like for this child?").

`casehistory chronology --review REV` and the nightly readiness step (reviews within the window)
write, per review, to `<stem>.restricted/reviews/<review_id>/`:

    chronology.xlsx   sheets Review, Readiness, Counts, Decisions, Chronology, Accounts
    chronology.html   a printable page: the first page, then the merged flow
    chronology.pdf    that page printed by headless Chromium (casehistory/board/browser.py)

RESTRICTED: they hold the children's names, NHS numbers and the practitioners' free text, so they
are written only to the restricted folder (settings.restricted_dir), never to the published
warehouse or the reports folder.

What it shows, from the restricted store (nothing here recomputes a rule the models hold):
  the flow       one row per real-world event of the subject children within the review's scope
                 (marts.fct_child_events: events several agencies recorded are one event there), with
                 each agency's own record under it (restricted.restricted_child_chronology). A
                 household event that reached several subject children is one row naming them all
                 (the same agency records behind it). Accounts that disagree on date or outcome
                 (fct_child_events.dates_disagree / outcomes_disagree) are set side by side;
                 household events say whose event it was; referrals carry what was known at the
                 decision (intermediate.int_referrals__known_at_decision); each row says which plans
                 were open that day (marts.fct_plan_status_daily); warning signs stand on the day
                 they became visible (audit.audit_warning_signs); a silence (no event for more than
                 Settings.chronology_silence_days, CASEHISTORY_CHRONOLOGY_SILENCE_DAYS, default 90)
                 is a row of its own where it falls.
  the first page the children, the scope, each agency's chronology status (audit.review_readiness,
                 as the readiness report), counts per agency and per event type, the decision
                 points and the plan periods.
Names, not codes: agency and event names and outcomes in words come from the vocabulary
(casehistory/reference/, casehistory/vocabulary.py).

The HTML is templates/chronology.html (each row: chronology_entry.html) and agency_rows.html,
rendered by casehistory/board/pages.py with autoescaping: a practitioner's note, a name, an
agency's reference are printed as the text they are, whatever characters they hold.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path

import duckdb

from casehistory import warehouse
from casehistory.board import pages
from casehistory.readiness import readiness_rows, reject_reason
from casehistory.settings import Settings
from casehistory.vocabulary import agency_name, event_label, outcome_label, plan_name, plan_types, sign_label

FOLDER = "reviews"  # <stem>.restricted/reviews/<review_id>/
# Decisions a panel reads first: the front door's, the conference's, and stepping up, down or out.
DECISION_TYPES = ("contact", "referral", "strategy_discussion", "icpc", "step_up_request", "step_down",
                  "case_closure", "early_help_end")
KNOWN_AT_DECISION = (("previous_referrals", "earlier referrals"), ("open_plans", "plans open"),
                     ("police_incidents_12m", "police incidents in 12 months"),
                     ("ed_attendances_12m", "emergency attendances in 12 months"),
                     ("school_absences_12m", "school absence records in 12 months"))


# What the document is read from: built by the nightly build (dbt) before the readiness step.
SOURCES = ("config.reviews", "config.review_agencies", "intermediate.int_review_subjects",
           "intermediate.int_persons__profile", "intermediate.int_referrals__known_at_decision",
           "marts.fct_child_events", "marts.fct_plan_episodes", "marts.fct_plan_status_daily",
           "audit.audit_warning_signs", "audit.review_readiness", "restricted.restricted_child_chronology")


def missing_sources(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [t for t in SOURCES if not warehouse_has(con, *t.split("."))]


class ReviewNotFound(LookupError):
    """The review is not declared in the reviews file the store was last built with."""


@dataclass
class Child:
    child_key: str
    name: str
    date_of_birth: date | None
    nhs_number: str | None
    declared_as: list[str]


@dataclass
class Account:
    """One agency's record of an event: its own date, time, outcome, practitioner and words."""
    agency: str
    record_id: str
    event_date: date
    event_time: time | None
    outcome: str | None
    practitioner_role: str | None
    summary: str | None
    whose: str | None  # a household member's event: "father Callum Pemberton"


@dataclass
class Entry:
    """One row of the flow: an event, a warning sign becoming visible, or a silence."""
    kind: str  # event | sign | silence
    day: date
    children: list[str]  # whose event it is (an event of a parent or other household member: none)
    title: str
    number: int = 0
    event_type: str | None = None
    event_time: time | None = None
    outcome: str | None = None
    agencies: list[str] = field(default_factory=list)
    practitioner_roles: list[str] = field(default_factory=list)
    household: bool = False  # a parent's or other household member's event, no subject child's own
    reached: list[str] = field(default_factory=list)  # subject children it reached through the household
    whose: list[str] = field(default_factory=list)
    dates_disagree: bool = False
    outcomes_disagree: bool = False
    accounts: list[Account] = field(default_factory=list)
    known: dict[str, dict] = field(default_factory=dict)  # child name -> what was known at the decision
    plans_open: str = ""
    detail: str = ""  # a sign's evidence, a silence's span

    @property
    def disagrees(self) -> bool:
        return self.dates_disagree or self.outcomes_disagree


@dataclass
class ReviewChronology:
    review_id: str
    review_type: str
    scope_start: date
    scope_end: date
    deadline: date
    asked: list[str]
    children: list[Child]
    not_found: list[str]  # subjects declared that no record names
    readiness: list[dict]
    plans: list[dict]
    entries: list[Entry]
    silence_days: int
    generated: date
    agency_records: int  # the naive alternative: every agency's records, one after another

    @property
    def events(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "event"]

    def counts_by_agency(self) -> list[tuple[str, int, int, int]]:
        """(agency, events it recorded, its own records of the children, its records of household members)."""
        events, own, household = Counter(), Counter(), Counter()
        for e in self.events:
            events.update(set(a.agency for a in e.accounts))
            for a in e.accounts:
                (household if e.household else own)[a.agency] += 1
        return [(a, events[a], own[a], household[a]) for a in sorted(events, key=lambda a: (-events[a], a))]

    def counts_by_type(self) -> list[tuple[str, int]]:
        counts = Counter(e.event_type for e in self.events)
        return sorted(counts.items(), key=lambda kv: (-kv[1], event_label(kv[0])))

    def decisions(self) -> list[Entry]:
        return [e for e in self.events if e.event_type in DECISION_TYPES and not e.household]


# ---- reading -----------------------------------------------------------------------------------

def declared_reviews(con: duckdb.DuckDBPyConnection) -> list[str]:
    if not warehouse_has(con, "config", "reviews"):
        return []
    return [r[0] for r in con.execute("select review_id from config.reviews order by review_id").fetchall()]


def warehouse_has(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, table]).fetchone()[0] > 0


def _dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    cur = con.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _name(forename: str | None, surname: str | None) -> str:
    return " ".join(p for p in (forename, surname) if p) or "(name not recorded)"


def read_chronology(con: duckdb.DuckDBPyConnection, review_id: str, *, silence_days: int,
                    generated: date) -> ReviewChronology:
    declared = declared_reviews(con)
    if review_id not in declared:
        raise ReviewNotFound(f"review {review_id!r} is not declared in the reviews file the store was built with "
                             f"(declared: {', '.join(declared) or 'none'})")
    review = _dicts(con, "select * from config.reviews where review_id = ?", [review_id])[0]
    start, end = review["scope_start"], review["scope_end"]
    asked = [r[0] for r in con.execute("select agency from config.review_agencies where review_id = ? order by agency",
                                       [review_id]).fetchall()]
    children, not_found = _children(con, review_id)
    keys = [c.child_key for c in children]
    names = {c.child_key: c.name for c in children}
    events = _dicts(con, """select event_id, child_key, event_date, event_type, outcome, agencies, practitioner_roles,
                                   dates_disagree, outcomes_disagree, via_household, coalesce(household_roles, []) as roles,
                                   ledger_ids
                            from marts.fct_child_events where child_key in (select unnest(?))
                            and event_date between ? and ? order by event_date, event_type, event_id""",
                    [keys, start, end])
    accounts = defaultdict(list)
    for r in _dicts(con, """select event_id, agency, record_id, event_date, event_time, outcome, practitioner_role,
                                   summary, via_household, via_role, forename, surname
                            from restricted.restricted_child_chronology where event_id in (select unnest(?))
                            order by event_date, agency, record_id""", [[e["event_id"] for e in events]]):
        whose = f"{r['via_role'] or 'household member'} {_name(r['forename'], r['surname'])}" if r["via_household"] else None
        accounts[r["event_id"]].append(Account(r["agency"], r["record_id"], r["event_date"], r["event_time"], r["outcome"],
                                               r["practitioner_role"], r["summary"], whose))
    known = {r["referral_id"]: r for r in _dicts(
        con, "select * from intermediate.int_referrals__known_at_decision where child_key in (select unnest(?))", [keys])}
    open_plans = defaultdict(list)
    for key, day, types in con.execute("""select child_key, status_date, plan_types_open from marts.fct_plan_status_daily
                                          where child_key in (select unnest(?)) and status_date between ? and ?""",
                                       [keys, start, end]).fetchall():
        open_plans[day].append((names[key], types))

    merged: dict[tuple, Entry] = {}  # the same agency records reaching several children: one event
    for e in events:
        ident = (tuple(sorted(e["ledger_ids"])), e["event_type"])
        entry = merged.get(ident)
        if entry is None:
            own = accounts[e["event_id"]]
            entry = merged[ident] = Entry(
                kind="event", day=e["event_date"], children=[], title=event_label(e["event_type"]),
                event_type=e["event_type"], outcome=e["outcome"], agencies=list(e["agencies"]),
                practitioner_roles=list(e["practitioner_roles"] or []), household=e["via_household"],
                whose=sorted({a.whose for a in own if a.whose}), dates_disagree=e["dates_disagree"],
                outcomes_disagree=e["outcomes_disagree"], accounts=own,
                event_time=min((a.event_time for a in own if a.event_time and a.event_date == e["event_date"]),
                               default=None))
        (entry.reached if e["via_household"] else entry.children).append(names[e["child_key"]])
        entry.household = entry.household and e["via_household"]
        if not e["via_household"] and entry.accounts and any(a.whose for a in entry.accounts):
            entry.accounts = accounts[e["event_id"]]  # the child's own records of it, not a sibling's view
        if e["event_id"] in known:
            entry.known[names[e["child_key"]]] = known[e["event_id"]]
    flow = list(merged.values())
    for entry in flow:
        entry.plans_open = _plans_text(open_plans.get(entry.day, []))
    flow += _signs(con, keys, names, start, end)
    flow = _with_silences(flow, start, end, silence_days)
    for n, entry in enumerate(flow, start=1):
        entry.number = n
    plans = _dicts(con, """select child_key, plan_type, cp_category, lac_legal_status, start_date, end_date
                           from marts.fct_plan_episodes where child_key in (select unnest(?))
                           and start_date <= ? and (end_date is null or end_date >= ?) order by start_date""",
                   [keys, end, start])
    for p in plans:
        p["child"] = names[p.pop("child_key")]
    records = con.execute("""select count(distinct ledger_id) from restricted.restricted_child_chronology
                             where child_key in (select unnest(?)) and event_date between ? and ?""",
                          [keys, start, end]).fetchone()[0]
    return ReviewChronology(review_id, review["review_type"], start, end, review["deadline"], asked, children,
                            not_found, readiness_rows(con, [review_id]), plans, flow, silence_days, generated, records)


def _children(con: duckdb.DuckDBPyConnection, review_id: str) -> tuple[list[Child], list[str]]:
    subjects = _dicts(con, """select s.*, p.person_key, p.is_child, p.date_of_birth
                              from intermediate.int_review_subjects s
                              left join intermediate.int_persons__profile p using (person_id)
                              where s.review_id = ?""", [review_id])
    declared: dict[str, list[str]] = defaultdict(list)
    not_found = []
    for s in subjects:
        said = (f"NHS number {s['nhs_number']}" if s["nhs_number"] else f"UPN {s['upn']}" if s["upn"]
                else f"LA child id {s['la_child_id']}" if s["la_child_id"]
                else f"{agency_name(s['agency'], short=True)} ref {s['subject_ref']}")
        if s["person_key"] and s["is_child"]:
            if said not in declared[s["person_key"]]:
                declared[s["person_key"]].append(said)
        else:
            not_found.append(said)
    children = []
    for key, said in declared.items():
        person = con.execute(
            """select forename, surname, date_of_birth, nhs_number from restricted.restricted_child_chronology
               where child_key = ? and not via_household
               order by (forename is null), (surname is null), ledger_id desc limit 1""", [key]).fetchone()
        nhs = con.execute("""select max(nhs_number) from restricted.restricted_child_chronology
                             where child_key = ? and not via_household""", [key]).fetchone()[0]
        children.append(Child(key, _name(*(person or (None, None))[:2]), person[2] if person else None, nhs, said))
    children.sort(key=lambda c: (c.date_of_birth or date.max, c.name))
    return children, sorted(set(not_found) - {s for c in children for s in c.declared_as})


def _plans_text(open_now: list[tuple[str, list[str]]]) -> str:
    by_plan = defaultdict(list)
    for child, types in open_now:
        for t in types or []:
            by_plan[t].append(child.split(" ")[0])
    order = list(plan_types())
    return "; ".join(f"{plan_name(t)}: {', '.join(sorted(c))}"
                     for t, c in sorted(by_plan.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 9))


def _signs(con, keys: list[str], names: dict[str, str], start: date, end: date) -> list[Entry]:
    return [Entry(kind="sign", day=day, children=[names[key]], title=f"Warning sign: {sign_label(sign)}",
                  detail=evidence)
            for key, sign, day, evidence in con.execute(
                """select child_key, sign, sign_date, evidence from audit.audit_warning_signs
                   where child_key in (select unnest(?)) and sign_date between ? and ?
                   order by sign_date, sign""", [keys, start, end]).fetchall()]


def _with_silences(flow: list[Entry], start: date, end: date, days: int) -> list[Entry]:
    """A silence: more than `days` days in a row, within the scope, on which no agency recorded any
    event of the children or their household (before the first event and after the last, too).
    It stands in the flow on its first quiet day."""
    event_days = sorted({e.day for e in flow if e.kind == "event"})
    bounds = [(start, False)] + [(d, True) for d in event_days] + [(end, False)]
    silences = []
    for (a, a_is_event), (b, b_is_event) in zip(bounds, bounds[1:]):
        first = a + timedelta(days=1) if a_is_event else a
        last = b - timedelta(days=1) if b_is_event else b
        quiet = (last - first).days + 1
        if quiet > days:
            silences.append(Entry(kind="silence", day=first, children=[], title=f"No agency in contact for {quiet} days",
                                  detail=f"no event recorded from {_d(first)} to {_d(last)}"))
    order = {"event": 0, "sign": 1, "silence": 2}
    return sorted(flow + silences, key=lambda x: (x.day, order[x.kind], x.event_time or time(0), x.title,
                                                  x.children, x.reached))


# ---- words ---------------------------------------------------------------------------------------

def _d(day: date | None) -> str:
    return f"{day.day} {day:%b %Y}" if day else ""


def account_text(a: Account) -> str:
    """'GP 30 Oct 2023 (no outcome)': one agency's side of a disagreement."""
    return f"{agency_name(a.agency, short=True)} {_d(a.event_date)} ({outcome_label(a.outcome) or 'no outcome'})"


def recorded_by(e: Entry) -> str:
    """'Social care (MASH Practitioner), GP (GP)': who recorded the event, and in what role."""
    roles: dict[str, list[str]] = {a: [] for a in e.agencies}
    for a in e.accounts:
        if a.practitioner_role and a.practitioner_role not in roles.setdefault(a.agency, []):
            roles[a.agency].append(a.practitioner_role)
    return ", ".join(agency_name(a, short=True) + (f" ({', '.join(r)})" if r else "") for a, r in roles.items())


def disagreement_text(e: Entry) -> str:
    what = " and ".join(w for w, on in (("dates", e.dates_disagree), ("outcomes", e.outcomes_disagree)) if on)
    return f"Accounts differ on {what}: " + "; ".join(account_text(a) for a in e.accounts) if e.disagrees else ""


def known_text(e: Entry) -> str:
    parts = []
    for child, k in e.known.items():
        said = ", ".join(f"{k[col]} {words}" for col, words in KNOWN_AT_DECISION)
        parts.append(f"{child}: {said}" if len(e.children) > 1 else said)
    return "; ".join(parts)


def who_text(e: Entry) -> str:
    """The children whose event it is, then those it reached through their household."""
    reached = [c for c in e.reached if c not in e.children]
    parts = [", ".join(e.children)] if e.children else []
    if reached:
        parts.append(("reached " if e.children else "") + ", ".join(reached) + " (household)")
    return "; ".join(parts)


def _whose(e: Entry) -> str:
    return f"Household: {', '.join(e.whose) or 'a household member'}'s event" if e.household else ""


def _plan_words(p: dict) -> str:
    detail = outcome_label(p["cp_category"]) if p.get("cp_category") else \
        outcome_label(p["lac_legal_status"]) if p.get("lac_legal_status") else ""
    return plan_name(p["plan_type"]) + (f" ({detail})" if detail else "")


# ---- HTML ----------------------------------------------------------------------------------------

def render_html(c: ReviewChronology) -> str:
    """The printable page: the first page (children, plans, each agency's chronology, counts,
    decision points), then the flow, one row per entry (templates/chronology.html)."""
    by_type = c.counts_by_type()
    half = (len(by_type) + 1) // 2  # two columns of types: the first page stays one page
    return pages.render(
        "chronology.html", review_id=c.review_id, review_type=c.review_type.replace("_", " "),
        scope_start=_d(c.scope_start), scope_end=_d(c.scope_end), deadline=_d(c.deadline),
        asked="; ".join(agency_name(a) for a in c.asked),  # names hold commas
        written=_d(c.generated), events=len(c.events), agency_records=c.agency_records,
        disagreements=sum(1 for x in c.events if x.disagrees),
        silences=sum(1 for x in c.entries if x.kind == "silence"), silence_days=c.silence_days,
        signs=sum(1 for x in c.entries if x.kind == "sign"),
        children=[{"name": ch.name, "born": _d(ch.date_of_birth), "nhs_number": ch.nhs_number or "",
                   "declared_as": "; ".join(ch.declared_as)} for ch in c.children],
        not_found=c.not_found,
        plans=[{"child": p["child"], "plan": _plan_words(p), "start": _d(p["start_date"]),
                "end": _d(p["end_date"]) or "still open"} for p in c.plans],
        readiness=[{"status": r["status"], "agency": agency_name(r["agency"]),
                    "label": r["status_label"] + (f" ({reject_reason(r['unreadable_reasons'])})"
                                                  if r.get("unreadable_reasons") else ""),
                    "asked": "yes" if r["asked"] else "no",
                    "span": f"{_d(r['first_entry_date'])} to {_d(r['last_entry_date'])}" if r["first_entry_date"] else ""}
                   for r in c.readiness],
        by_agency=[{"agency": agency_name(a), "events": events, "own": own, "household": household}
                   for a, events, own, household in c.counts_by_agency()],
        by_type=[[(event_label(t), n) for t, n in [left] + ([right] if right else [])]
                 for left, right in zip(by_type[:half], by_type[half:] + [None])],
        decisions=[{"number": d.number, "day": _d(d.day), "children": ", ".join(d.children), "title": d.title,
                    "outcome": outcome_label(d.outcome),
                    "agencies": ", ".join(agency_name(a, short=True) for a in d.agencies), "known": known_text(d)}
                   for d in c.decisions()],
        entries=[_entry(x) for x in c.entries])


def _entry(x: Entry) -> dict:
    """One row of the flow in words: an event with each agency's account under it, or a sign or a silence."""
    if x.kind != "event":
        return {"kind": x.kind, "number": x.number, "day": _d(x.day), "who": ", ".join(x.children),
                "title": x.title, "detail": x.detail}
    return {
        "kind": x.kind, "number": x.number, "day": _d(x.day), "time": f"{x.event_time:%H:%M}" if x.event_time else None,
        "household": x.household, "records": " ".join(f"{a.agency}:{a.record_id}" for a in x.accounts),
        "disagrees": x.disagrees, "who": who_text(x), "title": x.title,
        "outcome": outcome_label(x.outcome) if x.outcome else None, "whose": _whose(x) if x.household else None,
        "recorded_by": recorded_by(x), "plans_open": x.plans_open,
        "differ": {"what": " and ".join(w for w, on in (("dates", x.dates_disagree), ("outcomes", x.outcomes_disagree))
                                        if on),
                   "accounts": [{"agency": agency_name(a.agency, short=True), "day": _d(a.event_date),
                                 "outcome": outcome_label(a.outcome) or "no outcome"} for a in x.accounts]}
        if x.disagrees else None,
        "known": known_text(x) if x.known else None,
        # its agency and practitioner are in the row above: an account without a note says nothing more
        "notes": [{"agency": agency_name(a.agency, short=True),
                   "role": f", {a.practitioner_role}" if a.practitioner_role else "", "day": _d(a.event_date),
                   "time": f" {a.event_time:%H:%M}" if a.event_time else "", "ref": a.record_id, "summary": a.summary}
                  for a in x.accounts if a.summary]}


# ---- XLSX ----------------------------------------------------------------------------------------

def write_xlsx(c: ReviewChronology, path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    from casehistory.board.export import neutralise

    wb = Workbook()
    bold = Font(bold=True)

    def sheet(title: str, header: list[str], rows: list[list], widths: list[int]):
        ws = wb.create_sheet(title)
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
        for row in rows:  # notes are free text: a leading "=" must never run as a formula
            ws.append([neutralise(v) for v in row])
        for i, w in enumerate(widths):
            ws.column_dimensions[chr(ord("A") + i)].width = w
        ws.freeze_panes = "A2"
        return ws

    wb.remove(wb.active)
    ws = sheet("Review", ["", ""], [
        ["RESTRICTED", "names, NHS numbers and practitioners' notes: review panel and data team only"],
        ["Review", c.review_id], ["Type", c.review_type.replace("_", " ")], ["Scope from", c.scope_start],
        ["Scope to", c.scope_end], ["Chronologies due", c.deadline],
        ["Agencies asked", "; ".join(agency_name(a) for a in c.asked)], ["Written", c.generated],
        ["Silence marked after (days)", c.silence_days], ["Events", len(c.events)],
        ["Agency records behind them", c.agency_records], [],
        ["Child", "Born", "NHS number", "Named in the review as"],
        *[[ch.name, ch.date_of_birth, ch.nhs_number, "; ".join(ch.declared_as)] for ch in c.children],
        *[["No child found in the records", None, None, said] for said in c.not_found], [],
        ["Plan", "Child", "From", "To"],
        *[[_plan_words(p), p["child"], p["start_date"], p["end_date"] or "still open"] for p in c.plans],
    ], [30, 28, 14, 40])
    ws.delete_rows(1)
    sheet("Readiness", ["Agency", "Status", "Asked", "First entry", "Last entry", "Own records", "Named by others",
                        "Files sent but unreadable", "Why", "Evidence"],
          [[agency_name(r["agency"]), r["status_label"], "yes" if r["asked"] else "no", r["first_entry_date"],
            r["last_entry_date"], r["own_records"], r["named_records"], r.get("unreadable_file_names"),
            reject_reason(r.get("unreadable_reasons")), r["evidence"]] for r in c.readiness],
          [40, 22, 7, 12, 12, 11, 14, 30, 40, 60])
    sheet("Counts", ["Agency", "Events", "Records of the children", "Records of their household", "", "Event", "Events"],
          [], [40, 8, 12, 12, 3, 40, 8])
    ws = wb["Counts"]
    by_agency, by_type = c.counts_by_agency(), c.counts_by_type()
    for i in range(max(len(by_agency), len(by_type))):
        a = list(by_agency[i]) if i < len(by_agency) else [None] * 4
        t = [event_label(by_type[i][0]), by_type[i][1]] if i < len(by_type) else [None, None]
        ws.append([neutralise(v) for v in (agency_name(a[0]) if a[0] else None, *a[1:], None, *t)])
    sheet("Decisions", ["Entry", "Date", "Child", "Decision", "Outcome", "Recorded by", "What was known that day"],
          [[d.number, d.day, ", ".join(d.children), d.title, outcome_label(d.outcome),
            "; ".join(agency_name(a) for a in d.agencies), known_text(d)] for d in c.decisions()],
          [7, 12, 22, 36, 24, 36, 80])
    wrap = Alignment(wrap_text=True, vertical="top")
    ws = sheet("Chronology", ["Entry", "Date", "Time", "Kind", "Child", "Whose event", "Event", "Outcome", "Recorded by",
                              "Practitioner roles", "Accounts differ", "Known at the decision", "Plans open",
                              "Each agency's note"],
               [[x.number, x.day, x.event_time, {"event": "Event", "sign": "Warning sign", "silence": "Silence"}[x.kind],
                 who_text(x), _whose(x) or None, x.title if x.kind == "event" else f"{x.title}: {x.detail}",
                 outcome_label(x.outcome) or None, "; ".join(agency_name(a) for a in x.agencies) or None,
                 ", ".join(x.practitioner_roles) or None, disagreement_text(x) or None, known_text(x) or None,
                 x.plans_open or None,
                 "\n".join(f"{agency_name(a.agency, short=True)}: {a.summary}" for a in x.accounts if a.summary) or None]
                for x in c.entries],
               [6, 11, 6, 12, 22, 26, 34, 20, 30, 26, 50, 50, 26, 60])
    fills = {"sign": PatternFill("solid", fgColor="FBE3E3"), "silence": PatternFill("solid", fgColor="ECECEC")}
    for row, x in zip(ws.iter_rows(min_row=2), c.entries):
        for cell in row:
            cell.alignment = wrap
            if x.kind in fills:
                cell.fill = fills[x.kind]
            elif x.disagrees:
                cell.fill = PatternFill("solid", fgColor="FFF0D0")
    ws.auto_filter.ref = ws.dimensions
    ws = sheet("Accounts", ["Entry", "Agency", "Record ref", "Date", "Time", "Outcome", "Practitioner role",
                            "Whose event", "Note"],
               [[x.number, agency_name(a.agency), a.record_id, a.event_date, a.event_time, outcome_label(a.outcome) or None,
                 a.practitioner_role, a.whose, a.summary] for x in c.events for a in x.accounts],
               [6, 40, 14, 11, 6, 24, 28, 30, 80])
    ws.auto_filter.ref = ws.dimensions
    for name in ("Review", "Readiness", "Decisions", "Accounts"):
        for row in wb[name].iter_rows(min_row=1):
            for cell in row:
                if isinstance(cell.value, date):
                    cell.number_format = "d mmm yyyy"
    for row in wb["Chronology"].iter_rows(min_row=2, max_col=2, min_col=2):
        row[0].number_format = "d mmm yyyy"
    wb.save(path)
    return path


# ---- the naive alternative: each agency's rows, one agency after another -------------------------

def render_agency_rows_html(con: duckdb.DuckDBPyConnection, c: ReviewChronology) -> tuple[str, int]:
    """What a panel gets without the merge: every agency's records of the children, one agency after
    another, in the same type and page. Returns the page and its rows. For measuring only."""
    keys = [ch.child_key for ch in c.children]
    rows = con.execute(
        """select agency, event_date, event_time, event_type, outcome, practitioner_role, summary, record_id,
                  string_agg(distinct forename || ' ' || surname, ', ') as about
           from restricted.restricted_child_chronology
           where child_key in (select unnest(?)) and event_date between ? and ?
           group by ledger_id, agency, event_date, event_time, event_type, outcome, practitioner_role, summary, record_id
           order by agency, event_date, event_time nulls first, record_id""", [keys, c.scope_start, c.scope_end]).fetchall()
    page = pages.render("agency_rows.html", review_id=c.review_id, rows=[
        {"agency": agency_name(agency, short=True), "day": _d(day), "time": f"{at:%H:%M}" if at else None,
         "about": about or "", "event": event_label(event_type), "outcome": outcome_label(outcome) if outcome else None,
         "role": role or "", "summary": summary or "", "ref": record_id}
        for agency, day, at, event_type, outcome, role, summary, record_id, about in rows])
    return page, len(rows)


# ---- writing -------------------------------------------------------------------------------------

@dataclass
class Written:
    folder: Path
    xlsx: Path
    html: Path
    pdf: Path | None
    pdf_pages: int | None
    events: int
    agency_records: int
    pdf_problem: str | None = None
    naive: dict | None = None  # rows and pages of the agencies' rows one after another


def review_folder(settings: Settings, review_id: str) -> Path:
    """<stem>.restricted/reviews/<review_id>/: restricted, never the reports folder."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", review_id)
    return settings.restricted_dir / FOLDER / safe


def write_chronology(settings: Settings, con: duckdb.DuckDBPyConnection, review_id: str, *,
                     pdf: bool = True, compare: bool = False) -> Written:
    """Write the review's XLSX, HTML and (with Chromium) PDF; with `compare`, also print the agencies'
    rows one after another and count both documents' rows and pages."""
    from casehistory.board import browser

    c = read_chronology(con, review_id, silence_days=settings.chronology_silence_days, generated=settings.run_date)
    folder = review_folder(settings, review_id)
    folder.mkdir(parents=True, exist_ok=True)
    xlsx = write_xlsx(c, folder / "chronology.xlsx")
    html = folder / "chronology.html"
    html.write_text(render_html(c), encoding="utf-8")
    out = Written(folder, xlsx, html, None, None, len(c.events), c.agency_records)
    if pdf:
        try:
            out.pdf = browser.print_pdf(html, folder / "chronology.pdf")
            out.pdf_pages = browser.pdf_pages(out.pdf)
        except (browser.BrowserMissing, RuntimeError) as exc:
            out.pdf_problem = str(exc)
    if compare:
        page, rows = render_agency_rows_html(con, c)
        naive_html = folder / "agency-rows.html"
        naive_html.write_text(page, encoding="utf-8")
        naive_pdf = browser.print_pdf(naive_html, folder / "agency-rows.pdf")
        out.naive = {"rows": rows, "pages": browser.pdf_pages(naive_pdf), "html": naive_html, "pdf": naive_pdf}
    return out


def write_chronologies(settings: Settings, review_ids: list[str]) -> tuple[list[Written], str | None]:
    """Each review's documents, or none and why (a store whose models are not built)."""
    with warehouse.store(settings, read_only=True) as con:
        missing = missing_sources(con)
        if missing:
            return [], f"not written: the store has no {', '.join(missing)} (the nightly build makes them)"
        return [write_chronology(settings, con, rid) for rid in review_ids], None
