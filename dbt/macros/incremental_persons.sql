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

  A model with a row per child per day up to the status date (plan_status_as_of()) also sets
  day_column='<its date column>': for the persons not affected it keeps the days up to
  days_kept_through() and adds the later ones ({{ first_day_to_compute(...) }} starts their
  series there), so a night adds a day's rows, not six years'.

  A model of runs of a plan's days (a run still going on changes as days are added) sets
  open_plan_type='<plan type>' and day_column='<the date of its rows>': it recomputes the children
  with that plan open on days_kept_through() or later ({{ children_with_plan_open_since(...) }}).
#}

{# A known_on build is as of another day: never merged into tonight's rows. #}
{% macro incremental_full_refresh() -%}
    {{ return(true if var('known_on') else none) }}
{%- endmacro %}

{# The model's filter: the affected persons' rows, and rows with no person yet (always redone);
   with day_column, every person's days after days_kept_through() too; in a model with
   open_plan_type, the children with such a plan open since. #}
{% macro only_affected_persons(column, affected_column='person_id', day_column=none) -%}
    {#- referenced whatever the mode, so dbt always builds the affected set first -#}
    {%- set affected = ref('int_incremental__affected_persons') -%}
    {%- set open_plan_type = config.get('open_plan_type') -%}
    {%- if is_incremental() -%}
    ({{ column }} is null or {{ column }} in (select {{ affected_column }} from {{ affected }})
     {%- if day_column %} or {{ day_column }} > {{ days_kept_through() }}{% endif %}
     {%- if open_plan_type %} or {{ column }} in ({{ children_with_plan_open_since(open_plan_type) }}){% endif %})
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{# The last day a day-grain model keeps for the persons not affected: the earlier of the last
   build's status date (incremental.built_from, casehistory/incremental.py) and tonight's. A run
   date that goes back drops the days after it. Days before it do not depend on the status date:
   a plan open on them was open whatever day it is now. #}
{% macro days_kept_through() -%}
    {%- if execute -%}
        {%- set state = adapter.get_relation(database=target.database, schema='incremental', identifier='built_from') -%}
        {%- if state is none -%}
            {{ exceptions.raise_compiler_error("No record of the last build's status date (incremental.built_from): "
                                               ~ "build with --full-refresh (casehistory rebuild).") }}
        {%- endif -%}
        {%- set last = run_query("select status_as_of from " ~ state).columns[0].values()[0] -%}
        least(date '{{ last }}', {{ plan_status_as_of() }})
    {%- else -%}
        {{ plan_status_as_of() }}
    {%- endif -%}
{%- endmacro %}

{# Where a day-grain model's series of days starts for a row of `column`'s person: `first_day` for
   an affected person (or on a full build), else the day after days_kept_through(). #}
{% macro first_day_to_compute(column, first_day, affected_column='person_key') -%}
    {%- set affected = only_affected_persons(column, affected_column) -%}
    {%- if is_incremental() -%}
    case when {{ affected }} then {{ first_day }}
         else greatest({{ first_day }}, {{ days_kept_through() }} + 1) end
    {%- else -%}
    {{ first_day }}
    {%- endif -%}
{%- endmacro %}

{# The children with a plan of `plan_type` open on days_kept_through() or after: the unaffected
   children whose runs of plan days can go on (or, on a night dated back, be cut short) tonight.
   A child whose plans all closed before then keeps every day as it was, so every run. #}
{% macro children_with_plan_open_since(plan_type) -%}
    select child_key from {{ ref('int_plan_episode_days') }}
    where plan_type = '{{ plan_type }}' and status_date >= {{ days_kept_through() }}
{%- endmacro %}

{# incremental_strategy='affected_persons': delete the affected persons' rows (those of a person
   merged away or split off included, who get no new rows), with day_column every row after
   days_kept_through(), and with open_plan_type the children with such a plan open since; then
   insert the recomputed ones. #}
{% macro get_incremental_affected_persons_sql(arg_dict) -%}
    {%- set key = config.require('affected_key') -%}
    {%- set day_column = config.get('day_column') -%}
    {%- set affected_column = 'person_key' if key == 'child_key' else 'person_id' -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ key }} is null
       or {{ key }} in (select {{ affected_column }} from {{ ref('int_incremental__affected_persons') }})
       {%- if day_column %}
       or {{ day_column }} > {{ days_kept_through() }}
       {%- endif %}
       {%- if config.get('open_plan_type') %}
       or {{ key }} in ({{ children_with_plan_open_since(config.get('open_plan_type')) }})
       {%- endif %};
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{# on-run-end: after a known_on build, the models hold another day's rows; forget what they were
   built from, so the next normal build rebuilds them whole, and which build they hold, so no file
   published from them passes for that build's (casehistory/incremental.py). #}
{% macro forget_incremental_state_after_known_on() -%}
    {%- if var('known_on') -%}
    create schema if not exists incremental; drop table if exists incremental.built_from;
    drop table if exists incremental.last_build
    {%- endif -%}
{%- endmacro %}
