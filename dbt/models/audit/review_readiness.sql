/*
  Before a panel meets: one row per review and agency (asked to contribute, or shown involved by
  the records), with its chronology's status and the evidence for it. No personal data.

  status (status_label: the same in plain English, for the board and the report)
    sent_unreadable     asked, and a chronology it sent for the review could not be read and has
                        not been sent again readably (intermediate.int_chronologies__unreadable:
                        which files count and when one is closed). It comes before missing, late,
                        partial and received: whatever else the agency's records show, the
                        chronology it prepared is unread, and it is the agency that must resend it.
                        unreadable_file_names, unreadable_reasons (reader codes: the detail, which
                        can quote the file, is in the restricted ledger.files) and
                        first_unreadable_on say which, why and when.
    missing             asked, and nothing of its own about the subjects in scope has arrived
    late                asked; its first records arrived after the deadline, and the pipeline
                        had run on or before the deadline without them (a first run after the
                        deadline cannot tell late from on time, so it says received)
    partial             asked; other agencies' records show it involved on a date with none of
                        its own entries within var('review_silence_days') either side: its
                        chronology covers only part of the scope, or falls silent for a stretch
    received            asked, and none of the above
    involved_not_asked  not asked, yet its own records or other agencies' records (referral
                        source, meeting attendance, related agency, contacts with a parent in
                        the household) show it was involved with the subjects within the scope
*/
with reviews as (
    select * from {{ ref('stg_config__reviews') }}
),

asked as (
    select distinct review_id, agency from {{ ref('stg_config__review_agencies') }}
),

evidence as (
    select * from {{ ref('review_evidence') }}
),

own as (
    select * from evidence where reported_by = agency
),

named as (
    select * from evidence where reported_by <> agency
),

own_summary as (
    select
        review_id, agency,
        count(*) as own_records,
        min(event_date) as first_entry_date,
        max(event_date) as last_entry_date,
        min(arrived_on) as first_arrived_on
    from own
    group by review_id, agency
),

named_summary as (
    select
        review_id, agency,
        count(*) as named_records,
        string_agg(distinct reported_by, ', ' order by reported_by) as named_by
    from named
    group by review_id, agency
),

uncovered as (
    select
        named.review_id, named.agency,
        count(*) as uncovered_records,
        min(named.event_date) as first_uncovered_date,
        max(named.event_date) as last_uncovered_date
    from named
    where not exists (
        select 1 from own
        where own.review_id = named.review_id and own.agency = named.agency
          and abs(date_diff('day', own.event_date, named.event_date)) <= {{ var('review_silence_days') }}
    )
    group by named.review_id, named.agency
),

-- rejected chronologies of an asked agency, for this review or naming none of the declared reviews
unreadable as (
    select
        asked.review_id,
        asked.agency,
        count(distinct unread.checksum) as unreadable_files,
        string_agg(distinct unread.file_name, ', ' order by unread.file_name) as unreadable_file_names,
        string_agg(distinct unread.reason, ', ' order by unread.reason) as unreadable_reasons,
        min(unread.first_received_on) as first_unreadable_on
    from asked
    join {{ ref('int_chronologies__unreadable') }} as unread
        on unread.agency = asked.agency and (unread.review_id is null or unread.review_id = asked.review_id)
    group by asked.review_id, asked.agency
),

runs_by_deadline as (
    select reviews.review_id, count(runs.run_id) as runs_by_deadline
    from reviews
    left join {{ ref('stg_ledger__runs') }} as runs on runs.run_date <= reviews.deadline
    group by reviews.review_id
),

agencies as (
    select review_id, agency from asked
    union select review_id, agency from evidence
),

judged as (
    select
        agencies.review_id,
        agencies.agency,
        asked.agency is not null as asked,
        coalesce(own_summary.own_records, 0) as own_records,
        coalesce(named_summary.named_records, 0) as named_records,
        named_summary.named_by,
        own_summary.first_entry_date,
        own_summary.last_entry_date,
        own_summary.first_arrived_on,
        uncovered.uncovered_records,
        uncovered.first_uncovered_date,
        uncovered.last_uncovered_date,
        coalesce(unreadable.unreadable_files, 0) as unreadable_files,
        unreadable.unreadable_file_names,
        unreadable.unreadable_reasons,
        unreadable.first_unreadable_on,
        reviews.review_type,
        reviews.scope_start,
        reviews.scope_end,
        reviews.deadline,
        case
            when asked.agency is null then 'involved_not_asked'
            when unreadable.unreadable_files > 0 then 'sent_unreadable'
            when own_summary.own_records is null then 'missing'
            when own_summary.first_arrived_on > reviews.deadline and runs_by_deadline.runs_by_deadline > 0 then 'late'
            when uncovered.uncovered_records > 0 then 'partial'
            else 'received'
        end as status
    from agencies
    join reviews using (review_id)
    join runs_by_deadline using (review_id)
    left join asked using (review_id, agency)
    left join own_summary using (review_id, agency)
    left join named_summary using (review_id, agency)
    left join uncovered using (review_id, agency)
    left join unreadable using (review_id, agency)
)

select
    review_id,
    agency,
    asked,
    status,
    case status
        when 'received' then 'received'
        when 'sent_unreadable' then 'sent but unreadable'
        when 'missing' then 'missing'
        when 'late' then 'late'
        when 'partial' then 'partial'
        when 'involved_not_asked' then 'involved not asked'
    end as status_label,
    first_entry_date,
    last_entry_date,
    scope_start,
    scope_end,
    deadline,
    review_type,
    own_records,
    named_records,
    first_arrived_on,
    unreadable_files,
    unreadable_file_names,
    unreadable_reasons,
    first_unreadable_on,
    concat_ws('; ',
        case when asked then 'asked' else 'not asked' end,
        case when unreadable_files > 0
            then 'sent ' || unreadable_files || ' file(s) that could not be read (' || unreadable_file_names
                 || ': ' || unreadable_reasons || '), first received ' || first_unreadable_on end,
        case when own_records > 0
            then own_records || ' records of its own dated ' || first_entry_date || ' to ' || last_entry_date
                 || ', first arrived ' || first_arrived_on
            else 'no records of its own in scope' end,
        case when status = 'late' then 'arrived after the deadline ' || deadline end,
        case when named_records > 0 then 'named in ' || named_records || ' records of ' || named_by end,
        case when status = 'partial'
            then uncovered_records || ' of them dated ' || first_uncovered_date || ' to ' || last_uncovered_date
                 || ' with no entry of its own within {{ var("review_silence_days") }} days' end
    ) as evidence
from judged
