-- Plan flows per month: children's plans starting, stepping up, stepping down and ending, from
-- one level to another (1 early help, 2 child in need, 3 child protection, 4 looked after).
-- Suppressed within each month (macros/suppress_small_counts.sql).
with cells as (
    select
        date_trunc('month', transition_date)::date as month,
        direction,
        from_level,
        to_level,
        count(*) as transitions
    from {{ ref('fct_plan_transitions') }}
    group by all
)

select * from {{ suppress_small_counts('cells', 'transitions', [['month']], ['direction', 'from_level', 'to_level']) }}
