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
  plan_open_until(start_date, end_date): the first day a plan is no longer open. A plan is open from
  its start_date up to but not including its end_date (the DfE convention for "on a plan at 31
  March": a plan ending on a day is not open that day), except that a plan started and ended on
  the same day was open on that one day (its days_open is 1): otherwise it would be open on no day
  and appear in no plan status, transition, board flow or warning sign. Null while still open.
  Lead professional spells (int_lead_professional_spells) follow the same rule.
#}
{% macro plan_open_until(start_date='start_date', end_date='end_date') -%}
    (case when {{ end_date }} = {{ start_date }} then {{ end_date }} + 1 else {{ end_date }} end)
{%- endmacro %}

{# plan_open_on(day): the plan (start_date, end_date) was open on `day` (rule: plan_open_until). #}
{% macro plan_open_on(day, start_date='start_date', end_date='end_date') -%}
    ({{ start_date }} <= {{ day }} and ({{ end_date }} is null or {{ day }} < {{ plan_open_until(start_date, end_date) }}))
{%- endmacro %}

{#
  plan_episodes(plan_events, partition_by): the one pairing of plan events into episodes, used for
  the plans as they stand (int_plan_episodes, per child) and as they were known on a referral's
  decision day (int_referrals__known_at_decision, per referral). `plan_events` is a relation with
  the `partition_by` columns and event_id, plan_type, level, role (start / end / closed_by, from
  plan_events_config()), event_type, outcome and event_date. Per partition and plan type, events in
  date order:
  - a start opens an episode; further starts before it ends are the same episode, restated
    (overlapping plans of one type are merged: starts_recorded counts them, cp_category is the first
    start's category and cp_categories lists every one);
  - the first end after it closes it; a closed_by event (a case closure) closes it only when no end
    of its own follows before the next start (the CIN census sample closes a case before the CP
    plan's recorded end: the plan's own end wins). The closing event's outcome is the
    closure_reason (for an end without one, the reason of a closed_by event the same day);
  - within one day: when a plan of the type was open coming into the day, its ends and closures
    come first, then the day's starts (a plan ended and another started that day are two
    episodes); when none was open, the day's starts come first, then its ends and closures (a plan
    started and ended, or started and closed by a case closure, that day is one episode of one day).
    A plan closed by a case closure on an earlier day counts as not open coming into the day;
  - an end with no open episode (its start never recorded, or a second end) becomes an episode of
    its own with start_recorded = false and start_date = end_date: kept, never dropped, but left out
    of plan status because when it was open is unknown;
  - a closed_by event with nothing open is not an end of anything and is ignored here.
  Returns one row per episode: the partition_by columns, plan_type, level, opening_event_id,
  cp_category, cp_categories, lac_legal_status, start_date, end_date, is_open,
  closed_by_event_type, closure_reason, start_recorded, starts_recorded.
#}
{% macro plan_episodes(plan_events, partition_by=['child_key']) -%}
{%- set by = partition_by | join(', ') -%}
{%- set in_date_order = "event_date, order_in_day, event_id" -%}
with days as (
    -- what each day does on its own: opens (starts only), closes (ends or closures only), or both
    select {{ by }}, plan_type, event_date,
        case when bool_and(role = 'start') then true when bool_and(role <> 'start') then false end as leaves_open
    from {{ plan_events }}
    group by all
),

day_order as (
    -- a plan is open coming into a day when the last day that opened or closed it opened it (a day
    -- with both leaves it as it found it: closed then reopened, or opened and closed)
    select {{ by }}, plan_type, event_date,
        coalesce(last_value(leaves_open ignore nulls) over (
            partition by {{ by }}, plan_type order by event_date rows between unbounded preceding and 1 preceding
        ), false) as open_coming_in
    from days
),

ordered as (
    select
        events.*,
        case
            when day_order.open_coming_in then case events.role when 'end' then 0 when 'closed_by' then 1 else 2 end
            else case events.role when 'start' then 0 when 'end' then 1 else 2 end
        end as order_in_day
    from {{ plan_events }} as events
    join day_order using ({{ by }}, plan_type, event_date)
),

grouped as (
    select
        *,
        role = 'start' as is_start,
        -- an episode begins at a start that does not follow another start
        sum(case when role = 'start' and coalesce(previous_role, 'end') <> 'start' then 1 else 0 end)
            over (partition by {{ by }}, plan_type order by {{ in_date_order }} rows unbounded preceding) as episode_number
    from (select *, lag(role) over (partition by {{ by }}, plan_type order by {{ in_date_order }}) as previous_role
          from ordered)
),

positioned as (
    select
        *,
        row_number() over (partition by {{ by }}, plan_type, episode_number order by {{ in_date_order }}) as position
    from grouped
),

closers as (
    -- the episode's first end closes it; a closed_by event only when no end follows
    select {{ by }}, plan_type, episode_number,
        coalesce(min(position) filter (where role = 'end'), min(position) filter (where role = 'closed_by')) as closer_position
    from positioned
    where not is_start and episode_number > 0
    group by all
),

case_closures as (
    -- the reason of a closed_by event (a case closure) on the day a plan of that type ended
    select {{ by }}, plan_type, event_date, min(outcome) as outcome
    from {{ plan_events }}
    where role = 'closed_by' and outcome is not null
    group by all
),

recorded as (
    select
        {% for column in partition_by %}positioned.{{ column }}, {% endfor %}
        positioned.plan_type,
        any_value(positioned.level) as level,
        arg_min(positioned.event_id, positioned.position) as opening_event_id,
        min(positioned.event_date) as start_date,
        arg_min(positioned.outcome, positioned.position) as first_start_outcome,
        list(distinct positioned.outcome order by positioned.outcome) filter (where positioned.is_start and positioned.outcome is not null) as start_outcomes,
        count(*) filter (where positioned.is_start) as starts_recorded,
        any_value(positioned.event_date) filter (where positioned.position = closers.closer_position) as end_date,
        any_value(positioned.event_type) filter (where positioned.position = closers.closer_position) as closed_by_event_type,
        any_value(positioned.outcome) filter (where positioned.position = closers.closer_position) as end_outcome,
        true as start_recorded
    from positioned
    left join closers using ({{ by }}, plan_type, episode_number)
    where positioned.episode_number > 0
        and (positioned.is_start or positioned.position = closers.closer_position)
    group by {% for column in partition_by %}positioned.{{ column }}, {% endfor %}positioned.plan_type, positioned.episode_number
),

unmatched_ends as (
    select
        {% for column in partition_by %}positioned.{{ column }}, {% endfor %}
        positioned.plan_type,
        positioned.level,
        positioned.event_id as opening_event_id,
        positioned.event_date as start_date,
        null as first_start_outcome,
        null::varchar[] as start_outcomes,
        0 as starts_recorded,
        positioned.event_date as end_date,
        positioned.event_type as closed_by_event_type,
        positioned.outcome as end_outcome,
        false as start_recorded
    from positioned
    left join closers using ({{ by }}, plan_type, episode_number)
    where positioned.role = 'end'
        and (positioned.episode_number = 0 or positioned.position > closers.closer_position)
),

episodes as (
    select * from recorded
    union all by name
    select * from unmatched_ends
)

select
    {% for column in partition_by %}episodes.{{ column }}, {% endfor %}
    episodes.plan_type,
    episodes.level,
    episodes.opening_event_id,
    case when episodes.plan_type = 'cp' then episodes.first_start_outcome end as cp_category,
    case when episodes.plan_type = 'cp' then episodes.start_outcomes end as cp_categories,
    case when episodes.plan_type = 'lac' then episodes.first_start_outcome end as lac_legal_status,
    episodes.start_date,
    episodes.end_date,
    episodes.end_date is null as is_open,
    episodes.closed_by_event_type,
    coalesce(episodes.end_outcome, case_closures.outcome) as closure_reason,
    episodes.start_recorded,
    episodes.starts_recorded
from episodes
left join case_closures
    on {% for column in partition_by %}case_closures.{{ column }} = episodes.{{ column }} and {% endfor %}case_closures.plan_type = episodes.plan_type
    and case_closures.event_date = episodes.end_date
{%- endmacro %}

{#
  plan_status_on(date): each child's plan status on one date, from marts.fct_plan_episodes (any
  date, past or future, not only the days in fct_plan_status_daily), with the same rule for which
  days a plan is open (plan_open_until). Episodes whose start was never recorded (start_recorded =
  false) are left out: when they were open is unknown. Use in a model or analysis:
  {{ plan_status_on("date '2024-03-31'") }}
#}
{% macro plan_status_on(status_date) -%}
    select
        child_key,
        cast({{ status_date }} as date) as status_date,
        max(level) as highest_level,
        list(distinct plan_type order by plan_type) as plan_types_open
    from {{ ref('fct_plan_episodes') }}
    where start_recorded and {{ plan_open_on('cast(' ~ status_date ~ ' as date)') }}
    group by child_key
{%- endmacro %}
