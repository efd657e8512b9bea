/*
  One row per plan episode per day it was open, up to the status date (plan_status_as_of()):
  the grain plan status, lead professionals over time and overdue reviews are counted on.

  A plan is open from start_date up to but not including end_date (a plan ending on a day is not
  open that day: the DfE convention), and a plan started and ended the same day on that one day
  (macro plan_open_until: the one rule for every plan table); lead professional spells likewise.
  Episodes whose start was never recorded are left out.

  Incremental (macros/incremental_persons.sql): a night recomputes the affected children's days and
  adds every other child's days since the last build.
*/
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='child_key',
          day_column='status_date', on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
with episodes as (
    select * from {{ ref('int_plan_episodes') }}
    where start_recorded and start_date <= {{ plan_status_as_of() }}
),

episode_days as (
    select
        plan_episode_id,
        child_key,
        plan_type,
        level,
        unnest(generate_series(
            ({{ first_day_to_compute('child_key', 'start_date') }})::timestamp,
            least(coalesce({{ plan_open_until() }}, {{ plan_status_as_of() }} + 1) - 1, {{ plan_status_as_of() }})::timestamp,
            interval 1 day))::date as status_date
    from episodes
),

lead_days as (
    select
        child_key,
        unnest(generate_series(
            ({{ first_day_to_compute('child_key', 'spell_start') }})::timestamp,
            (least(coalesce({{ plan_open_until('spell_start', 'spell_end') }}, {{ plan_status_as_of() }} + 1), {{ plan_status_as_of() }} + 1) - 1)::timestamp,
            interval 1 day))::date as status_date,
        lead_role
    from {{ ref('int_lead_professional_spells') }}
    where spell_start <= {{ plan_status_as_of() }}
),

lead_counts as (
    select child_key, status_date, count(distinct lead_role) as lead_professional_count
    from lead_days
    group by all
),

schedule as (
    select * from {{ ref('int_plan_review_schedule') }}
)

select
    episode_days.plan_episode_id,
    episode_days.child_key,
    episode_days.plan_type,
    episode_days.level,
    episode_days.status_date,
    coalesce(lead_counts.lead_professional_count, 0) as lead_professional_count,
    schedule.review_number as reviews_held,
    schedule.next_review_due,
    coalesce(episode_days.status_date > schedule.next_review_due, false) as review_overdue
from episode_days
left join lead_counts using (child_key, status_date)
asof left join schedule
    on schedule.plan_episode_id = episode_days.plan_episode_id
    and episode_days.status_date >= schedule.segment_start
