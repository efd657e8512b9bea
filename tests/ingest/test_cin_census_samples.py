"""Every referral, assessment, CIN plan, CP plan and CP review in the CIN census samples reaches the
ledger, each at the XPath of its element, or is quarantined with the reason the domain gives.

The expectations are read from the files with xml.etree (XPath positions counted by hand), never
with the project's reader.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.ingest.national_oracle import as_date, current_events, expected_reasons, iso, load, quarantined

pytestmark = pytest.mark.samples

SOURCE = "cin_census"


@dataclass(frozen=True)
class Kind:
    """One kind of census element: where it sits and the events one element gives (type -> date tag)."""

    name: str
    path: list[str]  # element tags below Child
    counted: str  # the event type that counts these elements
    events: dict[str, str]


KINDS = [
    Kind("referrals", ["CINdetails"], "referral",
         {"referral": "CINreferralDate", "case_closure": "CINclosureDate", "icpc": "DateOfInitialCPC"}),
    Kind("assessments", ["CINdetails", "Assessments"], "assessment_start",
         {"assessment_start": "AssessmentActualStartDate", "assessment_authorised": "AssessmentAuthorisationDate"}),
    Kind("CIN plans", ["CINdetails", "CINPlanDates"], "cin_plan_start",
         {"cin_plan_start": "CINPlanStartDate", "cin_plan_end": "CINPlanEndDate"}),
    Kind("section 47 enquiries", ["CINdetails", "Section47"], "s47_start",
         {"s47_start": "S47ActualStartDate", "strategy_discussion": "S47ActualStartDate", "icpc": "DateOfInitialCPC"}),
    Kind("CP plans", ["CINdetails", "ChildProtectionPlans"], "cp_plan_start",
         {"cp_plan_start": "CPPstartDate", "cp_plan_end": "CPPendDate"}),
    Kind("CP reviews", ["CINdetails", "ChildProtectionPlans", "Reviews", "CPPreviewDate"], "cp_review",
         {"cp_review": "."}),
]


@dataclass(frozen=True)
class Expected:
    locator: str
    child: str | None
    dates: dict[str, date | None]
    reasons: frozenset[str]


def _elements(parent: ET.Element, path: list[str], at: str):
    """(XPath, element) for every element down the path, positions counted among same-tag siblings."""
    if not path:
        yield at, parent
        return
    for i, sub in enumerate(parent.findall(path[0]), start=1):
        yield from _elements(sub, path[1:], f"{at}/{path[0]}[{i}]")


def expected(path: Path, kind: Kind, run_date: date) -> list[Expected]:
    root = ET.parse(path).getroot()
    out = []
    for i, child in enumerate(root.findall("Children/Child"), start=1):
        ids = child.find("ChildIdentifiers")
        la_id = ids.findtext("LAchildID") if ids is not None else None
        dob = iso(ids.findtext("PersonBirthDate") or ids.findtext("ExpectedPersonBirthDate")) if ids is not None else None
        for locator, element in _elements(child, kind.path, f"/Message/Children/Child[{i}]"):
            dates = {etype: iso(element.text if tag == "." else element.findtext(tag))
                     for etype, tag in kind.events.items()}
            reasons = expected_reasons(dates, dob, run_date) | ({"missing_required"} if not la_id else set())
            out.append(Expected(locator, la_id, dates, frozenset(reasons)))
    return out


@pytest.fixture
def ledger(samples, tmp_path, run_date):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    result = load(con, SOURCE, sorted((samples / "cin_census").glob("*.xml")), run_date, tmp_path)
    yield con, result
    con.close()


def test_every_cin_census_sample_file_loads(ledger, samples):
    _con, result = ledger
    assert {f.file_name for f in result.files} == {p.name for p in (samples / "cin_census").glob("*.xml")}
    assert [(f.file_name, f.status, f.reason) for f in result.files if f.status != "loaded"] == []


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_every_cin_element_in_the_sample_reaches_the_ledger(ledger, samples, run_date, kind):
    con, _ = ledger
    seen = 0
    for path in sorted((samples / "cin_census").glob("*.xml")):
        wanted = expected(path, kind, run_date)
        seen += len(wanted)
        loaded = {(e.locator, e.child, e.dates[kind.counted]) for e in wanted if not e.reasons}
        in_ledger = {(r["locator"], r["subject_ref"], as_date(r["event_date"]))
                     for r in current_events(con, SOURCE, path.name, kind.counted)}
        assert in_ledger == loaded, f"{path.name}: {kind.name} in the ledger differ from the file"
        # the rows the domain's rules reject are in quarantine, with those reasons and no others
        held = quarantined(con, SOURCE, path.name)
        assert {e.locator: set(e.reasons) for e in wanted if e.reasons} == \
               {loc: reasons for loc, reasons in held.items() if loc in {e.locator for e in wanted}}
        # and every other event the elements give is there too, on the same element
        for etype in set(kind.events) - {kind.counted}:
            want = {(e.locator, e.dates[etype]) for e in wanted if not e.reasons and e.dates[etype]}
            got = {(r["locator"], as_date(r["event_date"])) for r in current_events(con, SOURCE, path.name, etype)
                   if r["locator"] in {e.locator for e in wanted}}
            assert got == want, f"{path.name}: {etype} from {kind.name}"
    assert seen > 0, f"the samples hold no {kind.name}"


def test_every_cin_referral_in_the_sample_reaches_the_ledger(ledger, samples, run_date):
    """The front door in numbers: every CINdetails is one referral, loaded or quarantined, none lost."""
    con, _ = ledger
    for path in sorted((samples / "cin_census").glob("*.xml")):
        root = ET.parse(path).getroot()
        details = root.findall("Children/Child/CINdetails")
        referrals = current_events(con, SOURCE, path.name, "referral")
        held = [loc for loc in quarantined(con, SOURCE, path.name) if loc.endswith("]") and
                loc.rsplit("/", 1)[-1].startswith("CINdetails[")]
        assert len(referrals) + len(held) == len(details) > 0
        # the NFA flag is the referral's outcome; the referral source names the referring agency
        nfa = {r["locator"]: r["outcome"] for r in referrals}
        for i, child in enumerate(root.findall("Children/Child"), start=1):
            for j, cin in enumerate(child.findall("CINdetails"), start=1):
                loc = f"/Message/Children/Child[{i}]/CINdetails[{j}]"
                if loc in nfa:
                    flag = (cin.findtext("ReferralNFA") or "").strip().lower()
                    assert (nfa[loc] == "nfa") == (flag in ("true", "1")), loc


def test_a_referral_keeps_the_census_values_it_does_not_map(ledger, samples):
    con, _ = ledger
    original = con.execute(
        "select original from ledger.event_records where file_name = 'CIN_Census_2024.xml' and "
        "event_type = 'assessment_authorised' and subject_ref = 'child_fails_assessments'").fetchone()[0]
    assert '"AssessmentFactors": "[]"' not in original  # an empty factor list is no value
    row = con.execute(
        "select original, locator from ledger.quarantine where file_name = 'CIN_Census_2024.xml' "
        "and reason = 'date_in_future'").fetchone()
    # the first child's assessment starts in 2028: quarantined whole, its factors kept with it
    assert row[1] == "/Message/Children/Child[1]/CINdetails[1]/Assessments[1]"
    assert '"AssessmentFactors": "[\\"1C\\", \\"RB\\", \\"6B\\"]"' in row[0]


def test_cin_census_children_become_persons_in_the_csc_namespace(ledger, samples):
    con, _ = ledger
    path = samples / "cin_census" / "fake_CIN_data.xml"
    root = ET.parse(path).getroot()
    sexes = {"1": "M", "2": "F", "0": "U", "9": "U"}
    want = {(c.findtext("ChildIdentifiers/LAchildID"), c.findtext("ChildIdentifiers/UPN"),
             iso(c.findtext("ChildIdentifiers/PersonBirthDate")), sexes[c.findtext("ChildIdentifiers/GenderCurrent")])
            for c in root.findall("Children/Child")}
    got = set(con.execute("select subject_ref, upn, date_of_birth, sex from ledger.person_records where "
                          "file_name = ? and subject_namespace = 'csc' and la_child_id = subject_ref",
                          [path.name]).fetchall())
    assert got == want
