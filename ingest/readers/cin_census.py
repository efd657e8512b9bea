"""CIN census XML (the DfE children in need census): one table per element that carries events.

    Message/Children/Child                              table child        (identifiers, characteristics)
      CINdetails                                        table cin_details  (referral, closure, ICPC)
        Assessments                                     table assessments
        CINPlanDates                                    table cin_plans
        Section47                                       table section47
        ChildProtectionPlans                            table cp_plans
          Reviews/CPPreviewDate                         table cp_reviews

Every row also carries the child's identifiers (so each table can map the person and check dates
against the date of birth) and the keys of the elements it sits in (CINreferralDate for the CIN
episode, CPPstartDate for a plan), so record ids are stable across yearly files. The locator is
the XPath of the element, e.g. /Message/Children/Child[3]/CINdetails[2]/Assessments[1].

The reader streams: one Child at a time (iterparse, each Child cleared once read). One pass over
the file makes every table's rows of each child: the table being read hands its rows on, the tables
after it keep theirs until they are read, up to BUFFERED_ROWS rows in all; past that the last
tables kept give theirs up and are read by a pass of their own, which keeps rows for the tables
after it in the same way. So a file of any size needs the memory of one child and BUFFERED_ROWS
rows (about 11 MB), and a file whose rows fit (some 7,000 children) is parsed once. Parsing goes
through defusedxml with DTDs forbidden: a file with a DTD (the only way to declare entities,
internal or external) is rejected as unsafe_xml before anything is expanded or fetched.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ingest.readers.base import FileRejected, RawRow, Table, clean_value
from ingest.registry import SourceSpec

ROOT = "Message"
IDENTIFIERS = ["LAchildID", "UPN", "FormerUPN", "UPNunknown", "PersonBirthDate", "ExpectedPersonBirthDate",
               "GenderCurrent", "Sex", "PersonDeathDate"]
# repeating leaves kept as one JSON list, whether the element holds one of them or several
LIST_LEAVES = {"AssessmentFactors", "Disability"}
# elements that are tables of their own, so not flattened into their parent's row
NESTED_TABLES = {"CINdetails", "Assessments", "CINPlanDates", "Section47", "ChildProtectionPlans", "Reviews"}

Extract = Callable[[ET.Element, str, dict], Iterator[tuple[str, dict]]]


@dataclass(frozen=True)
class CinTable:
    name: str
    element: str  # for messages
    own_columns: list[str]
    extract: Extract

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys(IDENTIFIERS + self.own_columns))


# ---- flattening one element -----------------------------------------------------------------------

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else str(tag)


def leaves(element: ET.Element) -> dict[str, str | None]:
    """The element's values: its leaf children, and the leaves of its plain containers
    (ChildIdentifiers, FactorsIdentifiedAtAssessment); nested tables are left to their own table."""
    out: dict[str, str | None] = {}
    lists: dict[str, list[str]] = {}
    for sub in element:
        tag = _local(sub.tag)
        if tag in NESTED_TABLES:
            continue
        if len(sub) == 0:
            _put(out, lists, tag, sub.text)
            continue
        for leaf in sub.iter():
            if leaf is not sub and len(leaf) == 0:
                _put(out, lists, _local(leaf.tag), leaf.text)
    for tag, texts in lists.items():
        out[tag] = json.dumps(texts, ensure_ascii=False)
    return out


def _put(out: dict, lists: dict[str, list[str]], tag: str, text: str | None) -> None:
    value = clean_value(text)
    if tag in LIST_LEAVES or tag in lists:
        if value is not None:
            lists.setdefault(tag, []).append(value)
    elif out.get(tag) is None:
        out[tag] = value
    elif value is not None and value != out[tag]:
        # a single-valued item given twice with different values: keep both, as a list
        lists[tag] = [out.pop(tag), value]


def _numbered(parent: ET.Element, tag: str) -> Iterator[tuple[int, ET.Element]]:
    return enumerate(parent.findall(tag), start=1)


# ---- the tables ---------------------------------------------------------------------------------

def _child(child: ET.Element, at: str, ids: dict) -> Iterator[tuple[str, dict]]:
    yield at, {**leaves(child), **ids}


def _cin_details(child: ET.Element, at: str, ids: dict) -> Iterator[tuple[str, dict]]:
    for i, cin in _numbered(child, "CINdetails"):
        yield f"{at}/CINdetails[{i}]", {**ids, **leaves(cin)}


def _episode_key(cin: ET.Element) -> dict:
    return {"CINreferralDate": clean_value(cin.findtext("CINreferralDate"))}


def _within_cin(tag: str) -> Extract:
    def extract(child: ET.Element, at: str, ids: dict) -> Iterator[tuple[str, dict]]:
        for i, cin in _numbered(child, "CINdetails"):
            for j, element in _numbered(cin, tag):
                yield f"{at}/CINdetails[{i}]/{tag}[{j}]", {**ids, **_episode_key(cin), **leaves(element)}
    return extract


def _cp_reviews(child: ET.Element, at: str, ids: dict) -> Iterator[tuple[str, dict]]:
    # one row per review date: a Reviews element may hold several CPPreviewDate
    for i, cin in _numbered(child, "CINdetails"):
        for j, plan in _numbered(cin, "ChildProtectionPlans"):
            plan_key = {"CPPstartDate": clean_value(plan.findtext("CPPstartDate"))}
            for k, reviews in _numbered(plan, "Reviews"):
                for m, review in _numbered(reviews, "CPPreviewDate"):
                    yield (f"{at}/CINdetails[{i}]/ChildProtectionPlans[{j}]/Reviews[{k}]/CPPreviewDate[{m}]",
                           {**ids, **_episode_key(cin), **plan_key, "CPPreviewDate": clean_value(review.text)})


TABLES = [
    CinTable("cin_details", "CINdetails", ["CINreferralDate", "ReferralSource", "PrimaryNeedCode", "CINclosureDate",
                                           "ReasonForClosure", "DateOfInitialCPC", "ReferralNFA"], _cin_details),
    CinTable("assessments", "Assessments", ["CINreferralDate", "AssessmentActualStartDate",
                                            "AssessmentInternalReviewDate", "AssessmentAuthorisationDate",
                                            "AssessmentFactors"], _within_cin("Assessments")),
    CinTable("cin_plans", "CINPlanDates", ["CINreferralDate", "CINPlanStartDate", "CINPlanEndDate"],
             _within_cin("CINPlanDates")),
    CinTable("section47", "Section47", ["CINreferralDate", "S47ActualStartDate", "InitialCPCtarget",
                                        "DateOfInitialCPC", "ICPCnotRequired"], _within_cin("Section47")),
    CinTable("cp_plans", "ChildProtectionPlans", ["CINreferralDate", "CPPstartDate", "CPPendDate",
                                                  "InitialCategoryOfAbuse", "LatestCategoryOfAbuse",
                                                  "NumberOfPreviousCPP"], _within_cin("ChildProtectionPlans")),
    CinTable("cp_reviews", "Reviews/CPPreviewDate", ["CINreferralDate", "CPPstartDate", "CPPreviewDate"], _cp_reviews),
    # last, so the person each source file states is the one read from the Child element itself
    CinTable("child", "Child", ["Ethnicity", "Disability"], _child),
]


# ---- streaming --------------------------------------------------------------------------------------

def _iterparse(handle, events: tuple[str, ...]):
    return SafeET.iterparse(handle, events=events, forbid_dtd=True, forbid_entities=True, forbid_external=True)


def _unsafe(exc: DefusedXmlException) -> FileRejected:
    return FileRejected("unsafe_xml", f"the XML declares a DTD or entities ({type(exc).__name__}: {exc}); "
                                      "CIN census files never need one, and expanding it could exhaust the machine "
                                      "or read other files")


def children(path: Path) -> Iterator[tuple[int, ET.Element]]:
    """Each Message/Children/Child with its position (1-based), cleared once the caller moves on."""
    depth = 0
    path_tags = ["", "", ""]  # the local tags of the open elements down to a Child (deeper ones are not named)
    container: ET.Element | None = None
    n = 0
    with path.open("rb") as handle:
        try:
            for event, element in _iterparse(handle, ("start", "end")):
                if event == "start":
                    depth += 1
                    if depth <= 3:
                        tag = path_tags[depth - 1] = _local(element.tag)
                        if depth == 1 and tag != ROOT:
                            raise FileRejected("wrong_structure", f"the root element is <{tag}>, not <{ROOT}>: "
                                                                  "not a CIN census file")
                        if depth == 2 and tag == "Children":
                            container = element
                    continue
                if depth == 3 and path_tags[1] == "Children" and path_tags[2] == "Child":
                    n += 1
                    for sub in element.iter():  # namespaced files read like plain ones
                        if "}" in sub.tag:
                            sub.tag = _local(sub.tag)
                    yield n, element
                    element.clear()
                    if container is not None:
                        container.remove(element)  # nothing of a read child stays in memory
                depth -= 1
        except DefusedXmlException as exc:
            raise _unsafe(exc) from None
        except ET.ParseError as exc:
            raise FileRejected("unreadable", f"not well-formed XML: {exc}") from None


def check_prolog(path: Path) -> None:
    """Reject an unsafe or foreign file before any table is read (a DTD comes before the root)."""
    with path.open("rb") as handle:
        try:
            for _event, element in _iterparse(handle, ("start",)):
                if _local(element.tag) != ROOT:
                    raise FileRejected("wrong_structure", f"the root element is <{_local(element.tag)}>, "
                                                          f"not <{ROOT}>: not a CIN census file")
                return
        except DefusedXmlException as exc:
            raise _unsafe(exc) from None
        except ET.ParseError as exc:
            raise FileRejected("unreadable", f"not well-formed XML: {exc}") from None
    raise FileRejected("empty", "the file has no XML element")


# rows kept for the tables after the one being read (about 550 bytes each): bounds a file's memory
BUFFERED_ROWS = 20_000


class _Passes:
    """The tables' rows, made by as few passes over the file as BUFFERED_ROWS allows (module docstring)."""

    def __init__(self, path: Path):
        self.path = path
        self.kept: dict[int, tuple[list[RawRow], FileRejected | None]] = {}  # table -> rows, and the error after them
        self.started: set[int] = set()

    def rows(self, first: int) -> Iterator[RawRow]:
        """TABLES[first]'s rows: kept by an earlier pass, or from a pass of its own that keeps the rows
        of the later tables no pass has kept."""
        self.started.add(first)
        if first in self.kept:
            rows, error = self.kept.pop(first)
            yield from rows
            if error is not None:
                raise error
            return
        keeping: dict[int, list[RawRow]] = {k: [] for k in range(first + 1, len(TABLES))
                                            if k not in self.kept and k not in self.started}
        empty = {k: {c: None for c in TABLES[k].columns} for k in (first, *keeping)}
        counts = dict.fromkeys(empty, 0)
        try:
            for i, child in children(self.path):
                found = child.find("ChildIdentifiers")
                ids = {c: None for c in IDENTIFIERS}
                if found is not None:
                    ids.update(leaves(found))
                at = f"/{ROOT}/Children/Child[{i}]"
                for locator, values in TABLES[first].extract(child, at, ids):
                    counts[first] += 1
                    yield RawRow(counts[first], locator, {**empty[first], **values})
                for k, kept in keeping.items():
                    for locator, values in TABLES[k].extract(child, at, ids):
                        counts[k] += 1
                        kept.append(RawRow(counts[k], locator, {**empty[k], **values}))
                while keeping and sum(map(len, keeping.values())) > BUFFERED_ROWS:
                    keeping.popitem()  # the last table kept is left to a pass of its own
        except FileRejected as exc:  # a file broken part way: each table kept ends where it broke, as alone it would
            self._keep(keeping, exc)
            raise
        self._keep(keeping, None)

    def _keep(self, keeping: dict[int, list[RawRow]], error: FileRejected | None) -> None:
        for k, rows in keeping.items():
            if k not in self.started:  # read meanwhile by a pass of its own
                self.kept[k] = (rows, error)


