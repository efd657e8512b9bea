-- Current event records with the person each is about.
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='person_id',
          on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
with events as (
    select * from {{ ref('int_event_records__current') }}
),

subjects as (
    select * from {{ ref('stg_identity__subject_person') }}
),

persons as (
    select person_id, is_child, date_of_birth as person_date_of_birth from {{ ref('int_persons__profile') }}
)

select
    events.*,
    subjects.person_id,
    subjects.person_key,
    persons.is_child,
    persons.person_date_of_birth
from events
left join subjects using (subject_key)
left join persons using (person_id)
where {{ only_affected_persons('subjects.person_id') }}
