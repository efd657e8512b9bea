-- Referrals to children's social care per month: how many, how many were re-referrals, how many
-- were passed back (to early help or no further action), and how many of those had been passed
-- back before. Small counts suppressed (macros/board_part.sql): passed_back_again is a part of
-- passed_back, the others parts of referrals.
with referrals as (
    select * from {{ ref('fct_referrals') }}
),

monthly as (
    select
        date_trunc('month', referral_date)::date as month,
        count(*) as referrals,
        count(*) filter (where is_re_referral) as re_referrals,
        count(*) filter (where outcome in ('early_help', 'nfa')) as passed_back,
        count(*) filter (where outcome in ('early_help', 'nfa') and times_passed_back_before >= 1) as passed_back_again
    from referrals
    group by 1
),

published as (
    select
        month,
        {{ board_total('referrals') }} as referrals,
        {{ board_part('re_referrals', 'referrals') }} as re_referrals,
        {{ board_part('passed_back', 'referrals') }} as passed_back,
        {{ board_part('passed_back_again', 'passed_back') }} as passed_back_again
    from monthly
)

select
    *,
    round(100.0 * re_referrals / referrals, 1) as re_referral_rate_pct,
    re_referrals is null or passed_back is null or passed_back_again is null or referrals is null as is_suppressed
from published
