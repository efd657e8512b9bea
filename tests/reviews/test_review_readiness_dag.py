"""The review_readiness DAG, run for real (`airflow dags test`), on the generator's js_family
scenario: the family support service (eh) never sent its chronology. It is flagged, with the
records that show it was involved; after its file arrives and the DAG reruns, the flag clears.
The report is read as headless Chromium renders it (a screenshot is kept beside it)."""

from __future__ import annotations

import csv
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
import yaml

from casehistory.airflow_runner import run_dag
from casehistory.synth import generate
from casehistory.synth.held_back import held_back_chronology
from casehistory.vocabulary import agencies, agency_name, event_label
from tests.board.browser import dump_dom, screenshot

pytestmark = pytest.mark.slow

CHILDREN, SEED, REVIEW = 40, 5, "REV-2025-002"


class _Tables(HTMLParser):
    """The report's tables as {table id: [[cell text, ...] per row]}."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id", ""), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def _report(path: Path) -> tuple[dict[str, dict[str, str]], dict[str, list[list[str]]]]:
    """The 'whom to chase' table as {agency: {column: text}}, and every table's rows, as the page
    renders in a browser."""
    screenshot(path, path.with_suffix(".png"))
    parser = _Tables()
    parser.feed(dump_dom(path))
    header, *rows = parser.tables["chase"]
    code = {a.name: c for c, a in agencies().items()}  # the report names agencies; the tests compare codes
    return {code[row[0]]: dict(zip(header, row)) for row in rows}, parser.tables


def _readiness(store: Path) -> dict[str, tuple[str, int, int]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return {a: (s, own, named) for a, s, own, named in con.execute(
            "select agency, status, own_records, named_records from audit.review_readiness where review_id = ?",
            [REVIEW]).fetchall()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("readiness")
    demo = generate(tmp / "demo", children=CHILDREN, seed=SEED)
    reviews = yaml.safe_load(demo.reviews.read_text())
    for review in reviews["reviews"]:  # due soon after the run date, so arrivals are on time
        review["deadline"] = "2026-02-01"
    reviews_file = tmp / "reviews.yml"
    reviews_file.write_text(yaml.safe_dump(reviews))
    warehouse = tmp / "out" / "warehouse.duckdb"
    conf = {"review_id": REVIEW, "extracts": str(demo.extracts), "warehouse": str(warehouse),
            "reviews": str(reviews_file), "run_date": "2026-01-15"}
    logs = tmp / "logs"
    store, report = warehouse.with_name("warehouse.restricted") / "store.duckdb", \
        warehouse.with_name("warehouse.reports") / "reviews" / f"{REVIEW}.html"

    first = run_dag("review_readiness", conf, logs / "first.log")
    before = (_readiness(store), *_report(report))
    arrived = held_back_chronology(demo.extracts, CHILDREN, SEED)
    second = run_dag("review_readiness", conf, logs / "second.log")
    after = (_readiness(store), *_report(report))
    return {"before": (first.exit_code, *before), "after": (second.exit_code, *after), "arrived": arrived,
            "logs": logs, "demo": demo, "outcomes": (first, second)}


def test_the_agency_that_never_sent_its_chronology_is_flagged_with_the_records_that_show_it(runs):
    code, readiness, chase, tables = runs["before"]
    assert code != 0, "the DAG fails while the review has gaps"
    status, own, named = readiness["eh"]
    assert (status, own) == ("missing", 0) and named >= 4  # the school's four TAC meetings at least
    assert chase["eh"]["Status"] == "missing" and chase["eh"]["Asked"] == "yes"
    shown = [row for row in tables["evidence"][1:] if row[0] == agency_name("eh")]
    assert {(row[1], row[2], row[3]) for row in shown} == {
        (agency_name("school"), "meeting attendance", event_label("tac_meeting"))}
    assert readiness["ews"][0] == "involved_not_asked"
    assert "involved not asked" in chase["ews"]["Status"]
    assert "REV-2025-002" in (runs["logs"] / "first.log").read_text() and "eh missing" in (runs["logs"] / "first.log").read_text()


def test_after_the_file_arrives_and_the_dag_reruns_the_flag_clears(runs):
    assert [p.name for p in runs["arrived"]] == ["chronology_eh_REV-2025-002_late.xlsx"]
    code, readiness, chase, _ = runs["after"]
    status, own, _ = readiness["eh"]
    assert status == "received" and own >= 4
    assert chase["eh"]["Status"] == "received" and (int(chase["eh"]["Records of the children"])
                                                     + int(chase["eh"]["Contacts with the household"])) == own
    # the education welfare service is still involved and still not asked: the review is not
    # ready, and that is now its only gap (a review without gaps passes: tests/reviews/test_readiness.py)
    assert readiness["ews"][0] == "involved_not_asked" and code != 0
    assert {a for a, (s, _, _) in readiness.items() if s != "received"} == {"ews"}
    assert "is not ready (1 gap(s)" in (runs["logs"] / "second.log").read_text()


def test_the_report_names_agencies_statuses_and_evidence_but_no_child(runs):
    _, readiness, chase, tables = runs["before"]
    assert set(chase) == set(readiness)
    for agency, row in chase.items():
        assert row["Status"] == readiness[agency][0].replace("_", " ")
        assert row["Evidence"] and row["Named by others"] == str(readiness[agency][2])
    people = yaml.safe_load(runs["demo"].reviews.read_text())
    html = " ".join(" ".join(" ".join(r) for r in t) for t in tables.values())
    with (runs["demo"].ground_truth / "persons.csv").open() as f:
        family = [p for p in csv.DictReader(f) if p["scenario"] == "js_family"]
    secrets = {p["surname"] for p in family} | {p["forename"] for p in family} | {p["nhs_number"] for p in family}
    secrets |= {s.get("subject_ref") for r in people["reviews"] for s in r["subjects"] if s.get("subject_ref")}
    assert not {s for s in secrets if s and s in html}


def test_airflows_record_of_each_run_names_the_readiness_task_as_the_one_that_failed(runs):
    """What `casehistory readiness` prints last and exits with: Airflow's record of the run, in
    which loading, linking and building succeeded and only the readiness check failed."""
    for outcome in runs["outcomes"]:
        assert outcome.state == "failed" and outcome.exit_code == 1
        assert [t.label for t in outcome.failed()] == ["readiness"]
        assert {t.task_id for t in outcome.tasks if t.state != "success"} == {"readiness"}
        assert {"prepare", "link", "build"} <= {t.task_id for t in outcome.tasks}
        assert "Failed: readiness (after 1 try)" in outcome.report()
