"""The workbook reader parses each sheet once; openpyxl's full (not read-only) loader is the reference
for what each cell holds."""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook as OpenpyxlWorkbook
from openpyxl import load_workbook

from ingest.readers.base import FileRejected
from ingest.readers.tabular import open_workbook


def _rewrite_sheet(path: Path, change) -> None:
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/worksheets/sheet1.xml"] = change(parts["xl/worksheets/sheet1.xml"].decode()).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)


def _reference(path: Path, *, data_only: bool) -> list[tuple]:
    """Rows as openpyxl's full loader gives them, trailing empty cells dropped as the reader does."""
    rows = []
    for row in load_workbook(path, data_only=data_only).active.iter_rows(values_only=True):
        row = list(row)
        while row and row[-1] is None:
            row.pop()
        rows.append(tuple(row))
    return rows


def test_cells_of_every_type_and_rows_the_file_leaves_out_read_as_openpyxl_reads_them(tmp_path):
    path = tmp_path / "types.xlsx"
    wb = OpenpyxlWorkbook()
    ws = wb.active
    ws.append(["Case Ref", "Opened", "Seen at", "Visits", "Weight", "Closed", "Note"])
    ws.append(["EH1", date(2024, 3, 1), datetime(2024, 3, 1, 9, 30), 3, 2.5, True, "text"])
    ws.cell(row=5, column=1, value="EH2")  # rows 3 and 4 are not in the file at all
    ws.cell(row=5, column=7, value="far column, gap before it")
    ws.cell(row=6, column=2, value=date(1999, 12, 31))
    wb.save(path)

    sheet = open_workbook(path).worksheets[0]
    rows = list(sheet.iter_rows())
    assert rows == _reference(path, data_only=True)
    assert rows[2] == () and rows[3] == ()  # row numbers stay those the agency sees
    assert rows[1][1] == datetime(2024, 3, 1) and rows[1][5] is True
    assert list(sheet.iter_rows(min_row=5, max_row=5)) == [rows[4]]


def test_a_shared_formula_never_computed_reads_as_each_cells_own_formula(tmp_path):
    """Excel writes a column of like formulas once (the first cell) and shares it: every cell of
    the column must read as its own formula, not as the first cell's or as empty."""
    path = tmp_path / "shared.xlsx"
    wb = OpenpyxlWorkbook()
    ws = wb.active
    ws.append(["Case Ref", "Visits", "Doubled"])
    for n in (2, 3, 4):
        ws.append([f"EH{n}", n, f"=B{n}*2"])
    wb.save(path)

    def share(xml: str) -> str:
        xml = xml.replace("<f>B2*2</f>", '<f t="shared" ref="C2:C4" si="0">B2*2</f>')
        return re.sub(r"<f>B[34]\*2</f>", '<f t="shared" si="0"/>', xml)

    _rewrite_sheet(path, share)
    rows = list(open_workbook(path).worksheets[0].iter_rows())
    assert [r[2] for r in rows[1:]] == ["=B2*2", "=B3*2", "=B4*2"]
    assert rows == _reference(path, data_only=False)

    # the first cell computed, the others not: the value where there is one, each formula elsewhere
    _rewrite_sheet(path, lambda xml: re.sub(r'(<f t="shared" ref="C2:C4" si="0">B2\*2</f>)(<v\s*/>|<v></v>)?',
                                            r"\1<v>4</v>", xml, count=1))
    assert load_workbook(path, data_only=True).active["C2"].value == 4
    rows = list(open_workbook(path).worksheets[0].iter_rows())
    assert [r[2] for r in rows[1:]] == [4, "=B3*2", "=B4*2"]


def test_a_file_that_is_not_a_workbook_is_rejected_as_unreadable(tmp_path):
    path = tmp_path / "not.xlsx"
    path.write_text("this is not a zip")
    with pytest.raises(FileRejected) as raised:
        open_workbook(path)
    assert raised.value.reason == "unreadable"
