with source as (
    select * from {{ source('ref', 'agencies') }}
),

renamed as (
    select
        -- ids
        agency,
        -- descriptive
        name as agency_name,
        identifiers
    from source
)

select * from renamed
