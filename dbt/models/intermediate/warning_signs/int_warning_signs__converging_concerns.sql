-- converging_concerns: concerns from police, school and health all recorded within
-- warning_signs.converging_concerns_window_days of each other. Concerns: police = a police
-- incident (the household's included) or a police referral; school = a welfare concern, an
-- exclusion or a referral by school or education welfare; health = an ED attendance, a
-- developmental review with concern, a child not brought to the GP, or a referral by health
-- visiting, GP, hospital, ambulance or mental health. Dated the concern that completed the three;
-- again only after the three have fallen apart.
{%- set window = var('warning_signs')['converging_concerns_window_days'] %}
with events as (
    select child_key, event_date, event_type, outcome, coalesce(related_agencies, []) as referrers
    from {{ ref('fct_child_events') }}
),

concerns as (
    select child_key, event_date, 'police' as concern_from from events
    where event_type = 'police_incident' or (event_type = 'referral' and list_contains(referrers, 'police'))
    union
    select child_key, event_date, 'school' from events
    where event_type in ('welfare_concern', 'school_exclusion')
        or (event_type = 'referral' and list_has_any(referrers, ['school', 'ews']))
    union
    select child_key, event_date, 'health' from events
    where event_type = 'ed_attendance'
        or (event_type = 'developmental_review' and outcome = 'concern')
        or (event_type = 'gp_appointment' and outcome = 'was_not_brought')
        or (event_type = 'referral' and list_has_any(referrers, ['hv', 'gp', 'hosp', 'amb', 'mh']))
),

days as (
    select distinct child_key, event_date from concerns
),

windows as (
    select
        days.child_key,
        days.event_date,
        count(distinct concerns.concern_from) as sources,
        list(distinct concerns.concern_from || ' ' || concerns.event_date order by concerns.concern_from || ' ' || concerns.event_date) as seen
    from days
    join concerns
        on concerns.child_key = days.child_key
        and concerns.event_date between days.event_date - to_days({{ window }}) and days.event_date
    group by days.child_key, days.event_date
),

flagged as (
    select *, lag(sources) over (partition by child_key order by event_date) as previous_sources
    from windows
)

select
    child_key,
    'converging_concerns' as sign,
    event_date as sign_date,
    format('concerns from police, school and health within {} days to {}: {}', {{ window }}, event_date,
           array_to_string(seen, ', ')) as evidence
from flagged
where sources = 3 and coalesce(previous_sources, 0) < 3
