"""Every board output of a pipeline run (the board tables in the analyst warehouse, their XLSX,
CSV and Parquet exports, the HTML report) shows no count below the threshold, no small count a
published total gives away, and no identifier or name from the generated data."""

from __future__ import annotations

import csv
import re
from collections import defaultdict

import duckdb
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from casehistory.board import board_min_count
from casehistory.board.export import DEFINITIONS_SHEET

pytestmark = pytest.mark.slow

# Count columns of the board tables (everything else is a dimension, a flag, a date or a rate).
COUNT_COLUMNS = {"referrals", "re_referrals", "passed_back", "passed_back_again", "transitions", "children",
                 "children_with_warning_signs"}


def _exports(generated_run) -> dict[str, list[dict]]:
    """Every exported table, from every format, as {format/table: rows}."""
    folder = generated_run.settings.reports_dir / "board"
    found: dict[str, list[dict]] = {}
    for path in (folder / "csv").glob("*.csv"):
        with path.open(newline="") as f:
            found[f"csv/{path.stem}"] = list(csv.DictReader(f))
    for path in (folder / "parquet").glob("*.parquet"):
        found[f"parquet/{path.stem}"] = pq.read_table(path).to_pylist()
    book = load_workbook(folder / "board.xlsx", read_only=True)
    for sheet in book.sheetnames:
        rows = list(book[sheet].iter_rows(values_only=True))
        found[f"xlsx/{sheet}"] = [dict(zip(rows[0], r)) for r in rows[1:]]
    con = duckdb.connect(str(generated_run.settings.warehouse), read_only=True)
    for (table,) in con.execute("select table_name from duckdb_tables() where schema_name = 'board'").fetchall():
        cur = con.execute(f"select * from board.{table}")
        names = [d[0] for d in cur.description]
        found[f"warehouse/{table}"] = [dict(zip(names, r)) for r in cur.fetchall()]
    return found


