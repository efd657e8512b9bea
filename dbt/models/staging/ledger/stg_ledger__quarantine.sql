with source as (
    select * from {{ source('ledger', 'quarantine') }}
),

renamed as (
    select
        -- ids
        load_id,
        source as source_name,
        agency,
        file_name,
        file_checksum,
        row_number as source_row_number,
        locator as source_locator,
        -- the problem
        reason,
        column_name,
        value,
        message,
        original,
        received_at
    from source
)

select * from renamed
