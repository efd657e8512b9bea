-- Quarantined rows per source, agency, file and reason: counts only. The rows themselves, with
-- their values, stay in the restricted store (ledger.quarantine). A row (one locator of one file) is
-- counted once per reason its latest attempt found: as quarantined whole (nothing of it loaded) or
-- loaded in part (an event of it quarantined, its other events and its person loaded), and as open
-- (neither loaded by a retry nor dismissed: ingest/quarantine.py), loaded later, or dismissed.
with problems as (
    select * from {{ ref('stg_ledger__quarantine') }}
),

latest as (
    select *
    from problems
    qualify attempt = max(attempt) over (partition by file_checksum, source_row_number, source_locator)
),

rows_by_reason as (
    select
        source_name,
        agency,
        file_name,
        reason,
        file_checksum,
        source_row_number,
        source_locator,
        -- the same on each of a row's problems ('quarantined' sorts after 'loaded_in_part')
        max(row_outcome) as row_outcome,
        count(*) as problems,
        min(received_at) as received_at
    from latest
    group by all
),

resolved as (
    -- a row's first resolution stands (a dismissed row is not retried)
    select file_checksum, source_row_number, source_locator, arg_min(resolution, resolved_at) as resolution
    from {{ ref('stg_ledger__quarantine_resolutions') }}
    group by all
)

select
    rows_by_reason.source_name,
    rows_by_reason.agency,
    rows_by_reason.file_name,
    rows_by_reason.reason,
    count(*) filter (where rows_by_reason.row_outcome = 'quarantined') as rows_quarantined,
    count(*) filter (where rows_by_reason.row_outcome = 'loaded_in_part') as rows_loaded_in_part,
    count(*) filter (where resolved.resolution is null) as rows_open,
    count(*) filter (where resolved.resolution = 'loaded') as rows_loaded_later,
    count(*) filter (where resolved.resolution = 'dismissed') as rows_dismissed,
    sum(rows_by_reason.problems) as problems,
    min(rows_by_reason.received_at) as first_received_at
from rows_by_reason
left join resolved using (file_checksum, source_row_number, source_locator)
group by rows_by_reason.source_name, rows_by_reason.agency, rows_by_reason.file_name, rows_by_reason.reason
