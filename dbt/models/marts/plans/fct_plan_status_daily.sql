-- Plan status as of each day: one row per child per day they had any plan open (up to the status
-- date). For a single date, past or future, the macro plan_status_on(date) answers from
-- fct_plan_episodes without this table. Incremental: a night adds the days since the last build
-- and recomputes the affected children's (macros/incremental_persons.sql).
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='child_key',
          day_column='status_date', on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
select
    child_key,
    status_date,
    max(level) as highest_level,
    list(distinct plan_type order by plan_type) as plan_types_open,
    max(lead_professional_count) as lead_professional_count,
    bool_or(review_overdue) as review_overdue,
    list(distinct plan_type order by plan_type) filter (where review_overdue) as plan_types_review_overdue
from {{ ref('int_plan_episode_days') }}
where {{ only_affected_persons('child_key', 'person_key', day_column='status_date') }}
group by child_key, status_date
