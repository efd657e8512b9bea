"""An incremental night (the stored model scoring only pairs with a new or changed record) ends
where a full re-resolution of the same ledger ends.

Night 1 loads a generated set and a few records of our own; night 2 brings a new record that only
the model can tie to a child already known, a correction that makes one of night 1's records
match a known child (again by the model alone: a missed correction would leave it unlinked), and
a record whose NHS number merges two people. The same night 2 is run three ways from copies of
night 1's store: incrementally, rescoring every pair with the same stored model, and retraining
from scratch as `casehistory rebuild` does.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from casehistory.identity import resolve as resolve_module
from casehistory.identity.resolve import resolve
from casehistory.settings import Settings
from casehistory.synth import generate
from tests.identity.test_linking_policy import KEY, _load, _row
from tests.ingest.helpers import load_folder

NHS = "9434765919"  # valid, and not one the generator issues


def _typo(name: str) -> str:
    """One letter changed at the end: alike by Jaro-Winkler, not an exact match."""
    return name[:-1] + ("x" if name[-1] != "x" else "q")


def _known_children(con, count: int) -> list[dict]:
    """Subjects of different people with every field the model compares, and long enough names."""
    rows = con.execute("""
        select r.subject_key, r.forename_key, r.surname_key, r.date_of_birth, r.sex, r.postcode, p.person_id
        from identity.subject_records r join identity.subject_person p using (subject_key)
        where r.forename_key is not null and length(r.forename_key) >= 5 and length(r.surname_key) >= 6
          and r.date_of_birth is not null and r.sex in ('M', 'F') and r.postcode is not null
        qualify row_number() over (partition by p.person_id order by r.subject_key) = 1
        order by r.subject_key limit ?""", [count]).fetchall()
    names = ("subject_key", "forename", "surname", "dob", "sex", "postcode", "person_id")
    return [dict(zip(names, r)) for r in rows]


def _state(store: Path) -> dict:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return {
            "person_of": dict(con.execute("select subject_key, person_id from identity.subject_person").fetchall()),
            "queue": sorted(con.execute("select subject_a, subject_b, probability from identity.review_queue").fetchall()),
            "pairs": sorted(con.execute("select * from identity.pair_scores").fetchall()),
            "history": sorted(con.execute("select run_id, action, person_id, other_person_id, subjects "
                                          "from identity.history").fetchall()),
            "subject_records": con.execute("select count(*), sum(hash(r)::hugeint) from identity.subject_records r").fetchone(),
            "model_links": {tuple(r) for r in con.execute(
                "select subject_a, subject_b from identity.links where applied and method = 'model'").fetchall()},
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    work = tmp_path_factory.mktemp("incremental")
    generated = generate(work / "generated", 400, seed=11)
    settings = Settings(extracts=generated.extracts, warehouse=work / "night1" / "wh.duckdb")
    settings.ensure_dirs()
    con = duckdb.connect(str(settings.store))
    load_folder(con, generated.extracts, "night1", date(2026, 1, 15), settings.archive_dir)
    first = resolve(con, "night1", KEY, settings=settings)  # resolves the generated set, to pick children from
    assert first.model_retrained and "identifier-linked pairs" in first.model  # the model is in use
    c1, c2 = _known_children(con, 2)
    wrong_dob = (c1["dob"] - timedelta(days=900)).isoformat()  # no typo of the real one: a guard rail keeps it apart
    _load(con, work / "in", [
        _row("mh", "Y1", fn=_typo(c1["forename"]), sn=c1["surname"], dob=wrong_dob, sex=c1["sex"], pc=c1["postcode"]),
        _row("housing", "Z1", nhs=NHS, fn="zebedee", sn="quarrington", dob="2016-05-05", sex="M", pc="IP4 4ZZ"),
        _row("cafcass", "Z2", fn="marcus", sn="quarrington", dob="2016-05-05", sex="M", pc="IP4 4ZZ"),
    ], "chronology_night1.csv")
    resolve(con, "night1b", KEY, settings=settings)
    night1 = {s: p for s, p in con.execute("select subject_key, person_id from identity.subject_person").fetchall()}
    con.close()

    night2_rows = [
        _row("amb", "N1", fn=c2["forename"], sn=_typo(c2["surname"]), dob=c2["dob"].isoformat(), sex=c2["sex"],
             pc=c2["postcode"]),  # new: the model alone can tie it to c2
        _row("mh", "Y1", fn=_typo(c1["forename"]), sn=c1["surname"], dob=c1["dob"].isoformat(), sex=c1["sex"],
             pc=c1["postcode"]),  # a correction of the date of birth: now it matches c1, by the model alone
        _row("amb", "Z3", nhs=NHS, fn="marcus", sn="quarrington", dob="2016-05-05", sex="M", pc="IP4 4ZZ"),
    ]
    stores, results = {}, {}
    for way in ("incremental", "same_model_everything_rescored", "retrained"):
        folder = work / way
        shutil.copytree(settings.warehouse.parent, folder)
        way_settings = Settings(extracts=generated.extracts, warehouse=folder / "wh.duckdb")
        con = duckdb.connect(str(way_settings.store))
        _load(con, work / "in", night2_rows, "chronology_night2.csv", run_date=date(2026, 1, 16))
        if way == "same_model_everything_rescored":
            con.execute("delete from identity.scored_records")  # as if no record had been scored before
        results[way] = resolve(con, "night2", KEY, settings=way_settings, full=way == "retrained")
        con.close()
        stores[way] = _state(way_settings.store)
    return {"c1": c1, "c2": c2, "night1": night1, "results": results, "states": stores}


def test_the_scenario_needs_the_model_the_correction_and_the_merge(nights):
    night1, inc = nights["night1"], nights["states"]["incremental"]
    c1, c2 = nights["c1"], nights["c2"]
    assert night1["mh:Y1"] != night1[c1["subject_key"]]  # the wrong date of birth kept them apart
    assert night1["housing:Z1"] != night1["cafcass:Z2"]
    person = inc["person_of"]
    assert person["amb:N1"] == person[c2["subject_key"]] == night1[c2["subject_key"]]
    assert person["mh:Y1"] == person[c1["subject_key"]]
    linked_by_model = {s for pair in inc["model_links"] for s in pair}
    assert {"amb:N1", "mh:Y1"} <= linked_by_model  # no identifier or exact match tied them
    assert person["housing:Z1"] == person["cafcass:Z2"] == person["amb:Z3"]
    merged = [h for h in inc["history"] if h[0] == "night2" and h[1] == "merged"]
    assert {(h[2], h[3]) for h in merged} & {(night1["housing:Z1"], night1["cafcass:Z2"]),
                                              (night1["cafcass:Z2"], night1["housing:Z1"])}


def test_the_incremental_night_rescored_only_the_changed_records_with_the_stored_model(nights):
    inc = nights["results"]["incremental"]
    assert not inc.model_retrained and "reused" in inc.model
    assert inc.records_rescored == 3  # N1, Z3 new; Y1 corrected
    everything = nights["results"]["same_model_everything_rescored"]
    assert not everything.model_retrained and everything.records_rescored > 100 * inc.records_rescored
    assert nights["results"]["retrained"].model_retrained


def test_incremental_equals_rescoring_everything_with_the_same_model(nights):
    inc, full = nights["states"]["incremental"], nights["states"]["same_model_everything_rescored"]
    assert inc["pairs"] == full["pairs"]  # every stored score, exactly
    assert inc["person_of"] == full["person_of"]
    assert inc["queue"] == full["queue"]
    assert inc["history"] == full["history"]


def test_incremental_equals_a_full_retrained_re_resolution(nights):
    inc, rebuilt = nights["states"]["incremental"], nights["states"]["retrained"]
    assert inc["subject_records"] == rebuilt["subject_records"]  # made for the night's subjects / everyone's anew
    assert inc["person_of"] == rebuilt["person_of"]
    assert [q[:2] for q in inc["queue"]] == [q[:2] for q in rebuilt["queue"]]
    assert [q[2] for q in inc["queue"]] == pytest.approx([q[2] for q in rebuilt["queue"]], abs=0.05)


def test_the_stored_model_is_retrained_on_a_full_run_a_change_of_model_or_a_fifth_more_or_fewer_records():
    from dataclasses import replace

    from casehistory.identity.model import _retrain_reason, config, fingerprint

    cfg = config()
    assert cfg.retrain_growth == 0.2
    stored = (fingerprint(cfg), "{}", 1000, "m from 40 identifier-linked pairs", "night1")
    assert _retrain_reason(stored, 1200, cfg, full=False) is None
    assert _retrain_reason(stored, 800, cfg, full=False) is None
    assert _retrain_reason(stored, 1201, cfg, full=False) == "1201 records against 1000 when it was trained"
    assert _retrain_reason(stored, 799, cfg, full=False) is not None
    assert _retrain_reason(stored, 1000, cfg, full=True) == "a full run"
    assert _retrain_reason(None, 1000, cfg, full=False) == "no model trained yet"
    assert _retrain_reason(stored, 1000, replace(cfg, review_threshold=0.7), full=False) is not None
    assert _retrain_reason(stored, 1000, replace(cfg, link_threshold=0.99), full=False) is None  # decides links only


def test_casehistory_rebuild_relinks_with_the_model_retrained(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from casehistory import pipeline
    from casehistory.cli import app

    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    settings.ensure_dirs()
    duckdb.connect(str(settings.store)).close()
    (settings.reports_dir / "run_summary.txt").write_text("summary\n")
    calls = []
    monkeypatch.setattr(pipeline, "link", lambda settings_, run_id, full=False: calls.append(("link", full)))
    for step in ("build", "check", "feeds", "publish", "report"):
        monkeypatch.setattr(pipeline, step, lambda settings_, run_id, step=step, **kw: calls.append((step, kw)))
    result = CliRunner().invoke(app, ["rebuild", "--warehouse", str(settings.warehouse)])
    assert result.exit_code == 0, result.output
    assert calls[0] == ("link", True)
    assert ("build", {"full_refresh": True}) in calls  # every dbt model rebuilt whole too


def test_households_follow_new_events_when_no_person_changed(tmp_path):
    """A night whose only news is an event (no person record changed) still moves a household's dates."""
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    settings.ensure_dirs()
    con = duckdb.connect(str(settings.store))
    members = lambda: sorted(con.execute(  # noqa: E731
        "select person_id, valid_from, valid_to from identity.household_members").fetchall())
    mother = dict(ref="M1", fn="priya", sn="kaur", dob="1990-01-01", fam="F1", role="mother")
    child = dict(ref="C1", fn="asha", sn="kaur", dob="2016-03-03", fam="F1", role="child")
    _load(con, tmp_path / "in", [_row("police", **mother), _row("police", **child)], "chronology_1.csv")
    resolve(con, "night1", KEY, settings=settings, scorer=None)
    first = members()
    assert len(first) == 2
    resolve(con, "night2", KEY, settings=settings, scorer=None)  # nothing new: households as they were
    assert members() == first
    _load(con, tmp_path / "in", [_row("police", **mother).replace("2024-01-0", "2024-09-0")], "chronology_2.csv",
          run_date=date(2026, 1, 16))
    assert con.execute("select count(*) from ledger.person_records").fetchone()[0] == 2  # no person changed
    result = resolve(con, "night3", KEY, settings=settings, scorer=None)
    assert result.records_changed == 0
    later = members()
    assert later != first and max(m[2] for m in later) > max(m[2] for m in first)


