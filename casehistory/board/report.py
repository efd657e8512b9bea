"""The static HTML board report: `<stem>.reports/board/board_report.html`, one self-contained file
(inline SVG and a few lines of inline script, no server, no CDN) drawn from the published board
tables, for a board member to read and print.

It opens on a headline in plain words (board.board_headline and board.board_review_readiness),
then one section per figure: agencies, outcomes, plan changes and warning signs by name
(casehistory/vocabulary.py, the chronology's labels), monthly charts on one continuous axis over
the reporting period (a month without rows is drawn as zero, not skipped), a plain-English
definition with the dbt definition folded under "Technical detail", and, where a section has
nothing to draw, a sentence saying why. Print CSS lays it out on A4.

The markup is templates/board_report.html (on templates/base.html), its charts templates/*.svg,
rendered by casehistory/board/pages.py with autoescaping: this module computes the figures, the
templates lay them out, and every text (a dbt description, an agency's name, a review id) is
escaped as plain text. A dbt description is written for dbt's docs site and may hold markdown or
HTML; here it is shown as the words it is, never as markup.

The page checks itself when it opens: each `figure.chart` whose chart has a size and at least one
drawn `.mark` gets `data-rendered="true"`, one that says why it is empty gets `data-empty="true"`,
any script error is written into `#script-errors`, and `body[data-report-ready]` says the checks
ran (tests/board/test_report_browser.py reads this from headless Chromium's --dump-dom).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from markupsafe import Markup

from casehistory.board import pages, svg
from casehistory.board.export import BoardTable
from casehistory.settings import Settings
from casehistory.vocabulary import agency_name, outcome_label, sign_label

OUTCOMES = ["nfa", "early_help", "assessment", "strategy_discussion", "s47"]
DIRECTIONS = {"start": "plans started", "step_up": "stepped up", "step_down": "stepped down", "end": "plans ended"}
# by the status's plain-English label (audit.review_readiness.status_label), which the grid shows
READINESS_COLOURS = {"received": "#3a9d5d", "partial": "#d9a21b", "late": "#e07b39",
                     "sent but unreadable": "#8c2d19", "missing": "#b8474f", "involved not asked": "#7b5ea7"}
WITHHELD = "withheld (a small number)"

# What each figure counts, for a board member; the dbt definitions sit under "Technical detail".
PLAIN = {
    "referrals": "How many referrals children's social care received each month, and how many of them "
                 "were about a child already referred in the 12 months before.",
    "re_referral_rate": "Of each month's referrals, the share that were about a child referred in the 12 "
                        "months before. Nationally about 22% of referrals are re-referrals.",
    "passed_back": "Referrals passed back to early help or closed with no further action, and how many of "
                   "those were about a child whose earlier referral had been passed back too: each "
                   "referral judged alone, as in the seed reviews.",
    "outcomes_by_source": "Who made the referrals in the period, and what social care decided.",
    "plan_flows": "Children's plans (early help, child in need, child protection, looked after) starting, "
                  "moving up or down a level, and ending, each month.",
    "warning_signs": "Children for whom one of the warning signs drawn from the case reviews became "
                     "visible, each month. A child can show several signs.",
    "review_readiness": "For each review being prepared, whether each agency asked has sent its chronology, "
                        "and which agencies the records show were involved but were never asked.",
}
# Why a section has nothing to draw, when its table has no rows this run.
EMPTY = {
    "board_referrals_monthly": "No referral was recorded in any month, so there is nothing to count.",
    "board_referral_outcomes_by_source": "No referral was recorded, so there are no referrers or outcomes to show.",
    "board_plan_flows": "No plan started, changed level or ended in the period.",
    "board_warning_signs": "No warning sign became visible for any child in the period.",
    "board_review_readiness": "No review is declared in the reviews file, so there are no chronologies to track.",
}


@dataclass
class Technical:
    """The dbt definitions of a figure's table and of the columns it draws, folded away: plain text."""
    description: str
    columns: list[tuple[str, str]] = field(default_factory=list)  # (column, its description)

    def __bool__(self) -> bool:
        return bool(self.description or self.columns)


