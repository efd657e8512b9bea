"""The check suites, defined in code and versioned with it.

Three groups of suites (Suite.group), run at different points:
  conformance       each incoming extract against its source's schema and vocabulary: the loads and
                    ledger rows since the last run whose checks passed (expectations/runner.py), so
                    rows loaded by a run killed before its checks, or whose checks failed, are checked
  plausibility      the ledger and marts are complete and believable (dates, plans, people)
  review_readiness  every review due within its deadline window has its chronologies
Within a suite each check has a category, as OHDSI's Data Quality Dashboard names them:
  conformance   values are of the kind and vocabulary they should be
  completeness  what must be there is there
  plausibility  values are believable (dates, ages, rates)
Each check has a severity:
  error  the data is not fit to publish: the run fails and yesterday's analyst warehouse stays
  warn   a finding for a person (a missing chronology, a noisy agency): reported, not blocking
and, for row-level checks, a threshold: the share of rows that must pass (GX `mostly`).
A suite whose table does not exist yet (Suite.requires) is recorded as not run, never as passed.
Suite SQL may use $run_id, $run_date, $window_days, $review_id (null = every review due),
$checked_through (the highest event ledger id the last passing checks read) and $checked_since
(when they read it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable

import great_expectations.expectations as gxe

from casehistory.vocabulary import agencies, event_types

GROUPS = ("conformance", "plausibility", "review_readiness")


@dataclass(frozen=True)
class Context:
    run_id: str
    run_date: date
    window_days: int = 28
    review_id: str | None = None


@dataclass(frozen=True)
class Check:
    name: str
    category: str  # conformance | completeness | plausibility
    severity: str  # error | warn
    description: str
    expectation: Callable[[Context], gxe.Expectation]


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    sql: str  # the rows to validate (parameters: module docstring); the runner keeps the columns the checks read
    group: str = "plausibility"  # one of GROUPS
    checks: list[Check] = field(default_factory=list)
    requires: str | None = None  # schema.table the suite reads that another branch/model may not have built yet


def _vocabulary(_: Context) -> list[str]:
    return sorted(event_types())


CHILD_EVENTS = Suite(
    name="child_events",
    description="The merged chronology analysts query (marts.fct_child_events).",
    # repeated_event_id: DuckDB counts each id's rows (about 1 s at 5 million events) where GX's
    # uniqueness check would hash every id in pandas (about 4 s)
    sql="""select event_id, child_key, event_type, event_date, age_at_event, records,
                  case when count(*) over (partition by event_id) > 1 then event_id end as repeated_event_id
           from marts.fct_child_events""",
    checks=[
        Check("chronology_not_empty", "completeness", "error", "The merged chronology has events.",
              lambda c: gxe.ExpectTableRowCountToBeBetween(min_value=1)),
        Check("event_id_unique", "conformance", "error", "Each real-world event appears once.",
              lambda c: gxe.ExpectColumnValuesToBeNull(column="repeated_event_id")),
        Check("child_key_present", "completeness", "error", "Every event belongs to a child.",
              lambda c: gxe.ExpectColumnValuesToNotBeNull(column="child_key")),
        Check("event_date_present", "completeness", "error", "Every event has a date.",
              lambda c: gxe.ExpectColumnValuesToNotBeNull(column="event_date")),
        Check("event_type_in_vocabulary", "conformance", "error",
              "Every event type is in casehistory/reference/event_types.yml.",
              lambda c: gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=_vocabulary(c))),
        Check("event_date_not_in_future", "plausibility", "error",
              "No event is dated after the run date (ingest quarantines them: one here is a pipeline fault).",
              lambda c: gxe.ExpectColumnValuesToBeBetween(
                  column="event_date", max_value=datetime.combine(c.run_date, datetime.min.time()))),
        Check("event_date_since_1990", "plausibility", "warn",
              "Events are dated 1990 or later: an older date in a child's history is likely a keying error.",
              lambda c: gxe.ExpectColumnValuesToBeBetween(column="event_date", min_value=datetime(1990, 1, 1))),
        Check("age_at_event_plausible", "plausibility", "warn",
              "Children's ages at their events lie between before birth (-1) and 25, for 99% of events.",
              lambda c: gxe.ExpectColumnValuesToBeBetween(column="age_at_event", min_value=-1, max_value=25,
                                                          mostly=0.99)),
    ],
)

SOURCE_LOADS = Suite(
    name="source_loads",
    group="conformance",
    description=("The loads since the last run whose checks passed (this run's, and those of runs killed or "
                 "failed since), one row per source load that received files (ledger.loads)."),
    # a load that began in the second the last passing checks read the ledger is checked again:
    # twice is harmless, never is not. A row loaded in part (an event of it quarantined) counts: a
    # broken mapping of one event type shows there first
    sql="""select source, rows_read, rows_quarantined, files_rejected,
                  (rows_quarantined + coalesce(rows_loaded_in_part, 0)) / nullif(rows_read, 0) as quarantine_rate
           from ledger.loads where started_at >= $checked_since::timestamp and files_seen > 0""",
    checks=[
        Check("files_readable", "conformance", "warn",
              "Every file received since the last passing checks could be read (a rejected file fails its own load task).",
              lambda c: gxe.ExpectColumnValuesToBeBetween(column="files_rejected", min_value=0, max_value=0)),
        Check("quarantine_rate_low", "plausibility", "warn",
              "No source has more than 5% of its rows quarantined, whole or in part: more suggests a broken "
              "mapping or export.",
              lambda c: gxe.ExpectColumnValuesToBeBetween(column="quarantine_rate", min_value=0, max_value=0.05)),
    ],
)

EXTRACT_ROWS = Suite(
    name="extract_rows",
    group="conformance",
    description=("Every row loaded since the last run whose checks passed (by this run, or by a run killed or "
                 "failed since), against its source's schema and the shared vocabulary (ledger.event_records)."),
    # by ledger id, not by run: a run killed mid-source leaves committed rows with no ledger.loads row
    sql="""select records.source, records.agency, records.event_type, records.event_date, records.subject_ref,
                  coalesce(len(types.outcomes) > 0 and not types.open_outcome and records.outcome is not null
                           and not list_contains(types.outcomes, records.outcome), false) as outcome_not_allowed
           from ledger.event_records as records
           left join ref.event_types as types using (event_type)
           where records.ledger_id > $checked_through::bigint""",
    checks=[
        Check("agency_known", "conformance", "error", "Every row's agency is in casehistory/reference/agencies.yml.",
              lambda c: gxe.ExpectColumnValuesToBeInSet(column="agency", value_set=sorted(agencies()))),
        Check("event_type_known", "conformance", "error", "Every row's event type is in the vocabulary.",
              lambda c: gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=_vocabulary(c))),
        Check("outcome_allowed", "conformance", "warn",
              "Every row's outcome is one its event type allows (ref.event_types.outcomes).",
              lambda c: gxe.ExpectColumnValuesToNotBeInSet(column="outcome_not_allowed", value_set=[True])),
        Check("subject_present", "completeness", "error", "Every row names the person it is about.",
              lambda c: gxe.ExpectColumnValuesToNotBeNull(column="subject_ref")),
        Check("event_date_present_in_extract", "completeness", "error", "Every loaded row has an event date.",
              lambda c: gxe.ExpectColumnValuesToNotBeNull(column="event_date")),
    ],
)

# Types an agency may record after a child's death (closing the case, ending a plan).
_AFTER_DEATH = ("death", "case_closure", "cp_plan_end", "cin_plan_end", "lac_end", "early_help_end",
                "lead_professional_end", "address_change")

CHILD_LIFE = Suite(
    name="child_life",
    description="Children's events fall within their lives; every person has events (marts and intermediate models).",
    sql="""with deaths as (
               select child_key, min(event_date) as died_on from marts.fct_child_events
               where event_type = 'death' and not via_household group by child_key)
           select events.event_id, events.event_type,
                  events.event_date < profile.date_of_birth and not coalesce(types.may_precede_birth, false)
                      as before_birth,
                  deaths.died_on is not null and events.event_date > deaths.died_on
                      and events.event_type not in ('""" + "', '".join(_AFTER_DEATH) + """') as after_death
           from marts.fct_child_events as events
           join intermediate.int_persons__profile as profile on profile.person_key = events.child_key
           left join ref.event_types as types using (event_type)
           left join deaths using (child_key)
           where not events.via_household""",
    checks=[
        Check("no_event_before_birth", "plausibility", "warn",
              "No child's own event is dated before their birth, except types that may precede it (pregnancy).",
              lambda c: gxe.ExpectColumnValuesToNotBeInSet(column="before_birth", value_set=[True])),
        Check("no_event_after_death", "plausibility", "warn",
              "No child's own event other than a closure is dated after their recorded death.",
              lambda c: gxe.ExpectColumnValuesToNotBeInSet(column="after_death", value_set=[True])),
    ],
)

PEOPLE = Suite(
    name="people",
    description="Every linked person has at least one event (intermediate.int_persons__profile).",
    sql="""select profile.person_key, count(events.ledger_id) as events
           from intermediate.int_persons__profile as profile
           left join intermediate.int_events__attributed as events using (person_id)
           group by profile.person_key""",
    checks=[
        Check("persons_have_events", "completeness", "warn",
              "A person with no events is an identity left over from records since superseded or quarantined.",
              lambda c: gxe.ExpectColumnValuesToBeBetween(column="events", min_value=1)),
    ],
)

PLAN_EPISODES = Suite(
    name="plan_episodes",
    description="Plan intervals are believable (marts.fct_plan_episodes, the interface contract of issue 5b).",
    requires="marts.fct_plan_episodes",
    sql="""select plan_episode_id, child_key, plan_type,
                  end_date is not null and end_date < start_date as ends_before_start,
                  exists (select 1 from marts.fct_plan_episodes as other
                          where other.child_key = plans.child_key and other.plan_type = plans.plan_type
                            and other.plan_episode_id <> plans.plan_episode_id
                            and other.start_date < coalesce(plans.end_date, date '9999-12-31')
                            and plans.start_date < coalesce(other.end_date, date '9999-12-31')) as overlaps_same_type
           from marts.fct_plan_episodes as plans""",
    checks=[
        Check("plan_ends_after_start", "plausibility", "error", "No plan ends before it starts.",
              lambda c: gxe.ExpectColumnValuesToNotBeInSet(column="ends_before_start", value_set=[True])),
        Check("plans_of_a_type_do_not_overlap", "plausibility", "warn",
              "A child has one plan of each type at a time: overlapping ones are a missed end or a duplicate.",
              lambda c: gxe.ExpectColumnValuesToNotBeInSet(column="overlaps_same_type", value_set=[True])),
    ],
)

REVIEW_READINESS = Suite(
    name="review_readiness",
    group="review_readiness",
    description=("Reviews due within the deadline window (or the one asked for): every agency asked has sent its "
                 "chronology, none involved was left out (audit.review_readiness)."),
    sql="""select readiness.review_id, readiness.agency, readiness.status
           from audit.review_readiness as readiness
           where ($review_id::varchar is null and readiness.deadline <= $run_date::date + to_days($window_days::integer))
              or readiness.review_id = $review_id""",
    checks=[
        Check("chronologies_received", "completeness", "warn",
              "Every agency asked to contribute has sent records of the subjects within the scope, readably "
              "(a chronology sent but unreadable is not received).",
              lambda c: gxe.ExpectColumnValuesToNotBeInSet(column="status", value_set=["missing", "sent_unreadable"])),
        Check("involved_agencies_asked", "completeness", "warn",
              "No agency evidenced as involved (by its own or other agencies' records) was left unasked.",
              lambda c: gxe.ExpectColumnValuesToNotBeInSet(column="status", value_set=["involved_not_asked"])),
        Check("chronologies_on_time_and_whole", "plausibility", "warn",
              "No chronology arrived after the deadline or leaves a stretch other agencies show it involved in.",
              lambda c: gxe.ExpectColumnValuesToNotBeInSet(column="status", value_set=["late", "partial"])),
    ],
)

SUITES = [SOURCE_LOADS, EXTRACT_ROWS, CHILD_EVENTS, CHILD_LIFE, PEOPLE, PLAN_EPISODES, REVIEW_READINESS]
