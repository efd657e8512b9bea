"""Board exports: one sheet per table plus definitions, CSV and Parquet, and no cell a spreadsheet
would run as a formula."""

from __future__ import annotations

import csv

import duckdb
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from casehistory.board.export import DEFINITIONS_SHEET, export, neutralise, published_board_tables
from casehistory.settings import Settings

HOSTILE = ["=HYPERLINK(\"http://x\")", "+1+2", "-3", "@SUM(A1)", "\tTAB", "\rCR"]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_a_spreadsheet_would_run_is_kept_as_text(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["police", "early help", "a=b", 5, None, 2.5])
def test_other_values_are_left_alone(value):
    assert neutralise(value) == value


@pytest.fixture
def exported(tmp_path):
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    con = duckdb.connect(str(settings.warehouse))
    con.execute("create schema board")
    con.execute("create table board.board_things as select * from (values "
                + ", ".join(f"('{t.replace(chr(39), chr(39) * 2)}', {i + 5})" for i, t in enumerate(HOSTILE))
                + ", ('police', 7)) v(agency, referrals)")
    con.execute("comment on table board.board_things is 'Things per agency.'")
    con.execute("comment on column board.board_things.referrals is '=Referrals counted'")
    con.close()
    return export(settings, published_board_tables(settings))


def test_every_format_has_every_table_and_neutralised_text(exported):
    expected = {"'" + t for t in HOSTILE} | {"police"}
    with (exported.folder / "csv" / "board_things.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["agency"] for r in rows} == expected
    assert {int(r["referrals"]) for r in rows} == {5, 6, 7, 8, 9, 10, 7}
    parquet = pq.read_table(exported.folder / "parquet" / "board_things.parquet").to_pylist()
    assert {r["agency"] for r in parquet} == expected
    book = load_workbook(exported.folder / "board.xlsx")
    assert book.sheetnames == [DEFINITIONS_SHEET, "things"]
    cells = [c for row in book["things"].iter_rows(min_row=2) for c in row]
    # (XLSX stores a carriage return as a line feed: the leading apostrophe is what matters)
    assert {c.value.replace("\n", "\r") for c in cells if c.column == 1} == expected
    assert all(c.data_type != "f" for c in cells)  # openpyxl would write a string starting with = as a formula


def test_the_definitions_sheet_carries_the_table_and_column_descriptions(exported):
    definitions = list(load_workbook(exported.folder / "board.xlsx")[DEFINITIONS_SHEET].iter_rows(values_only=True))
    assert ("board_things", None, "Things per agency.") in definitions
    assert ("board_things", "referrals", "'=Referrals counted") in definitions  # a description is text too
    assert ("board_things", "agency", None) in definitions  # an undocumented column still listed
