-- Referrals per month by source agency (the referrer) and outcome. Its cells add up to totals
-- published elsewhere, and each of those groupings is protected (macros/suppress_small_counts.sql):
--   month                       the month's referrals (board_referrals_monthly.referrals)
--   month, passed back or not   the month's passed-back referrals (board_referrals_monthly.passed_back)
--   source agency, outcome      the whole period's (board_referral_outcomes_by_source.referrals)
with cells as (
    select
        date_trunc('month', referral_date)::date as month,
        source_agency,
        outcome,
        coalesce(outcome in ('early_help', 'nfa'), false) as is_passed_back,
        count(*) as referrals
    from {{ ref('fct_referrals') }}
    group by all
)

select * exclude (is_passed_back) from {{ suppress_small_counts(
    'cells', 'referrals',
    [['month'], ['month', 'is_passed_back'], ['source_agency', 'outcome']],
    ['source_agency', 'outcome', 'month']) }}
