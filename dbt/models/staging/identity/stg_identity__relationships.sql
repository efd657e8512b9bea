with source as (
    select * from {{ source('identity', 'relationships') }}
),

renamed as (
    select
        -- ids
        person_id,
        related_person_id,
        household_id,
        -- relationship
        relationship,
        -- dates
        overlap_from,
        overlap_to
    from source
)

select * from renamed