def _differs_from_scratch(con) -> int:
    """Rows in which identity.subject_records differs from making every record from the ledger anew."""
    scratch = resolve_module.subject_records_sql()
    return con.execute(f"""with scratch as ({scratch})
                           select count(*) from ((from identity.subject_records except all from scratch)
                                                 union all (from scratch except all from identity.subject_records))""").fetchone()[0]


def test_a_night_makes_again_only_the_subject_records_its_new_ledger_rows_name(tmp_path, monkeypatch):
    """They end as making every record from scratch does; a ledger that no longer holds the rows the
    last build counted (an erasure) makes everyone's again."""
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    settings.ensure_dirs()
    con = duckdb.connect(str(settings.store))
    _load(con, tmp_path / "in", [_row("police", "P1", fn="asha"), _row("police", "P2", fn="priya", dob="2017-01-01"),
                                 _row("gp", "G1", fn="carys", dob="2015-07-07")], "chronology_1.csv")
    resolve(con, "night1", KEY, settings=settings, scorer=None)
    _load(con, tmp_path / "in", [_row("police", "P2", fn="priya", dob="2017-01-02"),  # a correction
                                 _row("gp", "G9", fn="ben", dob="2019-05-05")],  # someone new
          "chronology_2.csv", run_date=date(2026, 1, 16))
    everyone = resolve_module._rebuild_everyone
    monkeypatch.setattr(resolve_module, "_rebuild_everyone", lambda *a: pytest.fail("everyone's records made again"))
    assert resolve(con, "night2", KEY, settings=settings, scorer=None).records_changed == 2
    assert _differs_from_scratch(con) == 0

    con.execute("delete from ledger.person_records where subject_ref = 'P1'")
    with pytest.raises(pytest.fail.Exception, match="everyone's records made again"):
        resolve(con, "night3", KEY, settings=settings, scorer=None)
    monkeypatch.setattr(resolve_module, "_rebuild_everyone", everyone)
    assert resolve(con, "night3", KEY, settings=settings, scorer=None).records_changed == 1  # P1's record gone
    assert _differs_from_scratch(con) == 0
