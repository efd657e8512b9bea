-- persistent_school_absence: school absence of the kinds in warning_signs.persistent_school_absence
-- .outcomes (authorised and unauthorised, as the national measure counts them; never the census
-- codes that are not absence: counts_as_school_absence) recorded at least its count times within
-- its window_days. (Counts absence records, not sessions: the chronology keeps no session counts;
-- the national 10% measure needs possible sessions, which no extract carries.)
-- depends_on: {{ ref('int_incremental__affected_persons') }}
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='child_key',
          on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
{%- set rule = var('warning_signs')['persistent_school_absence'] %}
{{ repeated_events_sign('persistent_school_absence',
    counts_as_school_absence() ~ " and not via_household and outcome in ('" ~ rule['outcomes'] | join("', '") ~ "')",
    rule['count'], rule['window_days'], 'records of school absence') }}
