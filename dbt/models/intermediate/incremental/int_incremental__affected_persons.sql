/*
  The persons whose rows in the incremental models (macros/incremental_persons.sql) can differ
  from what those models hold: tonight's incremental build deletes and recomputes exactly these.

  Rule: compared with what the models were last built from (source incremental_state), a person is
  affected when
    1. a record of one of their subjects has a version received since (a new record, a
       correction; every subject any version of that record was about: a correction can move a
       record to another child);
    2. a person record of one of their subjects was received since (names, identifiers);
    3. one of their subjects now belongs to another person (a merge or a split: the person before
       and the person after);
    4. their profile changed (pseudonymous key, child or not, date of birth);
    5. their household membership changed (household, role, evidence or dates);
  and 6. every member, then or now, of a household of a person affected by 1-5 (a parent's event
  reaches the children of the household; a child's own record can stop a household row).
  A person merged away or split off is affected and gets no new rows: their old rows go.

  Empty on a full refresh (everything is rebuilt). Restricted.
*/
-- depends_on: {{ ref('stg_ledger__event_records') }}, {{ ref('stg_ledger__person_records') }}
-- depends_on: {{ ref('stg_identity__subject_person') }}, {{ ref('stg_identity__household_members') }}
-- depends_on: {{ ref('int_persons__profile') }}
{%- set state = adapter.get_relation(database=target.database, schema='incremental', identifier='built_from') -%}
{%- set rebuilding_everything = flags.FULL_REFRESH or var('known_on') -%}
{%- if execute and not rebuilding_everything and state is none and invocation_args_dict.get('which') in ('build', 'run') -%}
    {{ exceptions.raise_compiler_error(
        "No record of what the incremental models were built from (incremental.built_from): "
        ~ "build them whole with --full-refresh (casehistory rebuild).") }}
{%- endif %}
{% if rebuilding_everything or state is none -%}
select null::varchar as person_id, null::varchar as person_key
where false
{%- else -%}
with built as (
    select * from {{ source('incremental_state', 'built_from') }}
),

subjects_now as (
    select subject_key, person_id, person_key from {{ ref('stg_identity__subject_person') }}
),

subjects_then as (
    select subject_key, person_id, person_key from {{ source('incremental_state', 'built_from_subjects') }}
),

changed_records as (
    select distinct source_name, agency, record_id
    from {{ ref('stg_ledger__event_records') }}
    where ledger_id > (select event_ledger_id from built)
),

touched_subjects as (
    -- 1. every subject of every version of a record with a new version
    select distinct versions.subject_key
    from {{ ref('stg_ledger__event_records') }} as versions
    join changed_records using (source_name, agency, record_id)
    union
    -- 2. subjects with a new person record
    select subject_key
    from {{ ref('stg_ledger__person_records') }}
    where ledger_id > (select person_ledger_id from built)
),

remapped as (
    -- 3. a subject whose person changed: both persons
    select now.person_id as now_person_id, then_.person_id as then_person_id
    from subjects_now as now
    full join subjects_then as then_ using (subject_key)
    where now.person_id is distinct from then_.person_id or now.person_key is distinct from then_.person_key
),

profiles_now as (
    select person_id, person_key, is_child, date_of_birth from {{ ref('int_persons__profile') }}
),

profiles_then as (
    select person_id, person_key, is_child, date_of_birth from {{ source('incremental_state', 'built_from_persons') }}
),

members_now as (
    select household_id, person_id, role, evidence, valid_from, valid_to from {{ ref('stg_identity__household_members') }}
),

members_then as (
    select household_id, person_id, role, evidence, valid_from, valid_to from {{ source('incremental_state', 'built_from_households') }}
),

seeds as (
    select subjects_now.person_id from subjects_now join touched_subjects using (subject_key)
    union
    select subjects_then.person_id from subjects_then join touched_subjects using (subject_key)
    union
    select now_person_id from remapped
    union
    select then_person_id from remapped
    union
    -- 4. profile changed
    select person_id from ((select * from profiles_now except select * from profiles_then)
                           union all (select * from profiles_then except select * from profiles_now))
    union
    -- 5. household membership changed
    select person_id from ((select * from members_now except select * from members_then)
                           union all (select * from members_then except select * from members_now))
),

households as (
    select household_id, person_id from members_now
    union
    select household_id, person_id from members_then
),

affected as (
    select person_id from seeds where person_id is not null
    union
    -- 6. the households of those persons, then and now
    select others.person_id
    from seeds
    join households as own using (person_id)
    join households as others using (household_id)
)

select
    affected.person_id,
    keys.person_key
from affected
left join (
    select person_id, person_key from subjects_now
    union
    select person_id, person_key from subjects_then
) as keys using (person_id)
{%- endif %}
