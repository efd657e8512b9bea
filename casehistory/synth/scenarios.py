"""Two named scenario families, modelled on the seed case reviews (../shared/seeds).

baby_e     Serious Case Review "Baby E": a baby born while his older half-brother is on an early
           help (TAC) plan that never widens to include him; five referrals to the front door from
           four agencies, each passed back to early help; the family support practitioner and the
           health visitor both named lead professional; a review meeting cancelled and never
           re-booked; the mother complains and the case is closed; the father is well known to
           adult services, who are never part of the plan. The GP dates its own record of its
           referral two days after social care does: agencies' accounts that disagree.
js_family  Learning event "JS": four half-siblings, poor school attendance, early help TAC
           meetings run by the family intervention service (FISS) whose chronology never arrives,
           and the education welfare service evidenced as involved but never asked to contribute;
           the school dates its May referral two days after social care ("some differences in events").
leap_day   Not from a review: the calendar's awkward days (issue 33). Two sisters born on 29
           February, referred on 28 February and 1 March of years without one, a referral on a
           29 February exactly 12 months after one on 28 February, two referrals on one day, and
           plans that start and end on one day.

Dates are moved into the extract window; no real detail is used.
"""

from __future__ import annotations

from datetime import date, timedelta

from casehistory.synth.histories import early_help_episode, referral, domestic_incident, _role
from casehistory.synth.world import Report, Review, WorldBuilder


