-- Quarantined rows per source, agency, file and reason: counts only. The rows themselves, with
-- their values, stay in the restricted store (ledger.quarantine). A row (one locator of one file) is
-- counted once per reason: as quarantined whole (nothing of it loaded) or loaded in part (an event
-- of it quarantined, its other events and its person loaded).
with problems as (
    select * from {{ ref('stg_ledger__quarantine') }}
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
    from problems
    group by all
)

select
    source_name,
    agency,
    file_name,
    reason,
    count(*) filter (where row_outcome = 'quarantined') as rows_quarantined,
    count(*) filter (where row_outcome = 'loaded_in_part') as rows_loaded_in_part,
    sum(problems) as problems,
    min(received_at) as first_received_at
from rows_by_reason
group by source_name, agency, file_name, reason
