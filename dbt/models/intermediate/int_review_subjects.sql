-- Each review subject resolved to a person, by whichever identifier the reviews file gives.
with subjects as (
    select * from {{ ref('stg_config__review_subjects') }}
),

records as (
    select * from {{ ref('stg_identity__subject_records') }}
),

people as (
    select * from {{ ref('stg_identity__subject_person') }}
),

resolved as (
    select distinct
        subjects.review_id,
        subjects.nhs_number,
        subjects.upn,
        subjects.la_child_id,
        subjects.agency,
        subjects.subject_ref,
        people.person_id
    from subjects
    left join records
        on (subjects.nhs_number is not null and records.nhs_number = subjects.nhs_number)
        or (subjects.upn is not null and records.upn = subjects.upn)
        or (subjects.la_child_id is not null and records.subject_key = 'csc:' || subjects.la_child_id)
        or (subjects.subject_ref is not null and records.agency = subjects.agency
            and records.subject_ref = subjects.subject_ref)
    left join people using (subject_key)
)

select * from resolved
