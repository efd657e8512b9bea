/*
  The records that show each agency's part in a review: one row per review, agency and record
  of the review's subject children within the review's scope. Pseudonymised: no names,
  identifiers or free text.

  evidence_kind
    own_record            the agency's own record of a subject child
    household_contact     the agency's record of a parent or sibling in the child's household
                          (a household event: int_household_events)
    chronology_row        a row the agency sent on the chronology template for this review
                          about someone who is not a subject child (a parent, say)
    referral_source       another agency's referral or contact record naming it as the referrer
    meeting_attendance    another agency's meeting record naming it (a TAC meeting, a review)
    named_by_other_agency another agency's record naming it as the related agency

  arrived_on is the date the pipeline first held the record: the run date of the run that loaded
  it (ledger.runs), which is the wall-clock day unless the run was told otherwise. The run is the
  latest to start before the record was received (one run at a time writes the ledger): a file
  committed by a run killed before it recorded its load summary still has its run.
*/
with reviews as (
    select * from {{ ref('stg_config__reviews') }}
),

subjects as (
    select distinct review_id, person_id from {{ ref('int_review_subjects') }} where person_id is not null
),

runs as (
    select run_date, started_at from {{ ref('stg_ledger__runs') }}
),

subject_records as (
    select
        subjects.review_id,
        matched.person_key as child_key,
        matched.event_id,
        matched.event_type,
        matched.category,
        matched.event_date,
        matched.agency,
        matched.related_agency,
        matched.via_household,
        matched.ledger_id,
        coalesce(runs.run_date, matched.received_at::date) as arrived_on
    from {{ ref('int_events__matched') }} as matched
    join subjects on subjects.person_id = matched.person_id
    join reviews on reviews.review_id = subjects.review_id
    asof left join runs on matched.received_at >= runs.started_at
    where matched.event_date between reviews.scope_start and reviews.scope_end
),

-- Template rows sent for the review that reach no subject child (a parent's GP appointment):
-- still the agency's chronology, so they count for what it sent.
sent_for_review as (
    select
        records.review_id,
        null::varchar as child_key,
        null::varchar as event_id,
        records.event_type,
        types.category,
        records.event_date,
        records.agency,
        records.related_agency,
        false as via_household,
        records.ledger_id,
        coalesce(runs.run_date, records.received_at::date) as arrived_on
    from {{ ref('int_event_records__current') }} as records
    join reviews using (review_id)
    join {{ ref('stg_ref__event_types') }} as types using (event_type)
    asof left join runs on records.received_at >= runs.started_at
    where records.event_date between reviews.scope_start and reviews.scope_end
      and not exists (
          select 1 from subject_records
          where subject_records.review_id = records.review_id and subject_records.ledger_id = records.ledger_id
      )
),

own as (
    select
        review_id, agency,
        case when via_household then 'household_contact' else 'own_record' end as evidence_kind,
        child_key, event_id, event_type, event_date, agency as reported_by, arrived_on
    from subject_records
    union all
    select review_id, agency, 'chronology_row', child_key, event_id, event_type, event_date, agency, arrived_on
    from sent_for_review
),

named as (
    select
        review_id,
        related_agency as agency,
        case
            when event_type in ('referral', 'contact') then 'referral_source'
            when category = 'meeting' then 'meeting_attendance'
            when via_household then 'household_contact'
            else 'named_by_other_agency'
        end as evidence_kind,
        child_key, event_id, event_type, event_date, agency as reported_by, arrived_on
    from subject_records
    where related_agency is not null and related_agency <> agency
)

select * from own
union all
select * from named
