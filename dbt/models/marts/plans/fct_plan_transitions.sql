/*
  Step-up and step-down: one row per change in a child's highest plan level (0 = no plan,
  1 early help, 2 child in need, 3 child protection, 4 looked after), from fct_plan_status_daily.
  transition_date is the first day at the new level: for an end, the plan's end_date (the first
  day without it), or the day after a plan that started and ended on one day (open that day).
  direction: start (from no plan), end (to no plan), step_up, step_down.
  Plans still open on the status date have no end.
  Incremental like the daily table it reads (macros/incremental_persons.sql): the affected
  children's transitions, and every child's after days_kept_through(). A transition on day T
  depends only on the days T-1 onwards, so those come from the days from days_kept_through().
*/
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='child_key',
          day_column='transition_date', on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
with daily as (
    select child_key, status_date, highest_level from {{ ref('fct_plan_status_daily') }}
    where {{ only_affected_persons('child_key', 'person_key') }}
    {%- if is_incremental() %} or status_date >= {{ days_kept_through() }}{% endif %}
),

marked as (
    select
        *,
        lag(status_date) over by_day as previous_date,
        lag(highest_level) over by_day as previous_level,
        lead(status_date) over by_day as next_date
    from daily
    window by_day as (partition by child_key order by status_date)
),

changes as (
    select
        child_key,
        status_date as transition_date,
        case when previous_date = status_date - 1 then previous_level else 0 end as from_level,
        highest_level as to_level
    from marked
    where previous_date is null or previous_date <> status_date - 1 or previous_level <> highest_level
    union all
    select child_key, status_date + 1, highest_level, 0
    from marked
    where (next_date is null or next_date <> status_date + 1)
        and status_date < {{ plan_status_as_of() }}
)

select
    child_key,
    transition_date,
    from_level,
    to_level,
    case
        when from_level = 0 then 'start'
        when to_level = 0 then 'end'
        when to_level > from_level then 'step_up'
        else 'step_down'
    end as direction
from changes
where {{ only_affected_persons('child_key', 'person_key', day_column='transition_date') }}
