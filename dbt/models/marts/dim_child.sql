-- One row per child known to any agency. Pseudonymised: birth month, not date of birth.
-- Incremental by child: a child's row changes only with their profile or their events
-- (macros/incremental_persons.sql).
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='child_key',
          on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
with persons as (
    select * from {{ ref('int_persons__profile') }}
    where is_child and {{ only_affected_persons('person_key', 'person_key') }}
),

events as (
    select
        child_key,
        count(*) as events,
        min(event_date) as first_event_date,
        max(event_date) as last_event_date,
        list_sort(list_distinct(flatten(list(agencies)))) as agencies_reporting
    from {{ ref('fct_child_events') }}
    where {{ only_affected_persons('child_key', 'person_key') }}
    group by child_key
)

select
    persons.person_key as child_key,
    date_trunc('month', persons.date_of_birth)::date as birth_month,
    persons.sex,
    coalesce(events.events, 0) as events,
    events.first_event_date,
    events.last_event_date,
    coalesce(events.agencies_reporting, []) as agencies
from persons
left join events on events.child_key = persons.person_key