@dataclass
class Figure:
    key: str
    title: str
    definition: str  # plain English
    table: str
    body: Markup  # the chart, or a paragraph saying why there is none (rendered by pages.fragment)
    technical: Technical | None = None  # the dbt definitions, folded away

    @property
    def empty(self) -> bool:
        return 'class="empty"' in self.body


@dataclass
class Period:
    start: date
    end: date

    @property
    def months(self) -> list[str]:
        """Every month of the period, "YYYY-MM", none skipped: the continuous axis of every monthly chart."""
        out, y, m = [], self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    def words(self) -> str:
        return f"{self.start:%B %Y} to {self.end:%B %Y}"


def empty(reason: str) -> Markup:
    return pages.fragment("empty.html", reason=reason)


def _technical(table: BoardTable, *columns: str) -> Technical:
    return Technical(table.description, [(c, table.column_descriptions[c]) for c in columns
                                         if table.column_descriptions.get(c)])


def _dicts(table: BoardTable) -> list[dict]:
    return [dict(zip(table.columns, row)) for row in table.rows]


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def reporting_period(tables: dict[str, BoardTable]) -> Period | None:
    """The headline's period, else the span of the monthly referral table's months."""
    headline = tables.get("board_headline")
    if headline and headline.rows:
        row = _dicts(headline)[0]
        if row["period_start"] and row["period_end"]:
            return Period(_as_date(row["period_start"]), _as_date(row["period_end"]))
    monthly = tables.get("board_referrals_monthly")
    if monthly and monthly.rows:
        months = sorted(_as_date(r["month"]) for r in _dicts(monthly))
        return Period(months[0], months[-1])
    return None


def _monthly(rows: list[dict], period: Period, column: str, key: str | None = None) -> dict:
    """{series: [value per month of the period]}: a month with no row counts 0 (nothing happened),
    a suppressed cell stays None (withheld, drawn hatched)."""
    out: dict = {}
    for r in rows:
        month = str(r["month"])[:7]
        name = r[key] if key else column
        if month not in period.months:
            continue  # outside the headline's period (cannot happen for tables built from one ledger)
        values = out.setdefault(name, {})
        current = values.get(month, 0)
        values[month] = None if current is None or r[column] is None else current + r[column]
    return {name: [v.get(m, 0) for m in period.months] for name, v in out.items()}


def _monthly_chart(period: Period, series: dict, **kw) -> Markup:
    if all(v is None or v == 0 for vs in series.values() for v in vs):
        if any(v is None for vs in series.values() for v in vs):
            return empty(f"Every month's figure is between 1 and the smallest number a board report may show, "
                         f"so all are withheld.")
        return empty("Nothing to count in any month of the period.")
    return svg.bar_chart(period.months, series, ticks=svg.month_ticks(period.months), **kw)


def referrals_figures(t: BoardTable, period: Period) -> list[Figure]:
    rows = _dicts(t)
    return [
        Figure("referrals", "Referrals and re-referrals each month", PLAIN["referrals"], t.name,
               _monthly_chart(period, {"referrals": _monthly(rows, period, "referrals").get("referrals", []),
                                       "re-referrals": _monthly(rows, period, "re_referrals").get("re_referrals", [])}),
               _technical(t, "referrals", "re_referrals")),
        Figure("re_referral_rate", "Re-referral rate each month", PLAIN["re_referral_rate"], t.name,
               _monthly_chart(period, {"re-referral rate": _monthly(rows, period, "re_referral_rate_pct")
                                       .get("re_referral_rate_pct", [])}, unit="%"),
               _technical(t, "re_referral_rate_pct")),
        Figure("passed_back", "Referrals passed back to early help or closed with no further action",
               PLAIN["passed_back"], t.name,
               _monthly_chart(period, {"passed back": _monthly(rows, period, "passed_back").get("passed_back", []),
                                       "passed back again": _monthly(rows, period, "passed_back_again")
                                       .get("passed_back_again", [])}),
               _technical(t, "passed_back", "passed_back_again")),
    ]


