"""The workbook reader reads each sheet's values by python-calamine, or by openpyxl's cell parser
where the sheet has a formula never computed; openpyxl's full (not read-only) loader is the
reference for what each cell holds."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook as OpenpyxlWorkbook
from openpyxl import load_workbook

from ingest.readers.base import FileRejected
from ingest.readers import tabular
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


def test_cells_that_start_below_and_right_of_a1_keep_the_row_and_column_the_agency_sees(tmp_path):
    path = tmp_path / "offset.xlsx"
    wb = OpenpyxlWorkbook()
    ws = wb.active
    ws["C3"], ws["D3"] = "Case Ref", "Opened"
    ws["C4"], ws["D4"] = "EH1", datetime(2024, 3, 1, 9, 30)
    wb.save(path)

    rows = list(open_workbook(path).worksheets[0].iter_rows())
    assert rows == [(), (), (None, None, "Case Ref", "Opened"), (None, None, "EH1", datetime(2024, 3, 1, 9, 30))]
    assert rows == _reference(path, data_only=True)


def test_formulas_excel_computed_read_as_their_values(tmp_path):
    """A workbook saved by Excel: every formula has its value, which is what the agency saw."""
    path = tmp_path / "computed.xlsx"
    wb = OpenpyxlWorkbook()
    ws = wb.active
    ws.append(["Case Ref", "Visits", "Doubled", "Label"])
    ws.append(["EH2", 2, "=B2*2", '="EH"&B2'])
    wb.save(path)
    _rewrite_sheet(path, lambda xml: xml.replace("<f>B2*2</f><v />", "<f>B2*2</f><v>4</v>")
                   .replace('<c r="D2"><f>"EH"&amp;B2</f><v />', '<c r="D2" t="str"><f>"EH"&amp;B2</f><v>EH2</v>'))
    rows = list(open_workbook(path).worksheets[0].iter_rows())
    assert rows == [("Case Ref", "Visits", "Doubled", "Label"), ("EH2", 2, 4, "EH2")]
    assert rows == _reference(path, data_only=True)


def _scan(xml: bytes, chunk: int, monkeypatch) -> bool:
    monkeypatch.setattr(tabular, "SCAN_CHUNK", chunk)
    monkeypatch.setattr(tabular, "_OVERLAP", 48)  # longer than any tag here, shorter than the cells between
    return tabular.calamine_misreads(io.BytesIO(xml))


@pytest.mark.parametrize("chunk", [7, 16, 1 << 20])  # cells cut at every place by small chunks
def test_the_scan_finds_a_formula_cell_without_a_value_wherever_the_chunks_cut_it(chunk, monkeypatch):
    computed = b'<sheetData><row r="2"><c r="A2"><v>1</v></c><c r="C2"><f>B2*2</f><v>4</v></c></row>'
    uncomputed = b'<row r="3"><c r="C3"><f t="shared" si="0"/><v></v></c><c r="D3" t="s"><v>0</v></c></row>'
    prefixed = b'<x:row r="4"><x:c r="C4"><x:f>B4*2</x:f></x:c></x:row>'
    other_cells = b'<c r="D2" t="s"><v>0</v></c>' * 20
    end = b"</sheetData>"
    assert _scan(computed + end, chunk, monkeypatch) is False
    # a shared formula's cell without its text, in a chunk after the one with its first cell
    assert _scan(computed + other_cells + uncomputed + end, chunk, monkeypatch) is True
    assert _scan(computed + b'<c r="E2"><f>1</f><v/></c>' + end, chunk, monkeypatch) is True
    assert _scan(computed.replace(b"<sheetData>", b"<x:sheetData>") + prefixed + b"</x:sheetData>", chunk,
                 monkeypatch) is True
    # a data validation's list (<xm:f>, after the cells) is not a cell
    validation = b"<extLst><x14:dataValidation><x14:formula1><xm:f>Lists!$A$1:$A$5</xm:f></x14:formula1>"
    assert _scan(computed + end + validation, chunk, monkeypatch) is False
    # a formula cell the data leaves unfinished: openpyxl's parser reads the sheet and says what is wrong
    assert _scan(computed + b'<c r="E2"><f>1</f><v>1', chunk, monkeypatch) is True


@pytest.mark.parametrize("chunk", [7, 1 << 20])
def test_the_scan_finds_an_error_value_and_an_integer_calamine_would_round(chunk, monkeypatch):
    cells = b'<sheetData><row r="2"><c r="A2" t="n"><v>123456789012345</v></c><c r="B2" s="1"><v>45000.5</v></c>'
    assert _scan(cells + b"</sheetData>", chunk, monkeypatch) is False  # 15 digits: a float holds them exactly
    assert _scan(cells + b'<c r="C2" t="e"><v>#N/A</v></c></sheetData>', chunk, monkeypatch) is True
    assert _scan(cells + b'<c r="C2"><v>12345678901234567890</v></c></sheetData>', chunk, monkeypatch) is True


def test_an_error_value_and_a_long_integer_read_as_openpyxl_reads_them(tmp_path):
    path = tmp_path / "errors.xlsx"
    wb = OpenpyxlWorkbook()
    wb.active.append(["Case Ref", "Lookup", "Reference"])
    wb.active.append(["EH1", 1, 2])
    wb.save(path)
    _rewrite_sheet(path, lambda xml: xml.replace('<c r="B2" t="n"><v>1</v>', '<c r="B2" t="e"><v>#N/A</v>')
                   .replace("<v>2</v>", "<v>12345678901234567890</v>"))
    rows = list(open_workbook(path).worksheets[0].iter_rows())
    assert rows[1] == ("EH1", "#N/A", 12345678901234567890)
    assert rows == _reference(path, data_only=True)
