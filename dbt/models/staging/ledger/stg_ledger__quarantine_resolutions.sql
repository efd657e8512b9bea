with source as (
    select * from {{ source('ledger', 'quarantine_resolutions') }}
),

renamed as (
    select
        -- which quarantined row
        source as source_name,
        file_checksum,
        table_name as source_table,
        row_number as source_row_number,
        locator as source_locator,
        -- the resolution
        resolution,
        resolved_by,
        resolved_at,
        note,
        load_id
    from source
)

select * from renamed
