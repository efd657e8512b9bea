"""The true world behind the synthetic extracts: families, people and real-world events.

Agencies only ever see this world through their own, noisy, partial reports (extracts.py). Every
report keeps the id of the true person and true event it is about, which is the ground truth the
tests and the linking evaluation compare against.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from casehistory.identifiers import nhs_check_digit, upn_check_letter
from casehistory.synth import names
from casehistory.vocabulary import event_types

AS_OF = date(2025, 3, 31)  # the extract date: every agency's data runs up to here
WINDOW_START = date(2019, 4, 1)  # the earliest events the extracts cover
OLDEST_CHILD = date(2007, 4, 1)

# Agencies with a regular bulk extract in the demo; the others send chronology templates only.
BULK_AGENCIES = ("csc", "eh", "hv", "police", "school")

# NHS numbers come from the test range 999 (about 909,000 valid numbers); past 80% of it (a
# generated authority of about 300,000 children) 990-998 are drawn too, outside the ranges issued
# to patients as far as we know.
NHS_TEST_PREFIX, NHS_MORE_PREFIXES = "999", tuple(f"99{d}" for d in range(9))
NHS_PREFIX_CAPACITY = 909_090
# Postcodes are unique to a family while the made-up units last (about 108,000); past 90% of them
# families share postcodes, as real ones do (about 15 addresses each).
POSTCODE_CAPACITY = len(names.POSTCODE_AREAS) * 9 * len(names.POSTCODE_UNIT_LETTERS) ** 2


@dataclass
class Person:
    pid: str
    family: str
    role: str  # child | mother | father
    forename: str
    surname: str
    sex: str  # M | F
    dob: date
    nhs: str
    upn: str | None = None
    mother: str | None = None
    father: str | None = None
    scenario: str | None = None
    unnamed_at_birth: bool = False
    twin_of: str | None = None  # the other twin
    namesake_of: str | None = None  # a child of another family given this one's name and birthday

    @property
    def is_child(self) -> bool:
        return self.role == "child"


@dataclass
class Report:
    """One agency's record of a true event (before extract noise)."""

    agency: str
    date: date
    outcome: str | None = None
    related_agency: str | None = None
    practitioner_role: str | None = None
    summary: str | None = None
    sessions: int | None = None
    # what the agency first recorded where it differs from the truth, amended later: the chronology
    # template sends the first version, then an amendment of the row (extracts.render_chronologies)
    first_recorded: dict | None = None


@dataclass
class TrueEvent:
    eid: str
    pid: str
    etype: str
    date: date
    outcome: str | None
    reports: list[Report] = field(default_factory=list)
    occurrence: str | None = None  # shared by the records of one police occurrence


@dataclass
class PlanEpisode:
    """One true plan interval of a child: open from start up to but not including end (a plan that
    starts and ends on one day is open that one day); end None = still open on the extract date."""

    pid: str
    plan_type: str  # early_help | cin | cp | lac
    start: date
    end: date | None
    start_event: str
    end_event: str | None = None
    ended_by: str | None = None  # the event type that ended it: its own end, or a case closure

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < max(self.end, self.start + timedelta(days=1)))

    def overlaps(self, start: date, end: date | None) -> bool:
        last = (end if end is None or end > start else start + timedelta(days=1))
        mine = (self.end if self.end is None or self.end > self.start else self.start + timedelta(days=1))
        return (last is None or self.start < last) and (mine is None or start < mine)


# The plans of the world, and the event types that open and end each. A case closure ends the child
# in need episode, so it ends a child in need or child protection plan still open (CIN census:
# a closed case has no plan); early help and looked-after episodes end only by their own events.
PLAN_EVENTS = {"early_help": ("early_help_start", "early_help_end"), "cin": ("cin_plan_start", "cin_plan_end"),
               "cp": ("cp_plan_start", "cp_plan_end"), "lac": ("lac_start", "lac_end")}
ENDED_BY_CASE_CLOSURE = ("cin", "cp")


@dataclass
class Family:
    fid: str
    members: list[str]
    addresses: list[tuple[date, str]]  # (from, postcode), oldest first
    risk: str  # low | medium | high
    scenario: str | None = None
    # agencies whose records about this family never reach the project (the FISS chronology)
    silent_agencies: tuple[str, ...] = ()

    def postcode_on(self, day: date) -> str:
        current = self.addresses[0][1]
        for start, postcode in self.addresses:
            if start <= day:
                current = postcode
        return current


@dataclass
class Review:
    rid: str
    rtype: str
    subjects: list[str]  # true person ids
    scope_start: date
    scope_end: date
    deadline: date
    agencies: list[str]
    missing_chronologies: list[str]  # asked, never sent
    involved_not_asked: list[str]


