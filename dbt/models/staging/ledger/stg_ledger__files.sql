with source as (
    select * from {{ source('ledger', 'files') }}
),

renamed as (
    select
        -- ids
        load_id,
        source as source_name,
        checksum,
        -- file
        file_name,
        size_bytes,
        encoding,
        status,
        reason,
        detail,
        -- counts
        rows_read,
        rows_loaded,
        rows_quarantined,
        events_added,
        persons_added,
        -- dates
        modified_at,
        received_at
    from source
)

select * from renamed