def baby_e(b: WorldBuilder) -> list[str]:
    fam = b.family("high", scenario="baby_e")
    mother = b.person(fam.fid, "mother", "F", date(1996, 5, 14), "Ashworth", forename="Kelsey", scenario="baby_e")
    z_father = b.person(fam.fid, "father", "M", date(1993, 2, 2), "Doherty", forename="Ryan", scenario="baby_e")
    father = b.person(fam.fid, "father", "M", date(1996, 11, 30), "Pemberton", forename="Callum", scenario="baby_e")
    z = b.person(fam.fid, "child", "M", date(2018, 6, 10), "Doherty", forename="Kai",
                 mother=mother.pid, father=z_father.pid, scenario="baby_e")
    baby = b.person(fam.fid, "child", "M", date(2023, 8, 24), "Pemberton", forename="Albie",
                    mother=mother.pid, father=father.pid, scenario="baby_e")
    baby.unnamed_at_birth = True  # health visiting registered him as "Baby Ashworth"
    fam.addresses.append((date(2024, 1, 22), b.new_postcode()))  # the house move in the seed review

    # Early help for the older brother, started before the baby was born and still open at the birth
    # (three meetings take at least 126 days from this start, whatever the seed); it never includes the baby.
    early_help_episode(b, z, date(2023, 4, 25), meetings=3, ending="withdrew_consent")

    # The baby's birth and health visiting.
    b.event(baby.pid, "birth", baby.dob, reports=[Report("hv", baby.dob, practitioner_role="Midwife")])
    b.event(baby.pid, "service_level_change", date(2023, 9, 12), "universal_plus",
            [Report("hv", date(2023, 9, 12), "universal_plus", practitioner_role="Health Visitor")])

    # Five referrals from four agencies, each passed back to early help.
    for day, referrer in [(date(2023, 9, 26), "school"), (date(2023, 10, 28), "gp"),
                          (date(2024, 1, 15), "hv"), (date(2024, 4, 2), "police"),
                          (date(2024, 9, 8), "police")]:
        reports = [Report("csc", day, "early_help", related_agency=referrer, practitioner_role="MASH Practitioner",
                          summary="Passed to lead professional in the TAC")]
        if referrer == "gp":  # the GP dates it by the letter, sent two days after the call
            reports.append(Report("gp", day + timedelta(days=2), related_agency="csc", practitioner_role="GP",
                                  summary="Concern about rough handling of baby"))
        elif referrer in ("hv", "police", "school"):
            reports.append(Report(referrer, day, related_agency="csc", practitioner_role=_role(referrer)))
        b.event(baby.pid, "referral", day, "early_help", reports)

    # TAC meetings about the baby; two lead professionals named at the January meeting.
    tac = [(date(2023, 12, 4), "held"), (date(2024, 1, 9), "held"), (date(2024, 7, 8), "held"),
           (date(2024, 9, 11), "cancelled")]
    for day, outcome in tac:
        b.event(baby.pid, "tac_meeting", day, outcome,
                [Report("eh", day, outcome, practitioner_role="Family Support Practitioner"),
                 Report("hv", day, outcome, related_agency="eh", practitioner_role="Health Visitor")])
    # the baby's own early help plan, from the December meeting until the family withdraws in October
    b.plan(baby.pid, "early_help", date(2023, 12, 4),
           [Report("eh", date(2023, 12, 4), practitioner_role="Family Support Practitioner")],
           end=date(2024, 10, 12), end_outcome="withdrew_consent",
           end_reports=[Report("eh", date(2024, 10, 12), "withdrew_consent", practitioner_role="Family Support Practitioner")])
    # One decision at one meeting, recorded by each agency with its own practitioner as the lead:
    # a single event whose sources disagree on who the lead professional is.
    b.event(baby.pid, "lead_professional_start", date(2024, 1, 9),
            reports=[Report("eh", date(2024, 1, 9), practitioner_role="Family Support Practitioner"),
                     Report("hv", date(2024, 1, 9), practitioner_role="Health Visitor")])
    for day, outcome in [(date(2024, 2, 13), "no_access"), (date(2024, 3, 5), "cancelled_by_family"),
                         (date(2024, 5, 21), "completed"), (date(2024, 6, 18), "cancelled_by_family")]:
        b.event(baby.pid, "home_visit", day, outcome,
                [Report("hv", day, outcome, practitioner_role="Health Visitor")])

    # The baby's epilepsy: emergency attendances, known to the GP and the hospital.
    for day in (date(2024, 4, 19), date(2024, 6, 2), date(2024, 11, 27)):
        b.event(baby.pid, "ed_attendance", day,
                reports=[Report("gp", day, practitioner_role="GP", summary="Seizure – seen in ED, mum says “fits since Tuesday”")])
    b.event(baby.pid, "diagnosis", date(2024, 4, 23),
            reports=[Report("gp", date(2024, 4, 23), practitioner_role="GP", summary="Epilepsy")])

    # The mother complains and disengages; health visiting steps down and early help closes.
    b.event(baby.pid, "complaint", date(2024, 8, 20),
            reports=[Report("hv", date(2024, 8, 20), practitioner_role="Health Visitor",
                            summary="Mother's formal complaint about the health visitor")])
    b.event(baby.pid, "disengagement", date(2024, 8, 20),
            reports=[Report("hv", date(2024, 8, 20), practitioner_role="Health Visitor")])
    b.event(baby.pid, "service_level_change", date(2024, 10, 8), "universal",
            [Report("hv", date(2024, 10, 8), "universal", practitioner_role="Health Visitor")])

    # The father: known to adult services for years, involved with police; never in the plan.
    for day in (date(2022, 3, 1), date(2023, 3, 14), date(2024, 2, 26)):
        b.event(father.pid, "adult_services_involvement", day,
                reports=[Report("asc", day, practitioner_role="Social Worker (adults)",
                                summary="Review of support package")])
    domestic_incident(b, fam, [z, baby], [mother, father], date(2024, 3, 29), refer=False)

    b.world.reviews.append(Review(
        rid="REV-2025-001", rtype="lcspr", subjects=[baby.pid, z.pid],
        scope_start=baby.dob, scope_end=date(2025, 1, 21), deadline=date(2025, 3, 1),
        agencies=["csc", "eh", "hv", "gp", "police", "school", "asc"],
        missing_chronologies=[], involved_not_asked=[],
    ))
    return [z.pid, baby.pid]


