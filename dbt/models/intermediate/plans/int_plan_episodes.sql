/*
  Plan episodes: start and end events of one plan type paired into intervals, per child. The pairing
  rule (overlapping starts merged; a case closure ending a plan with no end of its own; on one day,
  ends first when a plan was open, else starts first, so a plan started and ended that day is one
  episode of one day; an end without a start kept with start_recorded = false) is the macro
  plan_episodes() in macros/plans.sql, which int_referrals__known_at_decision uses too.
  Incremental: a child's episodes come from that child's plan events alone.
*/
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='child_key',
          on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
with plan_events as (
    select * from {{ ref('int_plan_events') }}
    where {{ only_affected_persons('child_key', 'person_key') }}
),

episodes as (
    {{ plan_episodes('plan_events', ['child_key']) }}
)

select
    -- ids
    md5(plan_type || ':' || opening_event_id) as plan_episode_id,
    child_key,
    -- plan
    plan_type,
    level,
    cp_category,
    cp_categories,
    lac_legal_status,
    -- dates
    start_date,
    end_date,
    is_open,
    -- how it ended
    closed_by_event_type,
    closure_reason,
    -- what was recorded
    start_recorded,
    starts_recorded
from episodes
