with source as (
    select * from {{ source('ledger', 'person_records') }}
),

renamed as (
    select
        -- ids
        ledger_id,
        source as source_name,
        agency,
        subject_namespace || ':' || subject_ref as subject_key,
        version,
        nhs_number,
        nhs_number_valid,
        upn,
        upn_valid,
        la_child_id,
        -- person
        forename,
        surname,
        date_of_birth,
        sex,
        postcode,
        family_ref,
        person_role,
        -- provenance
        file_name,
        row_number as source_row_number,
        locator as source_locator,
        received_at
    from source
)

select * from renamed
