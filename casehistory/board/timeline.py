"""A child's life as one picture, for a review panel: "what is life like for this baby?".

One self-contained HTML file per child (inline SVG) in `<stem>.restricted/timelines/`: restricted,
because a panel needs the child's name beside the picture. Read from the restricted store:

    plans       bands for each plan period (marts.fct_plan_episodes)
    referrals   every referral marked with its outcome (the front door's decision)
    one lane per agency   the child's own events, drawn in the lane of each agency that recorded them
    household   events of parents and siblings that reached the child (via_household)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from pathlib import Path

import duckdb

from casehistory import warehouse
from casehistory.board.svg import colour
from casehistory.settings import Settings

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


def render_svg(t: ChildTimeline, today: date) -> str:
    first = min([e.event_date for e in t.events] + [p.start for p in t.plans])
    last = max([e.event_date for e in t.events] + [p.end or today for p in t.plans])
    first, last = first - timedelta(days=15), last + timedelta(days=15)
    span = max(1, (last - first).days)
    agencies = sorted({a for e in t.events if not e.via_household for a in e.agencies})
    lanes = ["plans", "referrals"] + agencies + ["household"]
    width, left, lane_h, top = 1100, 110, 34, 30
    plot_w = width - left - 20
    height = top + lane_h * len(lanes) + 30

    def x(d: date) -> float:
        return left + plot_w * (d - first).days / span

    def lane_y(lane: str) -> float:
        return top + lane_h * lanes.index(lane)

    parts = [f'<svg class="timeline" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif">']
    for i, lane in enumerate(lanes):
        y = lane_y(lane)
        parts.append(f'<rect x="{left}" y="{y}" width="{plot_w}" height="{lane_h}" fill="{"#f7f7f7" if i % 2 else "#fff"}"/>'
                     f'<text class="lane-label" x="{left - 6}" y="{y + lane_h / 2 + 4}" text-anchor="end" '
                     f'font-size="12">{escape(lane)}</text>')
    for year in range(first.year, last.year + 2):  # year gridlines
        for month in (1, 7):
            d = date(year, month, 1)
            if first <= d <= last:
                parts.append(f'<line x1="{x(d):.1f}" x2="{x(d):.1f}" y1="{top}" y2="{height - 30}" stroke="#ccc" '
                             f'stroke-dasharray="{"none" if month == 1 else "2,3"}"/>'
                             f'<text x="{x(d):.1f}" y="{height - 14}" font-size="10" text-anchor="middle">'
                             f'{d:%b %Y}</text>')
    if t.date_of_birth and first <= t.date_of_birth <= last:
        parts.append(f'<line x1="{x(t.date_of_birth):.1f}" x2="{x(t.date_of_birth):.1f}" y1="{top - 8}" '
                     f'y2="{height - 30}" stroke="#333"/><text x="{x(t.date_of_birth) + 3:.1f}" y="{top - 10}" '
                     f'font-size="10">born {t.date_of_birth:%d %b %Y}</text>')
    for p in t.plans:
        y, end = lane_y("plans"), p.end or today
        parts.append(f'<rect class="plan-band" data-plan="{escape(p.plan_type)}" x="{x(p.start):.1f}" y="{y + 4}" '
                     f'width="{max(2.0, x(end) - x(p.start)):.1f}" height="{lane_h - 8}" '
                     f'fill="{PLAN_COLOURS.get(p.plan_type, "#ddd")}" opacity="0.8">'
                     f'<title>{escape(p.plan_type)} plan {p.start} to {p.end or "open"}</title></rect>'
                     f'<text x="{x(p.start) + 3:.1f}" y="{y + lane_h / 2 + 4}" font-size="10">{escape(p.plan_type)}</text>')
    for n, r in enumerate(t.referrals, start=1):
        cx, cy = x(r.event_date), lane_y("referrals") + lane_h / 2
        outcome = r.outcome or "no outcome recorded"
        parts.append(f'<g class="referral" data-date="{r.event_date}" data-outcome="{escape(outcome)}">'
                     f'<path d="M{cx:.1f},{cy - 8:.1f} l8,8 l-8,8 l-8,-8 z" fill="{OUTCOME_COLOURS.get(r.outcome or "", "#999")}">'
                     f'<title>referral {n} on {r.event_date} from {escape(", ".join(r.agencies))}: {escape(outcome)}'
                     f'</title></path><text x="{cx:.1f}" y="{cy - 10:.1f}" font-size="9" text-anchor="middle">'
                     f'{n}: {escape(outcome.replace("_", " "))}</text></g>')
    for e in t.events:
        targets = ["household"] if e.via_household else e.agencies
        for agency in targets:
            cx, cy = x(e.event_date), lane_y(agency) + lane_h / 2
            fill = "#8c6d46" if e.via_household else colour(agencies.index(agency))
            who = f" ({', '.join(e.household_roles)})" if e.via_household and e.household_roles else ""
            parts.append(f'<circle class="event" data-type="{escape(e.event_type)}" cx="{cx:.1f}" cy="{cy:.1f}" r="4" '
                         f'fill="{fill}" opacity="0.85"><title>{e.event_date} {escape(e.event_type)}'
                         f'{": " + escape(e.outcome) if e.outcome else ""}{escape(who)}'
                         f' [{escape(", ".join(e.agencies))}]</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(t: ChildTimeline, today: date) -> str:
    outcomes = "".join(f'<li>{r.event_date}: referral from {escape(", ".join(r.agencies))}, outcome '
                       f'<b>{escape(r.outcome or "not recorded")}</b></li>' for r in t.referrals)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Timeline: {escape(t.name)}</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 1.5em; }} .restricted {{ color: #b00; }}</style></head>
<body>
<p class="restricted">RESTRICTED: for the review panel and data team only.</p>
<h1>{escape(t.name)}{f" (born {t.date_of_birth:%d %B %Y})" if t.date_of_birth else ""}</h1>
<p>Child key <code>{escape(t.child_key)}</code>. {len(t.events)} events across {len({a for e in t.events for a in e.agencies})}
agencies; {len(t.referrals)} referrals; {len(t.plans)} plan periods. Bands: plan periods (early help,
child in need, child protection, looked after). Diamonds: referrals, labelled with their outcome.
Dots: events in the lane of each agency that recorded them; the household lane holds parents' and
siblings' events that reached the child. Hover for details.</p>
{render_svg(t, today)}
<h2>Referrals and their outcomes</h2><ol>{outcomes}</ol>
</body></html>
"""


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
