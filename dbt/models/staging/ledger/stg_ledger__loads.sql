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
        coalesce(rows_loaded_in_part, 0) as rows_loaded_in_part,  -- of rows_loaded; null before it was counted
        events_added,
        persons_added,
        -- dates
        started_at,
        finished_at
    from source
)

select * from renamed
