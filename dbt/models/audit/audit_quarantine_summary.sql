-- Quarantined rows per source, agency, file and reason: counts only. The rows themselves, with
-- their values, stay in the restricted store (ledger.quarantine).
select
    source_name,
    agency,
    file_name,
    reason,
    count(distinct source_row_number) as rows_quarantined,
    count(*) as problems,
    min(received_at) as first_received_at
from {{ ref('stg_ledger__quarantine') }}
group by source_name, agency, file_name, reason
