"""Every referral, assessment, CIN plan, CP plan and CP review in the CIN census samples reaches the
ledger, each at the XPath of its element, or is quarantined with the reason the domain gives: an
event with a wrong date is quarantined with the events whose record ids are built from that date,
and the element's other events load.

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

from tests.ingest.national_oracle import as_date, current_events, expected_event_reasons, iso, load, quarantined

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
    reasons: frozenset[str]  # every reason the element has quarantine entries for
    held: frozenset[str]  # the event types quarantined

    def loads(self, etype: str) -> bool:
        return self.dates[etype] is not None and etype not in self.held


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
            # every event's record id is built from the element's first date (the counted event's)
            by_event = expected_event_reasons(dates, dob, run_date, kind.counted)
            held = {etype for etype, reasons in by_event.items() if reasons}
            reasons = set().union(*by_event.values())
            if not la_id:  # the row's own problem: nothing of it loads
                reasons, held = reasons | {"missing_required"}, set(dates)
            out.append(Expected(locator, la_id, dates, frozenset(reasons), frozenset(held)))
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
        loaded = {(e.locator, e.child, e.dates[kind.counted]) for e in wanted if e.loads(kind.counted)}
        in_ledger = {(r["locator"], r["subject_ref"], as_date(r["event_date"]))
                     for r in current_events(con, SOURCE, path.name, kind.counted)}
        assert in_ledger == loaded, f"{path.name}: {kind.name} in the ledger differ from the file"
        # the rows the domain's rules reject are in quarantine, with those reasons and no others
        held = quarantined(con, SOURCE, path.name)
        assert {e.locator: set(e.reasons) for e in wanted if e.reasons} == \
               {loc: reasons for loc, reasons in held.items() if loc in {e.locator for e in wanted}}
        # and every other event the elements give is there too, on the same element
        for etype in set(kind.events) - {kind.counted}:
            want = {(e.locator, e.dates[etype]) for e in wanted if e.loads(etype)}
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
        held = {loc for (loc,) in con.execute(
            "select distinct locator from ledger.quarantine where file_name = ? and regexp_matches(locator, "
            "'/CINdetails\\[\\d+\\]$') and (event_type = 'referral' or row_outcome = 'quarantined')",
            [path.name]).fetchall()}
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


def test_on_the_day_the_issue_was_found_400_referrals_load_and_the_future_closure_alone_is_held(samples, tmp_path):
    """fake_CIN_data.xml run on 6 December 2026: 400 CINdetails have a referral date on or before
    it (counted here from the XML); one has its closure in 2028. All 400 referrals load; that closure
    is quarantined as date_in_future, its row loaded in part."""
    run_date = date(2026, 12, 6)
    path = samples / "cin_census" / "fake_CIN_data.xml"
    episodes = []
    for i, child in enumerate(ET.parse(path).getroot().findall("Children/Child"), start=1):
        for j, cin in enumerate(child.findall("CINdetails"), start=1):
            episodes.append((f"/Message/Children/Child[{i}]/CINdetails[{j}]", iso(cin.findtext("CINreferralDate")),
                             iso(cin.findtext("CINclosureDate"))))
    valid = [e for e in episodes if e[1] and e[1] <= run_date]
    future_closure = [e for e in valid if e[2] and e[2] > run_date]
    assert len(valid) == 400 and len(future_closure) == 1
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    load(con, SOURCE, [path], run_date, tmp_path)
    referrals = current_events(con, SOURCE, path.name, "referral")
    assert sorted(r["locator"] for r in referrals) == sorted(e[0] for e in valid)
    held = con.execute("select locator, reason, event_type, row_outcome from ledger.quarantine where "
                       "regexp_matches(locator, '/CINdetails\\[\\d+\\]$')").fetchall()
    assert [h for h in held if h[0] in {e[0] for e in valid}] == \
        [(future_closure[0][0], "date_in_future", "case_closure", "loaded_in_part")]
    # the two referrals dated after the run date are held with everything their rows give
    assert {(h[0], h[3]) for h in held if h[0] not in {e[0] for e in valid}} == \
        {(e[0], "quarantined") for e in episodes if e not in valid}
