-- adult_services_parent_not_in_plan: a plan of the child during which, or within
-- warning_signs.adult_services_lookback_days before it, a parent or carer of the household was
-- known to adult services (adult_services_involvement reaching the child via the household), and
-- adult services took part in none of the plan's meetings (asc not among the agencies or related
-- agencies of its meetings, conferences and reviews). Dated the later of the plan's start and the
-- first such involvement. One row per plan episode. "During the plan": its open days (macro
-- plan_open_until: a one-day plan's day included).
{%- set lookback = var('warning_signs')['adult_services_lookback_days'] %}
with plans as (
    select plan_episode_id, child_key, plan_type, start_date, end_date
    from {{ ref('fct_plan_episodes') }}
    where start_recorded
),

events as (
    select * from {{ ref('fct_child_events') }}
),

involvement as (
    select child_key, event_date
    from events
    where event_type = 'adult_services_involvement'
        and via_household and list_has_any(household_roles, ['mother', 'father', 'carer'])
),

meetings as (
    select child_key, event_date, list_concat(agencies, coalesce(related_agencies, [])) as present
    from events
    where event_type in ('tac_meeting', 'plan_review', 'case_transfer_meeting', 'icpc', 'cp_review', 'lac_review',
                         'strategy_discussion')
        and not via_household
),

known as (
    select plans.*, count(*) as involvements, min(involvement.event_date) as first_involvement,
        max(involvement.event_date) as last_involvement
    from plans
    join involvement
        on involvement.child_key = plans.child_key
        and involvement.event_date >= plans.start_date - to_days({{ lookback }})
        and (plans.end_date is null or involvement.event_date < {{ plan_open_until('plans.start_date', 'plans.end_date') }})
        and involvement.event_date <= {{ plan_status_as_of() }}
    group by all
),

with_meetings as (
    select
        known.*,
        count(meetings.event_date) as plan_meetings,
        coalesce(bool_or(list_contains(meetings.present, 'asc')), false) as adult_services_at_a_meeting
    from known
    left join meetings
        on meetings.child_key = known.child_key
        and {{ plan_open_on('meetings.event_date', 'known.start_date', 'known.end_date') }}
    group by all
)

select
    child_key,
    'adult_services_parent_not_in_plan' as sign,
    greatest(start_date, first_involvement) as sign_date,
    format('{} plan from {}: a parent known to adult services (records: {}, {} to {}); adult services at none of its {} meetings',
           plan_type, start_date, involvements, first_involvement, last_involvement, plan_meetings) as evidence
from with_meetings
where not adult_services_at_a_meeting
