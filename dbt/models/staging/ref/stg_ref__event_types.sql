with source as (
    select * from {{ source('ref', 'event_types') }}
),

renamed as (
    select
        -- ids
        event_type,
        -- grouping
        category,
        -- rules
        outcomes,
        open_outcome,
        household,
        may_precede_birth,
        match_by_referrer,
        match_window_days,
        decided_by
    from source
)

select * from renamed
