"""The synthetic generator is a real component: deterministic, realistic, and honest ground truth."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from pathlib import Path

import pytest

from casehistory.identifiers import is_valid_nhs_number, is_valid_upn
from casehistory.synth import generate


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


SMALL = 400  # enough police rows (one in ten of them eligible) for every kind of fault


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("gen"), children=SMALL, seed=7)


def _records(g) -> list[dict]:
    with (g.ground_truth / "records.csv").open() as f:
        return list(csv.DictReader(f))


def _events(g) -> dict[str, dict]:
    with (g.ground_truth / "events.csv").open() as f:
        return {r["true_event"]: r for r in csv.DictReader(f)}


def _persons(g) -> dict[str, dict]:
    with (g.ground_truth / "persons.csv").open() as f:
        return {r["true_person"]: r for r in csv.DictReader(f)}


def test_same_seed_gives_byte_identical_files(tmp_path):
    import time

    a = generate(tmp_path / "a", children=120, seed=3)
    time.sleep(1.1)  # workbooks must not carry the time they were written
    b = generate(tmp_path / "b", children=120, seed=3)
    assert _digests(a.root) == _digests(b.root)


def test_another_seed_gives_other_data(tmp_path):
    a = generate(tmp_path / "a", children=120, seed=3)
    b = generate(tmp_path / "b", children=120, seed=4)
    assert _digests(a.extracts) != _digests(b.extracts)


def test_it_makes_the_children_asked_for(small):
    persons = _persons(small)
    assert sum(1 for p in persons.values() if p["role"] == "child") == SMALL


def test_five_agencies_each_in_its_own_format_plus_chronology_templates(small):
    suffixes = {p.name: p.suffix for p in small.extracts.iterdir()}
    by_source = {f["source"] for f in small.expected["files"].values()}
    assert by_source >= {"csc_activity", "eh_activity", "hv_contacts", "police_ppn", "school_welfare",
                         "chronology_template"}
    assert {".csv", ".xlsx", ".json", ".jsonl"} <= set(suffixes.values())


def test_school_extract_is_windows_1252_with_accented_names(tmp_path):
    g = generate(tmp_path, children=2000, seed=11)
    raw = next(g.extracts.glob("school_*.csv")).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert any(ch in raw.decode("cp1252") for ch in "ëéáó")


def test_true_identifiers_are_valid_and_unique(small):
    persons = _persons(small).values()
    nhs = [p["nhs_number"] for p in persons]
    assert all(is_valid_nhs_number(n) for n in nhs) and len(set(nhs)) == len(nhs)
    upns = [p["upn"] for p in persons if p["upn"]]
    assert upns and all(is_valid_upn(u) for u in upns) and len(set(upns)) == len(upns)


def test_every_row_names_its_true_person_and_event(small):
    persons, events = _persons(small), _events(small)
    for r in _records(small):
        if r["reason"] == "unreadable_row":
            continue
        assert r["true_person"] in persons and r["true_event"] in events


def test_expected_counts_add_up_from_the_row_truth(small):
    rows = _records(small)
    e = small.expected
    assert e["rows"] == len(rows)
    assert e["rows_quarantined"] == sum(r["status"] == "quarantined" for r in rows)
    for name, f in e["files"].items():
        mine = [r for r in rows if r["file"] == name]
        assert f["rows"] == len(mine)
        assert f["reasons"] == dict(Counter(r["reason"] for r in mine if r["status"] == "quarantined"))


def test_each_file_carries_every_kind_of_fault_to_quarantine(small):
    for name, f in small.expected["files"].items():
        if f["source"] != "chronology_template" and "corrections" not in name:
            assert set(f["reasons"]) >= {"bad_date", "unknown_code", "missing_required", "date_in_future"}, name


def test_the_same_event_is_reported_by_two_agencies(small):
    multi = [e for e in _events(small).values() if len(set(e["reported_by"].split("|"))) > 1]
    assert {tuple(sorted(set(e["reported_by"].split("|")))) for e in multi} >= {("csc", "police"), ("eh", "school")}


def test_a_later_file_corrects_an_earlier_row(small):
    """csc's file of corrections, and a chronology sent again amended: every superseded row is an
    amendment of expected.json, whose later file holds the record again, loaded."""
    rows = _records(small)
    superseded = {(r["file"], r["record_id"]) for r in rows if r["status"] == "superseded"}
    amendments = small.expected["amendments"]
    assert superseded and superseded == {(a["file"], a["record_id"]) for a in amendments}
    sent_again = {(r["file"], r["record_id"]) for r in rows if r["status"] == "loaded"}
    assert all((a["amended_in"], a["record_id"]) in sent_again for a in amendments)
    assert {a["source"] for a in amendments} == {"csc_activity", "chronology_template"}


def test_identifiers_are_noisy_at_default_and_clean_at_none(tmp_path):
    def mismatches(g) -> int:
        truth = _persons(g)
        count = 0
        with (g.extracts / "csc_activity_2025-03-31.csv").open() as f:
            for row in csv.DictReader(f):
                rec = next(r for r in _records(g) if r["record_id"] == row["Record ID"] and r["source"] == "csc_activity")
                person = truth[rec["true_person"]]
                count += (row["Forename"], row["Surname"]) != (person["forename"], person["surname"])
        return count

    assert mismatches(generate(tmp_path / "none", children=400, seed=5, noise="none")) == 0
    assert mismatches(generate(tmp_path / "default", children=400, seed=5)) > 0


# ---- the seed reviews -----------------------------------------------------------------------------

def test_baby_e_referred_five_times_by_four_agencies_each_time_back_to_early_help(small):
    persons, events = _persons(small), _events(small)
    baby = next(p for p in persons.values() if p["scenario"] == "baby_e" and p["date_of_birth"] == "2023-08-24")
    referrals = [e for e in events.values() if e["true_person"] == baby["true_person"] and e["event_type"] == "referral"]
    assert len(referrals) == 5
    assert {e["outcome"] for e in referrals} == {"early_help"}
    rows = [r for r in _records(small) if r["true_event"] in {e["true_event"] for e in referrals}]
    referrers = {r["agency"] for r in rows if r["agency"] != "csc"}
    assert len(referrers) == 4


def test_baby_e_has_an_older_half_sibling_and_a_father_known_to_adult_services(small):
    persons = _persons(small)
    family = [p for p in persons.values() if p["scenario"] == "baby_e"]
    children = [p for p in family if p["role"] == "child"]
    assert len(children) == 2 and children[0]["mother"] == children[1]["mother"]
    assert children[0]["father"] != children[1]["father"]
    asc_people = {r["true_person"] for r in _records(small) if r["agency"] == "asc"}
    assert any(persons[p]["role"] == "father" for p in asc_people)


def test_baby_e_two_lead_professionals_cancelled_meeting_complaint_then_closure(small):
    persons, events = _persons(small), _events(small)
    baby = next(p["true_person"] for p in persons.values() if p["scenario"] == "baby_e" and p["date_of_birth"] == "2023-08-24")
    mine = [e for e in events.values() if e["true_person"] == baby]
    lead = [e for e in mine if e["event_type"] == "lead_professional_start"]
    assert len(lead) == 1 and set(lead[0]["reported_by"].split("|")) == {"eh", "hv"}
    assert any(e["event_type"] == "tac_meeting" and e["outcome"] == "cancelled" for e in mine)
    complaint = next(e for e in mine if e["event_type"] == "complaint")
    closure = next(e for e in mine if e["event_type"] == "early_help_end")
    assert closure["outcome"] == "withdrew_consent" and closure["event_date"] > complaint["event_date"]


def test_js_family_early_help_chronology_never_arrives(small):
    persons = _persons(small)
    js = {p["true_person"] for p in persons.values() if p["scenario"] == "js_family"}
    rows = [r for r in _records(small) if r["true_person"] in js]
    assert rows and not any(r["agency"] == "eh" for r in rows)
    assert small.expected["reviews"]["REV-2025-002"] == {"missing_chronologies": ["eh"], "involved_not_asked": ["ews"]}


def test_reviews_file_declares_both_reviews_in_the_domain_shape(small):
    import yaml

    doc = yaml.safe_load(small.reviews.read_text())
    ids = [r["id"] for r in doc["reviews"]]
    assert ids == ["REV-2025-001", "REV-2025-002"]
    for r in doc["reviews"]:
        assert set(r) == {"id", "type", "subjects", "scope_start", "scope_end", "deadline", "agencies"}
