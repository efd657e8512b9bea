"""JSON extracts are read as streams (ingest/readers/json_stream.py): the rows and columns are those
of the document parsed whole, whatever the read buffer's size, and a document broken anywhere is
rejected before any row is handed on."""

from __future__ import annotations

import json

import pytest

from ingest.readers import FileRejected, json_stream
from ingest.readers.base import BadRow, flatten

DOC = {
    "extract": {"system": "community health", "generated": "2025-03-31T02:00:00"},
    "contacts": [
        {"contact_id": "C1", "patient": {"id": "HV1", "birth_date": "2017-02-24"}, "score": 1234567.25},
        {"contact_id": "C2", "patient": {"id": "HV2", "given_name": "Chloé \"Clo\" [x]"}, "notes": None},
        "not an object",
        {"contact_id": "C4", "extra": {"nested": {"deep": [1, 2, {"a": "}"}]}}},
    ],
    "footer": {"count": 4, "notes": ["after", "the", "list"]},
}


def _rows(table):
    return [(r.row_number, r.locator, r.reason) if isinstance(r, BadRow) else (r.row_number, r.locator, r.values)
            for r in table.rows]


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 22])
def test_rows_and_columns_are_those_of_the_whole_document_whatever_the_buffer(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(json_stream, "CHUNK_CHARS", chunk)
    path = tmp_path / "hv.json"
    path.write_text(json.dumps(DOC, indent=1, ensure_ascii=False), encoding="utf-8")
    table = json_stream.read_json(path, "utf-8-sig", "contacts")
    objects = [c for c in DOC["contacts"] if isinstance(c, dict)]
    assert table.columns == list(dict.fromkeys(k for c in objects for k in flatten(c)))
    assert _rows(table) == [(1, "$.contacts[0]", flatten(DOC["contacts"][0])),
                            (2, "$.contacts[1]", flatten(DOC["contacts"][1])),
                            (3, "$.contacts[2]", "unreadable_row"),
                            (4, "$.contacts[3]", flatten(DOC["contacts"][3]))]


@pytest.mark.parametrize("text, reason, says", [
    (json.dumps(DOC)[:-1], "unreadable", "not valid JSON"),                      # cut off after the list
    (json.dumps(DOC) + " {}", "unreadable", "Extra data"),                       # something after the document
    (json.dumps(DOC).replace('"C4"', "C4"), "unreadable", "not valid JSON"),     # the last record broken
    (json.dumps({"extract": {}}), "wrong_structure", "no key 'contacts' under $"),
    (json.dumps({"contacts": {"C1": {}}}), "wrong_structure", "$.contacts is not a list of records"),
    (json.dumps({"contacts": []}), "empty", "$.contacts holds no records"),
])
def test_a_broken_document_is_rejected_before_any_row_is_handed_on(tmp_path, monkeypatch, text, reason, says):
    monkeypatch.setattr(json_stream, "CHUNK_CHARS", 16)
    path = tmp_path / "hv.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FileRejected) as caught:
        json_stream.read_json(path, "utf-8-sig", "contacts")
    assert caught.value.reason == reason and says in caught.value.detail


def test_json_lines_are_streamed_with_bad_lines_kept_as_bad_rows(tmp_path):
    path = tmp_path / "ppn.jsonl"
    path.write_text('{"a": 1}\n\n{"b": {"c": 2}}\n{broken\n[1]\n', encoding="utf-8")
    table = json_stream.read_jsonl(path, "utf-8-sig")
    assert table.columns == [*flatten({"a": 1}), *flatten({"b": {"c": 2}})]
    assert _rows(table) == [(1, "line 1", flatten({"a": 1})), (2, "line 3", flatten({"b": {"c": 2}})),
                            (3, "line 4", "unreadable_row"), (4, "line 5", "unreadable_row")]
