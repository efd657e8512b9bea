-- Every file attempt: loaded, rejected (with why) or unmatched. No personal data.
select
    source_name,
    file_name,
    checksum,
    encoding,
    status,
    reason,
    detail,
    rows_read,
    rows_loaded,
    rows_quarantined,
    events_added,
    persons_added,
    received_at
from {{ ref('stg_ledger__files') }}
