-- For the review panel and data team only (never published): every agency record behind each
-- child's merged events, with names, identifiers and the practitioners' free text.
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='person_id',
          on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
with matched as (
    select * from {{ ref('int_events__matched') }}
    where is_child and {{ only_affected_persons('person_id') }}
),

people as (
    select subject_key, forename, surname, nhs_number, upn, date_of_birth
    from {{ ref('stg_ledger__person_records') }}
    qualify row_number() over (partition by subject_key order by ledger_id desc) = 1
)

select
    matched.person_id,
    matched.person_key as child_key,
    matched.event_id,
    matched.event_date,
    matched.event_time,
    matched.event_type,
    matched.outcome,
    matched.agency,
    matched.related_agency,
    matched.practitioner_role,
    matched.summary,
    matched.via_household,
    matched.via_role,
    people.forename,
    people.surname,
    people.date_of_birth,
    people.nhs_number,
    people.upn,
    matched.subject_key,
    matched.source_name,
    matched.record_id,
    matched.file_name,
    matched.source_locator,
    matched.ledger_id,
    matched.chronology_row_id
from matched
left join people using (subject_key)
