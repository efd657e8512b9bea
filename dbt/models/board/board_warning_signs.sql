-- Warning signs per month: how many children a sign became visible for (audit.audit_warning_signs).
-- Children are counted once per sign and month; no total across signs is published (a child may
-- show several), so each count is suppressed on its own.
with cells as (
    select
        date_trunc('month', sign_date)::date as month,
        sign,
        count(distinct child_key) as children
    from {{ ref('audit_warning_signs') }}
    group by all
)

select
    month,
    sign,
    {{ board_total('children') }} as children,
    children between 1 and {{ var('board_min_count') }} - 1 as is_suppressed
from cells
