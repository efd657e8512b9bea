-- One row per agency of the partnership (casehistory/reference/agencies.yml), with what it has
-- sent: the vocabulary's codes for who reported and who referred.
with agencies as (
    select * from {{ ref('stg_ref__agencies') }}
),

reported as (
    select agency, count(*) as records, min(event_date) as first_event_date, max(event_date) as last_event_date,
           max(received_at) as last_received_at
    from {{ ref('int_event_records__current') }}
    group by agency
),

referred as (
    select source_agency as agency, count(*) as referrals_made
    from {{ ref('fct_referrals') }}
    group by source_agency
)

select
    -- ids
    agencies.agency,
    -- descriptive
    agencies.agency_name,
    agencies.identifiers,
    -- what it has sent
    coalesce(reported.records, 0) as records,
    reported.first_event_date,
    reported.last_event_date,
    reported.last_received_at,
    coalesce(referred.referrals_made, 0) as referrals_made
from agencies
left join reported using (agency)
left join referred using (agency)
