"""The review chronology (casehistory/board/chronology.py) of the generator's two seed families,
held to the generator's ground truth (ground_truth/*.csv: each record's true event, and the date
and outcome the agency gave it), never to figures the code under test produced:

- every true event of a subject child in the scope is one row, with every agency that recorded
  it and no other event's records;
- every event whose agencies' accounts differ (by the definition: two records of it give different
  dates, or different outcomes) says so, with each agency's date, and no other event does;
- a household member's event is one row however many children it reached, saying whose it was;
- the documents go to the restricted folder only, print, and lay out without overlapping text.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from casehistory.vocabulary import agencies, agency_name, event_label, event_types
from tests.board.browser import keep, screenshot, text_overlaps

REVIEWS = ("REV-2025-001", "REV-2025-002")


def _invoke(*args):
    from typer.testing import CliRunner

    from casehistory.cli import app

    return CliRunner().invoke(app, ["chronology", *args])


@pytest.fixture(scope="module")
def documents(generated_run) -> dict[str, dict]:
    out = {}
    for review in REVIEWS:
        result = _invoke("--review", review, "--warehouse", str(generated_run.settings.warehouse),
                         "--run-date", "2026-01-15")
        assert result.exit_code == 0, result.output
        folder = generated_run.settings.restricted_dir / "reviews" / review
        out[review] = {"folder": folder, "output": result.output, **_read_xlsx(folder / "chronology.xlsx"),
                       "html": (folder / "chronology.html").read_text(encoding="utf-8")}
    return out


def _read_xlsx(path: Path) -> dict:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)

    def rows(sheet):
        it = wb[sheet].iter_rows(values_only=True)
        header = next(it)
        return [dict(zip(header, r)) for r in it]

    by_name = {a.name: code for code, a in agencies().items()}
    records = defaultdict(set)
    for a in rows("Accounts"):
        records[a["Entry"]].add((by_name[a["Agency"]], str(a["Record ref"])))
    return {"entries": rows("Chronology"), "records": records}


# ---- the ground truth ------------------------------------------------------------------------------

def _csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _truth(demo, review_id: str) -> dict:
    """What the review's chronology must hold, from the generator's true world and the definitions."""
    truth = demo.ground_truth
    persons = {p["true_person"]: p for p in _csv(truth / "persons.csv")}
    events = {e["true_event"]: e for e in _csv(truth / "events.csv")}
    loaded = [r for r in _csv(truth / "records.csv") if r["status"] == "loaded"]
    review = next(r for r in yaml.safe_load(demo.reviews.read_text())["reviews"] if r["id"] == review_id)
    scope = (review["scope_start"], review["scope_end"])
    by_ref = {(r["agency"], r["subject_ref"]): r["true_person"] for r in loaded}
    by_nhs = {p["nhs_number"]: pid for pid, p in persons.items()}
    subjects = {by_nhs[s["nhs_number"]] if "nhs_number" in s else by_ref[(s["agency"], s["subject_ref"])]
                for s in review["subjects"]}
    records_of = defaultdict(list)
    for r in loaded:
        records_of[r["true_event"]].append(r)
    own, household = {}, {}
    family = {persons[s]["family"] for s in subjects}
    for eid, recs in records_of.items():
        person = persons[recs[0]["true_person"]]
        day = min(date.fromisoformat(r["event_date"]) for r in recs)  # the earliest date its records give
        if not scope[0] <= day <= scope[1]:
            continue
        expected = {"day": day, "records": {(r["agency"], r["record_id"]) for r in recs},
                    "agencies": {r["agency"] for r in recs}, "event_type": events[eid]["event_type"],
                    # accounts differ: two records give different dates, or different outcomes
                    "differ": len({r["event_date"] for r in recs}) > 1 or len({r["outcome"] for r in recs if r["outcome"]}) > 1,
                    "accounts": {(r["agency"], r["event_date"]) for r in recs}, "role": person["role"]}
        if person["true_person"] in subjects:
            own[eid] = expected
        elif person["family"] in family and event_types()[events[eid]["event_type"]].household:
            household[eid] = expected
    return {"own": own, "household": household, "record_event": {(r["agency"], r["record_id"]): r["true_event"]
                                                                 for r in loaded}}


def _event_entries(doc: dict) -> list[dict]:
    return [e for e in doc["entries"] if e["Kind"] == "Event"]


# ---- the must-show: against the ground truth ------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("review", REVIEWS)
def test_every_real_event_is_one_row_with_all_its_agencies(documents, generated_run, review):
    doc, truth = documents[review], _truth(generated_run.demo, review)
    assert truth["own"], "the seed family has events in the scope"
    entries = {e["Entry"]: e for e in _event_entries(doc)}
    for eid, expected in truth["own"].items():
        holding = [n for n, recs in doc["records"].items() if recs & expected["records"]]
        assert len(holding) == 1, (eid, expected, holding)  # once, never split nor repeated
        entry = entries[holding[0]]
        assert doc["records"][holding[0]] == expected["records"], (eid, entry)  # all its agencies, nothing else
        assert set(entry["Recorded by"].split("; ")) == {agency_name(a) for a in expected["agencies"]}
        assert entry["Event"] == event_label(expected["event_type"])
        assert entry["Date"].date() == expected["day"]
        assert entry["Child"]
    # and no row the truth does not hold: every row's records are loaded records of a true event in
    # the scope, of a subject child or of their household
    known = {**truth["own"], **truth["household"]}
    for number, records in doc["records"].items():
        true_events = {truth["record_event"][r] for r in records}
        assert true_events <= set(known), (number, true_events)
        if entries[number]["Whose event"] is None:
            assert len(true_events) == 1 and true_events <= set(truth["own"]), (number, true_events)


@pytest.mark.slow
@pytest.mark.parametrize("review", REVIEWS)
def test_every_disagreement_is_shown_side_by_side(documents, generated_run, review):
    doc, truth = documents[review], _truth(generated_run.demo, review)
    differ = {eid: t for eid, t in truth["own"].items() if t["differ"]}
    assert differ, "the seed family's agencies disagree somewhere (scenarios.py)"
    by_records = {frozenset(recs): n for n, recs in doc["records"].items()}
    entries = {e["Entry"]: e for e in _event_entries(doc)}
    html = _HtmlEntries(doc["html"])
    for eid, expected in truth["own"].items():
        number = by_records[frozenset(expected["records"])]
        shown = entries[number]["Accounts differ"]
        if not expected["differ"]:
            assert shown is None, (eid, shown)
            assert not html.entries[number]["disagree"]
            continue
        assert shown and shown.startswith("Accounts differ"), (eid, entries[number])
        for agency, day in expected["accounts"]:  # each agency's own date, beside the others
            d = date.fromisoformat(day)
            said = f"{agency_name(agency, short=True)} {d.day} {d:%b %Y}"
            assert said in shown, (said, shown)
            assert said.replace(" ", "") in html.entries[number]["side_by_side"].replace(" ", ""), html.entries[number]
        assert html.entries[number]["disagree"]


@pytest.mark.slow
@pytest.mark.parametrize("review", REVIEWS)
def test_household_events_are_one_row_each_saying_whose(documents, generated_run, review):
    doc, truth = documents[review], _truth(generated_run.demo, review)
    entries = {e["Entry"]: e for e in _event_entries(doc)}
    seen = defaultdict(list)
    for number, records in doc["records"].items():
        for r in records:
            eid = truth["record_event"][r]
            if eid in truth["household"]:
                seen[eid].append(number)
                assert truth["household"][eid]["role"] in entries[number]["Whose event"], entries[number]
    assert all(len(set(n)) == 1 for n in seen.values()), seen  # one row, however many children it reached
    if review == "REV-2025-001":  # the father known to adult services: every contact in the scope is there
        adult_services = {eid for eid, t in truth["household"].items()
                          if t["event_type"] == "adult_services_involvement" and t["role"] == "father"}
        assert adult_services and adult_services <= set(seen)


@pytest.mark.slow
@pytest.mark.parametrize("review", REVIEWS)
def test_the_html_shows_the_same_rows_as_the_workbook(documents, review):
    doc = documents[review]
    html = _HtmlEntries(doc["html"])
    assert {n: e["records"] for n, e in html.entries.items()} == dict(doc["records"])


@pytest.mark.slow
def test_the_first_page_says_whose_chronology_is_missing_and_who_was_never_asked(documents, generated_run):
    """From the generator's truth (expected.json): the family support service's chronology never
    arrives, and the education welfare service was involved but never asked."""
    truth = generated_run.demo.expected["reviews"]["REV-2025-002"]
    readiness = documents["REV-2025-002"]["html"].split("id='readiness'")[1].split("</table>")[0]
    status = {agency: cls for cls, agency in re.findall(r"<tr class='(\w+)'><td>([^<]+)</td>", readiness)}
    for code in truth["missing_chronologies"]:
        assert status[agency_name(code)] == "missing"
    for code in truth["involved_not_asked"]:
        assert status[agency_name(code)] == "involved_not_asked"


@pytest.mark.slow
def test_documents_go_to_the_restricted_folder_only(documents, generated_run):
    settings = generated_run.settings
    for review, doc in documents.items():
        assert doc["folder"].parent.parent == settings.restricted_dir
        assert {p.name for p in doc["folder"].iterdir()} >= {"chronology.xlsx", "chronology.html", "chronology.pdf"}
    assert not [p for p in settings.reports_dir.rglob("chronology*")]
    assert not [p for p in settings.warehouse.parent.glob("chronology*")]


# ---- the browser ------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("review", REVIEWS)
def test_the_page_lays_out_without_overlapping_text_and_prints(documents, review):
    from casehistory.board.browser import pdf_pages

    folder = documents[review]["folder"]
    page = folder / "chronology.html"
    for width in (1200, 800):  # a screen, and about an A4 page's width
        layout = text_overlaps(page, width)
        assert layout["measured"] > 100 and layout["overlaps"] == [], layout["overlaps"][:5]
    pdf = keep(folder / "chronology.pdf")
    assert pdf.stat().st_size > 1000 and pdf.read_bytes().startswith(b"%PDF")
    pages = pdf_pages(pdf)
    assert pages > 0
    assert f"{pages} printed pages" in " ".join(documents[review]["output"].split())
    shot = screenshot(page, page.with_suffix(".png"), width=1200)  # kept beside the page and as an artefact
    assert shot.stat().st_size > 10_000


def test_the_overlap_check_finds_overlapping_text(tmp_path):
    """The check above can fail: two labels drawn on one spot are found."""
    page = tmp_path / "overlap.html"
    page.write_text("<!DOCTYPE html><html><body><p>apart</p>"
                    "<div style='position:absolute;top:50px;left:20px'>first label</div>"
                    "<div style='position:absolute;top:52px;left:30px'>second label</div></body></html>")
    assert text_overlaps(page)["overlaps"] == [["first label", "second label"]]


# ---- bad input ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_review_that_is_not_declared_is_named_in_the_error(generated_run):
    result = _invoke("--review", "REV-NOT-DECLARED", "--warehouse", str(generated_run.settings.warehouse))
    said = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "review 'REV-NOT-DECLARED' is not declared" in said
    assert "REV-2025-001" in said  # and which are


def test_chronology_needs_a_pipeline_run_first(tmp_path):
    result = _invoke("--review", "REV-2025-001", "--warehouse", str(tmp_path / "none.duckdb"))
    assert result.exit_code == 2 and "run the pipeline first" in " ".join(result.output.split())


def test_every_event_type_has_a_name_for_people():
    unnamed = [t for t in event_types() if event_label(t) == t.replace("_", " ")]
    assert unnamed == []


class _HtmlEntries(HTMLParser):
    """Each event's tbody: its records, whether it is marked as disagreeing, its side-by-side text."""

    def __init__(self, html: str):
        super().__init__()
        self.entries: dict[int, dict] = {}
        self._current: dict | None = None
        self._in_side = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tbody" and "event" in (a.get("class") or "").split():
            self._current = self.entries[int(a["data-entry"])] = {
                "records": {tuple(r.split(":", 1)) for r in a["data-records"].split()},
                "disagree": "data-disagree" in a, "side_by_side": ""}
        elif tag == "table" and "side-by-side" in (a.get("class") or ""):
            self._in_side += 1

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._current = None
        elif tag == "table" and self._in_side:
            self._in_side -= 1

    def handle_data(self, data):
        if self._current is not None and self._in_side:
            self._current["side_by_side"] += " " + data


