with source as (
    select * from {{ source('ledger', 'event_records') }}
),

renamed as (
    select
        -- ids
        ledger_id,
        source as source_name,
        agency,
        record_id,
        version,
        supersedes as supersedes_ledger_id,
        subject_namespace || ':' || subject_ref as subject_key,
        -- what happened
        event_type,
        outcome,
        related_agency,
        practitioner_role,
        person_role,
        family_ref,
        review_id,
        -- when
        event_date,
        event_time,
        recorded_at,
        received_at,
        -- free text (restricted layer only)
        summary,
        -- provenance
        file_name,
        file_checksum,
        row_number as source_row_number,
        locator as source_locator,
        load_id
    from source
)

select * from renamed
