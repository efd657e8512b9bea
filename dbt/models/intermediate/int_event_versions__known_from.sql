/*
  Every version of every event record that reaches a child's chronology, with the day it
  became known: the basis of "what was known on the day of a decision".

  Rule: a version is known from the day it was recorded. A later arrival (version 2 or later: a
  correction, or an original sent after its amendment) is known from the day the agency says it
  recorded it, else the day the project received it: a correction sent after a decision never
  changes what the decision knew. Of the versions known on a day, the current one is the latest
  recorded (macros/as_known_on.sql, int_referrals__known_at_decision). A first version with no
  recording time is taken as recorded on its event date (agencies record contemporaneously, and
  a partnership's first load carries years of history received on one day); never later than
  the project received it.

  Each version keeps the child and event_id of its record's current matching (int_events__matched),
  so agencies' records of one event count once. Built from every version received (or by
  var('known_on')). Restricted.
*/
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='person_id',
          on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
with record_children as (
    select distinct source_name, agency, record_id, person_id, person_key, via_household, event_id
    from {{ ref('int_events__matched') }}
    where is_child and {{ only_affected_persons('person_id') }}
),

versions as (
    select * from {{ ref('stg_ledger__event_records') }}
    {% if var('known_on') -%}
    where received_at < cast('{{ var("known_on") }}' as date) + interval 1 day
    {%- endif %}
)

select
    record_children.person_id,
    record_children.person_key as child_key,
    record_children.event_id,
    record_children.via_household,
    versions.source_name,
    versions.agency,
    versions.record_id,
    versions.version,
    versions.ledger_id,
    versions.event_type,
    versions.outcome,
    versions.event_date,
    versions.recorded_at,
    versions.received_at,
    least(
        versions.received_at::date,
        coalesce(versions.recorded_at::date, case when versions.version = 1 then versions.event_date end, versions.received_at::date)
    ) as known_from_date
from versions
join record_children using (source_name, agency, record_id)