@dataclass
class World:
    persons: dict[str, Person] = field(default_factory=dict)
    families: dict[str, Family] = field(default_factory=dict)
    events: list[TrueEvent] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    plans: list[PlanEpisode] = field(default_factory=list)
    # (pid, event_type[, referrer]) -> dates already used, so two true events of one type never sit
    # closer than the matching window (which would make "the same event" ambiguous even to a
    # person); referrals and contacts are told apart by their referrer too, as agencies match them
    _taken: dict[tuple, list[date]] = field(default_factory=dict)
    _closures: dict[str, list[date]] = field(default_factory=dict)  # pid -> case closure dates
    _plans_of: dict[str, list[PlanEpisode]] = field(default_factory=dict)

    @property
    def children(self) -> list[Person]:
        return [p for p in self.persons.values() if p.is_child]


class WorldBuilder:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.world = World()
        self._nhs_seen: set[str] = set()
        self._upn_serial = 0
        self._pid = 0
        self._eid = 0
        self._fid = 0
        self._occ = 0
        self._postcodes: set[str] = set()
        self._vocab = event_types()
        # children of this batch's ordinary families, to draw a stranger's namesake from
        self.children_so_far: list[str] = []
        self.unisex_children_so_far: list[str] = []

    # ---- identifiers -------------------------------------------------------------------------
    def new_batch(self) -> None:
        """Start a new batch of families: the people and events of the last batch are written and
        dropped (families never span batches), the identifier and id counters carry on."""
        self.world = World()
        self.children_so_far.clear()
        self.unisex_children_so_far.clear()

    def new_nhs(self) -> str:
        while True:
            prefix = NHS_TEST_PREFIX if len(self._nhs_seen) < 0.8 * NHS_PREFIX_CAPACITY \
                else self.rng.choice(NHS_MORE_PREFIXES)
            first_nine = prefix + "".join(self.rng.choice("0123456789") for _ in range(6))
            check = nhs_check_digit(first_nine)
            if check is None:
                continue
            value = first_nine + str(check)
            if value not in self._nhs_seen:
                self._nhs_seen.add(value)
                return value

    def new_upn(self, dob: date) -> str:
        self._upn_serial += 1
        year_allocated = (dob.year + 4) % 100
        body = f"{936:03d}{2000 + self._upn_serial // 1000 % 8000:04d}{year_allocated:02d}{self._upn_serial % 1000:03d}"
        return upn_check_letter(body) + body

    def new_postcode(self) -> str:
        while True:
            pc = (f"{self.rng.choice(names.POSTCODE_AREAS)} {self.rng.randint(1, 9)}"
                  f"{self.rng.choice(names.POSTCODE_UNIT_LETTERS)}{self.rng.choice(names.POSTCODE_UNIT_LETTERS)}")
            if len(self._postcodes) >= 0.9 * POSTCODE_CAPACITY:
                return pc
            if pc not in self._postcodes:
                self._postcodes.add(pc)
                return pc

    # ---- people ------------------------------------------------------------------------------
    def person(self, family: str, role: str, sex: str, dob: date, surname: str, *,
               forename: str | None = None, mother: str | None = None, father: str | None = None,
               scenario: str | None = None) -> Person:
        self._pid += 1
        p = Person(
            pid=f"T{self._pid:07d}", family=family, role=role,
            forename=forename or names.forename(self.rng, sex, adult=role != "child"), surname=surname, sex=sex, dob=dob,
            nhs=self.new_nhs(), mother=mother, father=father, scenario=scenario,
        )
        if role == "child" and dob <= AS_OF - timedelta(days=4 * 365):
            p.upn = self.new_upn(dob)
        self.world.persons[p.pid] = p
        self.world.families[family].members.append(p.pid)
        return p

    def family(self, risk: str, scenario: str | None = None, silent: tuple[str, ...] = ()) -> Family:
        self._fid += 1
        fam = Family(fid=f"F{self._fid:06d}", members=[], addresses=[(OLDEST_CHILD, self.new_postcode())],
                     risk=risk, scenario=scenario, silent_agencies=silent)
        self.world.families[fam.fid] = fam
        return fam

    # ---- events ------------------------------------------------------------------------------
    def _taken_key(self, pid: str, etype: str, reports: list[Report] | None) -> tuple:
        if not self._vocab[etype].match_by_referrer:
            return (pid, etype)
        reports = reports or []
        csc = next((r for r in reports if r.agency == "csc"), None)
        return (pid, etype, csc.related_agency if csc else (reports[0].agency if reports else None))

    def free_date(self, pid: str, etype: str, day: date, reports: list[Report] | None = None) -> bool:
        gap = 2 * self._vocab[etype].match_window_days + 1
        taken = self.world._taken.get(self._taken_key(pid, etype, reports), [])
        return all(abs((day - d).days) > gap for d in taken)

    def event(self, pid: str, etype: str, day: date, outcome: str | None = None,
              reports: list[Report] | None = None, occurrence: str | None = None) -> TrueEvent | None:
        """A true event, unless one of the same type (and referrer) already sits within its
        matching window. A case closure goes through case_closure(), plan events through plan()."""
        if day > AS_OF or not self.free_date(pid, etype, day, reports):
            return None
        self.world._taken.setdefault(self._taken_key(pid, etype, reports), []).append(day)
        self._eid += 1
        ev = TrueEvent(f"E{self._eid:08d}", pid, etype, day, outcome, reports or [], occurrence)
        self.world.events.append(ev)
        return ev

    # ---- plans and case closures: never two plans of a type at once, no case closed under an open plan
    def closure_fits(self, pid: str, day: date) -> bool:
        """A case closure on `day` would end no plan it is not meant to end: no child in need or
        child protection plan of the child is open that day (or starts on it), other than one
        ending that very day (a case closed with its plan)."""
        return not any(p.covers(day) and p.end != day
                       for p in self.world._plans_of.get(pid, []) if p.plan_type in ENDED_BY_CASE_CLOSURE)

    def case_closure(self, pid: str, day: date, outcome: str, reports: list[Report]) -> TrueEvent | None:
        if not self.closure_fits(pid, day) or not self.free_date(pid, "case_closure", day):
            return None
        ev = self.event(pid, "case_closure", day, outcome, reports)
        if ev is not None:
            self.world._closures.setdefault(pid, []).append(day)
        return ev

    def plan(self, pid: str, plan_type: str, start: date, start_reports: list[Report], *,
             end: date | None = None, end_reports: list[Report] | None = None, start_outcome: str | None = None,
             end_outcome: str | None = None, closed_by_case_closure: bool = False) -> PlanEpisode | None:
        """A plan from `start` to `end` (None: open past the extract date), as its start event and
        its end event (or, closed_by_case_closure, a case closure with no end event of its own), or
        nothing at all when it cannot be true alongside what the child already has: another plan
        of the type open at the time, a case closed while it would be open, or a same-type event
        within the matching window. A plan ending after the extract date is open on it."""
        start_type, end_type = PLAN_EVENTS[plan_type]
        if start > AS_OF:
            return None
        if end is not None and end > AS_OF:
            end, end_reports = None, None
        if end is not None and end < start:
            raise ValueError(f"a plan cannot end ({end}) before it starts ({start})")
        end_type = "case_closure" if closed_by_case_closure else end_type
        mine = self.world._plans_of.get(pid, [])
        if any(p.plan_type == plan_type and p.overlaps(start, end) for p in mine):
            return None
        if plan_type in ENDED_BY_CASE_CLOSURE:
            probe = PlanEpisode(pid, plan_type, start, end, "")
            if any(probe.covers(d) and d != end for d in self.world._closures.get(pid, [])):
                return None
        if not self.free_date(pid, start_type, start) or (end is not None and not self.free_date(pid, end_type, end)):
            return None
        if end is not None and end_type == "case_closure" and not self.closure_fits(pid, end):
            return None
        opened = self.event(pid, start_type, start, start_outcome, start_reports)
        episode = PlanEpisode(pid, plan_type, start, None, opened.eid)
        if end is not None:
            closer = (self.case_closure(pid, end, end_outcome, end_reports or []) if closed_by_case_closure
                      else self.event(pid, end_type, end, end_outcome, end_reports))
            episode.end, episode.end_event, episode.ended_by = end, closer.eid, end_type
        self.world.plans.append(episode)
        self.world._plans_of.setdefault(pid, []).append(episode)
        return episode

    def new_occurrence(self) -> str:
        self._occ += 1
        return f"OCC{self._occ:07d}"

    def jitter(self, etype: str, day: date) -> date:
        """A second agency's date for the same event: within the type's matching window."""
        window = self._vocab[etype].match_window_days
        if window == 0:
            return day
        return day + timedelta(days=self.rng.choice([0, 0, 0, 0] + list(range(-window, window + 1))))

    def rand_date(self, start: date, end: date) -> date:
        if end <= start:
            return start
        return start + timedelta(days=self.rng.randint(0, (end - start).days))


def term_ends(start: date, end: date) -> list[date]:
    """School term end dates (autumn, spring, summer) between two dates."""
    out = []
    for year in range(start.year - 1, end.year + 1):
        for d in (date(year, 12, 20), date(year, 4, 1), date(year, 7, 22)):
            if start <= d <= end:
                out.append(d)
    return sorted(out)


def age_on(dob: date, day: date) -> float:
    return (day - dob).days / 365.25
