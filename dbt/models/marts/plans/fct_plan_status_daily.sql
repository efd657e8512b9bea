-- Plan status as of each day: one row per child per day they had any plan open (up to the status
-- date). For a single date, past or future, the macro plan_status_on(date) answers from
-- fct_plan_episodes without this table. Incremental: a night adds the days since the last build
-- and recomputes the affected children's (macros/incremental_persons.sql).
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='child_key',
          day_column='status_date', on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
with days as (
    select * from {{ ref('int_plan_episode_days') }}
    where {{ only_affected_persons('child_key', 'person_key', day_column='status_date') }}
),

plans_per_day as (
    select child_key, status_date, count(*) as plans from days group by all
),

-- Most days have one plan open. DuckDB's ordered and distinct list aggregates cost as much for a
-- group of one as for many (49 s against 13 s at 1,000,000 children), so a day with one plan is
-- turned straight into the row the aggregates would give it.
one_plan_days as (
    select
        child_key,
        status_date,
        level as highest_level,
        [plan_type] as plan_types_open,
        lead_professional_count,
        review_overdue,
        case when review_overdue then [plan_type] end as plan_types_review_overdue
    from days
    join plans_per_day using (child_key, status_date)
    where plans_per_day.plans = 1
),

several_plan_days as (
    select
        child_key,
        status_date,
        max(level) as highest_level,
        list(distinct plan_type order by plan_type) as plan_types_open,
        max(lead_professional_count) as lead_professional_count,
        bool_or(review_overdue) as review_overdue,
        list(distinct plan_type order by plan_type) filter (where review_overdue) as plan_types_review_overdue
    from days
    semi join (select child_key, status_date from plans_per_day where plans > 1) using (child_key, status_date)
    group by child_key, status_date
)

select * from several_plan_days
union all by name
select * from one_plan_days
