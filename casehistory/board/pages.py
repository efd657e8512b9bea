"""Every HTML page the project writes is a Jinja2 template in casehistory/board/templates/: the
board report, the timelines, the review chronology (and its agency-rows comparison) and the review
readiness report, their inline SVG charts included. Python computes what a page shows (numbers,
words, coordinates); the templates lay it out.

Autoescaping is on for .html and .svg templates, so every value a template prints is escaped:
agency names, review ids, a practitioner's note, a dbt description, all are text, never markup,
whatever characters they hold. Nothing is marked safe (`Markup`) except a fragment this
environment has itself rendered (a chart, inserted into its page). A variable a template names
that the caller did not pass is an error (StrictUndefined), not an empty string.

    base.html            the skeleton every page extends: doctype, title, inline style, body, and
                         the paper a page prints on (@page, from its page_size and page_margin blocks)
    board_report.html    the board report (report.py); its charts (svg.py): bar_chart.svg,
                         horizontal_bars.svg (with hatch.svg, marks.svg), legend.html,
                         status_grid.html, and empty.html where a section has nothing to draw
    timeline.html        a child's timeline (timeline.py), its picture timeline.svg
    chronology.html      a review's merged chronology (chronology.py), its rows chronology_entry.html
    agency_rows.html     the agencies' rows one after another (chronology.py, for measuring)
    readiness.html       a review's readiness report (casehistory/readiness.py)
    *.css                a page's stylesheet, its print layout (@media print) included
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup


def _number(value: float, spec: str = ".1f") -> str:
    """A number as Python's format() writes it ("{:.1f}", "{:g}"): coordinates and axis values."""
    return format(value, spec)


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("casehistory.board", "templates"),
                      autoescape=select_autoescape(["html", "svg"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _number
    return env


def render(template: str, **context) -> str:
    """A whole page (or a fragment), as text."""
    return environment().get_template(template).render(**context)


def fragment(template: str, **context) -> Markup:
    """A fragment for a page to insert as it is: markup this environment built, its text escaped."""
    return Markup(render(template, **context))
