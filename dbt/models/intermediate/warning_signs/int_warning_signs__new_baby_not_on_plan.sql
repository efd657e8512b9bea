-- new_baby_not_on_plan: a child born while a sibling in the household (identity's dated household
-- membership, within household_window_days, as for household events) had a plan open, who had no
-- plan of their own open at birth or started within warning_signs.new_baby_plan_grace_days. Dated
-- the day the grace period ran out. One row per baby.
{%- set grace = var('warning_signs')['new_baby_plan_grace_days'] %}
{%- set window = var('household_window_days') %}
with persons as (
    select person_id, person_key as child_key, date_of_birth
    from {{ ref('int_persons__profile') }}
    where is_child and date_of_birth is not null
),

members as (
    select * from {{ ref('stg_identity__household_members') }}
),

plans as (
    select * from {{ ref('fct_plan_episodes') }}
    where start_recorded
),

siblings_on_plans as (
    select
        baby.child_key,
        baby.date_of_birth,
        list(distinct plans.plan_type order by plans.plan_type) as sibling_plan_types,
        min(plans.start_date) as sibling_plan_since
    from persons as baby
    join members as baby_home on baby_home.person_id = baby.person_id
    join members as sibling_home
        on sibling_home.household_id = baby_home.household_id
        and sibling_home.person_id <> baby.person_id
    join persons as sibling on sibling.person_id = sibling_home.person_id
    join plans
        on plans.child_key = sibling.child_key
        and plans.start_date <= baby.date_of_birth
        and (plans.end_date is null or plans.end_date > baby.date_of_birth)
    where sibling.date_of_birth < baby.date_of_birth
        and baby.date_of_birth between baby_home.valid_from - to_days({{ window }}) and baby_home.valid_to + to_days({{ window }})
        and baby.date_of_birth between sibling_home.valid_from - to_days({{ window }}) and sibling_home.valid_to + to_days({{ window }})
    group by baby.child_key, baby.date_of_birth
)

select
    child_key,
    'new_baby_not_on_plan' as sign,
    date_of_birth + {{ grace }} as sign_date,
    format('born {} while a sibling had a plan open ({}, since {}); no plan of their own within {} days',
           date_of_birth, array_to_string(sibling_plan_types, ', '), sibling_plan_since, {{ grace }}) as evidence
from siblings_on_plans
where date_of_birth + {{ grace }} <= {{ plan_status_as_of() }}
    and not exists (
        select 1 from plans
        where plans.child_key = siblings_on_plans.child_key
            and plans.start_date <= siblings_on_plans.date_of_birth + {{ grace }}
            and (plans.end_date is null or plans.end_date > siblings_on_plans.date_of_birth)
    )
