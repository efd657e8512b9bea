-- The macro plan_status_on(date) and fct_plan_status_daily give the same status on a date (here a
-- year before the status date): same children, highest level and plan types.
with from_macro as (
    {{ plan_status_on(plan_status_as_of() ~ " - interval 365 day") }}
),

from_daily as (
    select child_key, status_date, highest_level, plan_types_open
    from {{ ref('fct_plan_status_daily') }}
    where status_date = cast({{ plan_status_as_of() }} - interval 365 day as date)
),

differences as (
    (select * from from_macro except select * from from_daily)
    union all
    (select * from from_daily except select * from from_macro)
)

select * from differences
