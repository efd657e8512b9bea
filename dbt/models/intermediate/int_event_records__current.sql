-- Each event record's current version (or as known on var('known_on')). Incremental: a night
-- recomputes only the records with a version received since the table was last built (its
-- highest ledger_id is the ledger's highest then: ids only grow, and a record's newest version has
-- its highest id).
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['source_name', 'agency', 'record_id'],
          on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
{%- set versions -%}
(
    select versions.* from {{ ref('stg_ledger__event_records') }} as versions
    {% if is_incremental() -%}
    semi join (
        select source_name, agency, record_id from {{ ref('stg_ledger__event_records') }}
        where ledger_id > (select coalesce(max(ledger_id), 0) from {{ this }})
    ) as changed using (source_name, agency, record_id)
    {%- endif %}
)
{%- endset %}
{{ as_known_on(versions, ['source_name', 'agency', 'record_id']) }}
