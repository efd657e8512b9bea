"""The static HTML board report: `<stem>.reports/board/board_report.html`, one self-contained file
(inline SVG and a few lines of inline script, no server, no CDN) drawn from the published board
tables, with every figure's definition beside it.

The page checks itself when it opens: each `figure.chart` whose SVG has a size and at least one
drawn mark gets `data-rendered="true"`, any script error is written into `#script-errors`, and
`body[data-report-ready]` says the checks ran (tests/board/test_report_browser.py reads this
from headless Chromium's --dump-dom).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path

from casehistory.board import svg
from casehistory.board.export import BoardTable
from casehistory.settings import Settings

OUTCOMES = ["nfa", "early_help", "assessment", "strategy_discussion", "s47"]
DIRECTIONS = ["start", "step_up", "step_down", "end"]
# by the status's plain-English label (audit.review_readiness.status_label), which the grid shows
READINESS_COLOURS = {"received": "#3a9d5d", "partial": "#d9a21b", "late": "#e07b39",
                     "sent but unreadable": "#8c2d19", "missing": "#b8474f", "involved not asked": "#7b5ea7"}


@dataclass
class Figure:
    key: str
    title: str
    definition: str
    table: str
    body: str  # the chart's SVG, or a paragraph saying why there is none


def _months(rows: list[dict]) -> list[str]:
    return sorted({str(r["month"])[:7] for r in rows})


def _definition(table: BoardTable, *columns: str) -> str:
    parts = [table.description] + [f"<b>{escape(c)}</b>: {escape(table.column_descriptions.get(c, ''))}"
                                   for c in columns if table.column_descriptions.get(c)]
    return " ".join(parts)


def _dicts(table: BoardTable) -> list[dict]:
    return [dict(zip(table.columns, row)) for row in table.rows]


def referrals_figures(t: BoardTable) -> list[Figure]:
    rows = _dicts(t)
    months = _months(rows)
    by_month = {str(r["month"])[:7]: r for r in rows}
    labels = max(1, len(months) // 24)
    return [
        Figure("referrals", "Referrals and re-referrals per month", _definition(t, "referrals", "re_referrals"),
               t.name, svg.bar_chart(months, {
                   "referrals": [by_month[m]["referrals"] for m in months],
                   "re-referrals": [by_month[m]["re_referrals"] for m in months]}, label_every=labels)),
        Figure("re_referral_rate", "Re-referral rate per month", _definition(t, "re_referral_rate_pct"),
               t.name, svg.bar_chart(months, {"re-referral rate": [by_month[m]["re_referral_rate_pct"] for m in months]},
                                     unit="%", label_every=labels)),
        Figure("passed_back", "Referrals passed back to early help or no further action",
               _definition(t, "passed_back", "passed_back_again"), t.name,
               svg.bar_chart(months, {"passed back": [by_month[m]["passed_back"] for m in months],
                                      "passed back again": [by_month[m]["passed_back_again"] for m in months]},
                             label_every=labels)),
    ]


def outcomes_by_source_figure(t: BoardTable) -> Figure:
    rows = _dicts(t)
    agencies = sorted({r["source_agency"] or "(unknown)" for r in rows})
    outcomes = OUTCOMES + sorted({r["outcome"] or "(none)" for r in rows} - set(OUTCOMES))
    cells = {(r["source_agency"] or "(unknown)", r["outcome"] or "(none)"): r for r in rows}
    series = {o: [cells[(a, o)]["referrals"] if (a, o) in cells else 0 for a in agencies] for o in outcomes}
    series = {o: v for o, v in series.items() if any(x != 0 for x in v)}
    return Figure("outcomes_by_source", "Referral outcomes by source agency", _definition(t, "referrals"), t.name,
                  svg.bar_chart(agencies, series, horizontal=True))


def plan_flows_figure(t: BoardTable) -> Figure:
    rows = _dicts(t)
    months = _months(rows)
    totals: dict[tuple[str, str], float | None] = {}
    for r in rows:  # one bar per direction: a suppressed cell makes the month's bar suppressed, never a guess
        key = (str(r["month"])[:7], r["direction"])
        current = totals.get(key, 0)
        totals[key] = None if current is None or r["transitions"] is None else current + r["transitions"]
    return Figure("plan_flows", "Plan flows: starts, step-ups, step-downs and ends per month",
                  _definition(t, "direction", "transitions"), t.name,
                  svg.bar_chart(months, {d: [totals.get((m, d), 0) for m in months] for d in DIRECTIONS},
                                label_every=max(1, len(months) // 24)))


def warning_signs_figure(t: BoardTable) -> Figure:
    rows = _dicts(t)
    months = _months(rows)
    signs = sorted({r["sign"] for r in rows})
    cells = {(str(r["month"])[:7], r["sign"]): r["children"] for r in rows}
    return Figure("warning_signs", "Warning signs per month", _definition(t, "sign", "children"), t.name,
                  svg.bar_chart(months, {s: [cells.get((m, s), 0) for m in months] for s in signs}, stacked=True,
                                label_every=max(1, len(months) // 24)))


def readiness_figure(t: BoardTable) -> Figure:
    rows = _dicts(t)
    reviews = sorted({f"{r['review_id']} (due {r['deadline']})" for r in rows})
    agencies = sorted({r["agency"] for r in rows})
    cells = {(f"{r['review_id']} (due {r['deadline']})", r["agency"]): r["status_label"] for r in rows}
    return Figure("review_readiness", "Chronology completeness for the reviews being prepared",
                  _definition(t, "asked", "status", "status_label"), t.name,
                  svg.status_grid(reviews, agencies, cells, READINESS_COLOURS))


FIGURES = {
    "board_referrals_monthly": referrals_figures,
    "board_referral_outcomes_by_source": outcomes_by_source_figure,
    "board_plan_flows": plan_flows_figure,
    "board_warning_signs": warning_signs_figure,
    "board_review_readiness": readiness_figure,
}


def build_figures(tables: list[BoardTable]) -> list[Figure]:
    by_name = {t.name: t for t in tables}
    figures: list[Figure] = []
    for name, draw in FIGURES.items():
        if name not in by_name:
            figures.append(Figure(name, name, "", name,
                                  f'<p class="missing">Table board.{escape(name)} is not in this warehouse.</p>'))
            continue
        table = by_name[name]
        if not table.rows:
            figures.append(Figure(name, table.description.split(".")[0], table.description, name,
                                  '<p class="empty">No rows this run.</p>'))
            continue
        drawn = draw(table)
        figures.extend(drawn if isinstance(drawn, list) else [drawn])
    return figures


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Safeguarding board report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 820px; color: #222; }}
figure {{ margin: 2em 0; border-top: 1px solid #ccc; padding-top: 1em; }}
figcaption {{ font-size: 0.9em; color: #444; margin-top: 0.5em; }}
.legend {{ font-size: 0.8em; }} .key {{ margin-right: 1em; }}
.key i {{ display: inline-block; width: 10px; height: 10px; margin-right: 4px; }}
.key i.hatched {{ background: repeating-linear-gradient(45deg, #999 0 2px, #fff 2px 5px); }}
rect.mark:hover {{ opacity: 0.7; }}
#script-errors:empty {{ display: none; }} #script-errors {{ color: #b00; }}
</style></head>
<body>
<pre id="script-errors"></pre>
<script>
window.addEventListener("error", function (e) {{
  document.getElementById("script-errors").textContent += (e.message || "error") + "\\n";
}});
</script>
<h1>Safeguarding board report</h1>
<p>Generated {generated} from the analyst warehouse. Counts from 1 to {threshold_below} are suppressed
(hatched), and so is a second count wherever a published total would give one away. Each figure
says what it counts; the same tables, with definitions, are in <code>board.xlsx</code>, <code>csv/</code>
and <code>parquet/</code> beside this file.</p>
{figures}
<script>
(function () {{
  var figures = document.querySelectorAll("figure.chart");
  var rendered = 0;
  figures.forEach(function (figure) {{
    var chart = figure.querySelector("svg.chart-svg");
    var box = chart ? chart.getBoundingClientRect() : null;
    var marks = chart ? chart.querySelectorAll(".mark").length : 0;
    var ok = !!(box && box.width > 0 && box.height > 0 && marks > 0);
    figure.setAttribute("data-rendered", ok ? "true" : "false");
    figure.setAttribute("data-marks", String(marks));
    if (ok) rendered += 1;
  }});
  document.body.setAttribute("data-charts", String(figures.length));
  document.body.setAttribute("data-charts-rendered", String(rendered));
  document.body.setAttribute("data-report-ready", "true");
}})();
</script>
</body></html>
"""

FIGURE = """<figure class="chart" id="{key}" data-table="board.{table}">
<h2>{title}</h2>
{body}
<figcaption><b>Definition.</b> {definition} <i>Source: board.{table}.</i></figcaption>
</figure>"""


def render(figures: list[Figure], min_count: int) -> str:
    return PAGE.format(
        generated=datetime.now().strftime("%Y-%m-%d %H:%M"), threshold_below=min_count - 1,
        figures="\n".join(FIGURE.format(key=escape(f.key), title=escape(f.title), body=f.body,
                                        definition=f.definition, table=escape(f.table)) for f in figures))


def write_report(settings: Settings, tables: list[BoardTable], min_count: int) -> Path:
    path = settings.reports_dir / "board" / "board_report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(build_figures(tables), min_count), encoding="utf-8")
    return path
