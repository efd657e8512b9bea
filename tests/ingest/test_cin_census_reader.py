"""The CIN census reader: safe against entity expansion and external entities, streaming one child
at a time, and precise about where each row came from."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import pytest

from ingest.readers import FileRejected, read
from ingest.readers.cin_census import children, sniff_cin_census
from tests.ingest.helpers import load_files, registry


def child_xml(la_id: str | None, referral: str = "2024-01-10", *, assessments: int = 1, reviews: int = 0) -> str:
    ident = f"<LAchildID>{la_id}</LAchildID>" if la_id is not None else ""
    assessment = ("<Assessments><AssessmentActualStartDate>2024-01-{d:02d}</AssessmentActualStartDate>"
                  "<AssessmentAuthorisationDate>2024-02-{d:02d}</AssessmentAuthorisationDate>"
                  "<FactorsIdentifiedAtAssessment><AssessmentFactors>2A</AssessmentFactors>"
                  "<AssessmentFactors>3B</AssessmentFactors></FactorsIdentifiedAtAssessment></Assessments>")
    review_dates = "".join(f"<CPPreviewDate>2024-0{3 + i}-01</CPPreviewDate>" for i in range(reviews))
    plan = (f"<ChildProtectionPlans><CPPstartDate>2024-02-20</CPPstartDate><InitialCategoryOfAbuse>NEG"
            f"</InitialCategoryOfAbuse><Reviews>{review_dates}</Reviews></ChildProtectionPlans>") if reviews else ""
    return (f"<Child><ChildIdentifiers>{ident}<UPN>A123456789012</UPN><PersonBirthDate>2015-05-01</PersonBirthDate>"
            f"<GenderCurrent>2</GenderCurrent></ChildIdentifiers><ChildCharacteristics><Ethnicity>WBRI</Ethnicity>"
            f"</ChildCharacteristics><CINdetails><CINreferralDate>{referral}</CINreferralDate>"
            f"<ReferralSource>6</ReferralSource><PrimaryNeedCode>N1</PrimaryNeedCode><ReferralNFA>false</ReferralNFA>"
            + "".join(assessment.format(d=11 + i) for i in range(assessments)) + plan + "</CINdetails></Child>")


def cin_file(path: Path, *kids: str, prolog: str = "", xmlns: str = "") -> Path:
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}<Message{xmlns}><Header><CollectionDetails>'
                    f"<Collection>CIN</Collection><Year>2024</Year></CollectionDetails></Header>"
                    f"<Children>{''.join(kids)}</Children></Message>", encoding="utf-8")
    return path


def _load(tmp_path: Path, path: Path, run_date):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    return con, load_files(con, registry()["cin_census"], [path], run_date, tmp_path / "archive")


BILLION_LAUGHS = """<!DOCTYPE Message [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""


def test_a_billion_laughs_file_is_rejected_as_unsafe_xml(tmp_path, run_date):
    path = cin_file(tmp_path / "cin_laughs.xml", child_xml("&lol9;"), prolog=BILLION_LAUGHS)
    with pytest.raises(FileRejected) as err:
        list(read(path, registry()["cin_census"]))
    assert err.value.reason == "unsafe_xml"
    con, result = _load(tmp_path, path, run_date)
    assert [(f.status, f.reason) for f in result.files] == [("rejected", "unsafe_xml")]
    assert con.execute("select count(*) from ledger.event_records").fetchone()[0] == 0
    assert con.execute("select status, reason from ledger.files").fetchall() == [("rejected", "unsafe_xml")]


def test_an_external_entity_file_is_rejected_without_reading_the_entity(tmp_path, run_date):
    secret = tmp_path / "secret.txt"
    secret.write_text("NOT-FOR-THE-LEDGER")
    xxe = f'<!DOCTYPE Message [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
    path = cin_file(tmp_path / "cin_xxe.xml", child_xml("&xxe;"), prolog=xxe)
    with pytest.raises(FileRejected) as err:
        read(path, registry()["cin_census"])
    assert err.value.reason == "unsafe_xml"
    con, result = _load(tmp_path, path, run_date)
    assert [(f.status, f.reason) for f in result.files] == [("rejected", "unsafe_xml")]
    dumped = str(con.execute("select * from ledger.files").fetchall()) + \
        str(con.execute("select * from ledger.quarantine").fetchall())
    assert "NOT-FOR-THE-LEDGER" not in dumped


def test_an_external_dtd_is_rejected_before_anything_is_fetched(tmp_path):
    path = cin_file(tmp_path / "cin_dtd.xml", child_xml("C1"),
                    prolog='<!DOCTYPE Message SYSTEM "http://127.0.0.1:9/cin.dtd">\n')
    with pytest.raises(FileRejected) as err:
        read(path, registry()["cin_census"])
    assert err.value.reason == "unsafe_xml"


def test_an_unsafe_file_claiming_to_be_a_cin_census_is_routed_to_it_to_be_rejected_on_record(tmp_path):
    path = cin_file(tmp_path / "anything.xml", child_xml("&lol9;"), prolog=BILLION_LAUGHS)
    assert sniff_cin_census(path)


def test_a_child_without_la_child_id_is_quarantined_and_the_others_load(tmp_path, run_date):
    path = cin_file(tmp_path / "cin.xml", child_xml("C1"), child_xml(None, assessments=2), child_xml("C3"))
    con, result = _load(tmp_path, path, run_date)
    assert [(f.status, f.rows_quarantined) for f in result.files] == [("loaded", 4)]  # child, referral, 2 assessments
    held = con.execute("select locator, reason, column_name from ledger.quarantine order by locator").fetchall()
    assert {loc for loc, _, _ in held} == {
        "/Message/Children/Child[2]", "/Message/Children/Child[2]/CINdetails[1]",
        "/Message/Children/Child[2]/CINdetails[1]/Assessments[1]", "/Message/Children/Child[2]/CINdetails[1]/Assessments[2]"}
    assert {(reason, column) for _, reason, column in held} == {("missing_required", "LAchildID")}
    loaded = con.execute("select subject_ref, count(*) from ledger.event_records group by 1 order by 1").fetchall()
    assert loaded == [("C1", 3), ("C3", 3)]  # referral, assessment start, assessment authorised each
    assert con.execute("select list(subject_ref order by subject_ref) from ledger.person_records").fetchone()[0] == ["C1", "C3"]


def test_each_row_is_located_by_the_xpath_of_its_element(tmp_path, run_date):
    path = cin_file(tmp_path / "cin.xml", child_xml("C1"), child_xml("C2", assessments=2, reviews=2))
    con, _ = _load(tmp_path, path, run_date)
    rows = con.execute("select event_type, locator, original from ledger.event_records where subject_ref = 'C2' "
                       "order by ledger_id").fetchall()
    located = {(t, loc) for t, loc, _ in rows}
    assert ("referral", "/Message/Children/Child[2]/CINdetails[1]") in located
    assert ("assessment_start", "/Message/Children/Child[2]/CINdetails[1]/Assessments[2]") in located
    assert ("cp_review", "/Message/Children/Child[2]/CINdetails[1]/ChildProtectionPlans[1]/Reviews[1]/CPPreviewDate[2]") \
        in located
    # the XPath finds the element in the file, with the event's date in it
    root = ET.parse(path).getroot()
    element = root.find("Children/Child[2]/CINdetails[1]/Assessments[2]")
    assert element.findtext("AssessmentActualStartDate") == "2024-01-12"
    factors = next(o for t, loc, o in rows if t == "assessment_start" and loc.endswith("Assessments[2]"))
    assert '"AssessmentFactors": "[\\"2A\\", \\"3B\\"]"' in factors
    plan = con.execute("select outcome from ledger.event_records where event_type = 'cp_plan_start'").fetchone()
    assert plan == ("NEG",)
    referral = con.execute("select outcome, related_agency, summary from ledger.event_records "
                           "where event_type = 'referral' and subject_ref = 'C1'").fetchone()
    assert referral == (None, "police", "N1 Abuse or neglect")


def test_the_reader_holds_one_child_at_a_time(tmp_path):
    path = cin_file(tmp_path / "cin.xml", *(child_xml(f"C{i}") for i in range(50)))
    seen = []
    for n, child in children(path):
        assert len(child) > 0  # the child being read is whole
        for earlier in seen:
            assert len(earlier) == 0  # every child read before it has been cleared
        seen.append(child)
    assert len(seen) == 50


def test_a_namespaced_cin_file_reads_like_a_plain_one(tmp_path, run_date):
    path = cin_file(tmp_path / "cin.xml", child_xml("C1"), xmlns=' xmlns="http://www.dfe.gov.uk/CIN"')
    assert sniff_cin_census(path)
    con, result = _load(tmp_path, path, run_date)
    assert result.files[0].status == "loaded"
    assert con.execute("select count(*) from ledger.event_records").fetchone()[0] == 3


@pytest.mark.parametrize("text, reason", [
    ("<Message><Children><Child>", "unreadable"),  # cut off
    ("<Other><Children/></Other>", "wrong_structure"),
])
def test_a_broken_or_foreign_xml_file_is_rejected_with_its_reason(tmp_path, text, reason):
    path = tmp_path / "cin.xml"
    path.write_text(text)
    with pytest.raises(FileRejected) as err:
        for table in read(path, registry()["cin_census"]):
            list(table.rows)
    assert err.value.reason == reason


def test_only_cin_census_files_are_sniffed_as_such(tmp_path):
    assert sniff_cin_census(cin_file(tmp_path / "x.xml", child_xml("C1")))
    (tmp_path / "other.xml").write_text("<Message><Header/><Body/></Message>")
    assert not sniff_cin_census(tmp_path / "other.xml")
    (tmp_path / "cin.csv").write_text("LAchildID\n1\n")
    assert not sniff_cin_census(tmp_path / "cin.csv")


def _every_row(path: Path) -> list:
    return [(t.name, r.row_number, r.locator, list(r.values.items()))
            for t in read(path, registry()["cin_census"]) for r in t.rows]


# with no buffer only the tables without rows (no CINPlanDates, no Section47 here) share a pass
@pytest.mark.parametrize("buffered, passes", [(10_000, 1), (4, 4), (0, 5)])
def test_the_tables_share_passes_over_the_file_as_far_as_the_buffer_allows(tmp_path, monkeypatch, buffered, passes):
    from ingest.readers import cin_census

    path = cin_file(tmp_path / "cin.xml", *(child_xml(f"C{i}", assessments=i % 3, reviews=i % 2) for i in range(6)))
    expected = _every_row(path)
    parsed = []
    monkeypatch.setattr(cin_census, "BUFFERED_ROWS", buffered)
    monkeypatch.setattr(cin_census, "children", lambda p: parsed.append(p) or children(p))
    assert _every_row(path) == expected  # the same rows, numbers and locators, whichever pass made them
    assert len(parsed) == passes


def test_a_file_broken_part_way_ends_every_table_where_it_broke(tmp_path):
    whole = cin_file(tmp_path / "cin.xml", *(child_xml(f"C{i}", reviews=1) for i in range(4)))
    text = whole.read_text()
    cut = tmp_path / "cut.xml"
    cut.write_text(text[:text.index("<Child>", text.index("C2"))])  # children 1 to 3, then the file stops
    for table in read(cut, registry()["cin_census"]):
        rows = []
        with pytest.raises(FileRejected) as err:
            rows.extend(table.rows)
        assert err.value.reason == "unreadable"
        # every table the children have (they have no CINPlanDates or Section47) has their rows, then the error
        assert {r.locator.split("/")[3] for r in rows} == (
            set() if table.name in ("cin_plans", "section47") else {"Child[1]", "Child[2]", "Child[3]"}), table.name
