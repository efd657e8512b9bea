"""The generator's people are as hard to tell apart as real ones: name frequencies shaped like the
ONS tables, twins, same-name same-birthday strangers, day and month swapped where no NHS number
checks the date, and names with accents, apostrophes and hyphens written differently by agencies.

The ranges below are the shapes stated in casehistory/synth/names.py and the rates stated in
histories.py and noise.py, with room for a sample of 20,000 children."""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections import Counter, defaultdict
from datetime import date

import pytest

from casehistory.synth import generate
from casehistory.synth.extracts import written
from casehistory.synth.names import ALIKE_TWIN_NAMES

CHILDREN = 20_000


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("names"), children=CHILDREN, seed=42)


@pytest.fixture(scope="module")
def persons(generated) -> dict[str, dict]:
    with (generated.ground_truth / "persons.csv").open(newline="", encoding="utf-8") as f:
        return {p["true_person"]: p for p in csv.DictReader(f)}


@pytest.fixture(scope="module")
def children(persons) -> list[dict]:
    return [p for p in persons.values() if p["role"] == "child" and not p["scenario"]]


@pytest.fixture(scope="module")
def held(generated) -> dict[tuple[str, str], dict]:
    """(agency, true person) -> how that agency's extract writes the person: forename, surname,
    date of birth and whether it holds an NHS number."""
    truth = {}
    with (generated.ground_truth / "records.csv").open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["status"] != "quarantined":
                truth[(r["file"], r["record_id"])] = r["true_person"]
    out = {}
    csc = next(generated.extracts.glob("csc_activity_*-31.csv"))
    with csc.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if (pid := truth.get((csc.name, row["Record ID"]))):
                out[("csc", pid)] = {"forename": row["Forename"], "surname": row["Surname"], "nhs": row["NHS Number"]}
    school = next(generated.extracts.glob("school_*.csv"))
    with school.open(newline="", encoding="cp1252") as f:
        for row in csv.DictReader(f):
            if (pid := truth.get((school.name, row["Record Ref"]))):
                out[("school", pid)] = {"forename": row["Legal Forename"], "surname": row["Legal Surname"], "nhs": ""}
    police = next(generated.extracts.glob("police_*.jsonl"))
    with police.open(encoding="utf-8") as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # the one line the export cut short
            if (pid := truth.get((police.name, row["record_ref"]))):
                day, month, year = (int(x) for x in row["dob"].split("/"))
                out[("police", pid)] = {"forename": row["forenames"], "surname": row["surname"], "nhs": "",
                                        "dob": date(year, month, day)}
    return out


