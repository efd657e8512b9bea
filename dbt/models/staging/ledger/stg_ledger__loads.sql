with source as (
    select * from {{ source('ledger', 'loads') }}
),

renamed as (
    select
        -- ids
        load_id,
        run_id,
        source as source_name,
        -- outcome
        status,
        message,
        -- counts
        files_seen,
        files_loaded,
        files_skipped,
        files_rejected,
        rows_read,
        rows_loaded,
        rows_quarantined,
        events_added,
        persons_added,
        -- dates
        started_at,
        finished_at
    from source
)

select * from renamed
