-- new_baby_not_on_plan: a baby (under warning_signs.new_baby_age_days old) in a household where an
-- older sibling (identity's dated household membership, within household_window_days, as for
-- household events) had a plan open - at the birth, or started while the baby was that young (the
-- JS family: three siblings on child protection plans, the two-month-old not) - who had no plan of
-- their own open then or started within warning_signs.new_baby_plan_grace_days. Dated the day the
-- grace period ran out after the first such moment. One row per baby. A plan is open on the days
-- macro plan_open_until gives (a one-day plan on its day).
{%- set grace = var('warning_signs')['new_baby_plan_grace_days'] %}
{%- set baby_days = var('warning_signs')['new_baby_age_days'] %}
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

sibling_plans as materialized (
    -- children with a plan, where they lived: the few the babies are compared with
    select members.household_id, members.person_id, members.valid_from, members.valid_to,
        persons.date_of_birth, plans.plan_type, plans.start_date, plans.end_date
    from plans
    join persons on persons.child_key = plans.child_key
    join members on members.person_id = persons.person_id
),

babies as materialized (
    select members.household_id, members.valid_from, members.valid_to, persons.*
    from persons
    join members using (person_id)
    where members.household_id in (select household_id from sibling_plans)
),

siblings_on_plans as (
    -- the moment the baby was first in a family with a sibling's plan open: the birth, or the
    -- sibling's plan start while the baby was still a baby
    select
        babies.child_key,
        babies.date_of_birth,
        min(greatest(babies.date_of_birth, sibling_plans.start_date)) as since,
        list(distinct sibling_plans.plan_type order by sibling_plans.plan_type) as sibling_plan_types
    from babies
    join sibling_plans
        on sibling_plans.household_id = babies.household_id
        and sibling_plans.person_id <> babies.person_id
    where sibling_plans.date_of_birth < babies.date_of_birth
        and sibling_plans.start_date < babies.date_of_birth + {{ baby_days }}
        and (sibling_plans.end_date is null
             or {{ plan_open_until('sibling_plans.start_date', 'sibling_plans.end_date') }} > babies.date_of_birth)
        and greatest(babies.date_of_birth, sibling_plans.start_date)
            between babies.valid_from - to_days({{ window }}) and babies.valid_to + to_days({{ window }})
        and greatest(babies.date_of_birth, sibling_plans.start_date)
            between sibling_plans.valid_from - to_days({{ window }}) and sibling_plans.valid_to + to_days({{ window }})
    group by babies.child_key, babies.date_of_birth
)

select
    child_key,
    'new_baby_not_on_plan' as sign,
    since + {{ grace }} as sign_date,
    format('born {}; a sibling''s plan open from {} ({}); no plan of their own within {} days',
           date_of_birth, since, array_to_string(sibling_plan_types, ', '), {{ grace }}) as evidence
from siblings_on_plans
where since + {{ grace }} <= {{ plan_status_as_of() }}
    and not exists (
        select 1 from plans
        where plans.child_key = siblings_on_plans.child_key
            and plans.start_date <= siblings_on_plans.since + {{ grace }}
            and (plans.end_date is null or {{ plan_open_until('plans.start_date', 'plans.end_date') }} > siblings_on_plans.since)
    )
