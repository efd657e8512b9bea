with source as (
    select * from {{ source('identity', 'subject_records') }}
),

renamed as (
    select
        -- ids
        subject_key,
        subject_ref,
        record_key,
        source as source_name,
        agency,
        nhs_number,
        upn,
        -- person
        forename_key,
        surname_key,
        date_of_birth,
        sex,
        postcode,
        family_ref,
        person_role
    from source
)

select * from renamed
