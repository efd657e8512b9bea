{#
  Incremental nights (docs/operations.md, "Incremental nights"). The models holding rows per
  person or child are rebuilt, on a normal night, only for the persons whose rows can have changed
  (int_incremental__affected_persons, which says why); every other row is kept as it was.
  `--full-refresh` (casehistory rebuild, a changed dbt project: casehistory/incremental.py) and a
  known_on build rebuild them whole.

  A model opts in with:
    {{ config(materialized='incremental', incremental_strategy='affected_persons',
              affected_key='person_id' or 'child_key', on_schema_change='fail',
              full_refresh=incremental_full_refresh()) }}
  and filters its rows with {{ only_affected_persons('<its person_id or child_key column>') }}.
#}

{# A known_on build is as of another day: never merged into tonight's rows. #}
{% macro incremental_full_refresh() -%}
    {{ return(true if var('known_on') else none) }}
{%- endmacro %}

{# The model's filter: the affected persons' rows, and rows with no person yet (always redone). #}
{% macro only_affected_persons(column, affected_column='person_id') -%}
    {#- referenced whatever the mode, so dbt always builds the affected set first -#}
    {%- set affected = ref('int_incremental__affected_persons') -%}
    {%- if is_incremental() -%}
    ({{ column }} is null or {{ column }} in (select {{ affected_column }} from {{ affected }}))
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{# incremental_strategy='affected_persons': delete the affected persons' rows (those of a person
   merged away or split off included, who get no new rows), then insert the recomputed ones. #}
{% macro get_incremental_affected_persons_sql(arg_dict) -%}
    {%- set key = config.require('affected_key') -%}
    {%- set affected_column = 'person_key' if key == 'child_key' else 'person_id' -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ key }} is null
       or {{ key }} in (select {{ affected_column }} from {{ ref('int_incremental__affected_persons') }});
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{# on-run-end: after a known_on build, the models hold another day's rows; forget what they were
   built from, so the next normal build rebuilds them whole (casehistory/incremental.py). #}
{% macro forget_incremental_state_after_known_on() -%}
    {%- if var('known_on') -%}
    create schema if not exists incremental; drop table if exists incremental.built_from
    {%- endif -%}
{%- endmacro %}
