"""What identity does with evidence: identifiers, guard rails, the model's scores, people's decisions.

The model's scores are fed in (a stand-in scorer) so each rule is tested on its own; the model
itself is tested against generated data in test_model.py.
"""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import duckdb
import pytest

from casehistory.identity.decisions import read_decisions, record_decision
from casehistory.identity.model import ScoredPair, replace_pair_scores
from casehistory.identity.resolve import resolve
from casehistory.settings import Settings
from ingest import ledger
from ingest.load import load_source
from tests.ingest.helpers import registry

HEADER = "agency,record_id,subject_ref,nhs_number,upn,forename,surname,date_of_birth,sex,postcode,family_ref,person_role,event_date,event_type"
KEY = b"k" * 32


def _load(con, folder: Path, rows: list[str], name: str, run_date=date(2026, 1, 15)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    result = load_source(con, registry()["chronology_template"], [path], run_id=name, run_date=run_date,
                         archive_dir=folder / "archive")
    assert result.files[0].status == "loaded" and result.files[0].rows_quarantined == 0, result.files[0]


_record_numbers = itertools.count(1)


def _row(agency, ref, nhs="", upn="", fn="amy", sn="lee", dob="2018-02-01", sex="F", pc="IP1 2AB", fam="", role="child"):
    n = next(_record_numbers)  # record ids and dates differ row to row
    return f"{agency},{agency}-{n},{ref},{nhs},{upn},{fn},{sn},{dob},{sex},{pc},{fam},{role},2024-01-0{1 + n % 9},gp_appointment"


@pytest.fixture
def store(tmp_path):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    ledger.ensure_schema(con)
    return con


@pytest.fixture
def settings(tmp_path):
    s = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    s.ensure_dirs()
    return s


def person_of(con) -> dict[str, str]:
    return dict(con.execute("select subject_key, person_id from identity.subject_person").fetchall())


def scores(con, pairs: dict[tuple[str, str], float], forenames_differ: set = frozenset()):
    def scorer(con_, settings_, cfg_, **_):
        keys = dict(con_.execute("select subject_key, record_key from identity.subject_records").fetchall())
        return replace_pair_scores(con_, [ScoredPair(keys[a], keys[b], p, (a, b) in forenames_differ)
                                          for (a, b), p in pairs.items()], "stand-in")
    return scorer


def test_a_shared_valid_nhs_number_links_agencies(store, settings, tmp_path):
    _load(store, tmp_path / "in", [_row("gp", "G1", nhs="9434765919"), _row("hosp", "H1", nhs="9434765919", fn="amelia")], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    p = person_of(store)
    assert p["gp:G1"] == p["hosp:H1"]


def test_two_different_valid_nhs_numbers_are_never_merged_whatever_else_agrees(store, settings, tmp_path):
    _load(store, tmp_path / "in", [_row("gp", "G1", nhs="9434765919"), _row("hosp", "H1", nhs="4010232137")], "a.csv")
    result = resolve(store, "r1", KEY, settings=settings, scorer=scores(store, {("gp:G1", "hosp:H1"): 0.99999}))
    p = person_of(store)
    assert p["gp:G1"] != p["hosp:H1"]  # same name, date of birth, postcode: still two people
    assert result.links_refused.get("different_nhs") >= 1  # exact name and dob, and the model, both refused
    refused = store.execute("select distinct refused_because from identity.links where not applied").fetchall()
    assert refused == [("different_nhs",)]


def test_two_different_valid_upns_are_never_merged(store, settings, tmp_path):
    from casehistory.identifiers import is_valid_upn

    assert is_valid_upn("D936200022115") and is_valid_upn("T936200022116")
    _load(store, tmp_path / "in", [_row("school", "S1", upn="D936200022115"), _row("ews", "E1", upn="T936200022116")], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=scores(store, {("ews:E1", "school:S1"): 0.9999}))
    p = person_of(store)
    assert p["school:S1"] != p["ews:E1"]


def test_dates_of_birth_that_are_no_typo_of_each_other_are_never_merged_even_on_one_nhs_number(store, settings, tmp_path):
    _load(store, tmp_path / "in", [_row("gp", "G1", nhs="9434765919", dob="2018-02-01"),
                                   _row("hosp", "H1", nhs="9434765919", dob="2012-07-19")], "a.csv")
    result = resolve(store, "r1", KEY, settings=settings, scorer=None)
    p = person_of(store)
    assert p["gp:G1"] != p["hosp:H1"]
    assert result.links_refused == {"implausible_dob": 1}


def test_a_transposed_date_of_birth_may_still_link(store, settings, tmp_path):
    _load(store, tmp_path / "in", [_row("gp", "G1", nhs="9434765919", dob="2018-02-01"),
                                   _row("hosp", "H1", nhs="9434765919", dob="2018-01-02")], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    p = person_of(store)
    assert p["gp:G1"] == p["hosp:H1"]


def test_the_model_links_above_the_threshold_and_queues_pairs_between_thresholds(store, settings, tmp_path):
    _load(store, tmp_path / "in", [_row("gp", "G1"), _row("police", "X1", fn="aimee", dob="2018-02-02"),
                                   _row("hosp", "H1", fn="ammy", sn="leigh"),  # a dob no typo of X1's would keep it apart
                                   _row("school", "S1", fn="amy", sn="lea")], "a.csv")
    result = resolve(store, "r1", KEY, settings=settings, scorer=scores(store, {
        ("gp:G1", "police:X1"): 0.9990, ("gp:G1", "hosp:H1"): 0.90, ("gp:G1", "school:S1"): 0.5}))
    p = person_of(store)
    assert p["gp:G1"] == p["police:X1"]
    assert p["gp:G1"] != p["hosp:H1"] and p["gp:G1"] != p["school:S1"]
    queue = store.execute("select subject_a, subject_b, probability from identity.review_queue").fetchall()
    assert queue == [("gp:G1", "hosp:H1", 0.90)]  # 0.5 is below the review threshold
    assert result.review_queue == 1


def test_twins_are_never_linked_by_the_model_alone(store, settings, tmp_path):
    _load(store, tmp_path / "in", [_row("school", "S1", fn="evelyn", sn="knight"),
                                   _row("police", "X1", fn="aisha", sn="knight")], "a.csv")
    resolve(store, "r1", KEY, settings=settings,
            scorer=scores(store, {("police:X1", "school:S1"): 0.9999}, forenames_differ={("police:X1", "school:S1")}))
    p = person_of(store)
    assert p["school:S1"] != p["police:X1"]
    assert store.execute("select count(*) from identity.review_queue").fetchone()[0] == 1  # a person decides


def test_a_persons_decision_overrides_the_model_and_identifiers_and_holds_on_later_runs(store, settings, tmp_path):
    _load(store, tmp_path / "in", [_row("gp", "G1", nhs="9434765919"), _row("hosp", "H1", nhs="9434765919"),
                                   _row("police", "X1", fn="amie", dob="2018-02-02")], "a.csv")
    decisions_file = settings.restricted_dir / "identity_decisions.csv"
    record_decision(decisions_file, "gp:G1", "hosp:H1", "different", "J. Reviewer", "NHS number shared in error")
    record_decision(decisions_file, "gp:G1", "police:X1", "same", "J. Reviewer", "confirmed with police")
    for run in ("r1", "r2"):
        resolve(store, run, KEY, settings=settings, decisions=read_decisions(decisions_file),
                scorer=scores(store, {("gp:G1", "hosp:H1"): 0.9999, ("gp:G1", "police:X1"): 0.2}))
        p = person_of(store)
        assert p["gp:G1"] != p["hosp:H1"]
        assert p["gp:G1"] == p["police:X1"]
    assert store.execute("select count(*) from identity.decisions").fetchone()[0] == 2


def test_the_latest_decision_on_a_pair_stands(tmp_path):
    path = tmp_path / "decisions.csv"
    record_decision(path, "gp:G1", "hosp:H1", "same", "A")
    record_decision(path, "hosp:H1", "gp:G1", "different", "B")
    assert [(d.decision, d.decided_by) for d in read_decisions(path)] == [("different", "B")]


def test_ids_are_stable_across_runs_as_new_records_arrive(store, settings, tmp_path):
    _load(store, tmp_path / "in", [_row("gp", "G1", nhs="9434765919"), _row("gp", "G2", nhs="4010232137", fn="ben", sex="M")],
          "first.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    first = person_of(store)
    keys_first = dict(store.execute("select subject_key, person_key from identity.subject_person").fetchall())
    _load(store, tmp_path / "in", [_row("hosp", "H1", nhs="9434765919", fn="amelia"), _row("hosp", "H2", fn="cara", dob="2015-05-05")],
          "second.csv")
    resolve(store, "r2", KEY, settings=settings, scorer=None)
    second = person_of(store)
    assert {s: second[s] for s in first} == first  # nobody changed id
    assert second["hosp:H1"] == first["gp:G1"]  # a new record joined an existing person
    assert second["hosp:H2"] not in first.values()
    keys_second = dict(store.execute("select subject_key, person_key from identity.subject_person").fetchall())
    assert {s: keys_second[s] for s in keys_first} == keys_first  # the analysts' pseudonyms too
    history = store.execute("select run_id, action from identity.history order by run_id, action").fetchall()
    assert history == [("r1", "created"), ("r1", "created"), ("r2", "created")]


def test_a_link_found_later_merges_two_people_and_the_merge_is_recorded(store, settings, tmp_path):
    _load(store, tmp_path / "in", [_row("gp", "G1", nhs="9434765919", fn="amy"), _row("school", "S1", upn="D936200022115", fn="amelia")],
          "first.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    first = person_of(store)
    assert first["gp:G1"] != first["school:S1"]
    _load(store, tmp_path / "in", [_row("csc", "C1", nhs="9434765919", upn="D936200022115", fn="amy")], "second.csv")
    resolve(store, "r2", KEY, settings=settings, scorer=None)
    second = person_of(store)
    assert second["gp:G1"] == second["school:S1"] == second["csc:C1"]
    merged = store.execute("select person_id, other_person_id from identity.history where action = 'merged'").fetchall()
    assert len(merged) == 1 and {merged[0][0], merged[0][1]} == {first["gp:G1"], first["school:S1"]}
    issued = [r[0] for r in store.execute("select person_id from identity.persons").fetchall()]
    assert len(issued) == len(set(issued))  # never reused


def test_pseudonymous_keys_depend_on_the_secret(store, settings, tmp_path):
    _load(store, tmp_path / "in", [_row("gp", "G1")], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    one = store.execute("select person_id, person_key from identity.subject_person").fetchone()
    resolve(store, "r2", b"another-secret-entirely-0123456789", settings=settings, scorer=None)
    two = store.execute("select person_id, person_key from identity.subject_person").fetchone()
    assert one[0] == two[0] and one[1] != two[1] and one[0] not in one[1]


def test_twins_with_alike_names_each_known_to_one_agency_are_kept_apart(store, settings, tmp_path):
    # Ruby and Reuben: one birthday, one surname, one address, names alike enough to pass as a
    # nickname. The council holds a record for each: it knows they are two children.
    _load(store, tmp_path / "in", [_row("csc", "C1", fn="ruby", sn="liu", upn="D936200022115"),
                                   _row("csc", "C2", fn="reuben", sn="liu", sex="M", nhs="9434765919"),
                                   _row("eh", "E1", fn="ruby", sn="liu", sex="")], "a.csv")
    resolve(store, "r1", KEY, settings=settings,
            scorer=scores(store, {("csc:C2", "eh:E1"): 0.99997, ("csc:C1", "eh:E1"): 0.9999}))
    p = person_of(store)
    assert p["csc:C1"] == p["eh:E1"]
    assert p["csc:C2"] != p["eh:E1"]
    refused = store.execute("select refused_because from identity.links where not applied").fetchall()
    assert refused == [("same_agency_two_records",)]


def test_an_identifier_may_still_merge_an_agencys_duplicate_registration(store, settings, tmp_path):
    _load(store, tmp_path / "in", [_row("gp", "G1", nhs="9434765919"), _row("gp", "G2", nhs="9434765919")], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    p = person_of(store)
    assert p["gp:G1"] == p["gp:G2"]


def test_a_night_when_nothing_clustering_reads_changed_keeps_last_nights_people(store, settings, tmp_path):
    _load(store, tmp_path / "in", [_row("gp", "G1", nhs="9434765919"), _row("hosp", "H1", nhs="9434765919"),
                                   _row("police", "X1", fn="amie"), _row("school", "S1", fn="zara", dob="2017-07-07")],
          "a.csv")
    scorer = scores(store, {("gp:G1", "police:X1"): 0.9999, ("gp:G1", "school:S1"): 0.5})
    first = resolve(store, "r1", KEY, settings=settings, scorer=scorer)
    people = person_of(store)
    quiet = resolve(store, "r2", KEY, settings=settings, scorer=scorer)
    assert "nothing clustering reads has changed" in quiet.model and "nothing" not in first.model
    assert person_of(store) == people
    same = ("subjects", "persons", "links_applied", "links_refused", "review_queue", "households")
    assert {f: getattr(quiet, f) for f in same} == {f: getattr(first, f) for f in same}
    assert (quiet.created, quiet.merged, quiet.split) == (0, 0, 0)
    assert store.execute("select count(*) from identity.history where run_id = 'r2'").fetchone()[0] == 0


def test_a_decision_made_between_two_quiet_nights_is_applied(store, settings, tmp_path):
    _load(store, tmp_path / "in", [_row("gp", "G1", nhs="9434765919"), _row("hosp", "H1", nhs="9434765919")], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    assert len(set(person_of(store).values())) == 1
    decisions_file = settings.restricted_dir / "identity_decisions.csv"
    record_decision(decisions_file, "gp:G1", "hosp:H1", "different", "J. Reviewer", "NHS number shared in error")
    resolve(store, "r2", KEY, settings=settings, scorer=None, decisions=read_decisions(decisions_file))
    p = person_of(store)
    assert p["gp:G1"] != p["hosp:H1"]