def test_a_silence_is_more_than_the_setting_s_days_in_a_row_with_no_event():
    """Events on 1 January and 1 May 2024 (a leap year): 2 January to 30 April is 30 + 29 + 31 + 30 =
    120 quiet days; 2 to 10 May, 9, is no silence. Before a first event on 1 January from a scope
    starting on 1 September 2023: 30 + 31 + 30 + 31 = 122 quiet days."""
    from casehistory.board.chronology import Entry, _with_silences

    flow = [Entry(kind="event", day=date(2024, 1, 1), children=["A"], title="x"),
            Entry(kind="event", day=date(2024, 5, 1), children=["A"], title="y")]
    quiet = [x for x in _with_silences(flow, date(2024, 1, 1), date(2024, 5, 10), 90) if x.kind == "silence"]
    assert [(x.day, x.title) for x in quiet] == [(date(2024, 1, 2), "No agency in contact for 120 days")]
    assert not [x for x in _with_silences(flow, date(2024, 1, 1), date(2024, 5, 10), 120) if x.kind == "silence"]
    # before the first event: from the scope's first day
    quiet = [x for x in _with_silences(flow, date(2023, 9, 1), date(2024, 5, 1), 90) if x.kind == "silence"]
    assert [(x.day, x.title) for x in quiet] == [(date(2023, 9, 1), "No agency in contact for 122 days"),
                                                 (date(2024, 1, 2), "No agency in contact for 120 days")]


def test_a_note_that_looks_like_a_formula_is_written_as_text(tmp_path):
    """Practitioners' notes are free text: one starting with "=" must not run when the workbook opens."""
    from openpyxl import load_workbook

    from casehistory.board.chronology import Account, Entry, ReviewChronology, write_xlsx

    note = '=HYPERLINK("http://example.invalid","click")'
    event = Entry(kind="event", day=date(2024, 1, 2), children=["A B"], title="Home visit", number=1,
                  event_type="home_visit", agencies=["hv"],
                  accounts=[Account("hv", "C1", date(2024, 1, 2), None, None, "Health Visitor", note, None)])
    c = ReviewChronology("REV-X", "audit", date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1), ["hv"], [], [], [],
                         [], [event], 90, date(2024, 3, 2), 1)
    wb = load_workbook(write_xlsx(c, tmp_path / "c.xlsx"))
    notes = [row[-1] for row in wb["Accounts"].iter_rows(min_row=2, values_only=True)]
    assert notes == ["'" + note]
    assert all(cell.data_type != "f" for ws in wb for row in ws.iter_rows() for cell in row)
