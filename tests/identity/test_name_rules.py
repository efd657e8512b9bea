"""Name and date of birth link only with corroboration, never across conflicting sex, and find the
same child through a plausible typo with or without a model (casehistory/identity/candidates.py).

Runs without a model (scorer=None) are the small runs: a review's template chronologies alone.
Expected people are worked out by hand from the rules in docs/identity.md and written here.
"""

from __future__ import annotations

from datetime import date

from casehistory.identity.cluster import Clusters, Link
from casehistory.identity.resolve import resolve
from tests.identity.test_linking_policy import KEY, _load, _row, person_of, scores, settings, store  # noqa: F401


def _links(con, applied=True) -> set[tuple[str, str, str]]:
    return set(con.execute("select subject_a, subject_b, method from identity.links where applied = ?",
                           [applied]).fetchall())


def _queue(con) -> dict[tuple[str, str], str]:
    return {(a, b): reason for a, b, reason in con.execute(
        "select subject_a, subject_b, reason from identity.review_queue").fetchall()}


# --- item 1: exact name and date of birth ----------------------------------------------------------

def test_police_school_and_gp_records_of_one_name_and_birthday_with_different_sexes_and_postcodes_stay_apart(
        store, settings, tmp_path):
    # the case: police hold no identifier, the school a UPN, the GP an NHS number; the
    # names and birthday agree, nothing else does
    _load(store, tmp_path / "in", [
        _row("police", "PN1", fn="Jordan", sn="Smith", dob="2015-06-01", sex="M", pc="LU1 1AA"),
        _row("school", "ADM1", upn="D936200022115", fn="Jordan", sn="Smith", dob="2015-06-01", sex="F", pc="MK40 2BB"),
        _row("gp", "G1", nhs="9434765919", fn="Jordan", sn="Smith", dob="2015-06-01", sex="M", pc="IP1 3CD"),
    ], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    p = person_of(store)
    assert len({p["police:PN1"], p["school:ADM1"], p["gp:G1"]}) == 3
    assert _links(store) == set()
    # nothing corroborates them and no model scored them: no rule links them, a person may
    queue = _queue(store)
    assert set(queue) == {("gp:G1", "police:PN1"), ("gp:G1", "school:ADM1"), ("police:PN1", "school:ADM1")}
    assert all("nothing corroborates them" in reason for reason in queue.values())


def test_same_name_same_birthday_strangers_at_one_postcode_with_different_sexes_are_kept_apart(store, settings, tmp_path):
    _load(store, tmp_path / "in", [
        _row("hv", "H1", fn="Alex", sn="Taylor", dob="2019-05-05", sex="M", pc="LU1 1AA"),
        _row("school", "S1", fn="Alex", sn="Taylor", dob="2019-05-05", sex="F", pc="LU1 1AA"),
    ], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    p = person_of(store)
    assert p["hv:H1"] != p["school:S1"]
    assert _links(store) == set() and _links(store, applied=False) == set()  # never even proposed


def test_name_and_birthday_link_when_a_postcode_corroborates_and_not_without(store, settings, tmp_path):
    _load(store, tmp_path / "in", [
        _row("police", "PN1", fn="Kai", sn="O'Brien", dob="2018-06-10", sex="M", pc="IP11 6ED"),
        _row("school", "S1", upn="D936200022115", fn="KAI", sn="OBrien", dob="2018-06-10", sex="", pc="ip116ed"),
        _row("gp", "G1", nhs="9434765919", fn="Kai", sn="O Brien", dob="2018-06-10", sex="M", pc="MK45 2AL"),
    ], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    p = person_of(store)
    # apostrophe, case and postcode spacing are no difference; the same postcode corroborates
    assert p["police:PN1"] == p["school:S1"]
    assert p["gp:G1"] != p["police:PN1"]  # another postcode: left to the model or a person
    assert _links(store) == {("police:PN1", "school:S1", "exact_name_dob")}


def test_one_agencys_two_records_of_one_child_in_one_family_are_linked_by_its_family_reference(store, settings, tmp_path):
    # early help opened a second case for the child after a move: two ids, one family reference
    _load(store, tmp_path / "in", [
        _row("eh", "EH-1", fn="Mila", sn="Atkinson", dob="2018-06-14", sex="F", pc="SG18 4NG", fam="EH-FAM-7"),
        _row("eh", "EH-2", fn="Mila", sn="Atkinson", dob="2018-06-14", sex="F", pc="NR33 4TQ", fam="EH-FAM-7"),
    ], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    p = person_of(store)
    assert p["eh:EH-1"] == p["eh:EH-2"]
    assert _links(store) == {("eh:EH-1", "eh:EH-2", "exact_name_dob")}


def test_a_family_reference_of_another_agency_corroborates_nothing(store, settings, tmp_path):
    # "F1" at early help and "F1" at the police are two agencies' numbering, not one family
    _load(store, tmp_path / "in", [
        _row("eh", "EH-1", fn="Mila", sn="Atkinson", dob="2018-06-14", sex="F", pc="SG18 4NG", fam="F1"),
        _row("police", "PN1", fn="Mila", sn="Atkinson", dob="2018-06-14", sex="F", pc="NR33 4TQ", fam="F1"),
    ], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    p = person_of(store)
    assert p["eh:EH-1"] != p["police:PN1"]


def test_placeholder_postcodes_and_family_references_corroborate_nothing(store, settings, tmp_path):
    rows = [
        # no fixed abode, as the NHS codes it and as a police officer types it; a district alone
        _row("hosp", "H1", fn="Leo", sn="Ward", dob="2016-02-02", sex="M", pc="ZZ99 3VZ"),
        _row("gp", "G1", fn="Leo", sn="Ward", dob="2016-02-02", sex="M", pc="ZZ99 3VZ"),
        _row("police", "P1", fn="Ava", sn="Khan", dob="2017-03-03", sex="F", pc="NFA"),
        _row("school", "S1", fn="Ava", sn="Khan", dob="2017-03-03", sex="F", pc="NFA"),
        _row("hv", "V1", fn="Ivy", sn="Cole", dob="2018-04-04", sex="F", pc="LU1"),
        _row("amb", "A1", fn="Ivy", sn="Cole", dob="2018-04-04", sex="F", pc="LU1"),
        # an agency that files everyone under "N/A": two of its records, one name and birthday
        _row("eh", "E1", fn="Max", sn="Hall", dob="2019-05-05", sex="M", pc="IP1 1AA", fam="N/A"),
        _row("eh", "E2", fn="Max", sn="Hall", dob="2019-05-05", sex="M", pc="IP2 2BB", fam="N/A"),
    ]
    rows += [_row("eh", f"E{n}", fn=f"Child{'abcdefghijklmnopqrs'[n - 3]}", sn="Other", dob="2015-01-01", fam="N/A")
             for n in range(3, 22)]  # 21 people under "N/A" in all
    _load(store, tmp_path / "in", rows, "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    assert len(set(person_of(store).values())) == 27  # nobody linked
    assert _links(store) == set() and _links(store, applied=False) == set()


def test_twins_recorded_as_twin_1_and_twin_2_or_by_an_initial_are_never_one_child(store, settings, tmp_path):
    # digits and punctuation leave name keys: "Twin 1" and "Twin 2" would both read "twin"
    _load(store, tmp_path / "in", [
        _row("hv", "H1", fn="Twin 1", sn="Begum", dob="2023-11-03", sex="F", pc="LU1 1AA", fam="HV-F1"),
        _row("hosp", "X1", fn="Twin 2", sn="Begum", dob="2023-11-03", sex="F", pc="LU1 1AA"),
        _row("police", "P1", fn="J", sn="Okafor", dob="2016-09-09", sex="M", pc="LU1 2AA"),
        _row("school", "S1", fn="J.", sn="Okafor", dob="2016-09-09", sex="M", pc="LU1 2AA"),
    ], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    p = person_of(store)
    assert p["hv:H1"] != p["hosp:X1"]
    assert p["police:P1"] != p["school:S1"]


def test_name_rules_never_join_groups_whose_recorded_sexes_conflict():
    # A (M) and B (sex unknown) agree, B and C (F) agree: A+B may not then take C
    clusters = Clusters()
    clusters.add("police:A", set(), set(), {date(2019, 1, 1)}, {"M"})
    clusters.add("eh:B", set(), set(), {date(2019, 1, 1)}, set())
    clusters.add("school:C", set(), set(), {date(2019, 1, 1)}, {"F"})
    assert clusters.union(Link("police:A", "eh:B", "exact_name_dob"))
    assert not clusters.union(Link("eh:B", "school:C", "corroborated_typo"))
    assert [r.rule for r in clusters.refused] == ["different_sex"]
    assert clusters.union(Link("eh:B", "school:C", "human"))  # a person may still say so


# --- item 2: plausible typos, with or without a model ----------------------------------------------

def test_one_childs_record_with_day_and_month_swapped_in_one_family_links_without_a_model(store, settings, tmp_path):
    # the case: same name, postcode and family reference, no NHS number, 3 April / 4 March
    _load(store, tmp_path / "in", [
        _row("csc", "CSC-1", fn="Jayden", sn="Hadfield", dob="2019-04-03", sex="M", pc="LU2 8FN", fam="CSC-FAM-55"),
        _row("csc", "CSC-HELD-1", fn="Jayden", sn="Hadfield", dob="2019-03-04", sex="M", pc="LU2 8FN", fam="CSC-FAM-55"),
    ], "a.csv")
    result = resolve(store, "r1", KEY, settings=settings, scorer=None)
    p = person_of(store)
    assert p["csc:CSC-1"] == p["csc:CSC-HELD-1"]
    assert _links(store) == {("csc:CSC-1", "csc:CSC-HELD-1", "corroborated_typo")}
    assert result.persons == 1


def test_a_strong_typo_links_whether_or_not_a_model_scored_the_pair(store, settings, tmp_path):
    _load(store, tmp_path / "in", [
        _row("csc", "C1", fn="Jayden", sn="Hadfield", dob="2019-04-03", sex="M", pc="LU2 8FN", fam="F55"),
        _row("csc", "C2", fn="Jayden", sn="Hadfield", dob="2019-03-04", sex="M", pc="LU2 8FN", fam="F55"),
        # nothing corroborates these two: with a model, the model's (silent) score decides
        _row("police", "P1", fn="Ruby", sn="Liu", dob="2017-01-01", sex="F", pc="IP1 1AA"),
        _row("school", "S1", fn="Ruby", sn="Liu", dob="2017-01-01", sex="F", pc="IP2 2BB"),
    ], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=scores(store, {}))  # a model that scored nothing
    p = person_of(store)
    assert p["csc:C1"] == p["csc:C2"]
    assert p["police:P1"] != p["school:S1"] and _queue(store) == {}
    resolve(store, "r2", KEY, settings=settings, scorer=None)  # no model: nobody else would look
    assert person_of(store)["csc:C1"] == person_of(store)["csc:C2"]
    assert list(_queue(store)) == [("police:P1", "school:S1")]


def test_weaker_typos_with_corroboration_reach_the_review_queue_with_their_reason(store, settings, tmp_path):
    _load(store, tmp_path / "in", [
        # a known variant of the forename, day and month swapped, one postcode
        _row("police", "P1", fn="Tom", sn="Hussain", dob="2016-02-11", sex="M", pc="MK40 4PJ"),
        _row("school", "S1", fn="Thomas", sn="Hussain", dob="2016-11-02", sex="M", pc="MK40 4PJ"),
        # accents and apostrophes dropped, one day apart, one postcode
        _row("hv", "H1", fn="Zoë", sn="O'Neill", dob="2020-03-22", sex="F", pc="LU5 4QW"),
        _row("gp", "G1", fn="Zoe", sn="ONeill", dob="2020-03-23", sex="F", pc="LU5 4QW"),
        # one digit of the year, one family at one agency
        _row("eh", "E1", fn="Arthur", sn="Dalton", dob="2015-12-28", sex="M", pc="IP8 4HP", fam="EH-9"),
        _row("eh", "E2", fn="Arthur", sn="Dalton", dob="2016-12-28", sex="M", pc="CO10 5PR", fam="EH-9"),
        # exact names, day and month swapped, one postcode, but no family reference to say more
        _row("police", "P2", fn="Noah", sn="Patel", dob="2017-05-08", sex="M", pc="LU3 3CC"),
        _row("school", "S2", fn="Noah", sn="Patel", dob="2017-08-05", sex="M", pc="LU3 3CC"),
        # all of that and one family, but one record says no sex
        _row("csc", "C1", fn="Isla", sn="Grant", dob="2018-01-09", sex="F", pc="LU4 4DD", fam="CF-1"),
        _row("csc", "C2", fn="Isla", sn="Grant", dob="2018-09-01", sex="", pc="LU4 4DD", fam="CF-1"),
    ], "a.csv")
    result = resolve(store, "r1", KEY, settings=settings, scorer=None)
    p = person_of(store)
    assert len(set(p.values())) == 10  # none strong enough to link alone
    queue = _queue(store)
    assert set(queue) == {("police:P1", "school:S1"), ("gp:G1", "hv:H1"), ("eh:E1", "eh:E2"),
                          ("police:P2", "school:S2"), ("csc:C1", "csc:C2")}
    assert all("too weakly to link without a person" in reason for reason in queue.values())
    assert result.review_queue == 5


def test_a_strong_typo_still_never_crosses_a_guard_rail(store, settings, tmp_path):
    _load(store, tmp_path / "in", [
        _row("csc", "C1", nhs="9434765919", fn="Jayden", sn="Hadfield", dob="2019-04-03", sex="M", pc="LU2 8FN", fam="F55"),
        _row("csc", "C2", nhs="4010232137", fn="Jayden", sn="Hadfield", dob="2019-03-04", sex="M", pc="LU2 8FN", fam="F55"),
    ], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    p = person_of(store)
    assert p["csc:C1"] != p["csc:C2"]
    assert _queue(store) == {}
    assert store.execute("select subject_a, subject_b, rule from identity.kept_apart").fetchall() == [
        ("csc:C1", "csc:C2", "different_nhs")]


def test_a_family_reference_vouches_only_for_its_own_two_records(store, settings, tmp_path):
    # C2 and C3 are one child by NHS number; C1 is C2's typo twin in one family. The council then
    # holds C1 and C3 for one child too, which no family reference said: a person decides.
    _load(store, tmp_path / "in", [
        _row("csc", "C1", fn="Jayden", sn="Hadfield", dob="2019-04-03", sex="M", pc="LU2 8FN", fam="F55"),
        _row("csc", "C2", nhs="9434765919", fn="Jayden", sn="Hadfield", dob="2019-03-04", sex="M", pc="LU2 8FN", fam="F55"),
        _row("csc", "C3", nhs="9434765919", fn="Jay", sn="Hadfield", dob="2019-03-04", sex="M", pc="LU9 9ZZ"),
    ], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    p = person_of(store)
    assert p["csc:C2"] == p["csc:C3"] and p["csc:C1"] != p["csc:C2"]
    assert _links(store, applied=False) == {("csc:C1", "csc:C2", "corroborated_typo")}
    assert "one agency holds both records" in _queue(store)[("csc:C1", "csc:C2")]


def test_a_child_known_under_another_surname_at_one_address_reaches_the_queue_without_a_model(store, settings, tmp_path):
    # a child recorded under the mother's surname by the GP and the father's by the police, at one
    # address: with no model nothing else would ever put the two in front of a person
    _load(store, tmp_path / "in", [
        _row("gp", "G1", fn="Albie", sn="Ashworth", dob="2023-08-24", sex="M", pc="IP11 9HG"),
        _row("police", "PN1", fn="Albie", sn="Pemberton", dob="2023-08-24", sex="M", pc="IP11 9HG"),
        _row("school", "S1", fn="Albie", sn="Pemberton", dob="2023-08-24", sex="F", pc="IP11 9HG"),  # sexes conflict
        _row("hv", "H1", fn="Albie", sn="Doherty", dob="2023-08-24", sex="M", pc="LU2 7QQ"),  # nothing corroborates
    ], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=None)
    p = person_of(store)
    assert len({p["gp:G1"], p["police:PN1"], p["school:S1"], p["hv:H1"]}) == 4  # another surname never links
    queue = _queue(store)
    assert "the surname differs" in queue[("gp:G1", "police:PN1")]
    assert not [pair for pair in queue if "hv:H1" in pair or pair == ("gp:G1", "school:S1")]
    # a model, where one scored the pairs, weighs the surname against the rest: not queued by this rule
    resolve(store, "r2", KEY, settings=settings, scorer=scores(store, {}))
    assert ("gp:G1", "police:PN1") not in _queue(store)
