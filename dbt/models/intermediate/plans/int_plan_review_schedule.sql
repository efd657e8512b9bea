/*
  When each plan's next review is due, between its reviews: one row per episode and review number
  (0 = before the first review), valid from segment_start up to (not including) segment_end.

  Rule (intervals in var `plans`): a review is an event of the plan type's review_events, not
  cancelled, after the plan's start day and before its end. The first review is due first_review
  after the start; the second second_review after the first; every later one later_reviews after
  the one before. Several reviews on one day count once.
*/
with episodes as (
    select * from {{ ref('int_plan_episodes') }}
    where start_recorded
),

config as (
    {{ plan_reviews_config() }}
),

intervals as (
    select distinct plan_type, first_review, second_review, later_reviews from config
),

reviews as (
    select distinct
        episodes.plan_episode_id,
        events.event_date as review_date
    from {{ ref('fct_child_events') }} as events
    join config on config.review_event_type = events.event_type
    join episodes
        on episodes.child_key = events.child_key
        and episodes.plan_type = config.plan_type
        and events.event_date > episodes.start_date
        and (episodes.end_date is null or events.event_date < episodes.end_date)
    where not events.via_household
        and coalesce(events.outcome, 'held') <> 'cancelled'
),

numbered as (
    select plan_episode_id, review_date,
        row_number() over (partition by plan_episode_id order by review_date) as review_number
    from reviews
),

segments as (
    select plan_episode_id, 0 as review_number, null::date as review_date from episodes
    union all
    select plan_episode_id, review_number, review_date from numbered
)

select
    segments.plan_episode_id,
    episodes.child_key,
    episodes.plan_type,
    segments.review_number,
    coalesce(segments.review_date, episodes.start_date) as segment_start,
    coalesce(lead(segments.review_date) over (partition by segments.plan_episode_id order by segments.review_number),
             episodes.end_date) as segment_end,
    cast(case segments.review_number
        when 0 then episodes.start_date + intervals.first_review
        when 1 then segments.review_date + intervals.second_review
        else segments.review_date + intervals.later_reviews
    end as date) as next_review_due
from segments
join episodes using (plan_episode_id)
left join intervals using (plan_type)
