"""The linking evaluation explains every wrong merge: the link that joined two true people, what
they are to each other in the ground truth, and how their records compare.

The model's scores are fed in (a stand-in scorer, as in test_linking_policy.py), so which pairs
are wrongly joined is fixed by the test, and every expected explanation is worked out by hand
from the rows below."""

from __future__ import annotations

import pytest

from casehistory.identity.evaluate import relation, wrong_merges
from casehistory.identity.resolve import resolve
from tests.identity.test_linking_policy import KEY, _load, _row, scores, settings, store  # noqa: F401

UPN = "D936200022115"
NHS = "9434765919"


def _person(pid, family, forename, surname, dob, role="child", twin_of="", nhs="", upn=""):
    return {"true_person": pid, "family": family, "role": role, "forename": forename, "surname": surname,
            "date_of_birth": dob, "twin_of": twin_of, "nhs_number": nhs, "upn": upn}


PERSONS = {p["true_person"]: p for p in [
    _person("T1", "F1", "Ruby", "Knight", "2018-03-04", twin_of="T2", nhs="4010232137"),
    _person("T2", "F1", "Reuben", "Knight", "2018-03-04", twin_of="T1", upn=UPN),
    _person("T3", "F2", "Amy", "Lee", "2018-02-01"),
    _person("T4", "F3", "Amy", "Lee", "2018-02-01"),
    _person("T5", "F4", "Jo", "Bell", "2015-05-05", nhs=NHS),
    _person("T6", "F5", "Joe", "Bell", "2015-05-06", nhs="4010232137"),
    _person("T7", "F6", "Sam", "Cole", "2016-07-08", nhs="9990000018"),
]}
TRUTH = {"police:X1": "T1", "school:S1": "T2", "gp:G1": "T3", "police:X2": "T4", "gp:G2": "T5", "hosp:H2": "T6",
         "gp:G3": "T7", "hosp:H3": "T7"}


@pytest.fixture
def linked(store, settings, tmp_path):  # noqa: F811
    _load(store, tmp_path / "in", [
        # twins with alike names, one held with a UPN, joined by the model
        _row("police", "X1", fn="ruby", sn="knight", dob="2018-03-04", sex="F", pc="IP2 3CD"),
        _row("school", "S1", upn=UPN, fn="reuben", sn="knight", dob="2018-03-04", sex="M", pc="IP2 3CD"),
        # strangers named Amy Lee born on one day, one written "Amie", joined by the model
        _row("gp", "G1", fn="amy", sn="lee", dob="2018-02-01", sex="F", pc="IP1 2AB"),
        _row("police", "X2", fn="amie", sn="lee", dob="2018-02-01", sex="M", pc="IP9 9ZZ"),
        # T6's record carries T5's NHS number (mistyped, and still valid): joined on it
        _row("gp", "G2", nhs=NHS, fn="jo", sn="bell", dob="2015-05-05", pc="IP3 1AA"),
        _row("hosp", "H2", nhs=NHS, fn="joe", sn="bell", dob="2015-05-06", pc="IP4 1BB"),
        # one child, rightly linked on a shared NHS number: no wrong merge
        _row("gp", "G3", nhs="9990000018", fn="sam", sn="cole", dob="2016-07-08"),
        _row("hosp", "H3", nhs="9990000018", fn="sam", sn="cole", dob="2016-07-08"),
    ], "a.csv")
    resolve(store, "r1", KEY, settings=settings, scorer=scores(store, {("police:X1", "school:S1"): 0.999,
                                                                      ("gp:G1", "police:X2"): 0.998}))
    return store


def test_every_wrong_merge_is_listed_with_the_link_and_the_relation_behind_it(linked):
    merges = wrong_merges(linked, TRUTH, PERSONS)
    assert sorted(w.cause for w in merges) == ["same name and birthday, by model", "strangers, by nhs_number",
                                              "twins, by model"]
    assert all((w.subjects, w.true_people) == (2, 2) for w in merges)


def test_a_wrong_merge_shows_how_the_joined_records_compare(linked):
    bridges = {w.cause: w.bridges[0] for w in wrong_merges(linked, TRUTH, PERSONS)}
    twins = bridges["twins, by model"]
    assert (twins.subject_a, twins.subject_b, twins.probability) == ("police:X1", "school:S1", 0.999)
    # Jaro-Winkler of ruby and reuben is 0.775 (3 letters in common, one letter of prefix): alike
    assert twins.fields == {"forename": "alike", "surname": "same", "date_of_birth": "same", "sex": "different",
                            "postcode": "same", "identifiers": "UPN on one side"}
    strangers = bridges["same name and birthday, by model"]
    # amy and amie: 0.778, alike
    assert strangers.fields == {"forename": "alike", "surname": "same", "date_of_birth": "same", "sex": "different",
                                "postcode": "different", "identifiers": "no identifier"}
    mistyped = bridges["strangers, by nhs_number"]
    assert mistyped.fields == {"forename": "alike", "surname": "same", "date_of_birth": "one day apart",
                               "sex": "same", "postcode": "different",
                               "identifiers": "one NHS number, a valid NHS number mistyped"}


def test_no_wrong_merge_no_list(linked):
    truth = {**TRUTH, "school:S1": "T1", "police:X2": "T3", "hosp:H2": "T5"}  # as if each pair were one person
    assert wrong_merges(linked, truth, PERSONS) == []


def test_relations_are_read_from_the_ground_truth():
    mother = _person("M1", "F1", "Kelsey", "Knight", "1990-01-01", role="mother")
    father = _person("D1", "F1", "Ryan", "Knight", "1989-01-01", role="father")
    sibling = _person("T8", "F1", "Kai", "Knight", "2020-01-01")
    assert relation(PERSONS["T1"], PERSONS["T2"]) == "twins"
    assert relation(PERSONS["T1"], sibling) == "siblings"
    assert relation(mother, PERSONS["T1"]) == "parent and child"
    assert relation(mother, father) == "parents of one family"
    assert relation(PERSONS["T3"], PERSONS["T4"]) == "same name and birthday"
    assert relation(PERSONS["T3"], _person("T9", "F9", "Eve", "Hart", "2018-02-01")) == "same birthday"
    assert relation(PERSONS["T5"], PERSONS["T6"]) == "strangers"