def _key(name: str) -> str:
    """A name as linking compares it: letters only, no accents, lower case."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return re.sub("[^a-z]", "", plain.lower())


def _top_share(names: list[str], top: int) -> float:
    return sum(n for _, n in Counter(names).most_common(top)) / len(names)


# ---- frequencies ----------------------------------------------------------------------------------

def test_boys_forenames_are_as_concentrated_as_ons_baby_names(children):
    boys = [c["forename"] for c in children if c["sex"] == "M"]
    assert 0.010 <= _top_share(boys, 1) <= 0.020  # about 1.5%
    assert 0.09 <= _top_share(boys, 10) <= 0.15  # about 11-12%
    assert 0.38 <= _top_share(boys, 100) <= 0.56  # a little under half
    assert len(set(boys)) > 1000  # and a long tail of rare names


def test_girls_forenames_are_flatter_than_boys(children):
    girls = [c["forename"] for c in children if c["sex"] == "F"]
    assert 0.006 <= _top_share(girls, 1) <= 0.014  # about 1%
    assert 0.06 <= _top_share(girls, 10) <= 0.11  # about 8%
    assert 0.32 <= _top_share(girls, 100) <= 0.50  # about 40%
    assert len(set(girls)) > 1000


def test_surnames_are_as_concentrated_as_ons_surname_frequencies(persons):
    surnames = [p["surname"] for p in persons.values() if not p["scenario"]]
    counts = Counter(surnames)
    assert counts.most_common(1)[0][0] == "Smith"
    assert 0.008 <= counts["Smith"] / len(surnames) <= 0.016  # about 1.2%
    assert 0.045 <= _top_share(surnames, 10) <= 0.08  # about 6%
    assert _top_share(surnames, 200) <= 0.30  # under a quarter: most people have a rarer surname
    assert len(counts) > 5000


# ---- the people hardest to tell apart ------------------------------------------------------------

def test_about_three_children_in_a_hundred_are_twins_alike_in_all_but_forename(children, persons):
    twins = [c for c in children if c["twin_of"]]
    # 1.5% of maternities are twins: about 3% of children
    assert 0.02 <= len(twins) / len(children) <= 0.04
    pairs = {tuple(sorted((c["true_person"], c["twin_of"]))) for c in twins}
    alike = {frozenset(pair) for by_sex in ALIKE_TWIN_NAMES.values() for pair in by_sex}
    alike_named = 0
    for a, b in pairs:
        one, other = persons[a], persons[b]
        assert one["twin_of"] == b and other["twin_of"] == a
        assert (one["family"], one["mother"], one["surname"], one["date_of_birth"]) == \
            (other["family"], other["mother"], other["surname"], other["date_of_birth"])
        assert one["forename"] != other["forename"] and one["nhs_number"] != other["nhs_number"]
        alike_named += frozenset((one["forename"], other["forename"])) in alike
    assert 0.15 <= alike_named / len(pairs) <= 0.35  # a quarter get names like Ruby and Reuben


def test_strangers_share_a_forename_surname_and_birthday_some_of_the_other_sex(children, persons):
    namesakes = [c for c in children if c["namesake_of"]]
    # one family in 500: about one child in a thousand
    assert 0.0004 <= len(namesakes) / len(children) <= 0.002
    other_sex = 0
    for c in namesakes:
        model = persons[c["namesake_of"]]
        assert (c["forename"], c["surname"], c["date_of_birth"]) == \
            (model["forename"], model["surname"], model["date_of_birth"])
        assert c["family"] != model["family"] and c["nhs_number"] != model["nhs_number"]
        other_sex += c["sex"] != model["sex"]
    assert other_sex >= 1
    # and what the ground truth holds is what linking will meet: groups of children of different
    # families sharing all three
    families_by_name = defaultdict(set)
    for c in children:
        families_by_name[(c["forename"], c["surname"], c["date_of_birth"])].add(c["family"])
    assert sum(len(f) > 1 for f in families_by_name.values()) >= len(namesakes)


def test_children_of_parents_with_different_surnames_are_sometimes_given_both(children):
    double = [c for c in children if "-" in c["surname"]]
    assert 0.015 <= len(double) / len(children) <= 0.04


# ---- how agencies write them ----------------------------------------------------------------------

def test_day_and_month_are_swapped_more_often_where_no_nhs_number_checks_the_date(held, persons):
    """The police hold no NHS numbers: 4% of their records of a person with a swappable birthday
    (day 12 or less, not equal to the month) swap day and month, against 1% where an NHS number is held."""
    swappable = swapped = 0
    for (agency, pid), view in held.items():
        true = date.fromisoformat(persons[pid]["date_of_birth"])
        if agency != "police" or true.day > 12 or true.day == true.month:
            continue
        swappable += 1
        swapped += view["dob"] == date(true.year, true.day, true.month)
    assert swappable > 500
    assert 0.02 <= swapped / swappable <= 0.07


def test_each_agency_writes_accents_apostrophes_and_hyphens_its_own_way():
    assert [written("Zoë", a) for a in ("csc", "eh", "police", "school")] == ["Zoë", "Zoe", "ZOE", "Zoë"]
    assert [written("O'Brien", a) for a in ("csc", "police", "school")] == ["O'Brien", "O BRIEN", "OBrien"]
    assert [written("Smith-Jones", a) for a in ("csc", "police", "school")] == ["Smith-Jones", "SMITH JONES", "SmithJones"]


def test_one_childs_punctuated_name_reaches_the_project_three_ways(held, persons):
    """For people whose surname has an apostrophe or hyphen, held by social care, the police and a
    school: three spellings of one name, and now and then only one part of a double-barrelled one."""
    spellings_seen = []
    one_part = 0
    for pid, p in persons.items():
        if not re.search("['-]", p["surname"]):
            continue
        views = [held.get((a, pid)) for a in ("csc", "police", "school")]
        if any(v is None for v in views):
            continue
        surnames = [v["surname"] for v in views]
        if all(_key(s) == _key(p["surname"]) for s in surnames):
            spellings_seen.append(len(set(surnames)))
        one_part += any(_key(s) in {_key(part) for part in p["surname"].split("-")} for s in surnames)
    assert spellings_seen and max(spellings_seen) == 3
    assert sum(n == 3 for n in spellings_seen) >= 0.8 * len(spellings_seen)
    assert one_part >= 1
