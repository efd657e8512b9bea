-- Where referrals come from and where they end, over the whole period: referrals by source agency
-- and outcome. Suppressed within each source agency (macros/suppress_small_counts.sql).
with cells as (
    select source_agency, outcome, count(*) as referrals
    from {{ ref('fct_referrals') }}
    group by all
)

select * from {{ suppress_small_counts('cells', 'referrals', [['source_agency']], ['outcome']) }}
