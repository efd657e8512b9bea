"""A step's dbt commands share one dbt process (casehistory/dbt_command.py): each still gets its
own log and exit code, one that fails does not stop the next, and a process that dies leaves the
commands it did not finish failed, with the reason in the log of the one it died in; and a new
store's first command starts from the project as another store's build parsed it."""

from __future__ import annotations

import subprocess

from casehistory import dbt_command
from casehistory.dbt_command import UNHANDLED, DbtCall, run_dbt_calls
from casehistory.settings import Settings


def _settings(tmp_path) -> Settings:
    return Settings(extracts=tmp_path / "drop", warehouse=tmp_path / "out" / "warehouse.duckdb")


def test_commands_in_one_process_each_get_their_own_log_and_exit_code(tmp_path):
    failing = DbtCall(["no-such-command"], target=tmp_path / "first", log_file=tmp_path / "logs" / "first.log")
    parsing = DbtCall(["parse"], target=tmp_path / "second", log_file=tmp_path / "logs" / "second.log")
    assert run_dbt_calls(_settings(tmp_path), [failing, parsing]) == [UNHANDLED, 0]
    assert "no-such-command" in failing.log_file.read_text()
    assert (parsing.target / "manifest.json").exists()  # it ran, after the one that failed
    assert "no-such-command" not in parsing.log_file.read_text()


def test_a_process_that_dies_fails_the_commands_it_did_not_finish(tmp_path, monkeypatch):
    calls = [DbtCall(["build"], target=tmp_path / n, log_file=tmp_path / f"{n}.log") for n in ("build", "freshness")]
    died = subprocess.CompletedProcess([], -9, stdout='{"exit_code": 1}\n', stderr="")  # killed in the second
    monkeypatch.setattr(dbt_command.subprocess, "run", lambda *a, **k: died)
    assert run_dbt_calls(_settings(tmp_path), calls) == [1, UNHANDLED]
    assert calls[0].log_file.read_text() == ""
    assert "dbt's process ended with exit code -9" in calls[1].log_file.read_text()


def test_a_new_store_starts_from_the_parse_another_store_left(tmp_path, monkeypatch):
    monkeypatch.setattr(dbt_command, "SHARED_PARSE", tmp_path / "shared" / "partial_parse.msgpack")
    first, second = (_settings(tmp_path / store) for store in ("first", "second"))
    logs = []
    for settings in (first, second):
        call = DbtCall(["parse"], target=dbt_command.build_target(settings), log_file=settings.reports_dir / "parse.log")
        assert run_dbt_calls(settings, [call]) == [0]
        logs.append(call.log_file.read_text())
    assert "Starting full parse" in logs[0]  # nothing to start from
    assert dbt_command.SHARED_PARSE.exists()
    # the second store's connection looks the same to dbt (paths relative to where it runs): no reparse
    assert "Unable to do partial parsing" not in logs[1] and "full parse" not in logs[1], logs[1][-1500:]
