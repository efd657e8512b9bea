{#
  Plans: configuration as a relation, the day plan status is computed to, and status on any date.
  The plan types, their events, levels and review rules are the var `plans` in dbt_project.yml.
#}

{# One row per plan type and event that opens (start), ends (end) or closes (closed_by) it. #}
{% macro plan_events_config() -%}
    {%- set rows = [] -%}
    {%- for plan_type, cfg in var('plans').items() -%}
        {%- for role in ['start', 'end', 'closed_by'] -%}
            {%- for event_type in cfg[role] -%}
                {%- do rows.append("('" ~ plan_type ~ "', " ~ cfg.level ~ ", '" ~ event_type ~ "', '" ~ role ~ "')") -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    select * from (values {{ rows | join(', ') }}) as config(plan_type, level, event_type, role)
{%- endmacro %}

{# One row per plan type and event that counts as a review of it, with the review intervals. #}
{% macro plan_reviews_config() -%}
    {%- set rows = [] -%}
    {%- for plan_type, cfg in var('plans').items() -%}
        {%- for event_type in cfg.review_events -%}
            {%- do rows.append("('" ~ plan_type ~ "', '" ~ event_type ~ "', interval '" ~ cfg.first_review
                ~ "', interval '" ~ cfg.second_review ~ "', interval '" ~ cfg.later_reviews ~ "')") -%}
        {%- endfor -%}
    {%- endfor -%}
    select * from (values {{ rows | join(', ') }})
        as config(plan_type, review_event_type, first_review, second_review, later_reviews)
{%- endmacro %}

{# The day plan status is computed to: the known_on var when rebuilding the past, else the run
   date the pipeline passes (CASEHISTORY_RUN_DATE), else today. #}
{% macro plan_status_as_of() -%}
    {%- if var('known_on') -%}
        cast('{{ var("known_on") }}' as date)
    {%- elif env_var('CASEHISTORY_RUN_DATE', '') -%}
        cast('{{ env_var("CASEHISTORY_RUN_DATE") }}' as date)
    {%- else -%}
        current_date
    {%- endif -%}
{%- endmacro %}

{#
  plan_status_on(date): each child's plan status on one date, from marts.fct_plan_episodes (any
  date, past or future, not only the days in fct_plan_status_daily). A plan is open from its
  start_date up to but not including its end_date (the DfE convention for "on a plan at 31 March").
  Episodes whose start was never recorded (start_recorded = false) are left out: when they were
  open is unknown. Use in a model or analysis:  {{ plan_status_on("date '2024-03-31'") }}
#}
{% macro plan_status_on(status_date) -%}
    select
        child_key,
        cast({{ status_date }} as date) as status_date,
        max(level) as highest_level,
        list(distinct plan_type order by plan_type) as plan_types_open
    from {{ ref('fct_plan_episodes') }}
    where start_recorded
        and start_date <= cast({{ status_date }} as date)
        and (end_date is null or end_date > cast({{ status_date }} as date))
    group by child_key
{%- endmacro %}
