-- Referrals per month by source agency (the referrer) and outcome. Suppressed within each month,
-- whose total board_referrals_monthly publishes (macros/suppress_small_counts.sql).
with cells as (
    select
        date_trunc('month', referral_date)::date as month,
        source_agency,
        outcome,
        count(*) as referrals
    from {{ ref('fct_referrals') }}
    group by all
)

select * from {{ suppress_small_counts('cells', 'referrals', ['month'], ['source_agency', 'outcome']) }}
