"""A data team onboards an agency by writing YAML: mistakes are reported with file, key and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from casehistory.settings import SOURCES_DIR
from ingest.registry import RegistryError, load_registry, load_source

GOOD = """
source: test_source
description: a test
agency: csc
format: csv
files: ["test_*.csv"]
events:
  - record_id: ID
    subject_ref: Child
    event_type: {const: referral}
    event_date: Date
"""


def _write(tmp_path: Path, text: str, name: str = "test_source.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_shipped_registry_is_valid():
    registry = load_registry(SOURCES_DIR)
    assert {"csc_activity", "eh_activity", "hv_contacts", "police_ppn", "school_welfare",
            "chronology_template"} <= set(registry.sources)


def test_a_valid_source_loads(tmp_path):
    assert load_source(_write(tmp_path, GOOD)).source == "test_source"


@pytest.mark.parametrize("change, key, problem", [
    (("agency: csc", "agency: fiss"), "agency", "'fiss' is not in casehistory/reference/agencies.yml"),
    (("format: csv", "format: docx"), "format", "Input should be"),
    (("event_type: {const: referral}", "event_type: {const: refferal}"), "", "'refferal' is not in the event vocabulary"),
    (("files: [\"test_*.csv\"]", "files: []"), "files", "at least 1 item"),
    (("    event_date: Date", "    event_date: Date\n    event_dte: Date"), "events.0.event_dte", "unknown key"),
    (("    subject_ref: Child\n", ""), "events.0.subject_ref", "required key is missing"),
    (("event_type: {const: referral}", "event_type: {const: referral, column: Type}"), "events.0.event_type",
     "exactly one of column, const or template"),
    (("source: test_source", "source: Test Source"), "source", "String should match pattern"),
])
def test_a_mistake_is_reported_with_file_key_and_problem(tmp_path, change, key, problem):
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(RegistryError) as err:
        load_source(path)
    message = str(err.value)
    assert str(path) in message
    assert f": {key}:" in message if key else True
    assert problem in message


def test_outcome_codes_are_checked_against_the_event_type(tmp_path):
    text = GOOD.replace("    event_date: Date", "    event_date: Date\n    outcome: {column: O, codes: {X: held}}")
    with pytest.raises(RegistryError, match="'held' is not an outcome of referral"):
        load_source(_write(tmp_path, text))


def test_every_problem_in_a_folder_is_reported_at_once(tmp_path):
    _write(tmp_path, GOOD.replace("agency: csc", "agency: fiss"), "a.yml")
    _write(tmp_path, "source: [unclosed", "b.yml")
    _write(tmp_path, GOOD, "c.yml")
    _write(tmp_path, GOOD, "d.yml")
    with pytest.raises(RegistryError) as err:
        load_registry(tmp_path)
    message = str(err.value)
    assert "a.yml" in message and "b.yml" in message and "not valid YAML" in message
    assert "already declared in" in message  # c and d both declare test_source
