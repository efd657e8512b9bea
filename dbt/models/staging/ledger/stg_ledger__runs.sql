-- One row per pipeline run: the day it treated as today (written by the prepare step).
with source as (
    select * from {{ source('ledger', 'runs') }}
)

select
    run_id,
    run_date,
    started_at
from source