def js_family(b: WorldBuilder) -> list[str]:
    fam = b.family("high", scenario="js_family", silent=("eh",))
    mother = b.person(fam.fid, "mother", "F", date(1998, 1, 9), "Greenhalgh", forename="Chantelle", scenario="js_family")
    children = []
    for forename, sex, dob, father_name in [("Jaxon", "M", date(2016, 3, 3), "Slater"),
                                            ("José", "M", date(2020, 11, 17), "Mellor"),
                                            ("Louie", "M", date(2022, 2, 8), "Haigh"),
                                            ("Teddy", "M", date(2024, 8, 1), "Ogden")]:
        father = b.person(fam.fid, "father", "M", dob - timedelta(days=9000), father_name, scenario="js_family")
        children.append(b.person(fam.fid, "child", sex, dob, "Greenhalgh", forename=forename,
                                 mother=mother.pid, father=father.pid, scenario="js_family"))
    js = children[0]
    # Poor attendance every term; the education welfare service becomes involved.
    for day in (date(2022, 12, 20), date(2023, 4, 1), date(2023, 7, 22), date(2023, 12, 20), date(2024, 4, 1)):
        b.event(js.pid, "school_absence", day, "unauthorised",
                [Report("school", day, "unauthorised", practitioner_role="Attendance Officer", sessions=38)])
    b.event(js.pid, "welfare_concern", date(2023, 5, 10),
            reports=[Report("school", date(2023, 5, 10), related_agency="ews", practitioner_role="Family Support Worker",
                            summary="Referred to education welfare officer")])
    # FISS / early help: TAC meetings that school records with early help as the related agency.
    for day in (date(2023, 6, 12), date(2023, 9, 18), date(2024, 1, 15), date(2024, 7, 9)):
        b.event(js.pid, "tac_meeting", day, "held",
                [Report("eh", day, "held", practitioner_role="Family Support Practitioner"),
                 Report("school", day, "held", related_agency="eh", practitioner_role="Family Support Worker")])
    # Referrals: the education welfare service (source 2B) and the school; passed back to early help.
    referral(b, js, date(2023, 11, 2), referrer="ews", outcome="early_help")
    b.event(js.pid, "referral", date(2024, 5, 20), "early_help",
            [Report("csc", date(2024, 5, 20), "early_help", related_agency="school", practitioner_role="MASH Practitioner"),
             # the school writes it up two days later, under that date ("some differences in events")
             Report("school", date(2024, 5, 22), related_agency="csc", practitioner_role="Designated Safeguarding Lead")])
    # Hospital attendances of the younger children, sent on a chronology template; José's first
    # went down as 4 February, amended to the 14th before the review (extracts.render_chronologies).
    for child, day in ((children[1], date(2023, 2, 14)), (children[2], date(2023, 8, 30)), (children[3], date(2024, 10, 3))):
        b.event(child.pid, "ed_attendance", day,
                reports=[Report("hosp", day, practitioner_role="ED Nurse",
                                summary="Dehydration – 38.2°C, fluids given, discharged",
                                first_recorded={"event_date": date(2023, 2, 4)} if child is children[1] else None)])
    # The final step: section 47, conference, and the children looked after.
    b.event(js.pid, "referral", date(2024, 8, 12), "s47",
            [Report("csc", date(2024, 8, 12), "s47", related_agency="ews", practitioner_role="MASH Practitioner")])
    for child in children[:3]:
        b.event(child.pid, "icpc", date(2024, 9, 2), "cp_plan",
                [Report("csc", date(2024, 9, 2), "cp_plan", practitioner_role="Conference Chair")])
        b.plan(child.pid, "cp", date(2024, 9, 2), [Report("csc", date(2024, 9, 2), "NEG", practitioner_role="Social Worker")],
               start_outcome="NEG")
        b.plan(child.pid, "lac", date(2024, 10, 14), [Report("csc", date(2024, 10, 14), "V2", practitioner_role="Social Worker")],
               start_outcome="V2")

    b.world.reviews.append(Review(
        rid="REV-2025-002", rtype="learning_event", subjects=[c.pid for c in children],
        scope_start=date(2022, 9, 1), scope_end=date(2024, 10, 31), deadline=date(2025, 2, 1),
        agencies=["csc", "eh", "hv", "school", "hosp"],
        missing_chronologies=["eh"], involved_not_asked=["ews"],
    ))
    return [c.pid for c in children]


