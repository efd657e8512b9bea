-- One row per person: what the agencies' records together say about them.
with subjects as (
    select * from {{ ref('stg_identity__subject_person') }}
),

records as (
    select * from {{ ref('stg_identity__subject_records') }}
),

event_roles as (
    select distinct subject_key, person_role
    from {{ ref('int_event_records__current') }}
    where person_role is not null
),

roles as (
    select subject_key, person_role from records where person_role is not null
    union
    select subject_key, person_role from event_roles
),

profile as (
    select
        subjects.person_id,
        any_value(subjects.person_key) as person_key,
        mode(records.date_of_birth) as date_of_birth,
        mode(records.sex) filter (where records.sex in ('M', 'F')) as sex,
        count(distinct subjects.subject_key) as subjects,
        list(distinct records.agency order by records.agency) filter (where records.agency is not null) as agencies
    from subjects
    left join records using (subject_key)
    group by subjects.person_id
),

child as (
    -- a child is someone any agency records as a child
    select subjects.person_id, bool_or(roles.person_role = 'child') as is_child
    from subjects
    join roles using (subject_key)
    group by subjects.person_id
)

select
    profile.*,
    coalesce(child.is_child, false) as is_child
from profile
left join child using (person_id)
