-- Two recorded episodes of one plan type for one child never overlap (overlapping starts merge).
select a.plan_episode_id, b.plan_episode_id as overlapping_episode_id
from {{ ref('fct_plan_episodes') }} as a
join {{ ref('fct_plan_episodes') }} as b
    on a.child_key = b.child_key and a.plan_type = b.plan_type and a.plan_episode_id < b.plan_episode_id
    and a.start_recorded and b.start_recorded
    and a.start_date < coalesce(b.end_date, date '9999-12-31')
    and b.start_date < coalesce(a.end_date, date '9999-12-31')
