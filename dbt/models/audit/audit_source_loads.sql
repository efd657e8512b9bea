-- Per run and source: what arrived and what became of it. No personal data.
select
    loads.run_id,
    loads.source_name,
    loads.status,
    loads.files_seen,
    loads.files_loaded,
    loads.files_skipped,
    loads.files_rejected,
    loads.rows_read,
    loads.rows_loaded,
    loads.rows_loaded_in_part,
    loads.rows_quarantined,
    loads.events_added,
    loads.persons_added,
    loads.started_at,
    loads.finished_at
from {{ ref('stg_ledger__loads') }} as loads
