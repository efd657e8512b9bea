"""The figures a run must show, worked out from the generator's true world by the definitions in
../shared/domain.md, in Python written apart from the SQL in dbt/ that computes them in the
warehouse (the end-to-end tests compare the two: tests/pipeline/test_ground_truth_figures.py).

What the extracts carry: a true event counts when at least one of its records is loaded as its
record's current version (not quarantined, not superseded by an amendment), and its date is the
earliest date those records give it (a referrer's own record of a referral may be a day or two
before csc's). Families never span the generator's batches, so each batch's figures add up.

- referral: a true referral of a child, once however many agencies recorded it.
- re-referral (DfE children in need census: "a re-referral occurs when a child is referred within
  12 months of a previous referral"): a referral with an earlier referral of the child on or after
  the same calendar day 12 months before; 29 February counts back to 28 February. Of two referrals
  on one day the second is a re-referral (the README's reading of CIN census rule 8820).
- under three with three or more past referrals (the Baby E review: "any referral involving a child
  under three with three or more past referrals"): under three on the referral day, with at least
  three referrals before it (one earlier the same day included). Ages: completed years, a birthday
  reached on the anniversary of the birth (Family Law Reform Act 1969 s.9); for a child born on 29
  February, on 1 March in years without one (the reading dbt/macros/dates.sql explains).
- plans (early help, child in need, child protection, looked after): the true episodes whose start
  the extracts carry, ending where their end is carried (else still open). Open on a day: from the
  start day up to but not including the end day; a plan started and ended on one day is open on
  that day (a one-day plan).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from casehistory.synth.world import AS_OF, PLAN_EVENTS, PlanEpisode, World

UNDER_THREE_PAST_REFERRALS = 3
PLAN_FIELDS = ["true_person", "plan_type", "start_date", "end_date", "ended_by", "start_event", "end_event",
               "start_in_extracts", "end_in_extracts"]


def age_in_years(born: date, day: date) -> int:
    """Completed years of age on `day` (negative before birth)."""
    return day.year - born.year - (1 if day < _anniversary(born, day.year) else 0)


def _anniversary(born: date, year: int) -> date:
    try:
        return born.replace(year=year)
    except ValueError:  # 29 February in a year without one
        return date(year, 3, 1)


def twelve_months_before(day: date) -> date:
    """The same calendar day a year earlier; 29 February counts back to 28 February."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return date(day.year - 1, 2, 28)


def open_on(start: date, end: date | None, day: date) -> bool:
    if day < start:
        return False
    if end is None:
        return True
    return day == start if end == start else day < end


class Figures:
    """expected.json's referral and plan figures, added up batch by batch."""

    def __init__(self) -> None:
        self.referrals: Counter = Counter()
        self.plans: dict[str, Counter] = {"episodes": Counter(), "open_on_extract_date": Counter(),
                                          "one_day": Counter()}

    def add_batch(self, world: World, carried: dict[str, date]) -> list[dict]:
        """carried: true event id -> its date in the extracts, for the events they carry. Returns
        the batch's plan episodes as rows of plans.csv."""
        self._referrals(world, carried)
        return [self._plan(p, carried) for p in world.plans]

    def _referrals(self, world: World, carried: dict[str, date]) -> None:
        by_child: dict[str, list[tuple[date, str]]] = defaultdict(list)
        for ev in world.events:
            if ev.etype == "referral" and ev.eid in carried and world.persons[ev.pid].is_child:
                by_child[ev.pid].append((carried[ev.eid], ev.eid))
        for pid, referrals in by_child.items():
            born = world.persons[pid].dob
            days = [day for day, _ in sorted(referrals)]
            for n, day in enumerate(days):
                earlier = days[:n]
                self.referrals["referrals"] += 1
                self.referrals["re_referrals"] += any(d >= twelve_months_before(day) for d in earlier)
                self.referrals["under_three_with_three_or_more"] += (
                    age_in_years(born, day) < 3 and len(earlier) >= UNDER_THREE_PAST_REFERRALS)

    def _plan(self, plan: PlanEpisode, carried: dict[str, date]) -> dict:
        start_in = plan.start_event in carried
        end_in = plan.end_event is not None and plan.end_event in carried
        if start_in:
            end = plan.end if end_in else None
            self.plans["episodes"][plan.plan_type] += 1
            self.plans["open_on_extract_date"][plan.plan_type] += open_on(plan.start, end, AS_OF)
            self.plans["one_day"][plan.plan_type] += end == plan.start
        return {"true_person": plan.pid, "plan_type": plan.plan_type, "start_date": plan.start.isoformat(),
                "end_date": plan.end.isoformat() if plan.end else "", "ended_by": plan.ended_by or "",
                "start_event": plan.start_event, "end_event": plan.end_event or "",
                "start_in_extracts": start_in, "end_in_extracts": end_in}

    def as_dict(self) -> dict:
        return {
            "referrals": {k: self.referrals[k] for k in ("referrals", "re_referrals", "under_three_with_three_or_more")},
            "plans": {name: {t: counts[t] for t in PLAN_EVENTS} for name, counts in self.plans.items()},
        }
