-- Warning signs from the seed reviews: one row per child per occurrence. Each sign's rule is in
-- its model (intermediate/warning_signs/int_warning_signs__<sign>.sql) and in this model's YAML;
-- thresholds are the var `warning_signs`. Evidence is counts, dates and codes only.
{%- set signs = ['referrals_passed_back_repeatedly', 'new_baby_not_on_plan', 'lead_professional',
                 'plan_closed_after_complaint', 'meeting_cancelled_not_rebooked', 'cancelled_or_no_access_visits',
                 'persistent_school_absence', 'several_complaints', 'adult_services_parent_not_in_plan',
                 'converging_concerns'] %}
with signs as (
    {%- for sign in signs %}
    select child_key, sign, sign_date, evidence from {{ ref('int_warning_signs__' ~ sign) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    md5(child_key || ':' || sign || ':' || sign_date || ':' || evidence) as warning_sign_id,
    child_key,
    sign,
    sign_date,
    evidence
from signs
