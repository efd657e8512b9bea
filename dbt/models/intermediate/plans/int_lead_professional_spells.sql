/*
  Who was lead professional for a child, and when: one row per person named (by practitioner role).

  Rule: a lead_professional_start names one lead per practitioner role on it (one decision that two
  agencies each record with their own practitioner as lead names two: the Baby E seed review); with
  no role recorded, one unnamed lead. The spell runs from that day up to (not including) the first
  later lead_professional_end naming that role or naming none, or the end of the early help
  episode it started in, whichever comes first; with neither it is still open. A spell covers the
  days from its start up to (not including) its end, and its one day when it ends the day it
  began (the plan rule, macro plan_open_until: a lead named on a one-day plan led it that day).
  Incremental: a child's spells come from that child's events and early help episodes alone.
*/
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='child_key',
          on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
with events as (
    select * from {{ ref('fct_child_events') }}
    where not via_household and event_type in ('lead_professional_start', 'lead_professional_end')
        and {{ only_affected_persons('child_key', 'person_key') }}
),

starts as (
    select child_key, event_id, event_date as spell_start,
        unnest(coalesce(practitioner_roles, ['unnamed'])) as lead_role
    from events
    where event_type = 'lead_professional_start'
),

ends as (
    select child_key, event_date as spell_end, practitioner_roles as roles
    from events
    where event_type = 'lead_professional_end'
),

early_help as (
    select child_key, start_date, end_date
    from {{ ref('int_plan_episodes') }}
    where plan_type = 'early_help' and start_recorded and {{ only_affected_persons('child_key', 'person_key') }}
),

ended as (
    select
        starts.child_key,
        starts.event_id,
        starts.lead_role,
        starts.spell_start,
        min(ends.spell_end) as named_end
    from starts
    left join ends
        on ends.child_key = starts.child_key
        and ends.spell_end > starts.spell_start
        and (ends.roles is null or list_contains(ends.roles, starts.lead_role))
    group by all
),

bounded as (
    select ended.*, min(early_help.end_date) as plan_end
    from ended
    left join early_help
        on early_help.child_key = ended.child_key
        and {{ plan_open_on('ended.spell_start', 'early_help.start_date', 'early_help.end_date') }}
    group by all
)

select
    md5(event_id || ':' || lead_role) as lead_spell_id,
    child_key,
    lead_role,
    spell_start,
    -- a plan's end ends its lead professional
    case
        when named_end is null then plan_end
        when plan_end is null then named_end
        else least(named_end, plan_end)
    end as spell_end
from bounded
