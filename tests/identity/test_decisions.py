"""`casehistory identity decide` checks what it is told; a decision can be withdrawn; `identity
decisions` shows who decided what; a decision that can no longer be obeyed is said to be so."""

from __future__ import annotations

import duckdb
import pytest
from typer.testing import CliRunner

from casehistory.cli import app
from casehistory.identity.decisions import DECISIONS_FILE, DecisionsError, read_decisions, read_history
from casehistory.identity.resolve import resolve
from casehistory.settings import Settings
from ingest import ledger
from tests.identity.test_linking_policy import KEY, _load, _row, person_of, scores

runner = CliRunner()


@pytest.fixture
def linked(tmp_path) -> Settings:
    """A store whose identity holds gp:G1 and police:X1, which the model is unsure of (0.9)."""
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    settings.ensure_dirs()
    con = duckdb.connect(str(settings.store))
    ledger.ensure_schema(con)
    _load(con, tmp_path / "in", [_row("gp", "G1"), _row("police", "X1", fn="aimee", sn="leigh")], "a.csv")
    resolve(con, "r1", KEY, settings=settings, scorer=_unsure(con))
    con.close()
    return settings


def _unsure(con):
    return scores(con, {("gp:G1", "police:X1"): 0.9})


def _run(settings: Settings, run_id: str, scored: bool = True):
    con = duckdb.connect(str(settings.store))
    try:
        result = resolve(con, run_id, KEY, settings=settings, scorer=_unsure(con) if scored else scores(con, {}),
                         decisions=read_decisions(settings.restricted_dir / DECISIONS_FILE))
        queue = con.execute("select subject_a, subject_b from identity.review_queue").fetchall()
        return result, person_of(con), queue
    finally:
        con.close()


def _decide(settings: Settings, *args: str):
    result = runner.invoke(app, ["identity", "decide", *args, "--warehouse", str(settings.warehouse)])
    return result.exit_code, " ".join(result.output.split())


@pytest.mark.parametrize("args, said", [
    (["gp:G1", "police:NOPE", "--same", "--by", "A. Analyst"], "police:NOPE is not a subject in"),
    (["nonsense", "gp:G1", "--same", "--by", "A. Analyst"], "'nonsense' is not a subject key"),
    (["gp:G1", ":X1", "--different", "--by", "A. Analyst"], "':X1' is not a subject key"),
    (["gp:G1", "gp:G1", "--different", "--by", "A. Analyst"], "a decision needs two different subjects"),
    (["gp:G1", "police:X1", "--same", "--by", "  "], "decided_by is empty: say who decided"),
    (["gp:G1", "police:X1", "--same", "--withdraw", "--by", "A. Analyst"], "say one of --same, --different or --withdraw"),
    (["gp:G1", "police:X1", "--withdraw", "--by", "A. Analyst"], "no standing decision on gp:G1 and police:X1 to withdraw"),
])
def test_decide_refuses_what_cannot_be_a_decision_and_records_nothing(linked, args, said):
    code, output = _decide(linked, *args)
    assert code == 2
    assert said in output
    assert not (linked.restricted_dir / DECISIONS_FILE).exists()


def test_a_withdrawn_decision_leaves_the_pair_to_the_evidence_and_the_history_keeps_both(linked):
    assert _decide(linked, "gp:G1", "police:X1", "--same", "--by", "A. Analyst", "--note", "same school")[0] == 0
    _, people, queue = _run(linked, "r2")
    assert people["gp:G1"] == people["police:X1"] and queue == []
    code, output = _decide(linked, "police:X1", "gp:G1", "--withdraw", "--by", "B. Lead", "--note", "DOB not checked")
    assert code == 0 and "no standing decision: the evidence decides again" in output
    _, people, queue = _run(linked, "r3")
    assert people["gp:G1"] != people["police:X1"]  # 0.9 is below the link threshold
    assert queue == [("gp:G1", "police:X1")]  # offered to a person again
    history = read_history(linked.restricted_dir / DECISIONS_FILE)
    assert [(e.line, e.decision.decision, e.decision.decided_by, e.status) for e in history] == [
        (2, "same", "A. Analyst", "superseded"), (3, "withdrawn", "B. Lead", "withdrawn")]
    shown = runner.invoke(app, ["identity", "decisions", "--warehouse", str(linked.warehouse)])
    assert shown.exit_code == 0, shown.output
    lines = [" ".join(line.split()) for line in shown.output.splitlines()]
    assert lines[0].endswith("A. Analyst same gp:G1 police:X1 [superseded] same school")
    assert lines[1].endswith("B. Lead withdrawn police:X1 gp:G1 [withdrawn] DOB not checked")
    assert lines[2].startswith("2 decision(s) in ")


def test_a_decision_naming_a_subject_gone_from_the_ledger_is_reported_not_quietly_skipped(linked):
    assert _decide(linked, "gp:G1", "police:X1", "--different", "--by", "A. Analyst")[0] == 0
    con = duckdb.connect(str(linked.store))
    for table in ("person_records", "event_records"):  # an erasure done by hand
        con.execute(f"delete from ledger.{table} where subject_ref = 'X1'")
    con.close()
    result, people, _ = _run(linked, "r2", scored=False)
    assert "police:X1" not in people
    assert result.decisions_not_applied == 1
    con = duckdb.connect(str(linked.store), read_only=True)
    assert con.execute("select subject_b, applied from identity.decisions").fetchall() == [("police:X1", False)]
    con.close()
    shown = runner.invoke(app, ["identity", "decisions", "--warehouse", str(linked.warehouse)])
    assert "[standing, not applied: police:X1 not in the store]" in " ".join(shown.output.split())


@pytest.mark.parametrize("row, problem", [
    ("nonsense,gp:G1,same,A,2026-01-01T10:00:00,", "line 3: 'nonsense' is not a subject key"),
    ("gp:G1,gp:G1,same,A,2026-01-01T10:00:00,", "line 3: a decision needs two different subjects"),
    ("gp:G1,police:X1,maybe,A,2026-01-01T10:00:00,", "line 3: decision must be one of"),
    ("gp:G1,police:X1,same, ,2026-01-01T10:00:00,", "line 3: decided_by is empty"),
    ("gp:G1,police:X1,same,A", "line 3: expected 6 fields"),
])
def test_a_hand_edited_decisions_file_that_breaks_the_rules_stops_with_file_line_and_problem(tmp_path, row, problem):
    path = tmp_path / DECISIONS_FILE
    path.write_text("subject_a,subject_b,decision,decided_by,decided_at,note\n"
                    "gp:G1,hosp:H1,different,A,2026-01-01T09:00:00,checked\n" + row + "\n")
    with pytest.raises(DecisionsError) as raised:
        read_decisions(path)
    assert str(raised.value).startswith(f"{path}: {problem}")
