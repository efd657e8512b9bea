/*
  Household events reaching the children of the household.

  Rule: an event of a type marked `household` in ref.event_types (a domestic incident, a house
  move, a birth, a parent's adult services involvement) that happened to one member of a
  household reaches every other child of that household who was born by then, when the event
  falls within var('household_window_days') of the dates the evidence shows both of them there.
  A child who already has the same agency's record of that type within its matching window (a
  child present at the incident) keeps that record alone: the household row would repeat it.
*/
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='person_id',
          on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
with members as (
    select * from {{ ref('stg_identity__household_members') }}
),

persons as (
    select person_id, person_key, is_child, date_of_birth from {{ ref('int_persons__profile') }}
),

events as (
    select attributed.*, types.match_window_days
    from {{ ref('int_events__attributed') }} as attributed
    join {{ ref('stg_ref__event_types') }} as types using (event_type)
    where types.household
),

own as (
    select person_id, event_type, agency, event_date from {{ ref('int_events__attributed') }}
),

reached as (
    select distinct on (events.ledger_id, child.person_id)
        events.* exclude (person_id, person_key, is_child, person_date_of_birth, match_window_days),
        child.person_id,
        child_person.person_key,
        true as is_child,
        child_person.date_of_birth as person_date_of_birth,
        events.person_key as via_person_key,
        subject.role as via_role,
        events.match_window_days
    from events
    join members as subject on subject.person_id = events.person_id
    join members as child on child.household_id = subject.household_id and child.person_id <> events.person_id
    join persons as child_person on child_person.person_id = child.person_id
    where child_person.is_child
        and {{ only_affected_persons('child.person_id') }}
        and (child_person.date_of_birth is null or child_person.date_of_birth <= events.event_date)
        and events.event_date between subject.valid_from - to_days({{ var('household_window_days') }})
                                  and subject.valid_to + to_days({{ var('household_window_days') }})
        and events.event_date between child.valid_from - to_days({{ var('household_window_days') }})
                                  and child.valid_to + to_days({{ var('household_window_days') }})
    order by events.ledger_id, child.person_id, subject.household_id
)

select reached.* exclude (match_window_days)
from reached
where not exists (
    select 1 from own
    where own.person_id = reached.person_id
      and own.event_type = reached.event_type
      and own.agency = reached.agency
      and abs(date_diff('day', own.event_date, reached.event_date)) <= reached.match_window_days
)
