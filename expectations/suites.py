"""The check suites, defined in code and versioned with it.

Grouped the way OHDSI's Data Quality Dashboard groups checks:
  conformance   values are of the kind and vocabulary they should be
  completeness  what must be there is there
  plausibility  values are believable (dates, ages, rates)
Each check has a severity:
  error  the data is not fit to publish: the run fails and yesterday's analyst warehouse stays
  warn   a finding for a person (a missing chronology, a noisy agency): reported, not blocking
and, for row-level checks, a threshold: the share of rows that must pass (GX `mostly`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable

import great_expectations.expectations as gxe

from casehistory.vocabulary import event_types


@dataclass(frozen=True)
class Context:
    run_id: str
    run_date: date


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
    sql: str  # the frame to validate: only the columns the checks need ($run_id is bound)
    checks: list[Check] = field(default_factory=list)


def _vocabulary(_: Context) -> list[str]:
    return sorted(event_types())


CHILD_EVENTS = Suite(
    name="child_events",
    description="The merged chronology analysts query (marts.fct_child_events).",
    sql="select event_id, child_key, event_type, event_date, age_at_event, records from marts.fct_child_events",
    checks=[
        Check("chronology_not_empty", "completeness", "error", "The merged chronology has events.",
              lambda c: gxe.ExpectTableRowCountToBeBetween(min_value=1)),
        Check("event_id_unique", "conformance", "error", "Each real-world event appears once.",
              lambda c: gxe.ExpectColumnValuesToBeUnique(column="event_id")),
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
    description="This run's loads, one row per source that received files (ledger.loads).",
    sql="""select source, rows_read, rows_quarantined, files_rejected,
                  rows_quarantined / nullif(rows_read, 0) as quarantine_rate
           from ledger.loads where run_id = $run_id and files_seen > 0""",
    checks=[
        Check("files_readable", "conformance", "warn",
              "Every file received this run could be read (a rejected file fails its own load task).",
              lambda c: gxe.ExpectColumnValuesToBeBetween(column="files_rejected", min_value=0, max_value=0)),
        Check("quarantine_rate_low", "plausibility", "warn",
              "No source has more than 5% of its rows quarantined: more suggests a broken mapping or export.",
              lambda c: gxe.ExpectColumnValuesToBeBetween(column="quarantine_rate", min_value=0, max_value=0.05)),
    ],
)

REVIEW_CHRONOLOGIES = Suite(
    name="review_chronologies",
    description="Before a panel meets: every agency asked has sent its chronology, and none involved was left out.",
    sql="select review_id, agency, status from audit.audit_review_chronologies",
    checks=[
        Check("chronologies_received", "completeness", "warn",
              "Every agency asked to contribute to a review has sent something in scope.",
              lambda c: gxe.ExpectColumnValuesToNotBeInSet(column="status", value_set=["missing"])),
        Check("involved_agencies_asked", "completeness", "warn",
              "No agency evidenced as involved (by its own or other agencies' records) was left unasked.",
              lambda c: gxe.ExpectColumnValuesToNotBeInSet(column="status", value_set=["involved_not_asked"])),
    ],
)

SUITES = [CHILD_EVENTS, SOURCE_LOADS, REVIEW_CHRONOLOGIES]
