-- referrals_passed_back_repeatedly: a referral passed back (outcome early_help or nfa) when, with
-- it, at least warning_signs.referrals_passed_back.count of the child's referrals in the previous
-- window_days were passed back. One row per such referral.
{%- set rule = var('warning_signs')['referrals_passed_back'] %}
with referrals as (
    select child_key, event_date, outcome, outcome in ('early_help', 'nfa') as passed_back
    from {{ ref('fct_child_events') }}
    where event_type = 'referral' and not via_household
),

counted as (
    select
        *,
        sum(case when passed_back then 1 else 0 end) over (
            partition by child_key order by event_date
            range between interval {{ rule['window_days'] }} days preceding and current row) as passed_back_in_window,
        min(case when passed_back then event_date end) over (
            partition by child_key order by event_date
            range between interval {{ rule['window_days'] }} days preceding and current row) as first_in_window
    from referrals
)

select
    child_key,
    'referrals_passed_back_repeatedly' as sign,
    event_date as sign_date,
    format('referral on {} passed back ({}): {} passed back in the {} days to then, the first on {}',
           event_date, outcome, passed_back_in_window, {{ rule['window_days'] }}, first_in_window) as evidence
from counted
where passed_back and passed_back_in_window >= {{ rule['count'] }}
