with source as (
    select * from {{ source('config', 'reviews') }}
),

renamed as (
    select
        -- ids
        review_id,
        review_type,
        -- dates
        scope_start,
        scope_end,
        deadline
    from source
)

select * from renamed
