-- plan_closed_after_complaint: a plan that ended within warning_signs.plan_closed_after_complaint_days
-- after a complaint by or about the family, or the family's disengagement, recorded for the child.
-- Dated the day the plan ended. One row per plan episode.
{%- set days = var('warning_signs')['plan_closed_after_complaint_days'] %}
with closed as (
    select plan_episode_id, child_key, plan_type, end_date, closure_reason
    from {{ ref('fct_plan_episodes') }}
    where end_date is not null
),

signals as (
    select child_key, event_type, event_date
    from {{ ref('fct_child_events') }}
    where event_type in ('complaint', 'disengagement')
),

matched as (
    select
        closed.*,
        max(signals.event_date) as last_signal_date,
        list(distinct signals.event_type order by signals.event_type) as signal_types
    from closed
    join signals
        on signals.child_key = closed.child_key
        and signals.event_date <= closed.end_date
        and signals.event_date >= closed.end_date - to_days({{ days }})
    group by all
)

select
    child_key,
    'plan_closed_after_complaint' as sign,
    end_date as sign_date,
    format('{} plan closed {} ({}) {} days after {} on {}', plan_type, end_date, coalesce(closure_reason, 'no reason recorded'),
           end_date - last_signal_date, array_to_string(signal_types, ' and '), last_signal_date) as evidence
from matched
