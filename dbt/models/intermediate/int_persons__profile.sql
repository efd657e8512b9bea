-- One row per person: what the agencies' records together say about them. Where their records
-- disagree on a date of birth or sex, the value most records give; on a tie the earliest date
-- (and F before M): the same answer every night from the same records (DuckDB's mode() breaks ties
-- by the order rows happen to arrive, which moved a child's date of birth between identical nights).
-- One join and one aggregation over every subject's records: this model is rebuilt whole every
-- night (int_incremental__affected_persons compares against it), so its cost is every night's.
with subject_records as (
    select subjects.person_id, subjects.person_key, subjects.subject_key,
           records.agency, records.date_of_birth, records.sex, records.person_role
    from {{ ref('stg_identity__subject_person') }} as subjects
    left join {{ ref('stg_identity__subject_records') }} as records using (subject_key)
),

child_in_events as (
    -- a subject an agency's event records name as a child
    select distinct subject_key
    from {{ ref('int_event_records__current') }}
    where person_role = 'child'
),

per_person as (
    select
        person_id,
        any_value(person_key) as person_key,
        -- value -> how many records give it; sorted by most records first, then the value
        list_sort(list_transform(map_entries(histogram(date_of_birth)),
                                 entry -> {'records': -entry.value, 'value': entry.key})) as dates_of_birth,
        list_sort(list_transform(map_entries(histogram(sex) filter (where sex in ('M', 'F'))),
                                 entry -> {'records': -entry.value, 'value': entry.key})) as sexes,
        count(distinct subject_key) as subjects,
        list(distinct agency order by agency) filter (where agency is not null) as agencies,
        -- a child is someone any agency records as a child
        coalesce(bool_or(person_role = 'child'), false) or bool_or(child_in_events.subject_key is not null) as is_child
    from subject_records
    left join child_in_events using (subject_key)
    group by person_id
)

select
    person_id,
    person_key,
    dates_of_birth[1].value as date_of_birth,
    sexes[1].value as sex,
    subjects,
    agencies,
    is_child
from per_person
