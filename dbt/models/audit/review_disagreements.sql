/*
  Events of a review's subject children, within its scope, on which agencies' accounts disagree
  (marts.fct_child_events.sources_disagree), with each agency's account: its date and outcome
  code. No names or free text.
*/
with reviews as (
    select * from {{ ref('stg_config__reviews') }}
),

subjects as (
    select distinct review_id, person_id from {{ ref('int_review_subjects') }} where person_id is not null
),

events as (
    select * from {{ ref('fct_child_events') }} where sources_disagree
),

accounts as (
    select
        event_id,
        string_agg(agency || ': ' || event_date || ' ' || coalesce(outcome, '(no outcome)'), '; '
                   order by agency, event_date) as accounts
    from {{ ref('int_events__matched') }}
    where event_id in (select event_id from events)
    group by event_id
),

subject_keys as (
    select distinct subjects.review_id, people.person_key as child_key
    from subjects
    join {{ ref('stg_identity__subject_person') }} as people using (person_id)
)

select
    subject_keys.review_id,
    events.child_key,
    events.event_id,
    events.event_type,
    events.event_date,
    events.agencies,
    events.dates_disagree,
    events.outcomes_disagree,
    accounts.accounts
from events
join subject_keys using (child_key)
join reviews using (review_id)
join accounts using (event_id)
where events.event_date between reviews.scope_start and reviews.scope_end
