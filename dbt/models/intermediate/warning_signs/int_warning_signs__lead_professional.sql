-- lead_professional_missing: an early help plan without a lead professional for at least
-- warning_signs.lead_professional_missing_days days in a row; dated the day that many had passed.
-- lead_professional_doubled: an early help plan with two or more lead professionals named at once;
-- dated the first day of each such run. (Spells: int_lead_professional_spells.)
-- Incremental (macros/incremental_persons.sql): a night recomputes the affected children and the
-- children with an early help plan open since the last build (a run may go on, and its evidence
-- counts its days); a sign is dated within its run, so one dated after the kept days is redone.
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='child_key',
          day_column='sign_date', open_plan_type='early_help', on_schema_change='fail',
          full_refresh=incremental_full_refresh()) }}
{%- set missing_days = var('warning_signs')['lead_professional_missing_days'] %}
with days as (
    select plan_episode_id, child_key, status_date, lead_professional_count
    from {{ ref('int_plan_episode_days') }}
    where plan_type = 'early_help'
        and {{ only_affected_persons('child_key', 'person_key') }}
),

runs as (
    select
        *,
        case when lead_professional_count = 0 then 'missing' when lead_professional_count >= 2 then 'doubled' end as state,
        status_date - to_days(row_number() over (
            partition by plan_episode_id,
                case when lead_professional_count = 0 then 'missing' when lead_professional_count >= 2 then 'doubled' end
            order by status_date)::integer) as run_id
    from days
),

run_summary as (
    select plan_episode_id, child_key, state, min(status_date) as run_start, max(status_date) as run_last,
        count(*) as run_days, max(lead_professional_count) as most_named
    from runs
    where state is not null
    group by plan_episode_id, child_key, state, run_id
)

select
    child_key,
    'lead_professional_missing' as sign,
    run_start + {{ missing_days }} - 1 as sign_date,
    format('early help plan without a lead professional for {} days from {}', run_days, run_start) as evidence
from run_summary
where state = 'missing' and run_days >= {{ missing_days }}
union all
select
    child_key,
    'lead_professional_doubled' as sign,
    run_start as sign_date,
    format('{} lead professionals named at once from {} for {} days', most_named, run_start, run_days) as evidence
from run_summary
where state = 'doubled'
