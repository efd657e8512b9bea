-- One row per person: what the agencies' records together say about them. Where their records
-- disagree on a date of birth or sex, the value most records give; on a tie the earliest date
-- (and F before M): the same answer every night from the same records (DuckDB's mode() breaks ties
-- by the order rows happen to arrive, which moved a child's date of birth between identical nights).
-- This model is rebuilt whole every night (int_incremental__affected_persons compares against
-- it), so its cost is every night's.
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

-- Most people have one record. DuckDB's distinct and list aggregates cost as much for a group of
-- one as for many, so a person with one record is turned straight into the row the aggregates
-- would give it (at 1,000,000 children, 83% of people).
records_per_person as (
    select person_id, count(*) as records from subject_records group by person_id
),

one_record_persons as (
    select
        person_id,
        person_key,
        date_of_birth,
        case when sex in ('M', 'F') then sex end as sex,
        1::bigint as subjects,
        case when agency is not null then [agency] end as agencies,
        coalesce(person_role = 'child', false) or child_in_events.subject_key is not null as is_child
    from subject_records
    semi join (select person_id from records_per_person where records = 1) using (person_id)
    left join child_in_events using (subject_key)
),

several_record_persons as (
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
    semi join (select person_id from records_per_person where records > 1) using (person_id)
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
from several_record_persons
union all by name
select * from one_record_persons