def test_every_board_table_is_exported_in_every_format(generated_run):
    con = duckdb.connect(str(generated_run.settings.warehouse), read_only=True)
    tables = {r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'board'").fetchall()}
    assert {"board_referrals_monthly", "board_referral_outcomes", "board_referral_outcomes_by_source"} <= tables
    exports = _exports(generated_run)
    for table in tables:
        rows = exports[f"warehouse/{table}"]
        assert rows, f"board.{table} is empty: the test data should fill it"
        assert len(exports[f"csv/{table}"]) == len(exports[f"parquet/{table}"]) == len(rows)
        assert len(exports[f"xlsx/{table.removeprefix('board_')}"]) == len(rows)
    assert DEFINITIONS_SHEET in {k.split("/")[1] for k in exports if k.startswith("xlsx/")}


def test_no_board_output_shows_a_count_below_the_threshold(generated_run):
    threshold = board_min_count()
    shown, small = 0, []
    for name, rows in _exports(generated_run).items():
        for i, row in enumerate(rows, start=1):
            for column in COUNT_COLUMNS & set(row):
                value = row[column]
                if value in (None, ""):
                    continue
                shown += 1
                if 0 < int(value) < threshold:
                    small.append(f"{name} row {i} {column}={value}")
    assert small == []
    assert shown > 50  # the scan saw real numbers, not only suppressed cells


def _published_totals(exports) -> dict:
    """The totals other board tables publish for a table's groupings, by group (None: withheld there)."""
    monthly = {r["month"]: r for r in exports["warehouse/board_referrals_monthly"]}

    def not_passed_back(m):
        r = monthly.get(m)
        return None if r is None or None in (r["referrals"], r["passed_back"]) else r["referrals"] - r["passed_back"]

    by_source = {(r["source_agency"], r["outcome"]): r["referrals"]
                 for r in exports["warehouse/board_referral_outcomes_by_source"]}
    return {
        ("board_referral_outcomes", "month"): lambda m: (monthly.get(m) or {}).get("referrals"),
        ("board_referral_outcomes", "month and passed back"):
            lambda k: (monthly.get(k[0]) or {}).get("passed_back") if k[1] else not_passed_back(k[0]),
        ("board_referral_outcomes", "agency and outcome"): lambda k: by_source.get(k),
    }


# Each board table whose cells add up to totals: the true cells (from the marts it is built on),
# the count column, the columns that tell cells apart, and the groupings whose totals are published
# (the ones dbt/models/board declares to the suppression macro). A grouping with no table of its
# totals (not in _published_totals) is checked as if its total were shown wherever a cell is.
SUPPRESSED_TABLES = {
    "board_referral_outcomes": (
        """select date_trunc('month', referral_date)::date as month, source_agency, outcome, count(*) as n
           from marts.fct_referrals group by all""",
        "referrals", ("month", "source_agency", "outcome"),
        {"month": lambda r: r["month"],
         "month and passed back": lambda r: (r["month"], r["outcome"] in ("early_help", "nfa")),
         "agency and outcome": lambda r: (r["source_agency"], r["outcome"])}),
    "board_referral_outcomes_by_source": (
        "select source_agency, outcome, count(*) as n from marts.fct_referrals group by all",
        "referrals", ("source_agency", "outcome"),
        {"agency": lambda r: r["source_agency"]}),
    "board_plan_flows": (
        """select date_trunc('month', transition_date)::date as month, direction, from_level, to_level,
                  count(*) as n from marts.fct_plan_transitions group by all""",
        "transitions", ("month", "direction", "from_level", "to_level"),
        {"month": lambda r: r["month"]}),
}


def test_no_published_total_gives_a_withheld_cell_away(generated_run):
    """Where a group's total is published, its withheld cells (total minus the shown cells) must
    neither be a single cell nor add up to a small number."""
    threshold = board_min_count()
    exports = _exports(generated_run)
    totals = _published_totals(exports)
    con = duckdb.connect(str(generated_run.settings.warehouse), read_only=True)
    disclosed, withheld_cells, published_groups = [], 0, 0
    for table, (truth_sql, column, cell_by, groupings) in SUPPRESSED_TABLES.items():
        cur = con.execute(truth_sql)
        names = [d[0] for d in cur.description]
        truth = {tuple(r[c] for c in cell_by): r["n"] for r in (dict(zip(names, row)) for row in cur.fetchall())}
        rows = exports[f"warehouse/{table}"]
        assert len(rows) == len(truth), f"board.{table} lost or invented cells"
        withheld_cells += sum(r[column] is None for r in rows)
        for what, key in groupings.items():
            shown, withheld = defaultdict(int), defaultdict(list)
            for r in rows:
                if r[column] is None:
                    withheld[key(r)].append(truth[tuple(r[c] for c in cell_by)])
                else:
                    shown[key(r)] += 1
            for k, values in withheld.items():
                if (table, what) in totals:
                    total = totals[table, what](k)
                    if total is None:
                        continue  # the total is withheld too: nothing to subtract from
                    published_groups += 1
                elif not shown[k]:
                    continue
                else:
                    total = "(sum of its cells)"
                if (len(values) == 1 and shown[k]) or sum(values) < threshold:
                    disclosed.append(f"{table} by {what} {k}: withheld {values}, total {total}")
    assert disclosed == [], "\n".join(disclosed)
    # the scan met suppressed cells and published totals, so it could have found a disclosure
    assert withheld_cells > 20 and published_groups > 5


def test_every_count_shown_is_the_true_count(generated_run):
    """Suppression withholds numbers, never changes them: each shown cell equals marts.fct_referrals."""
    exports = _exports(generated_run)
    con = duckdb.connect(str(generated_run.settings.warehouse), read_only=True)
    truth = {(a, o): n for a, o, n in con.execute(
        "select source_agency, outcome, count(*) from marts.fct_referrals group by all").fetchall()}
    shown = {(r["source_agency"], r["outcome"]): r["referrals"]
             for r in exports["warehouse/board_referral_outcomes_by_source"] if r["referrals"] is not None}
    assert shown and all(truth[k] == n for k, n in shown.items())
    monthly = {m: n for m, n in con.execute(
        "select date_trunc('month', referral_date)::date, count(*) from marts.fct_referrals group by 1").fetchall()}
    shown = {r["month"]: r["referrals"] for r in exports["warehouse/board_referrals_monthly"] if r["referrals"] is not None}
    assert shown and all(monthly[m] == n for m, n in shown.items())


def _names_and_identifiers(generated_run) -> tuple[set[str], set[str]]:
    """Names, and identifiers (the agencies' and the generator's, and the pipeline's own person ids
    and pseudonymised keys: a board figure must not point at any one child), from the generated
    world's ground truth and the restricted store."""
    truth = generated_run.demo.ground_truth
    with (truth / "persons.csv").open() as f:
        people = list(csv.DictReader(f))
    names = {p[k] for p in people for k in ("surname", "forename") if p[k]}
    identifiers = {p[k] for p in people for k in ("nhs_number", "upn", "true_person", "family") if p[k]}
    with (truth / "records.csv").open() as f:
        identifiers |= {r[k] for r in csv.DictReader(f) for k in ("subject_ref", "record_id") if r[k]}
    store = duckdb.connect(str(generated_run.settings.store), read_only=True)
    identifiers |= {v for row in store.execute("select person_id, person_key from identity.subject_person").fetchall()
                    for v in row if v}
    return names, identifiers


def _words(text: str) -> set[str]:
    return set(re.split(r"[^\w'-]+", text))


def test_no_board_output_holds_an_identifier_or_a_name(generated_run):
    names, identifiers = _names_and_identifiers(generated_run)
    found = set()
    for rows in _exports(generated_run).values():
        for row in rows:
            for value in row.values():
                if value is not None:
                    found |= _words(str(value)) & (names | identifiers)
    page = (generated_run.settings.reports_dir / "board" / "board_report.html").read_text()
    found |= _words(page) & identifiers  # attributes included
    found |= _words(re.sub(r"<[^>]+>", " ", page)) & names  # the text a reader sees
    assert found == set()
    # the scan compared against the generated people and the pipeline's keys, not an empty list
    assert len(names) > 300 and len(identifiers) > 5000


def test_every_published_board_and_mart_column_carries_its_dbt_description(generated_run):
    """persist_docs writes the dbt descriptions as comments, and publishing keeps them."""
    con = duckdb.connect(str(generated_run.settings.warehouse), read_only=True)
    undocumented = con.execute(
        """select table_name || '.' || column_name from duckdb_columns()
           where schema_name = 'board' and comment is null""").fetchall()
    assert undocumented == []
    tables = dict(con.execute("select table_name, comment from duckdb_tables() where schema_name in ('board', 'marts')").fetchall())
    assert tables["board_referrals_monthly"].startswith("Referrals to children's social care per calendar month")
    assert tables["fct_child_events"]


def test_the_dbt_docs_site_is_published_with_the_board_tables(generated_run):
    page = generated_run.settings.reports_dir / "dbt-docs" / "static_index.html"
    text = page.read_text()
    assert "board_referrals_monthly" in text and "board_report" in text  # the model and its exposure


def test_the_readiness_grid_shows_each_status_in_plain_english_and_a_sent_but_unreadable_one_apart():
    from casehistory.board.export import BoardTable
    from html import escape

    from casehistory.board.report import READINESS_COLOURS, readiness_figure
    from casehistory.vocabulary import agency_name

    columns = ["review_id", "agency", "asked", "status", "status_label", "scope_start", "scope_end", "deadline"]
    table = BoardTable("board_review_readiness", "Chronology completeness.", columns,
                       {"status_label": "The status in plain English."}, rows=[
                           ("R1", "police", True, "sent_unreadable", "sent but unreadable", None, None, "2026-02-01"),
                           ("R1", "eh", True, "missing", "missing", None, None, "2026-02-01"),
                           ("R1", "ews", False, "involved_not_asked", "involved not asked", None, None, "2026-02-01")])
    body = readiness_figure(table).body
    police, ews = (escape(agency_name(c)) for c in ("police", "ews"))
    assert f"title='R1 (due 01 Feb 2026), {police}: sent but unreadable'>sent but unreadable</td>" in body
    assert f"background:{READINESS_COLOURS['sent but unreadable']}" in body
    assert READINESS_COLOURS["sent but unreadable"] not in (READINESS_COLOURS["missing"], READINESS_COLOURS["received"])
    assert f"title='R1 (due 01 Feb 2026), {ews}: involved not asked'" in body
    assert "sent but unreadable</span>" in body  # in the legend
