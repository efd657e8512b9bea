/*
  Plan episodes: start and end events of one plan type paired into intervals.

  Rule, per child and plan type, events in date order (on one day: end, then closed_by, then start,
  so a plan ended and another started the same day are two episodes):
  - a start opens an episode; further starts before it ends are the same episode, restated
    (overlapping plans of one type are merged; `starts_recorded` counts them, `cp_category` is the
    first start's category and `cp_categories` lists every one);
  - the first end after it closes it; a closed_by event (a case closure) closes it only when no
    end of its own follows before the next start (the CIN census sample closes a case before the
    CP plan's recorded end: the plan's own end wins). The closing event's outcome is the
    closure_reason (for an end without one, the reason of a closed_by event the same day);
  - an end with no open episode (its start never recorded, or a second end) becomes an episode of its
    own with start_recorded = false and start_date = end_date: kept, never dropped, but left out of
    plan status because when it was open is unknown;
  - a closed_by event with nothing open is not an end of anything and is ignored here.
  Incremental: a child's episodes come from that child's plan events alone.
*/
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='child_key',
          on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
with plan_events as (
    select * from {{ ref('int_plan_events') }}
    where {{ only_affected_persons('child_key', 'person_key') }}
),

ordered as (
    select
        *,
        role = 'start' as is_start,
        lag(role) over by_date as previous_role
    from plan_events
    window by_date as (partition by child_key, plan_type
                       order by event_date, case role when 'end' then 0 when 'closed_by' then 1 else 2 end, event_id)
),

grouped as (
    select
        *,
        -- an episode begins at a start that does not follow another start
        sum(case when is_start and coalesce(previous_role, 'end') <> 'start' then 1 else 0 end)
            over (partition by child_key, plan_type
                  order by event_date, case role when 'end' then 0 when 'closed_by' then 1 else 2 end, event_id
                  rows unbounded preceding) as episode_number
    from ordered
),

positioned as (
    select
        *,
        row_number() over (partition by child_key, plan_type, episode_number
                           order by event_date, case role when 'end' then 0 when 'closed_by' then 1 else 2 end, event_id) as position
    from grouped
),

closers as (
    -- the episode's first end closes it; a closed_by event only when no end follows
    select child_key, plan_type, episode_number,
        coalesce(min(position) filter (where role = 'end'), min(position) filter (where role = 'closed_by')) as closer_position
    from positioned
    where not is_start and episode_number > 0
    group by all
),

case_closures as (
    -- the reason of a closed_by event (a case closure) on the day a plan of that type ended
    select child_key, plan_type, event_date, min(outcome) as outcome
    from plan_events
    where role = 'closed_by' and outcome is not null
    group by all
),

recorded as (
    select
        positioned.child_key,
        positioned.plan_type,
        any_value(positioned.level) as level,
        arg_min(positioned.event_id, positioned.position) as opening_event_id,
        min(positioned.event_date) as start_date,
        arg_min(positioned.outcome, positioned.position) as first_start_outcome,
        list(distinct positioned.outcome order by positioned.outcome) filter (where positioned.is_start and positioned.outcome is not null) as start_outcomes,
        count(*) filter (where positioned.is_start) as starts_recorded,
        any_value(positioned.event_date) filter (where positioned.position = closers.closer_position) as end_date,
        any_value(positioned.event_type) filter (where positioned.position = closers.closer_position) as closed_by_event_type,
        any_value(positioned.outcome) filter (where positioned.position = closers.closer_position) as end_outcome,
        true as start_recorded
    from positioned
    left join closers using (child_key, plan_type, episode_number)
    where positioned.episode_number > 0
        and (positioned.is_start or positioned.position = closers.closer_position)
    group by positioned.child_key, positioned.plan_type, positioned.episode_number
),

unmatched_ends as (
    select
        positioned.child_key,
        positioned.plan_type,
        positioned.level,
        positioned.event_id as opening_event_id,
        positioned.event_date as start_date,
        null as first_start_outcome,
        null::varchar[] as start_outcomes,
        0 as starts_recorded,
        positioned.event_date as end_date,
        positioned.event_type as closed_by_event_type,
        positioned.outcome as end_outcome,
        false as start_recorded
    from positioned
    left join closers using (child_key, plan_type, episode_number)
    where positioned.role = 'end'
        and (positioned.episode_number = 0 or positioned.position > closers.closer_position)
),

episodes as (
    select * from recorded
    union all by name
    select * from unmatched_ends
)

select
    -- ids
    md5(episodes.plan_type || ':' || episodes.opening_event_id) as plan_episode_id,
    episodes.child_key,
    -- plan
    episodes.plan_type,
    episodes.level,
    case when episodes.plan_type = 'cp' then episodes.first_start_outcome end as cp_category,
    case when episodes.plan_type = 'cp' then episodes.start_outcomes end as cp_categories,
    case when episodes.plan_type = 'lac' then episodes.first_start_outcome end as lac_legal_status,
    -- dates
    episodes.start_date,
    episodes.end_date,
    episodes.end_date is null as is_open,
    -- how it ended
    episodes.closed_by_event_type,
    coalesce(episodes.end_outcome, case_closures.outcome) as closure_reason,
    -- what was recorded
    episodes.start_recorded,
    episodes.starts_recorded
from episodes
left join case_closures
    on case_closures.child_key = episodes.child_key
    and case_closures.plan_type = episodes.plan_type
    and case_closures.event_date = episodes.end_date