def outcomes_by_source_figure(t: BoardTable, period: Period) -> Figure:
    rows = _dicts(t)
    codes = sorted({r["source_agency"] for r in rows}, key=lambda c: (c is None, agency_name(c or "", short=True)))
    agencies = [agency_name(c, short=True) if c else "(referrer not recorded)" for c in codes]
    outcomes = OUTCOMES + sorted({r["outcome"] for r in rows if r["outcome"]} - set(OUTCOMES)) + [None]
    cells = {(r["source_agency"], r["outcome"]): r for r in rows}
    series = {(outcome_label(o) if o else "no outcome recorded"):
              [cells[(a, o)]["referrals"] if (a, o) in cells else 0 for a in codes] for o in outcomes}
    series = {o: v for o, v in series.items() if any(x != 0 for x in v)}
    return Figure("outcomes_by_source", "Referral outcomes by who referred", PLAIN["outcomes_by_source"], t.name,
                  svg.bar_chart(agencies, series, horizontal=True), _technical(t, "source_agency", "outcome", "referrals"))


def plan_flows_figure(t: BoardTable, period: Period) -> Figure:
    rows = _dicts(t)  # one bar per direction: a suppressed cell makes the month's bar suppressed, never a guess
    by_direction = _monthly(rows, period, "transitions", key="direction")
    series = {DIRECTIONS.get(d, d.replace("_", " ")): by_direction[d]
              for d in list(DIRECTIONS) + sorted(set(by_direction) - set(DIRECTIONS)) if d in by_direction}
    return Figure("plan_flows", "Plans starting, stepping up, stepping down and ending each month", PLAIN["plan_flows"],
                  t.name, _monthly_chart(period, series), _technical(t, "direction", "from_level", "to_level", "transitions"))


def warning_signs_figure(t: BoardTable, period: Period) -> Figure:
    rows = _dicts(t)
    by_sign = _monthly(rows, period, "children", key="sign")
    series = {sign_label(s): by_sign[s] for s in sorted(by_sign)}
    return Figure("warning_signs", "Children with a warning sign each month", PLAIN["warning_signs"], t.name,
                  _monthly_chart(period, series, stacked=True), _technical(t, "sign", "children"))


def _review_label(review_id: str, deadline) -> str:
    return f"{review_id} (due {_as_date(deadline):%d %b %Y})" if deadline else review_id


def readiness_figure(t: BoardTable, period: Period | None = None) -> Figure:
    """A table, agencies down and reviews across: it wraps and never overlaps however many there are."""
    rows = _dicts(t)
    reviews = sorted({(r["review_id"], str(r["deadline"] or "")) for r in rows}, key=lambda k: (k[1], k[0]))
    codes = sorted({r["agency"] for r in rows}, key=lambda c: agency_name(c, short=True))
    cells = {(r["review_id"], r["agency"]): r["status_label"] for r in rows}
    labels = [_review_label(rid, d) for rid, d in reviews]
    grid = [{"agency": agency_name(code),
             "cells": [{"review": label, "status": cells.get((rid, code)),
                        "colour": READINESS_COLOURS.get(cells.get((rid, code)), "#ccc")}
                       for (rid, _), label in zip(reviews, labels)]} for code in codes]
    table = pages.fragment("status_grid.html", reviews=labels, rows=grid)
    return Figure("review_readiness", "Chronologies for the reviews being prepared", PLAIN["review_readiness"],
                  t.name, table + svg.legend(list(READINESS_COLOURS), colours=list(READINESS_COLOURS.values()),
                                             suppressed=False),
                  _technical(t, "asked", "status", "status_label"))


