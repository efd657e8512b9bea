/*
  Before a panel meets: for each review, every agency asked to contribute and every agency the
  records show was involved, with what has arrived.

  status
    received            the agency asked has records of the subjects within the scope window,
                        or sent chronology rows for this review
    missing             asked, and nothing has arrived
    involved_not_asked  not asked, yet its own records or other agencies' records (related_agency)
                        show it was involved with the subjects within the scope window
*/
with reviews as (
    select * from {{ ref('stg_config__reviews') }}
),

asked as (
    select distinct review_id, agency from {{ ref('stg_config__review_agencies') }}
),

subjects as (
    select distinct review_id, person_id from {{ ref('int_review_subjects') }} where person_id is not null
),

in_scope as (
    select subjects.review_id, events.agency, events.related_agency, events.received_at
    from {{ ref('int_events__attributed') }} as events
    join subjects on subjects.person_id = events.person_id
    join reviews on reviews.review_id = subjects.review_id
    where events.event_date between reviews.scope_start and reviews.scope_end
),

sent_for_review as (
    select review_id, agency, count(*) as records, max(received_at) as last_received_at
    from {{ ref('int_event_records__current') }}
    where review_id is not null
    group by review_id, agency
),

reported as (
    select review_id, agency, count(*) as records, max(received_at) as last_received_at
    from in_scope
    group by review_id, agency
),

mentioned as (
    select review_id, related_agency as agency, count(*) as mentions
    from in_scope
    where related_agency is not null
    group by review_id, related_agency
),

agencies as (
    select review_id, agency from asked
    union select review_id, agency from reported
    union select review_id, agency from sent_for_review
    union select review_id, agency from mentioned
)

select
    agencies.review_id,
    agencies.agency,
    asked.agency is not null as asked,
    coalesce(reported.records, 0) as records_in_scope,
    coalesce(sent_for_review.records, 0) as chronology_rows,
    coalesce(mentioned.mentions, 0) as mentioned_by_others,
    greatest(reported.last_received_at, sent_for_review.last_received_at) as last_received_at,
    reviews.deadline,
    case
        when asked.agency is not null and coalesce(reported.records, 0) + coalesce(sent_for_review.records, 0) = 0
            then 'missing'
        when asked.agency is not null then 'received'
        else 'involved_not_asked'
    end as status
from agencies
join reviews using (review_id)
left join asked using (review_id, agency)
left join reported using (review_id, agency)
left join sent_for_review using (review_id, agency)
left join mentioned using (review_id, agency)
