"""Every page is a Jinja2 template with autoescaping (casehistory/board/pages.py), and the text that
comes into a page is shown as text: a dbt model's description in the board report, an agency's note
in the review chronology, a review id and the evidence in the readiness report, a child's name on a
timeline. Text that looks like markup is shown as written, escaped, never as live markup: the page
has the same elements and attributes whatever the text says. With autoescaping off the same check
fails. A template that names a variable nobody passed fails loudly, and an installed package has
its templates."""

from __future__ import annotations

import tomllib
from datetime import date
from fnmatch import fnmatch
from html.parser import HTMLParser

import duckdb
import pytest
from jinja2 import UndefinedError

from casehistory.board import board_min_count, pages
from casehistory.settings import PROJECT_ROOT

HOSTILE = "<script>alert(1)</script> & <b>bold</b> \"double\" 'single'"
PLAIN = "plain words"


class _Page(HTMLParser):
    """A page's elements (tag and attribute names, in order), and the text a reader gets: the text
    between tags and the attribute values (tooltips), decoded."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple] = []
        self.texts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, tuple(name for name, _ in attrs)))
        self.texts += [value for _, value in attrs if value]

    def handle_data(self, data):
        self.texts.append(data)


def _shown_as_text(render) -> None:
    """`render(text)` -> a page: markup-like text adds no element or attribute, and reads as written."""
    plain, page = render(PLAIN), render(HOSTILE)
    assert PLAIN in " ".join(_Page(plain).texts)  # the text does reach the page
    assert _Page(page).elements == _Page(plain).elements, "the text became markup"
    assert any(HOSTILE in text for text in _Page(page).texts), "the text is not shown as written"
    assert "<script>alert(1)" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page


# ---- each page, and the free text that comes into it -------------------------------------------

def _board_descriptions(text: str) -> str:
    """The board report with every dbt description (a model's, its columns') saying `text`."""
    from casehistory.board.export import BoardTable
    from casehistory.board.report import build_figures, render
    from tests.board.test_board_report import _tables

    tables = [BoardTable(t.name, f"{text}, the model.", t.columns, {c: f"{text}, the column." for c in t.columns},
                         rows=t.rows) for t in _tables()]  # board_plan_flows has no rows: its description alone
    return render(build_figures(tables), board_min_count(), tables)


def _board_review_id(text: str) -> str:
    """The board report's headline and readiness grid, for a review declared as `text`."""
    from casehistory.board.report import build_figures, render
    from tests.board.test_board_report import _tables

    tables = _tables()
    readiness = tables[-1]
    readiness.rows = [(text, *row[1:]) for row in readiness.rows]
    return render(build_figures(tables), board_min_count(), tables)


def _note(text: str):
    from casehistory.board.chronology import Account, Child, Entry, ReviewChronology

    event = Entry(kind="event", day=date(2024, 1, 2), children=["A B"], title="Home visit", number=1,
                  event_type="home_visit", agencies=["hv"], dates_disagree=True,
                  accounts=[Account("hv", "C1", date(2024, 1, 2), None, None, "Health Visitor", text, None),
                            Account("hv", "C2", date(2024, 1, 3), None, None, None, "Seen again.", None)])
    return ReviewChronology("REV-X", "audit", date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1), ["hv"],
                            [Child("k1", "A B", date(2023, 8, 24), None, ["NHS number 9990000000"])], [], [], [],
                            [event], 90, date(2024, 3, 2), 2)


def _chronology_note(text: str) -> str:
    """The review chronology, an agency's note saying `text`."""
    from casehistory.board.chronology import render_html

    return render_html(_note(text))


def _agency_rows_note(text: str) -> str:
    """The agencies' rows one after another, an agency's note saying `text`."""
    from casehistory.board.chronology import render_agency_rows_html

    con = duckdb.connect()
    con.execute("create schema restricted")
    con.execute("""create table restricted.restricted_child_chronology (agency varchar, event_date date,
                   event_time time, event_type varchar, outcome varchar, practitioner_role varchar, summary varchar,
                   record_id varchar, forename varchar, surname varchar, child_key varchar, ledger_id bigint)""")
    con.execute("insert into restricted.restricted_child_chronology values "
                "('hv', date '2024-01-02', null, 'home_visit', null, 'Health Visitor', ?, 'C1', 'A', 'B', 'k1', 1)",
                [text])
    page, rows = render_agency_rows_html(con, _note(text))
    assert rows == 1
    return page


def _readiness(text: str) -> str:
    """The readiness report of a review declared as `text`, its evidence and a file sent saying `text`."""
    from casehistory.readiness import render_report

    rows = [{"agency": "police", "status": "sent_unreadable", "status_label": "sent but unreadable", "asked": True,
             "first_entry_date": None, "last_entry_date": None, "named_records": 0, "evidence": text,
             "review_type": "lcspr", "scope_start": date(2022, 1, 1), "scope_end": date(2024, 12, 31),
             "deadline": date(2026, 2, 1), "unreadable_files": 1, "unreadable_file_names": f"{text}.csv",
             "unreadable_reasons": "wrong_columns", "first_unreadable_on": date(2026, 1, 12)}]
    return render_report(text, rows, [], [], date(2026, 1, 15))


def _timeline(text: str) -> str:
    """A timeline of a child named `text`."""
    from casehistory.board.timeline import ChildTimeline, Event, PlanBand, render_html

    events = [Event(date(2024, 3, 1), "referral", "early_help", ["police"], False, []),
              Event(date(2024, 6, 1), "police_incident", "domestic_abuse", ["police"], True, ["father"])]
    child = ChildTimeline("k", text, date(2023, 8, 24), events, [PlanBand("early_help", date(2024, 3, 2), None)])
    return render_html(child, today=date(2026, 1, 15))


PAGES = {
    "board report: dbt descriptions": _board_descriptions,
    "board report: a review id": _board_review_id,
    "review chronology: an agency's note": _chronology_note,
    "agency rows: an agency's note": _agency_rows_note,
    "readiness report: review id, evidence, file name": _readiness,
    "timeline: a child's name": _timeline,
}


@pytest.mark.parametrize("render", PAGES.values(), ids=PAGES.keys())
def test_text_that_looks_like_markup_is_shown_as_written_never_as_markup(render):
    _shown_as_text(render)


def test_with_autoescaping_off_the_check_fails(monkeypatch):
    """The check above can fail: the same templates rendered without autoescaping let the text in as markup."""
    trusting = pages.environment().overlay(autoescape=False, cache_size=0)  # its own cache: recompiled
    monkeypatch.setattr(pages, "environment", lambda: trusting)
    for name, render in PAGES.items():
        with pytest.raises(AssertionError, match="the text became markup"):
            _shown_as_text(render)


def test_a_variable_the_page_needs_and_was_not_given_is_an_error():
    with pytest.raises(UndefinedError, match="review_id"):
        pages.render("readiness.html")


def test_the_templates_are_package_data():
    """An installed package (not only this checkout) has every template: each matches package-data."""
    package_data = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    folder = PROJECT_ROOT / "casehistory" / "board"
    templates = [p.relative_to(folder).as_posix() for p in (folder / "templates").rglob("*") if p.is_file()]
    assert len(templates) >= 6
    missing = [t for t in templates if not any(fnmatch(t, pattern) for pattern in package_data["casehistory.board"])]
    assert missing == []
