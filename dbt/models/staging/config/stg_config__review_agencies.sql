with source as (
    select * from {{ source('config', 'review_agencies') }}
),

renamed as (
    select
        -- ids
        review_id,
        agency
    from source
)

select * from renamed
