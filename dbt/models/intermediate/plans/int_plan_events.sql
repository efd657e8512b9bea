-- The child's own events that open, end or close a plan (var `plans`), with the plan they belong to.
-- A household member's events (via_household) never open or close the child's plan.
-- Incremental: a child's plan events are their own events' alone (macros/incremental_persons.sql).
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='child_key',
          on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
with config as (
    {{ plan_events_config() }}
),

events as (
    select * from {{ ref('fct_child_events') }}
    where not via_household and {{ only_affected_persons('child_key', 'person_key') }}
)

select
    -- ids
    events.child_key,
    events.event_id,
    -- plan
    config.plan_type,
    config.level,
    config.role,
    -- what and when
    events.event_type,
    events.outcome,
    events.event_date
from events
join config using (event_type)
