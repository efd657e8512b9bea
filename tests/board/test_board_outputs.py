"""Every board output of a pipeline run (the board tables in the analyst warehouse, their XLSX,
CSV and Parquet exports, the HTML report) shows no count below the threshold, no small count a
published total gives away, and no identifier or name from the generated data."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from casehistory.board import board_min_count
from casehistory.board.export import DEFINITIONS_SHEET

pytestmark = pytest.mark.slow

# Count columns of the board tables (everything else is a dimension, a flag, a date or a rate).
COUNT_COLUMNS = {"referrals", "re_referrals", "passed_back", "passed_back_again", "transitions", "children"}


def _exports(board_run) -> dict[str, list[dict]]:
    """Every exported table, from every format, as {format/table: rows}."""
    folder = board_run.settings.reports_dir / "board"
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
    con = duckdb.connect(str(board_run.settings.warehouse), read_only=True)
    for (table,) in con.execute("select table_name from duckdb_tables() where schema_name = 'board'").fetchall():
        cur = con.execute(f"select * from board.{table}")
        names = [d[0] for d in cur.description]
        found[f"warehouse/{table}"] = [dict(zip(names, r)) for r in cur.fetchall()]
    return found


def test_every_board_table_is_exported_in_every_format(board_run):
    con = duckdb.connect(str(board_run.settings.warehouse), read_only=True)
    tables = {r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'board'").fetchall()}
    assert {"board_referrals_monthly", "board_referral_outcomes", "board_referral_outcomes_by_source"} <= tables
    exports = _exports(board_run)
    for table in tables:
        rows = exports[f"warehouse/{table}"]
        assert rows, f"board.{table} is empty: the test data should fill it"
        assert len(exports[f"csv/{table}"]) == len(exports[f"parquet/{table}"]) == len(rows)
        assert len(exports[f"xlsx/{table.removeprefix('board_')}"]) == len(rows)
    assert DEFINITIONS_SHEET in {k.split("/")[1] for k in exports if k.startswith("xlsx/")}


def test_no_board_output_shows_a_count_below_the_threshold(board_run):
    threshold = board_min_count()
    shown, small = 0, []
    for name, rows in _exports(board_run).items():
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


def test_no_published_total_gives_a_withheld_cell_away(board_run):
    """A group of cells whose total is published must not have exactly one withheld cell."""
    exports = _exports(board_run)
    outcomes = exports["warehouse/board_referral_outcomes"]
    groupings = {
        "month": lambda r: r["month"],
        "month and passed back": lambda r: (r["month"], r["outcome"] in ("early_help", "nfa")),
        "agency and outcome": lambda r: (r["source_agency"], r["outcome"]),
    }
    lone = []
    for what, key in groupings.items():
        cells, withheld = defaultdict(int), defaultdict(int)
        for r in outcomes:
            cells[key(r)] += 1
            withheld[key(r)] += r["referrals"] is None
        # a group of one cell: the cell is the total, withheld wherever it is published
        lone += [f"{what} {k}" for k, n in withheld.items() if n == 1 and cells[k] > 1]
    assert lone == []


def test_every_count_shown_is_the_true_count(board_run):
    """Suppression withholds numbers, never changes them: each shown cell equals marts.fct_referrals."""
    exports = _exports(board_run)
    con = duckdb.connect(str(board_run.settings.warehouse), read_only=True)
    truth = {(a, o): n for a, o, n in con.execute(
        "select source_agency, outcome, count(*) from marts.fct_referrals group by all").fetchall()}
    shown = {(r["source_agency"], r["outcome"]): r["referrals"]
             for r in exports["warehouse/board_referral_outcomes_by_source"] if r["referrals"] is not None}
    assert shown and all(truth[k] == n for k, n in shown.items())
    monthly = {m: n for m, n in con.execute(
        "select date_trunc('month', referral_date)::date, count(*) from marts.fct_referrals group by 1").fetchall()}
    shown = {r["month"]: r["referrals"] for r in exports["warehouse/board_referrals_monthly"] if r["referrals"] is not None}
    assert shown and all(monthly[m] == n for m, n in shown.items())


def _secrets(ground_truth: Path) -> set[str]:
    with (ground_truth / "persons.csv").open() as f:
        people = list(csv.DictReader(f))
    secrets = {p[k] for p in people for k in ("nhs_number", "upn", "surname", "forename") if p.get(k)}
    with (ground_truth / "records.csv").open() as f:
        secrets |= {r["subject_ref"] for r in csv.DictReader(f) if r["subject_ref"]}
    return secrets


def test_no_board_output_holds_an_identifier_or_a_name(board_run):
    secrets = _secrets(board_run.demo.ground_truth)
    found = set()
    for name, rows in _exports(board_run).items():
        for row in rows:
            for value in row.values():
                if value is not None:
                    found |= set(re.split(r"[^\w'-]+", str(value))) & secrets
    report = (board_run.settings.reports_dir / "board" / "board_report.html").read_text()
    found |= set(re.split(r"[^\w'-]+", re.sub(r"<[^>]+>", " ", report))) & secrets
    assert found == set()
    assert len(secrets) > 1000  # the scan compared against the generated people, not an empty list


def test_every_published_board_and_mart_column_carries_its_dbt_description(board_run):
    """persist_docs writes the dbt descriptions as comments, and publishing keeps them."""
    con = duckdb.connect(str(board_run.settings.warehouse), read_only=True)
    undocumented = con.execute(
        """select table_name || '.' || column_name from duckdb_columns()
           where schema_name = 'board' and comment is null""").fetchall()
    assert undocumented == []
    tables = dict(con.execute("select table_name, comment from duckdb_tables() where schema_name in ('board', 'marts')").fetchall())
    assert tables["board_referrals_monthly"].startswith("Referrals to children's social care per calendar month")
    assert tables["fct_child_events"]


def test_the_dbt_docs_site_is_published_with_the_board_tables(board_run):
    page = board_run.settings.reports_dir / "dbt-docs" / "static_index.html"
    text = page.read_text()
    assert "board_referrals_monthly" in text and "board_report" in text  # the model and its exposure