def read_cin_census(path: Path, spec: SourceSpec) -> list[Table]:
    check_prolog(path)
    passes = _Passes(path)
    return [Table(t.columns, passes.rows(k), name=t.name, where=f"element {t.element}") for k, t in enumerate(TABLES)]


# ---- recognising a CIN census file ------------------------------------------------------------------

CIN_ELEMENTS = {"CINdetails", "ChildIdentifiers", "CINreferralDate"}


def sniff_cin_census(path: Path) -> bool:
    """A <Message> whose collection is CIN or whose children have CINdetails."""
    if path.suffix.casefold() != ".xml":
        return False
    with path.open("rb") as handle:
        try:
            for n, (event, element) in enumerate(_iterparse(handle, ("start", "end"))):
                tag = _local(element.tag)
                if n == 0 and tag != ROOT:
                    return False
                if event == "start" and tag in CIN_ELEMENTS:
                    return True
                if event == "end" and tag == "Collection":
                    return (element.text or "").strip().upper() == "CIN"
                if n > 5000:
                    return False
        except DefusedXmlException:
            # an unsafe file that claims to be a CIN census goes to its reader, to be rejected on record
            handle.seek(0)
            head = handle.read(65536)
            return b"<Message" in head
        except ET.ParseError:
            return False
    return False
