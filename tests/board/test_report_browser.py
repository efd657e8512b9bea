"""The board report opens from disk in headless Chromium, every chart renders, no script fails;
a screenshot is kept beside the report."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from casehistory.board.report import FIGURES
from tests.board.browser import dump_dom, screenshot

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
    not_rendered = [f["id"] for f in page.figures if f.get("data-rendered") != "true"]
    assert not_rendered == []
    drawn_tables = {f["data-table"].removeprefix("board.") for f in page.figures}
    assert drawn_tables == set(FIGURES)  # a figure for every board table the report knows
    assert int(page.body["data-charts-rendered"]) == len(page.figures) >= len(FIGURES)
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
