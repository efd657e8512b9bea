"""A person works the review queue from the command line, and the next run obeys them."""

from __future__ import annotations

import duckdb
from typer.testing import CliRunner

from casehistory.cli import app
from casehistory.identity.decisions import DECISIONS_FILE, read_decisions
from casehistory.identity.model import ScoredPair, replace_pair_scores
from casehistory.identity.resolve import resolve
from casehistory.settings import Settings
from ingest import ledger
from tests.identity.test_linking_policy import KEY, _load, _row


def test_review_shows_the_pair_and_decide_records_who_said_what(tmp_path):
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    settings.ensure_dirs()
    con = duckdb.connect(str(settings.store))
    ledger.ensure_schema(con)
    _load(con, tmp_path / "in", [_row("gp", "G1"), _row("police", "X1", fn="aimee", sn="leigh")], "a.csv")

    def unsure(con_, settings_, cfg_, **_):
        keys = dict(con_.execute("select subject_key, record_key from identity.subject_records").fetchall())
        return replace_pair_scores(con_, [ScoredPair(keys["gp:G1"], keys["police:X1"], 0.9, False)], "stand-in")

    resolve(con, "r1", KEY, settings=settings, scorer=unsure)
    con.close()
    runner = CliRunner()
    shown = runner.invoke(app, ["identity", "review", "--warehouse", str(settings.warehouse)])
    assert shown.exit_code == 0, shown.output
    assert "gp:G1" in shown.output and "police:X1" in shown.output and "0.9000" in shown.output
    assert "aimee" in shown.output  # side by side, so a person can judge

    refused = runner.invoke(app, ["identity", "decide", "gp:G1", "police:X1", "--by", "A. Analyst",
                                  "--warehouse", str(settings.warehouse)])
    assert refused.exit_code == 2  # neither --same nor --different
    decided = runner.invoke(app, ["identity", "decide", "gp:G1", "police:X1", "--same", "--by", "A. Analyst",
                                  "--note", "same school, checked", "--warehouse", str(settings.warehouse)])
    assert decided.exit_code == 0, decided.output
    [decision] = read_decisions(settings.restricted_dir / DECISIONS_FILE)
    assert (decision.decision, decision.decided_by, decision.note) == ("same", "A. Analyst", "same school, checked")

    con = duckdb.connect(str(settings.store))
    resolve(con, "r2", KEY, settings=settings, decisions=[decision], scorer=unsure)
    people = dict(con.execute("select subject_key, person_id from identity.subject_person").fetchall())
    assert people["gp:G1"] == people["police:X1"]
    assert con.execute("select count(*) from identity.review_queue").fetchone()[0] == 0
