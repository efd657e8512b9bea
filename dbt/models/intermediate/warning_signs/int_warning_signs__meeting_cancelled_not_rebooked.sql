-- meeting_cancelled_not_rebooked: a TAC, plan review or case transfer (step-up / step-down) meeting
-- cancelled, with no later meeting of that type recorded for the child by the status date; visible
-- once warning_signs.meeting_rebook_days have passed. Dated then. One row per cancelled meeting.
{%- set days = var('warning_signs')['meeting_rebook_days'] %}
with meetings as (
    select child_key, event_type, event_date, outcome
    from {{ ref('fct_child_events') }}
    where event_type in ('tac_meeting', 'plan_review', 'case_transfer_meeting') and not via_household
)

select
    cancelled.child_key,
    'meeting_cancelled_not_rebooked' as sign,
    cancelled.event_date + {{ days }} as sign_date,
    format('{} cancelled on {}; none held or booked since (to {})', cancelled.event_type, cancelled.event_date,
           {{ plan_status_as_of() }}) as evidence
from meetings as cancelled
where cancelled.outcome = 'cancelled'
    and cancelled.event_date + {{ days }} <= {{ plan_status_as_of() }}
    and not exists (
        select 1 from meetings as later
        where later.child_key = cancelled.child_key
            and later.event_type = cancelled.event_type
            and later.event_date > cancelled.event_date
    )
