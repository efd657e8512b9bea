-- One row per person: what the agencies' records together say about them. Where their records
-- disagree on a date of birth or sex, the value most records give; on a tie the earliest date
-- (and F before M): the same answer every night from the same records (DuckDB's mode() breaks ties
-- by the order rows happen to arrive, which moved a child's date of birth between identical nights).
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

most_given as (
    select person_id, field, value
    from (
        select subjects.person_id, 'date_of_birth' as field, records.date_of_birth::varchar as value
        from subjects join records using (subject_key)
        where records.date_of_birth is not null
        union all
        select subjects.person_id, 'sex', records.sex
        from subjects join records using (subject_key)
        where records.sex in ('M', 'F')
    )
    group by person_id, field, value
    qualify row_number() over (partition by person_id, field order by count(*) desc, value) = 1
),

profile as (
    select
        subjects.person_id,
        any_value(subjects.person_key) as person_key,
        any_value(dob.value)::date as date_of_birth,
        any_value(sex.value) as sex,
        count(distinct subjects.subject_key) as subjects,
        list(distinct records.agency order by records.agency) filter (where records.agency is not null) as agencies
    from subjects
    left join records using (subject_key)
    left join most_given as dob on dob.person_id = subjects.person_id and dob.field = 'date_of_birth'
    left join most_given as sex on sex.person_id = subjects.person_id and sex.field = 'sex'
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
