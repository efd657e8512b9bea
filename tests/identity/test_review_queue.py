"""The review queue offers only pairs a person may join, and says why each is there and which fields
agree and disagree (casehistory/identity/review_queue.py)."""

from __future__ import annotations

import duckdb
from typer.testing import CliRunner

from casehistory.cli import app
from casehistory.identity.decisions import record_decision, read_decisions
from casehistory.identity.resolve import resolve
from ingest import ledger
from tests.identity.test_linking_policy import KEY, _load, _row, person_of, scores, settings, store  # noqa: F401


def _queue(con) -> dict[tuple[str, str], tuple]:
    return {(a, b): tuple(rest) for a, b, *rest in con.execute(
        "select subject_a, subject_b, probability, reason, agree, disagree from identity.review_queue").fetchall()}


def _kept_apart(con) -> set[tuple]:
    return set(con.execute("select subject_a, subject_b, probability, reason from identity.kept_apart").fetchall())


def test_twins_with_different_nhs_numbers_or_upns_are_never_offered_as_a_link(store, settings, tmp_path):
    # the case: the model scores twins near 1 (all but the forename agrees); their NHS
    # numbers (or UPNs) already say they are two children
    _load(store, tmp_path / "in", [
        _row("gp", "G1", nhs="9434765919", fn="evelyn", sn="knight"), _row("hosp", "H1", nhs="4010232137", fn="aisha", sn="knight"),
        _row("school", "S1", upn="D936200022115", fn="ruby", sn="liu"), _row("ews", "E1", upn="T936200022116", fn="ruby", sn="lu"),
    ], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=scores(store, {
        ("gp:G1", "hosp:H1"): 0.9993, ("ews:E1", "school:S1"): 0.997}, forenames_differ={("gp:G1", "hosp:H1")}))
    assert _queue(store) == {}
    assert _kept_apart(store) == {("gp:G1", "hosp:H1", 0.9993, "kept apart: different NHS numbers"),
                                  ("ews:E1", "school:S1", 0.997, "kept apart: different UPNs")}


def test_a_pair_between_the_thresholds_shows_why_it_is_queued_and_what_agrees(store, settings, tmp_path):
    _load(store, tmp_path / "in", [
        _row("gp", "G1", nhs="9434765919", fn="Amy", sn="Lee", dob="2018-02-01", sex="F", pc="IP1 2AB"),
        _row("police", "X1", fn="Aimee", sn="Leigh", dob="2018-01-02", sex="F", pc="IP1 2AB", fam="HH12"),
    ], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=scores(store, {("gp:G1", "police:X1"): 0.91}))
    assert _queue(store) == {("gp:G1", "police:X1"): (
        0.91, "model score between the review and link thresholds",
        ["forename (known variants: amy / aimee)", "sex", "postcode"],
        ["surname", "date of birth (day and month swapped)"])}


def test_a_link_refused_because_one_agency_holds_both_records_is_queued_saying_so(store, settings, tmp_path):
    _load(store, tmp_path / "in", [
        _row("csc", "C1", fn="Ruby", sn="Liu", sex="F"), _row("csc", "C2", fn="Reuben", sn="Liu", sex="M", pc="IP9 9ZZ"),
    ], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=scores(store, {("csc:C1", "csc:C2"): 0.9999}))
    assert person_of(store)["csc:C1"] != person_of(store)["csc:C2"]
    [(probability, reason, agree, disagree)] = _queue(store).values()
    assert probability == 0.9999
    assert reason.startswith("a link was refused: one agency holds both records")
    assert (agree, disagree) == (["surname", "date of birth"], ["forename", "sex", "postcode"])


def test_a_persons_different_for_one_of_a_group_keeps_the_whole_group_out_of_the_queue(store, settings, tmp_path):
    _load(store, tmp_path / "in", [
        _row("gp", "G1", nhs="9434765919"), _row("hosp", "H1", nhs="9434765919", fn="amelia"),
        _row("police", "X1", fn="amie", sn="leigh"),
    ], "a.csv")
    decisions_file = settings.restricted_dir / "identity_decisions.csv"
    record_decision(decisions_file, "gp:G1", "police:X1", "different", "J. Reviewer", "police checked")
    resolve(store, "r1", KEY, settings=settings, decisions=read_decisions(decisions_file),
            scorer=scores(store, {("hosp:H1", "police:X1"): 0.93}))
    assert _queue(store) == {}  # hosp:H1 is G1's person, and G1 is not X1's
    assert _kept_apart(store) == {("hosp:H1", "police:X1", 0.93, "kept apart: a person decided they are different")}


def test_identity_review_prints_the_reason_the_fields_and_what_is_kept_apart(settings, tmp_path):
    store = duckdb.connect(str(settings.store))
    ledger.ensure_schema(store)
    _load(store, tmp_path / "in", [
        _row("gp", "G1", fn="Amy", sn="Lee", pc="IP1 2AB"), _row("police", "X1", fn="Aimee", sn="Lee", pc="IP9 9ZZ"),
        _row("hv", "V1", nhs="9434765919", fn="Ben", sn="Ray"), _row("hosp", "Y1", nhs="4010232137", fn="Ben", sn="Ray"),
    ], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=scores(store, {("gp:G1", "police:X1"): 0.9,
                                                                       ("hosp:Y1", "hv:V1"): 0.99}))
    store.close()
    shown = CliRunner().invoke(app, ["identity", "review", "--warehouse", str(settings.warehouse)])
    assert shown.exit_code == 0, shown.output
    out = " ".join(shown.output.split())
    assert "gp:G1 vs police:X1 model probability 0.9000" in out
    assert "queued: model score between the review and link thresholds" in out
    assert ("agree: forename (known variants: amy / aimee), surname, date of birth, sex disagree: postcode" in out)
    assert "1 of 1 pairs shown" in out
    assert "Not offered (identity.kept_apart): kept apart: different NHS numbers (1)" in out
    assert "hosp:Y1 vs" not in out
    con = duckdb.connect(str(settings.store), read_only=True)
    assert con.execute("select count(*) from identity.review_queue").fetchone()[0] == 1
