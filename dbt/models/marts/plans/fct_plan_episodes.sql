-- One row per plan interval per child (early help, child in need, child protection, looked after).
-- Pairing rule in int_plan_episodes; lead professionals and reviews counted over its open days.
with episodes as (
    select * from {{ ref('int_plan_episodes') }}
),

days as (
    select
        plan_episode_id,
        count(*) as days_open,
        max(lead_professional_count) as lead_professionals_max,
        count(*) filter (where lead_professional_count = 0) as days_without_lead_professional,
        max(reviews_held) as reviews_held,
        arg_max(next_review_due, status_date) as next_review_due,
        count(*) filter (where review_overdue) as days_review_overdue,
        arg_max(review_overdue, status_date) as review_overdue_at_end
    from {{ ref('int_plan_episode_days') }}
    group by plan_episode_id
)

select
    -- ids
    episodes.plan_episode_id,
    episodes.child_key,
    -- plan
    episodes.plan_type,
    episodes.level,
    episodes.cp_category,
    episodes.cp_categories,
    episodes.lac_legal_status,
    -- dates
    episodes.start_date,
    episodes.end_date,
    episodes.is_open,
    days.days_open,
    -- how it ended
    episodes.closure_reason,
    episodes.closed_by_event_type,
    -- lead professional (recorded for early help; null for statutory plans, led by a social worker)
    case when episodes.plan_type = 'early_help' then coalesce(days.lead_professionals_max, 0) end as lead_professionals_max,
    case when episodes.plan_type = 'early_help' then days.days_without_lead_professional end as days_without_lead_professional,
    -- reviews
    days.reviews_held,
    days.next_review_due,
    days.days_review_overdue,
    case when episodes.is_open then days.review_overdue_at_end end as is_review_overdue,
    -- what was recorded
    episodes.start_recorded,
    episodes.starts_recorded
from episodes
left join days using (plan_episode_id)
