with source as (
    select * from {{ source('identity', 'subject_person') }}
),

renamed as (
    select
        -- ids
        subject_key,
        person_id,
        person_key
    from source
)

select * from renamed
