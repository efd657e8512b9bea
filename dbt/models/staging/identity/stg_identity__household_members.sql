with source as (
    select * from {{ source('identity', 'household_members') }}
),

renamed as (
    select
        -- ids
        household_id,
        person_id,
        -- membership
        role,
        evidence,
        -- dates
        valid_from,
        valid_to
    from source
)

select * from renamed
