/*
  Chronologies an agency sent that could not be read, still waiting for a readable one: one row
  per rejected file, agency it is attributed to and review it is for. No personal data: the file's
  name, its reject reason (a code: the reader's detail can quote the file's cells, so it stays in
  the restricted ledger.files.detail) and when it arrived.

  counted
    a rejected file of the chronology template source attributed to an agency (ingest/attribution.py:
      the agency column of its rows, else an agency code in its file name);
    a file no source recognised ('(unmatched)') only when both an agency and a declared review are
      attributed to it: any other unrecognised file is not taken for a chronology.
  review_id
    each declared review the file names (its rows' review_id, else a review id in its name); null
    when it names none of them, when it counts for every review that asked the agency.
  open
    until the same agency's chronology template rows arrive in a file received after the rejected
    one first did, for that review or naming no review: the resent file closes it. (Rows from the
    agency's regular extract do not: the chronology it prepared for the review is still unread.)
  A file left in the drop folder is rejected again every night: it counts once, from its first
  arrival.
*/
with files as (
    select * from {{ ref('stg_ledger__files') }}
),

reviews as (
    select review_id from {{ ref('stg_config__reviews') }}
),

runs as (
    select run_date, started_at from {{ ref('stg_ledger__runs') }}
),

rejected as (
    select
        source_name,
        checksum,
        file_name,
        arg_min(reason, received_at) as reason,
        min(received_at) as first_received_at,
        any_value(sent_by_agencies) as sent_by_agencies,
        any_value(sent_for_reviews) as sent_for_reviews,
        any_value(attributed_from) as attributed_from
    from files
    where status = 'rejected'
      and source_name in ('chronology_template', '(unmatched)')
      and len(sent_by_agencies) > 0
    group by source_name, checksum, file_name
),

by_agency as (
    select rejected.* exclude (sent_by_agencies), unnest(sent_by_agencies) as agency
    from rejected
),

named_reviews as (
    select by_agency.checksum, by_agency.file_name, reviews.review_id
    from by_agency
    join reviews on list_contains(list_transform(by_agency.sent_for_reviews, r -> lower(r)), lower(reviews.review_id))
),

for_reviews as (
    select by_agency.*, named_reviews.review_id
    from by_agency
    left join (select distinct * from named_reviews) as named_reviews using (checksum, file_name)
    -- a file nothing recognised counts only when it names a declared review
    where named_reviews.review_id is not null or by_agency.source_name = 'chronology_template'
),

resent as (
    select distinct agency, review_id, received_at
    from {{ ref('stg_ledger__event_records') }}
    where source_name = 'chronology_template'
),

still_open as (
    select *
    from for_reviews
    where not exists (
        select 1 from resent
        where resent.agency = for_reviews.agency
          and resent.received_at > for_reviews.first_received_at
          and (for_reviews.review_id is null or resent.review_id is null
               or lower(resent.review_id) = lower(for_reviews.review_id))
    )
)

select
    still_open.review_id,
    still_open.agency,
    still_open.source_name,
    still_open.file_name,
    still_open.checksum,
    still_open.reason,
    still_open.attributed_from,
    still_open.first_received_at,
    coalesce(runs.run_date, still_open.first_received_at::date) as first_received_on
from still_open
asof left join runs on still_open.first_received_at >= runs.started_at
