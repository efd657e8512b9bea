-- The board report's headline, one row (none before the first referral): the period the monthly board tables cover and its totals.
-- A total is withheld like any count (board_total / board_part), and also where the months it
-- adds up withhold a small amount, or a single month's value: total minus the months shown would
-- give it away (the same rule the suppression tests apply to every published total).
with referrals as (
    select * from {{ ref('fct_referrals') }}
),

monthly_true as (
    select
        date_trunc('month', referral_date)::date as month,
        count(*) filter (where is_re_referral) as re_referrals,
        count(*) filter (where outcome in ('early_help', 'nfa')) as passed_back,
        count(*) filter (where outcome in ('early_help', 'nfa') and times_passed_back_before >= 1) as passed_back_again
    from referrals
    group by 1
),

monthly as (
    select t.*, s.re_referrals as shown_re_referrals, s.passed_back as shown_passed_back,
           s.passed_back_again as shown_passed_back_again
    from monthly_true as t
    join {{ ref('board_referrals_monthly') }} as s using (month)
),

{% set parts = ['re_referrals', 'passed_back', 'passed_back_again'] %}
withheld as (
    select
        {% for p in parts %}
        coalesce(sum({{ p }}) filter (where shown_{{ p }} is null), 0) as withheld_{{ p }},
        count(*) filter (where shown_{{ p }} is null and {{ p }} > 0) as withheld_months_{{ p }}{{ "," if not loop.last }}
        {% endfor %}
    from monthly
),

totals as (
    select
        min(date_trunc('month', referral_date))::date as period_start,
        (max(date_trunc('month', referral_date)) + interval 1 month - interval 1 day)::date as period_end,
        count(*) as referrals,
        count(*) filter (where is_re_referral) as re_referrals,
        count(*) filter (where outcome in ('early_help', 'nfa')) as passed_back,
        count(*) filter (where outcome in ('early_help', 'nfa') and times_passed_back_before >= 1) as passed_back_again
    from referrals
),

signs as (
    select count(distinct s.child_key) as children_with_warning_signs
    from {{ ref('audit_warning_signs') }} as s, totals
    where s.sign_date between totals.period_start and totals.period_end
),

published as (
    select
        period_start,
        period_end,
        {{ board_total('referrals') }} as referrals,
        {% for p, whole in [('re_referrals', 'referrals'), ('passed_back', 'referrals'), ('passed_back_again', 'passed_back')] %}
        case
            when withheld_{{ p }} between 1 and {{ var('board_min_count') }} - 1 then null
            when withheld_{{ p }} > 0 and withheld_months_{{ p }} = 1 then null
            else {{ board_part(p, whole) }}
        end as {{ p }},
        {% endfor %}
        {{ board_total('children_with_warning_signs') }} as children_with_warning_signs
    from totals, withheld, signs
    where totals.referrals > 0  -- no referral, no period: no row (the report says so)
)

select
    *,
    round(100.0 * re_referrals / referrals, 1) as re_referral_rate_pct
from published
