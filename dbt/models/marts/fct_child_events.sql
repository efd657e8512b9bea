-- The merged chronology: one row per child per real-world event, every reporting agency listed,
-- disagreements between them flagged, household events (a parent's, a sibling's) included and
-- marked. Pseudonymised: no names, identifiers or free text.
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='child_key',
          on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
with matched as (
    select * from {{ ref('int_events__matched') }}
    where is_child and {{ only_affected_persons('person_key', 'person_key') }}
),

records_per_event as (
    select event_id, event_type, count(*) as records from matched group by all
),

-- Most events (96% at 1,000,000 children) have one record. DuckDB's ordered and distinct list
-- aggregates cost as much for a group of one as for many (49 s against 4 s at that size), so an
-- event with one record is turned straight into the row the aggregates would give it.
single_record_events as (
    select
        event_id,
        person_key as child_key,
        event_type,
        category,
        outcome,
        event_date,
        event_date as event_date_latest,
        person_date_of_birth as child_date_of_birth,
        [agency] as agencies,
        case when related_agency is not null then [related_agency] end as related_agencies,
        case when practitioner_role is not null then [practitioner_role] end as practitioner_roles,
        1::bigint as records,
        false as dates_disagree,
        false as outcomes_disagree,
        case when outcome is not null then [outcome] end as outcomes,
        [ledger_id] as ledger_ids,
        first_received_at,
        via_household,
        case when via_role is not null then [via_role] end as household_roles
    from matched
    join records_per_event using (event_id, event_type)
    where records_per_event.records = 1
),

merged_events as (
    select
        -- ids
        event_id,
        any_value(person_key) as child_key,
        -- what happened
        event_type,
        any_value(category) as category,
        -- the deciding agency's outcome (a referral's: social care's, not the referrer's), else
        -- the first-arriving record's; every agency's stays in outcomes, flagged when they differ
        arg_min(outcome, (agency is distinct from decided_by, first_ledger_id))
            filter (where outcome is not null) as outcome,
        -- when
        min(event_date) as event_date,
        max(event_date) as event_date_latest,
        any_value(person_date_of_birth) as child_date_of_birth,
        -- who reported it
        list(distinct agency order by agency) as agencies,
        list(distinct related_agency order by related_agency) filter (where related_agency is not null) as related_agencies,
        list(distinct practitioner_role order by practitioner_role) filter (where practitioner_role is not null) as practitioner_roles,
        count(*) as records,
        -- where the sources disagree
        count(distinct event_date) > 1 as dates_disagree,
        count(distinct outcome) > 1 as outcomes_disagree,
        list(distinct outcome order by outcome) filter (where outcome is not null) as outcomes,
        -- provenance: the ledger versions behind this row
        list(ledger_id order by ledger_id) as ledger_ids,
        min(first_received_at) as first_received_at,
        -- whose event it was: the child's own, or a household member's
        bool_and(via_household) as via_household,
        list(distinct via_role order by via_role) filter (where via_role is not null) as household_roles
    from matched
    semi join (select event_id, event_type from records_per_event where records > 1) using (event_id, event_type)
    left join (select event_type, decided_by from {{ ref('stg_ref__event_types') }}) using (event_type)
    group by event_id, event_type, decided_by  -- decided_by: one per event type
),

events as (
    select * from merged_events
    union all by name
    select * from single_record_events
)

select
    event_id,
    child_key,
    row_number() over (partition by child_key order by event_date, event_type, event_id) as event_seq,
    event_type,
    category,
    outcome,
    event_date,
    event_date_latest,
    {{ age_in_years('child_date_of_birth', 'event_date') }}::integer as age_at_event,
    agencies,
    related_agencies,
    practitioner_roles,
    records,
    dates_disagree,
    outcomes_disagree,
    dates_disagree or outcomes_disagree as sources_disagree,
    outcomes,
    via_household,
    household_roles,
    ledger_ids,
    first_received_at
from events
