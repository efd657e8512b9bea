"""Registry keys the national formats needed: value conditions in `when`, a field `pattern`, and a
table's `date_of_birth`. Each is validated with a clear message and does what the README says."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from ingest.mapping import Mapper
from ingest.readers.base import RawRow
from ingest.registry import RegistryError, load_source

BASE = """
source: test_source
description: a test
agency: csc
format: csv
files: ["test_*.csv"]
events:
  - when: {when}
    record_id: {{template: "{{ID}}/start"}}
    subject_ref: Child
    event_type: {{const: lac_start}}
    event_date: Date
    outcome: {{column: LS, pattern: '^(\\w+)\\s*:'}}
  - record_id: {{template: "{{ID}}/other"}}
    subject_ref: Child
    event_type: {{const: lac_episode_change}}
    event_date: Date
    when: {{column: RNE, not_in: [S]}}
"""


def _spec(tmp_path: Path, when: str, extra: str = ""):
    path = tmp_path / "test_source.yml"
    path.write_text(BASE.format(when=when) + extra)
    return load_source(path)


def _map(spec, **values):
    row = {"ID": "E1", "Child": "C1", "Date": "01/02/2024", "RNE": None, "LS": "V2", "DEC": None, **values}
    table = spec.table_specs[""]
    return Mapper(spec, table, list(row), date(2026, 1, 15)).map(RawRow(1, "line 2", row))


@pytest.mark.parametrize("rne, types", [
    ("S", ["lac_start"]),
    ("s", ["lac_start"]),           # codes and conditions ignore case
    ("P", ["lac_episode_change"]),
    (None, ["lac_episode_change"]),  # not_in holds for an empty value
])
def test_a_value_condition_chooses_the_event_a_row_gives(tmp_path, rne, types):
    spec = _spec(tmp_path, "{column: RNE, in: [S]}")
    assert [e["event_type"] for e in _map(spec, RNE=rne).events] == types


def test_conditions_combine_with_plain_column_names(tmp_path):
    spec = _spec(tmp_path, "[DEC, {column: RNE, in: [S, B]}]")
    assert [e["event_type"] for e in _map(spec, RNE="S").events] == []  # DEC is empty
    assert [e["event_type"] for e in _map(spec, RNE="S", DEC="x").events] == ["lac_start"]
    assert [e["event_type"] for e in _map(spec, RNE="P", DEC="x").events] == ["lac_episode_change"]


def test_a_plain_column_name_still_means_non_empty(tmp_path):
    spec = _spec(tmp_path, "DEC")
    assert [e["event_type"] for e in _map(spec, RNE="S").events] == []
    assert [e["event_type"] for e in _map(spec, RNE="S", DEC="01/03/2024").events] == ["lac_start"]


def test_a_whole_number_exported_as_a_decimal_matches(tmp_path):
    spec = _spec(tmp_path, "{column: ID, in: [1]}")  # YAML reads 1 as a number: compared as text "1"
    assert [e["event_type"] for e in _map(spec, RNE="S", ID="1.0").events] == ["lac_start"]
    assert [e["event_type"] for e in _map(spec, RNE="S", ID="10").events] == []


def test_a_condition_column_must_be_in_the_file(tmp_path):
    spec = _spec(tmp_path, "{column: MISSING_COL, in: [S]}")
    with pytest.raises(Exception) as err:
        _map(spec, RNE="S")
    assert getattr(err.value, "reason", None) == "wrong_columns" and "MISSING_COL" in err.value.detail


@pytest.mark.parametrize("when, problem", [
    ("{column: RNE, in: [S], not_in: [P]}", "give exactly one of 'in' or 'not_in'"),
    ("{column: RNE}", "give exactly one of 'in' or 'not_in'"),
    ("{column: RNE, within: [S]}", "unknown key"),
    ("{column: RNE, in: []}", "at least 1 item"),
    ("{column: RNE, in: [yes]}", "read by YAML as a boolean: put the value in quotes"),
])
def test_a_mistake_in_a_condition_is_reported_with_file_key_and_problem(tmp_path, when, problem):
    with pytest.raises(RegistryError) as err:
        _spec(tmp_path, when)
    message = str(err.value)
    assert "test_source.yml" in message and "events.0.when" in message and problem in message


def test_a_pattern_keeps_the_code_in_front_of_a_label(tmp_path):
    spec = _spec(tmp_path, "{column: RNE, in: [S]}")
    assert _map(spec, RNE="S", LS="C2: Full care order").events[0]["outcome"] == "C2"
    assert _map(spec, RNE="S", LS="V2").events[0]["outcome"] == "V2"  # no match: the value is kept whole
    assert _map(spec, RNE="S", LS="Care order").problems[0].reason == "unknown_code"


@pytest.mark.parametrize("pattern, problem", [
    ("'^(\\w+'", "is not a valid regular expression"),
    ("'^(\\w+):(.*)'", "has 2 groups; give at most one"),
])
def test_a_bad_pattern_is_reported(tmp_path, pattern, problem):
    path = tmp_path / "test_source.yml"
    path.write_text(BASE.format(when="DEC").replace("pattern: '^(\\w+)\\s*:'", f"pattern: {pattern}"))
    with pytest.raises(RegistryError, match="events.0.outcome") as err:
        load_source(path)
    assert problem in str(err.value)


def test_a_table_date_of_birth_checks_events_without_mapping_a_person(tmp_path):
    spec = _spec(tmp_path, "{column: RNE, in: [S]}", "date_of_birth: DOB\n")
    before = _map(spec, RNE="S", DOB="01/05/2024")
    assert [p.reason for p in before.problems] == ["date_before_birth"] and before.person is None
    assert not _map(spec, RNE="S", DOB="01/05/2020").problems


def test_a_table_date_of_birth_is_refused_beside_a_person(tmp_path):
    extra = "person: {subject_ref: Child, date_of_birth: DOB}\ndate_of_birth: DOB\n"
    with pytest.raises(RegistryError, match="give the date of birth under person"):
        _spec(tmp_path, "DEC", extra)


def test_a_date_in_a_record_id_reads_the_same_from_a_cell_or_text(tmp_path):
    spec = _spec(tmp_path, "{column: RNE, in: [S]}")
    spec = spec.model_copy(update={"events": [spec.events[0].model_copy(
        update={"record_id": spec.events[0].record_id.model_copy(update={"template": "{Child}/{Date}"})})]})
    table = spec.table_specs[""]
    row = {"ID": "E1", "Child": "C1", "Date": datetime(2024, 2, 1), "RNE": "S", "LS": "V2", "DEC": None}
    mapped = Mapper(spec, table, list(row), date(2026, 1, 15)).map(RawRow(1, "A!2", row))
    assert mapped.events[0]["record_id"] == "C1/2024-02-01"
