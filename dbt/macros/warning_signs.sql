{#
  repeated_events_sign: a warning sign that fires when a child's events matching `condition`
  number at least `count` within `window_days` (the event and those before it). One row per
  occurrence: dated the event that brought the count to the threshold, again only after the count
  has fallen below it. A child's signs are their own events' alone, so a model using it may be
  incremental (macros/incremental_persons.sql), recomputing only the affected children.
#}
{% macro repeated_events_sign(sign, condition, count, window_days, what) -%}
with matching as (
    select child_key, event_date, list(distinct agency order by agency) as agencies
    from (select child_key, event_date, unnest(agencies) as agency from {{ ref('fct_child_events') }}
          where ({{ condition }})
            {%- if config.get('materialized') == 'incremental' %} and {{ only_affected_persons('child_key', 'person_key') }}{% endif %})
    group by child_key, event_date
),

counted as (
    select
        *,
        count(*) over in_window as in_window,
        min(event_date) over in_window as first_in_window
    from matching
    window in_window as (partition by child_key order by event_date
                         range between interval {{ window_days }} days preceding and current row)
),

flagged as (
    select *, lag(in_window) over (partition by child_key order by event_date) as previous_in_window
    from counted
)

select
    child_key,
    '{{ sign }}' as sign,
    event_date as sign_date,
    format('{} {} in the {} days to {} (from {}; recorded by {})', in_window, '{{ what }}', {{ window_days }},
           event_date, first_in_window, array_to_string(agencies, ', ')) as evidence
from flagged
where in_window >= {{ count }} and coalesce(previous_in_window, 0) < {{ count }}
{%- endmacro %}
