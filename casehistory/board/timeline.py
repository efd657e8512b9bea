"""A child's life as one picture, for a review panel: "what is life like for this baby?".

One self-contained HTML file per child (inline SVG) in `<stem>.restricted/timelines/`: restricted,
because a panel needs the child's name beside the picture. Read from the restricted store:

    one lane per plan type   bands for each plan period (marts.fct_plan_episodes)
    referrals   every referral marked with its number and outcome (the front door's decision);
                labels that would collide go on the next row down, so none ever overlaps
    one lane per agency   the child's own events, drawn in the lane of each agency that recorded them
    household   events of parents and siblings that reached the child (via_household), counted
                apart from the child's own

Agencies, events, outcomes and plans are drawn by name (casehistory/vocabulary.py). The time axis
runs from the first to the last dated fact (event, plan start or end): a plan still open is drawn
to the axis's end with an arrow, not stretched to today.

This module places everything (lanes, bands, diamonds, dots and which row each label takes); the
markup is templates/timeline.html and timeline.svg (casehistory/board/pages.py, autoescaped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
from markupsafe import Markup

from casehistory import vocabulary, warehouse
from casehistory.board import pages
from casehistory.board.svg import colour
from casehistory.settings import Settings
from casehistory.vocabulary import agency_name, event_label, outcome_label, plan_name

TIMELINES_FOLDER = "timelines"
PLAN_COLOURS = {"early_help": "#9ecae1", "cin": "#fdd49e", "cp": "#fc9272", "lac": "#bcbddc"}
OUTCOME_COLOURS = {"nfa": "#6f6f6f", "early_help": "#1b6ca8", "assessment": "#3a9d5d",
                   "strategy_discussion": "#e07b39", "s47": "#b8474f"}


@dataclass
class Event:
    event_date: date
    event_type: str
    outcome: str | None
    agencies: list[str]
    via_household: bool
    household_roles: list[str]


@dataclass
class PlanBand:
    plan_type: str
    start: date
    end: date | None  # None = still open


@dataclass
class ChildTimeline:
    child_key: str
    name: str
    date_of_birth: date | None
    events: list[Event]
    plans: list[PlanBand]

    @property
    def referrals(self) -> list[Event]:
        return [e for e in self.events if e.event_type == "referral" and not e.via_household]


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, table]).fetchone()[0] > 0


def read_timeline(con: duckdb.DuckDBPyConnection, child_key: str) -> ChildTimeline:
    rows = con.execute(
        """select event_date, event_type, outcome, agencies, via_household, coalesce(household_roles, [])
           from marts.fct_child_events where child_key = ? and event_date is not null
           order by event_date, event_seq""", [child_key]).fetchall()
    if not rows:
        raise LookupError(f"no events for child_key {child_key} in marts.fct_child_events")
    events = [Event(*r) for r in rows]
    person = con.execute(
        """select forename, surname, date_of_birth from restricted.restricted_child_chronology
           where child_key = ? and not via_household
           order by (forename is null), (surname is null), ledger_id desc limit 1""", [child_key]).fetchone()
    name = " ".join(p for p in (person or (None, None))[:2] if p) or "(name not recorded)"
    plans = [PlanBand(*r) for r in con.execute(
        "select plan_type, start_date, end_date from marts.fct_plan_episodes where child_key = ? "
        "order by start_date, plan_type", [child_key]).fetchall()]
    return ChildTimeline(child_key, name, person[2] if person else None, events, plans)


LABEL_CHAR_PX = 5.2  # width of a character of the 9px referral labels, generously
LABEL_ROW_PX = 11


def _label_rows(labels: list[tuple[float, str]], gap: float = 4) -> list[int]:
    """A row for each (centre x, text) label, the first from the top where it clears every label
    already placed there: labels never collide, however close the referrals."""
    ends: list[float] = []  # per row, the right edge of its last label
    rows = []
    for cx, text in labels:
        half = len(text) * LABEL_CHAR_PX / 2
        row = next((i for i, end in enumerate(ends) if cx - half >= end + gap), len(ends))
        if row == len(ends):
            ends.append(float("-inf"))
        ends[row] = cx + half
        rows.append(row)
    return rows


def _ticks(first: date, last: date, plot_w: float) -> list[tuple[date, str]]:
    """Gridline dates and labels: months, quarters, half-years or years, as many as fit (60px each)."""
    span_months = (last.year - first.year) * 12 + last.month - first.month + 1
    for step in (1, 3, 6, 12, 24, 60):
        if span_months / step * 60 <= plot_w:
            break
    out = []
    y, m = first.year, first.month
    while date(y, m, 1) <= last:
        d = date(y, m, 1)
        if d >= first and (m - 1) % min(step, 12) == 0 and (step < 12 or y % (step // 12) == 0):
            out.append((d, f"{d:%Y}" if step >= 12 else f"{d:%b %Y}"))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def render_svg(t: ChildTimeline, today: date) -> Markup:
    dated = [e.event_date for e in t.events] + [p.start for p in t.plans] + [p.end for p in t.plans if p.end]
    first, last = min(dated), max(dated)
    span = max(1, (last - first).days)
    agencies = sorted({a for e in t.events if not e.via_household for a in e.agencies},
                      key=lambda a: agency_name(a, short=True))
    plan_types = [p for p in vocabulary.plan_types() if any(b.plan_type == p for b in t.plans)] + sorted(
        {b.plan_type for b in t.plans} - set(vocabulary.plan_types()))
    width, left, lane_h, top = 1100, 150, 34, 30
    plot_w = width - left - 30
    x = lambda d: left + plot_w * (d - first).days / span  # noqa: E731
    referrals = t.referrals
    texts = [f"{n}: {outcome_label(r.outcome) if r.outcome else 'no outcome recorded'}"
             for n, r in enumerate(referrals, start=1)]
    rows = _label_rows([(x(r.event_date), text) for r, text in zip(referrals, texts)])
    referral_h = max(lane_h, 24 + LABEL_ROW_PX * (max(rows, default=0) + 1))
    lanes = [(f"plan:{p}", f"{plan_name(p).capitalize()} plan", lane_h) for p in plan_types]
    lanes += [("referrals", "Referrals", referral_h)]
    lanes += [(a, agency_name(a, short=True), lane_h) for a in agencies] + [("household", "Household", lane_h)]
    tops, y = {}, top
    for key, _, h in lanes:
        tops[key] = y
        y += h
    bottom = y
    height = bottom + 30

    plans = []
    for p in t.plans:
        y, end = tops[f"plan:{p.plan_type}"], p.end or last
        plans.append({"plan_type": p.plan_type, "x": x(p.start), "y": y + 4, "width": max(2.0, x(end) - x(p.start)),
                      "fill": PLAN_COLOURS.get(p.plan_type, "#ddd"),
                      "title": f"{plan_name(p.plan_type)} plan {p.start:%d %b %Y} to "
                               f"{f'{p.end:%d %b %Y}' if p.end else f'still open on {today:%d %b %Y}'}",
                      "arrow": None if p.end else {"x": x(end), "y": y + 4, "half": (lane_h - 8) / 2}})
    diamonds = []
    for n, (r, text, row) in enumerate(zip(referrals, texts, rows), start=1):
        outcome = r.outcome or "no outcome recorded"
        diamonds.append({"date": r.event_date, "outcome": outcome, "x": x(r.event_date),
                         "y": tops["referrals"] + referral_h - 14, "fill": OUTCOME_COLOURS.get(r.outcome or "", "#999"),
                         "title": f"referral {n} on {r.event_date:%d %b %Y} from "
                                  f"{', '.join(agency_name(a, short=True) for a in r.agencies)}: "
                                  f"{outcome_label(r.outcome) or outcome}",
                         "label": text, "label_y": tops["referrals"] + 11 + LABEL_ROW_PX * row})
    dots = []
    for e in t.events:
        who = f" ({', '.join(e.household_roles)})" if e.via_household and e.household_roles else ""
        title = (f"{e.event_date:%d %b %Y} {event_label(e.event_type)}"
                 f"{': ' + outcome_label(e.outcome) if e.outcome else ''}{who}"
                 f" [{', '.join(agency_name(a, short=True) for a in e.agencies)}]")
        for agency in ["household"] if e.via_household else e.agencies:
            dots.append({"event_type": e.event_type, "x": x(e.event_date), "y": tops[agency] + lane_h / 2,
                         "fill": "#8c6d46" if e.via_household else colour(agencies.index(agency)), "title": title})
    born = t.date_of_birth if t.date_of_birth and first <= t.date_of_birth <= last else None
    return pages.fragment(
        "timeline.svg", width=width, height=height, left=left, top=top, bottom=bottom, plot_w=plot_w,
        lanes=[{"label": label, "y": tops[key], "h": h, "label_y": tops[key] + h / 2 + 4,
                "fill": "#f7f7f7" if i % 2 else "#fff"} for i, (key, label, h) in enumerate(lanes)],
        ticks=[{"x": x(d), "label": label, "dash": "none" if d.month == 1 else "2,3"}
               for d, label in _ticks(first, last, plot_w)],
        first=first, last=last, born=born and {"x": x(born), "label": f"born {born:%d %b %Y}"},
        plans=plans, lane_h=lane_h, referrals=diamonds, events=dots)


def render_html(t: ChildTimeline, today: date) -> str:
    own = [e for e in t.events if not e.via_household]
    household = [e for e in t.events if e.via_household]
    return pages.render(
        "timeline.html", child=t, today=today, picture=render_svg(t, today), own_events=len(own),
        household_events=len(household), agencies=len({a for e in own for a in e.agencies}),
        born=f"{t.date_of_birth:%d %B %Y}" if t.date_of_birth else None,
        referrals=[{"date": f"{r.event_date:%d %b %Y}", "agencies": ", ".join(agency_name(a) for a in r.agencies),
                    "outcome": outcome_label(r.outcome) or "not recorded"} for r in t.referrals])


def write_timelines(settings: Settings, child_keys: list[str]) -> list[Path]:
    """One HTML timeline per child in `<stem>.restricted/timelines/<child_key>.html`."""
    folder = settings.restricted_dir / TIMELINES_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with warehouse.store(settings, read_only=True) as con:
        for key in child_keys:
            path = folder / f"{key}.html"
            path.write_text(render_html(read_timeline(con, key), settings.run_date), encoding="utf-8")
            written.append(path)
    return written


def review_subject_keys(settings: Settings, review_id: str | None = None) -> list[str]:
    """The child_keys of the children the declared reviews are about (all reviews, or one)."""
    with warehouse.store(settings, read_only=True) as con:
        if not _has_table(con, "intermediate", "int_review_subjects"):
            return []
        return [r[0] for r in con.execute(
            """select distinct p.person_key from intermediate.int_review_subjects s
               join intermediate.int_persons__profile p using (person_id)
               where p.is_child and (? is null or s.review_id = ?)
               and p.person_key in (select child_key from marts.fct_child_events)
               order by 1""", [review_id, review_id]).fetchall()]
