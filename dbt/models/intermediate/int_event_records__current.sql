-- Each event record's current version (macros/as_known_on.sql: the latest recorded), or as known
-- on var('known_on'). Incremental: a night recomputes only the records with a version received
-- since the table was last built. The table's highest last_ledger_id (each record's latest
-- arrival, current or not) is the ledger's highest then: ids only grow. Its highest ledger_id
-- need not be: an original that arrives after its amendment is never current.
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['source_name', 'agency', 'record_id'],
          on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
{%- set versions -%}
(
    select versions.* from {{ ref('stg_ledger__event_records') }} as versions
    {% if is_incremental() -%}
    semi join (
        select source_name, agency, record_id from {{ ref('stg_ledger__event_records') }}
        where ledger_id > (select coalesce(max(last_ledger_id), 0) from {{ this }})
    ) as changed using (source_name, agency, record_id)
    {%- endif %}
)
{%- endset %}
{{ as_known_on(versions, ['source_name', 'agency', 'record_id']) }}
