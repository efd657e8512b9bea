"""Ordinary families and the services their children receive, as true events with agency reports.

The shape follows the domain: universal services for everyone (health visiting under five,
school attendance), and for the families that need it the front door (referrals with their
outcomes), early help with TAC meetings reported by several agencies, assessments, plans,
police domestic-abuse occurrences that reach the children present.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from casehistory.synth import names
from casehistory.synth.world import (
    AS_OF, OLDEST_CHILD, WINDOW_START, Family, Person, Report, WorldBuilder, age_on, term_ends,
)

RISK_REFERRAL_RATE = {"low": 0.02, "medium": 0.5, "high": 1.6}  # referrals per child in the window
RISK_ABSENCE_RATE = {"low": 0.2, "medium": 0.45, "high": 0.7}  # share of terms with absence
RISK_DA_RATE = {"low": 0.01, "medium": 0.4, "high": 1.5}  # police domestic incidents per family

# Who refers, by the child's age, and the referral source code csc records (CIN census codes).
REFERRERS_UNDER_FIVE = [("hv", 4), ("police", 3), ("gp", 2), ("hosp", 1), ("eh", 1), (None, 1)]
REFERRERS_SCHOOL_AGE = [("school", 5), ("police", 3), ("gp", 1), ("hosp", 1), ("eh", 1), (None, 1)]
REFERRAL_OUTCOMES = [("nfa", 30), ("early_help", 30), ("assessment", 30), ("s47", 10)]
CP_CATEGORIES = [("NEG", 45), ("EMO", 35), ("PHY", 8), ("SAB", 4), ("MUL", 8)]
EH_ENDINGS = [("completed", 55), ("withdrew_consent", 15), ("stepped_up", 10), ("moved_away", 10), ("other", 10)]
SUMMARIES = {
    "referral": ["Concerns about home conditions", "Child seen with unexplained bruise",
                 "Parent reported struggling to cope", 'Neighbour concerned: "children left alone"',
                 "Worries about neglect, hunger and hygiene"],
    "tac_meeting": ["TAC review of plan", "TAC meeting, actions agreed", "TAC: school, HV and FSP present"],
    "home_visit": ["Home visit", "Unannounced visit", "Planned visit, mother present"],
    "police_incident": ["Verbal argument, children present", "Domestic incident reported by neighbour",
                        "Assault reported, suspect left address"],
    "school_absence": ["Attendance below 90%", "Absence, reason not given", "Illness reported by parent"],
}


def weighted(builder: WorldBuilder, options: list[tuple]) -> object:
    values, weights = zip(*options)
    return builder.rng.choices(values, weights=weights)[0]


def summary(builder: WorldBuilder, etype: str) -> str | None:
    choices = SUMMARIES.get(etype)
    return builder.rng.choice(choices) if choices else None


# ---- ordinary families ---------------------------------------------------------------------------

# Twins, namesakes and double-barrelled surnames: the people linking finds hardest to tell apart.
TWIN_MATERNITIES = 0.015  # ONS "Births in England and Wales": about 15 in 1,000 maternities are multiple
ALIKE_TWIN_NAMES = 0.25  # share of twins given alike names (Ruby and Reuben, Ella and Ellie)
# families whose first child is given the forename, surname and birthday of a child of another
# family (strangers a million children hold many of), and the share of those of the other sex
NAMESAKE_FAMILIES = 0.002
NAMESAKE_OTHER_SEX = 0.25
DOUBLE_BARRELLED = 0.03  # children of parents with different surnames given both (Smith-Jones)


def ordinary_family(b: WorldBuilder, max_children: int) -> Family:
    rng = b.rng
    risk = weighted(b, [("low", 85), ("medium", 12), ("high", 3)])
    fam = b.family(risk)
    n_children = min(max_children, weighted(b, [(1, 35), (2, 35), (3, 20), (4, 10)]))
    namesake = _namesake(b)
    first_child = namesake[0].dob if namesake else b.rand_date(OLDEST_CHILD, AS_OF - timedelta(days=30))
    mother_age = rng.randint(17, 38)
    mother_surname = namesake[0].surname if namesake else names.surname(rng)
    mother = b.person(fam.fid, "mother", "F", first_child - timedelta(days=int(mother_age * 365.25) + rng.randint(0, 300)),
                      mother_surname)
    father = _new_father(b, fam, mother)
    dob = first_child
    made = 0
    while made < n_children and dob <= AS_OF - timedelta(days=7):
        if made and rng.random() < 0.25:
            father = _new_father(b, fam, mother)  # a half-sibling
        surname = father.surname if rng.random() < 0.5 else mother.surname
        if rng.random() < DOUBLE_BARRELLED and father.surname != mother.surname and "-" not in father.surname + mother.surname:
            surname = f"{father.surname}-{mother.surname}"
        twins = rng.random() < TWIN_MATERNITIES and made + 2 <= max_children
        born = []
        for _ in range(2 if twins else 1):
            sex, forename = rng.choice("MF"), None
            if namesake and made == 0:
                model, sex = namesake
                surname, forename = model.surname, model.forename
            child = b.person(fam.fid, "child", sex, dob, surname, forename=forename, mother=mother.pid, father=father.pid)
            if namesake and made == 0:
                child.namesake_of = namesake[0].pid
            born.append(child)
            made += 1
        if twins:
            _name_twins(b, *born)
            n_children = max(n_children, made)
        for child in born:
            b.children_so_far.append(child.pid)
            if child.forename in names.UNISEX:
                b.unisex_children_so_far.append(child.pid)
        dob = dob + timedelta(days=rng.randint(330, 5 * 365))
    if rng.random() < 0.3:  # one house move in the window
        fam.addresses.append((b.rand_date(WINDOW_START, AS_OF - timedelta(days=60)), b.new_postcode()))
    return fam


def _namesake(b: WorldBuilder) -> tuple[Person, str] | None:
    """Now and then (NAMESAKE_FAMILIES), a child of an earlier family of the batch whose name and
    birthday this family's first child will share, and that child's sex: the other sex only for a
    name given to girls and boys alike."""
    if not b.children_so_far or b.rng.random() >= NAMESAKE_FAMILIES:
        return None
    persons = b.world.persons
    if b.unisex_children_so_far and b.rng.random() < NAMESAKE_OTHER_SEX:
        model = persons[b.rng.choice(b.unisex_children_so_far)]
        sex = "F" if model.sex == "M" else "M"
    else:
        model = persons[b.rng.choice(b.children_so_far)]
        sex = model.sex
    if model.dob > AS_OF - timedelta(days=30):  # too young to be the first of a family
        return None
    return model, sex


def _name_twins(b: WorldBuilder, first: Person, second: Person) -> None:
    """Twins never get one name; now and then (ALIKE_TWIN_NAMES) names that are alike."""
    first.twin_of, second.twin_of = second.pid, first.pid
    if first.namesake_of is None and b.rng.random() < ALIKE_TWIN_NAMES:
        girl_first = sorted((first, second), key=lambda p: p.sex)  # F before M, as the table is keyed
        pair = b.rng.choice(names.ALIKE_TWIN_NAMES[(girl_first[0].sex, girl_first[1].sex)])
        girl_first[0].forename, girl_first[1].forename = pair
        return
    while second.forename == first.forename:
        second.forename = names.forename(b.rng, second.sex)


def _new_father(b: WorldBuilder, fam: Family, mother: Person) -> Person:
    dob = mother.dob + timedelta(days=b.rng.randint(-6 * 365, 3 * 365))
    return b.person(fam.fid, "father", "M", dob, names.surname(b.rng))


# ---- services for one family ---------------------------------------------------------------------

def family_services(b: WorldBuilder, fam: Family) -> None:
    children = [b.world.persons[p] for p in fam.members if b.world.persons[p].is_child]
    adults = [b.world.persons[p] for p in fam.members if not b.world.persons[p].is_child]
    for child in children:
        births_and_health_visiting(b, fam, child)
        school_attendance(b, fam, child)
        n_referrals = _poisson(b, RISK_REFERRAL_RATE[fam.risk])
        for _ in range(n_referrals):
            start = max(WINDOW_START, child.dob)
            if start >= AS_OF - timedelta(days=30):
                break
            referral(b, child, b.rand_date(start, AS_OF - timedelta(days=30)))
    for _ in range(_poisson(b, RISK_DA_RATE[fam.risk])):
        domestic_incident(b, fam, children, adults)
    for start, _ in fam.addresses[1:]:
        for pid in fam.members:
            b.event(pid, "address_change", start, reports=[Report("hv", start)] if _under_five(b, pid, start) else [])


def _under_five(b: WorldBuilder, pid: str, day: date) -> bool:
    p = b.world.persons[pid]
    return p.is_child and 0 <= age_on(p.dob, day) < 5


def _poisson(b: WorldBuilder, lam: float) -> int:
    # Knuth's method; lam is small
    limit, k, prod = math.exp(-lam), 0, b.rng.random()
    while prod > limit:
        k += 1
        prod *= b.rng.random()
    return k


def births_and_health_visiting(b: WorldBuilder, fam: Family, child: Person) -> None:
    rng = b.rng
    if child.dob >= WINDOW_START:
        b.event(child.pid, "birth", child.dob, reports=[Report("hv", child.dob, practitioner_role="Midwife")])
        visit = child.dob + timedelta(days=rng.randint(10, 14))
        b.event(child.pid, "home_visit", visit, "completed",
                [Report("hv", visit, "completed", practitioner_role="Health Visitor", summary="New birth visit")])
    for months in (12, 27):
        day = child.dob + timedelta(days=int(months * 30.4) + rng.randint(-20, 20))
        if WINDOW_START <= day <= AS_OF:
            outcome = "concern" if rng.random() < (0.1 if fam.risk == "low" else 0.35) else "no_concern"
            b.event(child.pid, "developmental_review", day, outcome,
                    [Report("hv", day, outcome, practitioner_role="Health Visitor")])
    if fam.risk != "low" and child.dob >= WINDOW_START - timedelta(days=4 * 365):
        day = max(child.dob, WINDOW_START) + timedelta(days=rng.randint(20, 200))
        if day <= AS_OF:
            b.event(child.pid, "service_level_change", day, "universal_plus",
                    [Report("hv", day, "universal_plus", practitioner_role="Health Visitor")])


def school_attendance(b: WorldBuilder, fam: Family, child: Person) -> None:
    rng = b.rng
    for term_end in term_ends(WINDOW_START, AS_OF):
        if not 4.5 <= age_on(child.dob, term_end) < 16:
            continue
        if rng.random() < RISK_ABSENCE_RATE[fam.risk]:
            outcome = "unauthorised" if rng.random() < (0.25 if fam.risk == "low" else 0.6) else "authorised"
            sessions = rng.randint(2, 12) if fam.risk == "low" else rng.randint(6, 40)
            b.event(child.pid, "school_absence", term_end, outcome,
                    [Report("school", term_end, outcome, practitioner_role="Attendance Officer",
                            summary=summary(b, "school_absence"), sessions=sessions)])
    if fam.risk == "high" and 6 <= age_on(child.dob, AS_OF) < 16 and rng.random() < 0.15:
        day = b.rand_date(max(WINDOW_START, child.dob + timedelta(days=6 * 365)), AS_OF)
        b.event(child.pid, "school_exclusion", day, "fixed_term",
                [Report("school", day, "fixed_term", practitioner_role="Head Teacher")])


def referral(b: WorldBuilder, child: Person, day: date, *, referrer: str | None = "?",
             outcome: str | None = None) -> None:
    """A referral to csc and what follows from its outcome. The referrer records it too, now and
    then, on the day or a few days either side (within the matching window)."""
    rng = b.rng
    if referrer == "?":
        options = REFERRERS_UNDER_FIVE if age_on(child.dob, day) < 4.5 else REFERRERS_SCHOOL_AGE
        referrer = weighted(b, options)
    outcome = outcome or weighted(b, REFERRAL_OUTCOMES)
    reports = [Report("csc", day, outcome, related_agency=referrer, practitioner_role="MASH Practitioner",
                      summary=summary(b, "referral"))]
    if referrer in ("school", "hv", "police", "eh") and rng.random() < 0.6:
        reports.append(Report(referrer, b.jitter("referral", day), None, related_agency="csc",
                              practitioner_role=_role(referrer), summary=summary(b, "referral")))
    if b.event(child.pid, "referral", day, outcome, reports) is None:
        return
    if outcome == "early_help":
        early_help_episode(b, child, day + timedelta(days=rng.randint(7, 21)), one_day=rng.random() < ONE_DAY_EARLY_HELP)
    elif outcome == "assessment":
        assessment(b, child, day + timedelta(days=rng.randint(1, 5)))
    elif outcome == "s47":
        section_47(b, child, day + timedelta(days=rng.randint(0, 2)))
    else:  # no further action: the case is closed, unless the child is on a plan (the referral joins the open case)
        b.case_closure(child.pid, day + timedelta(days=1), "RC8",
                       [Report("csc", day + timedelta(days=1), "RC8", practitioner_role="MASH Practitioner")])


def _role(agency: str) -> str:
    return {"school": "Designated Safeguarding Lead", "hv": "Health Visitor", "police": "Police Officer",
            "eh": "Family Support Practitioner", "gp": "GP", "hosp": "Paediatric Liaison Nurse",
            "csc": "Social Worker"}.get(agency, "Practitioner")


# Plans that start and end on one day (issue 33: they must show as one closed day, not open for ever):
# early help the family withdraws from on the day it starts, and child in need plans ended on the day
# they are made, by their own end or by the case being closed (transferred to another authority).
ONE_DAY_EARLY_HELP = 0.03
CIN_PLAN_ENDINGS = [("own_end", 76), ("one_day", 4), ("closed_on_start_day", 4), ("closed_by_case_closure", 16)]


def early_help_episode(b: WorldBuilder, child: Person, start: date, *, meetings: int | None = None,
                       ending: str | None = None, one_day: bool = False) -> date:
    """Early help: CAF, a lead professional, TAC meetings also recorded by school or health visiting.
    one_day: the family withdraws consent on the day it starts. Nothing when the child's early help
    plan is still open then (the referral is passed back to it)."""
    rng = b.rng
    fsp = "Family Support Practitioner"
    if one_day:
        b.plan(child.pid, "early_help", start, [Report("eh", start, practitioner_role=fsp)], end=start,
               end_outcome="withdrew_consent",
               end_reports=[Report("eh", start, "withdrew_consent", practitioner_role=fsp,
                                   summary="Consent withdrawn at the first meeting")])
        return start
    caf = start + timedelta(days=rng.randint(7, 21))
    meeting_days = []
    day = caf
    for _ in range(meetings if meetings is not None else rng.randint(2, 6)):
        day = day + timedelta(days=rng.randint(35, 56))
        if day > AS_OF:
            break
        meeting_days.append(day)
    end = day + timedelta(days=rng.randint(14, 60))
    ending = ending or weighted(b, EH_ENDINGS)
    if b.plan(child.pid, "early_help", start, [Report("eh", start, practitioner_role=fsp)], end=end,
              end_outcome=ending, end_reports=[Report("eh", end, ending, practitioner_role=fsp)]) is None:
        return start
    b.event(child.pid, "caf_assessment", caf, reports=[Report("eh", caf, practitioner_role=fsp)])
    b.event(child.pid, "lead_professional_start", caf, reports=[Report("eh", caf, practitioner_role=fsp)])
    for day in meeting_days:
        outcome = "cancelled" if rng.random() < 0.15 else "held"
        reports = [Report("eh", day, outcome, practitioner_role=fsp, summary=summary(b, "tac_meeting"))]
        partner = "hv" if age_on(child.dob, day) < 4.5 else "school"
        if rng.random() < 0.6:
            other_outcome = outcome if rng.random() > 0.03 else ("held" if outcome == "cancelled" else "cancelled")
            reports.append(Report(partner, b.jitter("tac_meeting", day), other_outcome, related_agency="eh",
                                  practitioner_role=_role(partner)))
        b.event(child.pid, "tac_meeting", day, outcome, reports)
        if rng.random() < 0.5:
            visit = day + timedelta(days=rng.randint(3, 14))
            v_out = weighted(b, [("completed", 75), ("no_access", 15), ("cancelled_by_family", 10)])
            b.event(child.pid, "home_visit", visit, v_out,
                    [Report("eh", visit, v_out, practitioner_role=fsp, summary=summary(b, "home_visit"))])
    if end <= AS_OF:
        b.event(child.pid, "lead_professional_end", end, reports=[Report("eh", end, practitioner_role=fsp)])
    return end


def assessment(b: WorldBuilder, child: Person, start: date) -> None:
    rng = b.rng
    sw = "Social Worker"
    if b.event(child.pid, "assessment_start", start, reports=[Report("csc", start, practitioner_role=sw)]) is None:
        return
    done = start + timedelta(days=rng.randint(20, 45))
    b.event(child.pid, "assessment_authorised", done, reports=[Report("csc", done, practitioner_role="Team Manager")])
    if rng.random() >= 0.4:
        b.case_closure(child.pid, done, "RC8", [Report("csc", done, "RC8", practitioner_role=sw)])
        return
    opened = [Report("csc", done, practitioner_role=sw)]
    ending = weighted(b, CIN_PLAN_ENDINGS)
    end = done if ending in ("one_day", "closed_on_start_day") else done + timedelta(days=rng.randint(90, 365))
    if ending in ("closed_on_start_day", "closed_by_case_closure"):
        reason = "RC5" if ending == "closed_on_start_day" else "RC7"  # transferred to another authority on the day
        b.plan(child.pid, "cin", done, opened, end=end, closed_by_case_closure=True, end_outcome=reason,
               end_reports=[Report("csc", end, reason, practitioner_role=sw)])
        return
    plan = b.plan(child.pid, "cin", done, opened, end=end, end_reports=[Report("csc", end, practitioner_role=sw)])
    if plan is not None and plan.end is not None:  # the case closes with the plan
        b.case_closure(child.pid, end, "RC7", [Report("csc", end, "RC7", practitioner_role=sw)])


def section_47(b: WorldBuilder, child: Person, start: date) -> None:
    rng = b.rng
    sw = "Social Worker"
    if b.event(child.pid, "strategy_discussion", start,
               reports=[Report("csc", start, practitioner_role=sw), Report("police", b.jitter("strategy_discussion", start), related_agency="csc",
                                                                           practitioner_role="Police Officer")]) is None:
        return
    s47 = start + timedelta(days=1)
    b.event(child.pid, "s47_start", s47, reports=[Report("csc", s47, practitioner_role=sw)])
    s47_end = s47 + timedelta(days=rng.randint(10, 15))
    b.event(child.pid, "s47_end", s47_end, reports=[Report("csc", s47_end, practitioner_role=sw)])
    icpc = s47_end + timedelta(days=rng.randint(5, 10))
    plan = rng.random() < 0.7
    b.event(child.pid, "icpc", icpc, "cp_plan" if plan else "no_plan",
            [Report("csc", icpc, "cp_plan" if plan else "no_plan", practitioner_role="Conference Chair")])
    if not plan:
        return
    category = weighted(b, CP_CATEGORIES)
    end = icpc + timedelta(days=rng.randint(180, 540))
    if b.plan(child.pid, "cp", icpc, [Report("csc", icpc, category, practitioner_role=sw)], start_outcome=category,
              end=end, end_reports=[Report("csc", end, practitioner_role=sw)]) is None:
        return  # already on a plan: the conference changes nothing here
    review = icpc + timedelta(days=91 if rng.random() < 0.85 else rng.randint(100, 140))  # some overdue
    while review < min(end, AS_OF):
        b.event(child.pid, "cp_review", review, reports=[Report("csc", review, practitioner_role="Conference Chair")])
        review = review + timedelta(days=182)
    if rng.random() < 0.15:
        lac = icpc + timedelta(days=rng.randint(30, 200))
        status = weighted(b, [("C2", 50), ("V2", 35), ("C1", 10), ("L1", 5)])
        lac_end = lac + timedelta(days=rng.randint(60, 700))
        b.plan(child.pid, "lac", lac, [Report("csc", lac, status, practitioner_role=sw)], start_outcome=status,
               end=lac_end, end_outcome="E13", end_reports=[Report("csc", lac_end, "E13", practitioner_role=sw)])


def domestic_incident(b: WorldBuilder, fam: Family, children: list[Person], adults: list[Person],
                      day: date | None = None, *, refer: bool = True) -> None:
    """A police domestic-abuse occurrence: one record per adult involved and per child present."""
    rng = b.rng
    day = day or b.rand_date(WINDOW_START, AS_OF - timedelta(days=10))
    occurrence = b.new_occurrence()
    note = summary(b, "police_incident")
    for person in adults:
        b.event(person.pid, "police_incident", day, "domestic_abuse",
                [Report("police", day, "domestic_abuse", practitioner_role="Police Officer", summary=note)],
                occurrence=occurrence)
    for child in children:
        if child.dob > day:
            continue
        if b.event(child.pid, "police_incident", day, "domestic_abuse",
                   [Report("police", day, "domestic_abuse", practitioner_role="Police Officer", summary=note)],
                   occurrence=occurrence) and refer and rng.random() < 0.5:
            referral(b, child, day + timedelta(days=rng.randint(1, 3)), referrer="police")
