/*
  The same real-world event reported by several agencies, made one.

  Rule: records of one person and one event type whose dates chain within the type's matching
  window (ref.event_types.match_window_days) form an island; within an island the n-th record
  of each source is the n-th real event, so one agency's two meetings a day apart stay two. For
  types matched by referrer (referrals, contacts), only records naming each other's agency are
  compared: csc's record of a school referral and the school's record of it, not the police's.
  A referral or contact is made to children's social care's front door, so another agency's
  record of one that names no agency is read as naming csc: early help's "referral to MASH" and
  csc's referral from early help within the window are one referral, whether or not early help's
  extract says where it referred (domain.md: "a referrer may record the same referral with
  related_agency = csc: one real event"). A second referral by the same referrer outside the
  window, or a second one in it, stays a referral of its own.

  event_id is named after the event's earliest-arriving record, so it survives later arrivals
  (and after the child, when that record is another household member's: int_household_events).
*/
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='person_id',
          on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
with chronology_rows as (
    select *, null::varchar as via_person_key, null::varchar as via_role, false as via_household
    from {{ ref('int_events__attributed') }}
    where {{ only_affected_persons('person_id') }}
    union all by name
    select *, true as via_household
    from {{ ref('int_household_events') }}
    where {{ only_affected_persons('person_id') }}
),

events as (
    select
        chronology_rows.*,
        types.match_window_days,
        types.match_by_referrer,
        types.category
    from chronology_rows
    join {{ ref('stg_ref__event_types') }} as types using (event_type)
),

grouped as (
    select
        *,
        case
            when match_by_referrer
                then least(agency, coalesce(related_agency, 'csc')) || '|' || greatest(agency, coalesce(related_agency, 'csc'))
            else ''
        end as match_group
    from events
),

gaps as (
    select
        *,
        case
            when lag(event_date) over by_date is null then 1
            when date_diff('day', lag(event_date) over by_date, event_date) > match_window_days then 1
            else 0
        end as starts_island
    from grouped
    window by_date as (partition by person_id, event_type, match_group order by event_date, first_ledger_id)
),

islands as (
    select
        *,
        sum(starts_island) over (
            partition by person_id, event_type, match_group
            order by event_date, first_ledger_id
            rows between unbounded preceding and current row
        ) as island
    from gaps
),

slots as (
    select
        *,
        row_number() over (
            partition by person_id, event_type, match_group, island, source_name, agency
            order by event_date, first_ledger_id
        ) as slot
    from islands
)

select
    * exclude (starts_island),
    md5(ledger_id::varchar || '|' || person_id) as chronology_row_id,
    md5(first_value(
        source_name || '|' || agency || '|' || record_id || case when via_household then '|' || person_id else '' end
    ) over (
        partition by person_id, event_type, match_group, island, slot
        order by first_ledger_id, via_household
    )) as event_id
from slots
