"""Person ids survive nightly runs; merges and splits are recorded; ids are never reused."""

from __future__ import annotations

from casehistory.identity.stable import assign


def test_unchanged_clusters_keep_their_ids():
    previous = {"a": "P1", "b": "P1", "c": "P2"}
    result = assign([["a", "b"], ["c"]], previous, next_number=3)
    assert result.person_of == previous and result.new_ids == [] and result.changes == []


def test_a_new_subject_joins_an_existing_person_without_a_new_id():
    result = assign([["a", "b", "new"], ["c"]], {"a": "P1", "b": "P1", "c": "P2"}, next_number=3)
    assert result.person_of["new"] == "P1" and result.new_ids == []


def test_a_new_person_gets_a_fresh_id_never_an_old_one():
    result = assign([["a"], ["z"]], {"a": "P000000001", "q": "P000000002"}, next_number=3)
    assert result.person_of["z"] == "P000000003"
    assert [c.action for c in result.changes if c.person_id == "P000000002"] == ["retired"]


def test_two_people_found_to_be_one_merge_into_the_larger_and_the_merge_is_recorded():
    previous = {"a": "P1", "b": "P1", "c": "P2"}
    result = assign([["a", "b", "c"]], previous, next_number=3)
    assert set(result.person_of.values()) == {"P1"}
    assert [(c.action, c.person_id, c.other_person_id) for c in result.changes] == [("merged", "P2", "P1")]


def test_a_person_found_to_be_two_splits_and_the_larger_part_keeps_the_id():
    previous = {"a": "P1", "b": "P1", "c": "P1"}
    result = assign([["a", "b"], ["c"]], previous, next_number=7)
    assert result.person_of["a"] == "P1" and result.person_of["c"] == "P000000007"
    assert [(c.action, c.person_id, c.other_person_id) for c in result.changes] == [("split", "P000000007", "P1")]


def test_assignment_does_not_depend_on_cluster_order():
    previous = {"a": "P1", "b": "P2", "c": "P3"}
    one = assign([["a", "b"], ["c"]], previous, 4).person_of
    two = assign([["c"], ["a", "b"]], previous, 4).person_of
    assert one == two
