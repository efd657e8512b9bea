"""Generating in batches of families (how a million children fit in memory) still gives one
coherent extract per agency, whose ground truth an independent ingest agrees with."""

from __future__ import annotations

import csv
from collections import Counter

import duckdb
import pytest

from casehistory.identifiers import is_valid_nhs_number
from casehistory.synth import generate, world_batches
from tests.ingest.helpers import load_folder


@pytest.fixture(scope="module")
def batched(tmp_path_factory):
    # about 4 batches of 100 children
    return generate(tmp_path_factory.mktemp("batched"), children=400, seed=11, batch_children=100)


def _rows(path):
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_batches_make_the_children_asked_for_with_unique_people_and_identifiers(batched):
    persons = _rows(batched.ground_truth / "persons.csv")
    children = [p for p in persons if p["role"] == "child"]
    assert 400 <= len(children) <= 403  # the last family may bring up to three more
    assert len({p["true_person"] for p in persons}) == len(persons)
    nhs = [p["nhs_number"] for p in persons]
    assert len(set(nhs)) == len(nhs) and all(is_valid_nhs_number(n) for n in nhs)
    # families were made in more than one batch, and none was split across two
    families = Counter(p["family"] for p in persons)
    assert len(families) > 100


def test_row_numbers_and_record_ids_run_on_across_batches(batched):
    records = _rows(batched.ground_truth / "records.csv")
    by_file: dict[str, list[dict]] = {}
    for r in records:
        by_file.setdefault(r["file"], []).append(r)
    for name, rows in by_file.items():
        assert [int(r["row_number"]) for r in rows] == list(range(1, len(rows) + 1)), name
        ids = [r["record_id"] for r in rows if r["record_id"]]
        assert len(set(ids)) == len(ids), name
    police = by_file[next(n for n in by_file if n.startswith("police"))]
    assert [r["reason"] for r in police].count("unreadable_row") == 1  # one cut line, at the very end
    assert police[-1]["reason"] == "unreadable_row"


def test_expected_counts_add_up_over_batches(batched):
    records = _rows(batched.ground_truth / "records.csv")
    persons = {p["true_person"]: p for p in _rows(batched.ground_truth / "persons.csv")}
    loaded = [r for r in records if r["status"] in ("loaded", "superseded")]
    e = batched.expected
    assert e["rows"] == len(records)
    assert e["persons"] == len({r["true_person"] for r in loaded})
    assert e["children"] == len({r["true_person"] for r in loaded if persons[r["true_person"]]["role"] == "child"})
    assert e["child_events"] == len({r["true_event"] for r in loaded if r["status"] == "loaded"
                                     and persons[r["true_person"]]["role"] == "child"})
    assert sum(a["rows"] for a in e["agencies"].values()) == len(records)


def test_ingest_reads_every_batched_file_as_the_ground_truth_says(batched, tmp_path, run_date):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    loads = load_folder(con, batched.extracts, "run1", run_date, tmp_path / "archive")
    outcomes = {f.file_name: f for load in loads.values() for f in load.files}
    assert set(outcomes) == set(batched.expected["files"])
    for name, expected in batched.expected["files"].items():
        assert outcomes[name].status == "loaded", name
        assert (outcomes[name].rows_read, outcomes[name].rows_loaded, outcomes[name].rows_quarantined) == \
               (expected["rows"], expected["loaded"], expected["quarantined"]), name


def test_one_batch_is_the_single_pass(tmp_path):
    one = generate(tmp_path / "one", children=60, seed=3, batch_children=60)
    default = generate(tmp_path / "default", children=60, seed=3)
    for path in sorted(p for p in one.root.rglob("*") if p.is_file()):
        assert path.read_bytes() == (default.root / path.relative_to(one.root)).read_bytes(), path.name


def test_each_batch_holds_only_its_own_families():
    # what keeps memory bounded: a batch's world starts empty, so no batch holds the ones before
    batches = [(dict(world.persons), last) for world, last in world_batches(400, seed=11, batch_children=100)]
    assert [last for _, last in batches] == [False] * (len(batches) - 1) + [True]
    assert len(batches) == 4
    seen: set[str] = set()
    for persons, last in batches:
        assert not seen & set(persons)
        seen |= set(persons)
        children = sum(1 for p in persons.values() if p.is_child)
        assert children <= 103  # one batch's worth: a family of up to four children may tip it over
        assert last or children >= 100


def test_referral_and_plan_figures_add_up_over_batches(batched):
    """expected.json's figures are summed batch by batch: its referrals are every child's true
    referral with a loaded record, and its plan episodes those of plans.csv the extracts carry."""
    records = _rows(batched.ground_truth / "records.csv")
    persons = {p["true_person"]: p for p in _rows(batched.ground_truth / "persons.csv")}
    carried = {r["true_event"] for r in records if r["status"] == "loaded"}
    referrals = [e for e in _rows(batched.ground_truth / "events.csv") if e["event_type"] == "referral"
                 and e["true_event"] in carried and persons[e["true_person"]]["role"] == "child"]
    assert batched.expected["referrals"]["referrals"] == len(referrals) > 0
    plans = _rows(batched.ground_truth / "plans.csv")
    assert len({p["true_person"] for p in plans}) > 10
    assert sum(batched.expected["plans"]["episodes"].values()) == sum(p["start_in_extracts"] == "True" for p in plans)
