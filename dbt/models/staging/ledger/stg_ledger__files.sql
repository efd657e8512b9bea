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
        -- who sent a rejected chronology, and for which reviews (ingest/attribution.py)
        sent_by_agencies,
        sent_for_reviews,
        attributed_from,
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