FIGURES = {
    "board_referrals_monthly": referrals_figures,
    "board_referral_outcomes_by_source": outcomes_by_source_figure,
    "board_plan_flows": plan_flows_figure,
    "board_warning_signs": warning_signs_figure,
    "board_review_readiness": readiness_figure,
}
TITLES = {"board_referrals_monthly": "Referrals each month", "board_referral_outcomes_by_source": "Referral outcomes by who referred",
          "board_plan_flows": "Plans starting, stepping up, stepping down and ending each month",
          "board_warning_signs": "Children with a warning sign each month",
          "board_review_readiness": "Chronologies for the reviews being prepared"}


def build_figures(tables: list[BoardTable]) -> list[Figure]:
    by_name = {t.name: t for t in tables}
    period = reporting_period(by_name)
    figures: list[Figure] = []
    for name, draw in FIGURES.items():
        title = TITLES[name]
        if name not in by_name:
            figures.append(Figure(name, title, "", name, empty(
                f"Not shown: this warehouse has no board.{name} table (it was built before this report "
                f"knew the table; the next pipeline run builds it).")))
            continue
        table = by_name[name]
        if not table.rows or (period is None and name != "board_review_readiness"):
            figures.append(Figure(name, title, "", name, empty(EMPTY[name]), Technical(table.description)))
            continue
        drawn = draw(table, period)
        figures.extend(drawn if isinstance(drawn, list) else [drawn])
    return figures


# ---- the headline ------------------------------------------------------------------------------

def _figure(value, fmt: str = "{:,}") -> str:
    return WITHHELD if value is None else fmt.format(value)


def readiness_summary(t: BoardTable | None) -> list[str]:
    """One sentence per review: agencies asked that have sent their chronology, and the gaps by name."""
    if t is None or not t.rows:
        return ["No review is being prepared."]
    rows = _dicts(t)
    out = []
    for rid, deadline in sorted({(r["review_id"], r["deadline"]) for r in rows}, key=lambda k: (str(k[1]), k[0])):
        mine = [r for r in rows if r["review_id"] == rid]
        asked = [r for r in mine if r["asked"]]
        received = [r for r in asked if r["status"] in ("received", "late")]
        gaps = {}
        for r in mine:
            if r["status"] != "received":
                gaps.setdefault(r["status_label"], []).append(agency_name(r["agency"], short=True))
        due = f", chronologies due {_as_date(deadline):%d %B %Y}" if deadline else ""
        text = f"{rid}{due}: {len(received)} of {len(asked)} agencies asked have sent their chronology"
        if gaps:
            text += "; " + "; ".join(f"{label}: {', '.join(sorted(names))}" for label, names in sorted(gaps.items()))
        else:
            text += "; ready for the panel"
        out.append(text + ".")
    return out


def headline(tables: list[BoardTable]) -> dict:
    """The headline's figures in words (a withheld one says so), and a sentence per review; no
    "figures" when there is no period to report on yet."""
    by_name = {t.name: t for t in tables}
    period = reporting_period(by_name)
    h = by_name.get("board_headline")
    out: dict = {"figures": None, "reviews": readiness_summary(by_name.get("board_review_readiness"))}
    if period is not None and h is not None and h.rows:
        r = _dicts(h)[0]
        out["figures"] = {
            "period": period.words(), "months": len(period.months), "referrals": _figure(r["referrals"]),
            "re_referral_rate_pct": _figure(r["re_referral_rate_pct"], "{:.1f}%"),
            "re_referrals": _figure(r["re_referrals"]), "passed_back_again": _figure(r["passed_back_again"]),
            "children_with_warning_signs": _figure(r["children_with_warning_signs"])}
    return out


def render(figures: list[Figure], min_count: int, tables: list[BoardTable] | None = None) -> str:
    return pages.render("board_report.html", generated=datetime.now().strftime("%d %B %Y %H:%M"),
                        threshold_below=min_count - 1, headline=headline(tables or []), figures=figures)


def write_report(settings: Settings, tables: list[BoardTable], min_count: int) -> Path:
    path = settings.reports_dir / "board" / "board_report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(build_figures(tables), min_count, tables), encoding="utf-8")
    return path
