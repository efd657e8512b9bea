with source as (
    select * from {{ source('config', 'review_subjects') }}
),

renamed as (
    select
        -- ids
        review_id,
        regexp_replace(nhs_number, '\D', '', 'g') as nhs_number,
        upper(replace(upn, ' ', '')) as upn,
        la_child_id,
        agency,
        subject_ref
    from source
)

select * from renamed
