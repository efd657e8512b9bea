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
        table_name as source_table,
        row_number as source_row_number,
        locator as source_locator,
        -- the event a problem is about (null: the row's own problem)
        record_id,
        event_type,
        -- whether the row was quarantined whole or loaded in part (rows before the split: whole)
        coalesce(row_outcome, 'quarantined') as row_outcome,
        coalesce(attempt, 1) as attempt,
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
