-- The child's own events that open, end or close a plan (var `plans`), with the plan they belong to.
-- A household member's events (via_household) never open or close the child's plan.
with config as (
    {{ plan_events_config() }}
),

events as (
    select * from {{ ref('fct_child_events') }}
    where not via_household
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
