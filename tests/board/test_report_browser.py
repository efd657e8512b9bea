"""The board report opens from disk in headless Chromium, every chart renders, no script fails;
a screenshot is kept beside the report."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from casehistory.board.report import FIGURES
from casehistory.board.browser import pdf_pages, print_pdf
from tests.board.browser import dump_dom, keep, screenshot, text_overlaps

pytestmark = pytest.mark.slow


class _Charts(HTMLParser):
    """The attributes the page's own check wrote: on <body>, on each figure.chart, and #script-errors."""

    def __init__(self):
        super().__init__()
        self.body: dict = {}
        self.figures: list[dict] = []
        self.errors = ""
        self._in_errors = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body":
            self.body = attrs
        elif tag == "figure" and "chart" in (attrs.get("class") or "").split():
            self.figures.append(attrs)
        self._in_errors = tag == "pre" and attrs.get("id") == "script-errors"

    def handle_data(self, data):
        if self._in_errors:
            self.errors += data

    def handle_endtag(self, tag):
        if tag == "pre":
            self._in_errors = False


def test_every_chart_renders_without_a_script_error(generated_run):
    report = generated_run.settings.reports_dir / "board" / "board_report.html"
    page = _Charts()
    page.feed(dump_dom(report))
    assert page.body.get("data-report-ready") == "true", "the page's check did not run"
    assert page.errors.strip() == ""
    # a chart draws, or says in a sentence why it has nothing to draw
    not_rendered = [f["id"] for f in page.figures if f.get("data-rendered") != "true" and f.get("data-empty") != "true"]
    assert not_rendered == []
    drawn_tables = {f["data-table"].removeprefix("board.") for f in page.figures}
    assert drawn_tables == set(FIGURES)  # a figure for every board table the report knows
    assert (int(page.body["data-charts-rendered"]) + int(page.body["data-charts-explained"])
            == len(page.figures) >= len(FIGURES))
    shot = screenshot(report, report.with_suffix(".png"))
    assert shot.stat().st_size > 10_000


def test_a_script_error_on_the_page_is_caught(tmp_path):
    """The check above can fail: a page whose script throws shows the error in the DOM."""
    from casehistory.board.report import render

    html = render([], min_count=5).replace("</body>", "<script>undefinedFunction();</script></body>")
    path = tmp_path / "broken.html"
    path.write_text(html)
    page = _Charts()
    page.feed(dump_dom(path))
    assert "undefinedFunction" in page.errors


# ---- what a board member and a panel see: no text on text, a chart or a reason, a printed PDF ----

def _with_details_open(page, tmp_path):
    """A copy of the page as a reader sees it with every "Technical detail" opened."""
    copy = tmp_path / f"open-{page.name}"
    copy.write_text(page.read_text().replace("<details>", "<details open>"))
    return copy


def test_the_board_report_has_no_text_over_text_and_prints(generated_run, tmp_path):
    report = generated_run.settings.reports_dir / "board" / "board_report.html"
    for page in (report, _with_details_open(report, tmp_path)):
        for width in (1200, 800):  # a wide screen and about A4's width
            measured = text_overlaps(page, width=width)
            assert measured["overlaps"] == [], (page.name, width, measured["overlaps"][:5])
            assert measured["measured"] > 100  # headline, axes, legends, definitions: real text was compared
    dom = _Charts()
    dom.feed(dump_dom(report))
    silent = [f["id"] for f in dom.figures if f.get("data-rendered") != "true" and f.get("data-empty") != "true"]
    assert silent == [] and len(dom.figures) >= len(FIGURES)  # every chart has data or says why not
    pdf = keep(print_pdf(report, report.with_suffix(".pdf")))
    assert pdf_pages(pdf) >= 2
    screenshot(report, report.with_name("board_report_print_width.png"), width=800)


def test_a_timeline_has_no_text_over_text_and_prints(generated_run):
    timelines = sorted((generated_run.settings.restricted_dir / "timelines").glob("*.html"))
    assert timelines
    for page in timelines:
        measured = text_overlaps(page)
        assert measured["overlaps"] == [], (page.name, measured["overlaps"][:5])
        assert measured["measured"] > 15
    busiest = max(timelines, key=lambda p: p.read_text().count('class="referral"'))
    screenshot(busiest, busiest.with_suffix(".png"), width=1200, height=1200)
    assert pdf_pages(keep(print_pdf(busiest, busiest.with_suffix(".pdf")))) >= 1


def test_crowded_referral_labels_never_collide(tmp_path):
    """Six referrals in eight days, each with its outcome: every label stays clear of the others."""
    from datetime import date, timedelta

    from casehistory.board.timeline import ChildTimeline, Event, PlanBand, render_html

    day = date(2024, 3, 1)
    referrals = [Event(day + timedelta(days=i + i // 2), "referral", o, ["police"], False, [])
                 for i, o in enumerate(["early_help", "nfa", "s47", "assessment", "early_help", "strategy_discussion"])]
    events = referrals + [Event(date(2023, 1, 5), "home_visit", "no_access", ["hv"], False, []),
                          Event(date(2024, 6, 1), "police_incident", "domestic_abuse", ["police"], True, ["father"])]
    child = ChildTimeline("k", "Test Child", date(2022, 12, 1), events, [PlanBand("early_help", date(2023, 2, 1), None)])
    page = tmp_path / "crowded.html"
    page.write_text(render_html(child, today=date(2026, 1, 15)))
    measured = text_overlaps(page)
    assert measured["overlaps"] == [] and measured["measured"] > 15
    screenshot(page, page.with_suffix(".png"), width=1200, height=900)