def leap_day(b: WorldBuilder) -> list[str]:
    """Two sisters born on 29 February: Zoë (2016) and Isla (2020). Each referral is recorded by
    csc and by the referrer, on the same day. Their ages, re-referrals and the under-three rule,
    from the definitions (a birthday of 29 February falls on 1 March in other years; 12 months
    before 29 February is 28 February; a second referral on the day of the first is a re-referral):

    Isla     1 Mar 2022 eh      age 2, first referral          no further action
            14 Sep 2022 police  age 2, re-referral             no further action
            10 Jan 2023 hv      age 2, re-referral             early help, withdrawn the day it starts
            28 Feb 2023 police  age 2, re-referral, under three with three past referrals
             1 Mar 2023 hv      age 3, re-referral (not under three)
                                assessment: a child in need plan started and ended on 27 March
            11 Jun 2024 police  age 4, not a re-referral       section 47: child protection plan, open
    Zoë     28 Feb 2023 school  age 6, first referral          assessment: a child in need plan closed
                                by a case closure (transferred) on the day it starts, 30 March
            29 Feb 2024 school  age 8, re-referral (exactly 12 months after 28 February 2023)
             1 Mar 2025 school  age 9, not a re-referral (12 months and a day after 29 February 2024)
             1 Mar 2025 police  age 9, re-referral (the second that day)
    """
    fam = b.family("high", scenario="leap_day")
    mother = b.person(fam.fid, "mother", "F", date(1991, 7, 19), "Sutcliffe", forename="Gemma", scenario="leap_day")
    father = b.person(fam.fid, "father", "M", date(1989, 10, 2), "Sutcliffe", forename="Dean", scenario="leap_day")
    zoe = b.person(fam.fid, "child", "F", date(2016, 2, 29), "Sutcliffe", forename="Zoë",
                   mother=mother.pid, father=father.pid, scenario="leap_day")
    isla = b.person(fam.fid, "child", "F", date(2020, 2, 29), "Sutcliffe", forename="Isla",
                    mother=mother.pid, father=father.pid, scenario="leap_day")
    sw, mash = "Social Worker", "MASH Practitioner"

    def refer(child, day: date, referrer: str, outcome: str) -> None:
        b.event(child.pid, "referral", day, outcome,
                [Report("csc", day, outcome, related_agency=referrer, practitioner_role=mash),
                 Report(referrer, day, related_agency="csc", practitioner_role=_role(referrer))])

    def closed(child, day: date, reason: str = "RC8") -> None:
        b.case_closure(child.pid, day, reason, [Report("csc", day, reason, practitioner_role=mash)])

    def assessed(child, start: date, done: date) -> None:
        b.event(child.pid, "assessment_start", start, reports=[Report("csc", start, practitioner_role=sw)])
        b.event(child.pid, "assessment_authorised", done, reports=[Report("csc", done, practitioner_role="Team Manager")])

    refer(isla, date(2022, 3, 1), "eh", "nfa")  # early help's "Referral to MASH", and csc's from early help
    closed(isla, date(2022, 3, 2))
    refer(isla, date(2022, 9, 14), "police", "nfa")
    closed(isla, date(2022, 9, 15))
    refer(isla, date(2023, 1, 10), "hv", "early_help")
    early_help_episode(b, isla, date(2023, 1, 24), one_day=True)
    refer(isla, date(2023, 2, 28), "police", "nfa")
    closed(isla, date(2023, 3, 1))
    refer(isla, date(2023, 3, 1), "hv", "assessment")
    assessed(isla, date(2023, 3, 2), date(2023, 3, 27))
    b.plan(isla.pid, "cin", date(2023, 3, 27), [Report("csc", date(2023, 3, 27), practitioner_role=sw)],
           end=date(2023, 3, 27), end_reports=[Report("csc", date(2023, 3, 27), practitioner_role=sw)])
    closed(isla, date(2023, 3, 27), "RC7")
    refer(isla, date(2024, 6, 11), "police", "s47")
    b.event(isla.pid, "strategy_discussion", date(2024, 6, 12),
            reports=[Report("csc", date(2024, 6, 12), practitioner_role=sw),
                     Report("police", date(2024, 6, 12), related_agency="csc", practitioner_role="Police Officer")])
    b.event(isla.pid, "s47_start", date(2024, 6, 13), reports=[Report("csc", date(2024, 6, 13), practitioner_role=sw)])
    b.event(isla.pid, "s47_end", date(2024, 6, 26), reports=[Report("csc", date(2024, 6, 26), practitioner_role=sw)])
    b.event(isla.pid, "icpc", date(2024, 7, 8), "cp_plan",
            [Report("csc", date(2024, 7, 8), "cp_plan", practitioner_role="Conference Chair")])
    b.plan(isla.pid, "cp", date(2024, 7, 8), [Report("csc", date(2024, 7, 8), "NEG", practitioner_role=sw)],
           start_outcome="NEG")
    b.event(isla.pid, "cp_review", date(2024, 10, 7), reports=[Report("csc", date(2024, 10, 7), practitioner_role="Conference Chair")])

    refer(zoe, date(2023, 2, 28), "school", "assessment")
    assessed(zoe, date(2023, 3, 2), date(2023, 3, 30))
    b.plan(zoe.pid, "cin", date(2023, 3, 30), [Report("csc", date(2023, 3, 30), practitioner_role=sw)],
           end=date(2023, 3, 30), closed_by_case_closure=True, end_outcome="RC5",
           end_reports=[Report("csc", date(2023, 3, 30), "RC5", practitioner_role=sw)])
    refer(zoe, date(2024, 2, 29), "school", "nfa")
    closed(zoe, date(2024, 3, 1))
    refer(zoe, date(2025, 3, 1), "school", "nfa")
    refer(zoe, date(2025, 3, 1), "police", "nfa")
    closed(zoe, date(2025, 3, 2))
    return [zoe.pid, isla.pid]
