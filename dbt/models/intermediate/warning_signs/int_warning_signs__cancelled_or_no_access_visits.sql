-- cancelled_or_no_access_visits: home visits with no access or cancelled by the family, at least
-- warning_signs.cancelled_or_no_access_visits.count within its window_days (days with such a visit).
-- depends_on: {{ ref('int_incremental__affected_persons') }}
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='child_key',
          on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
{%- set rule = var('warning_signs')['cancelled_or_no_access_visits'] %}
{{ repeated_events_sign('cancelled_or_no_access_visits',
    "event_type = 'home_visit' and outcome in ('no_access', 'cancelled_by_family') and not via_household",
    rule['count'], rule['window_days'], 'days with a home visit with no access or cancelled by the family') }}
