{#
  Which version of a record is its current one: the rule every model that picks a record's
  current or newest version uses (ingest/ledger.py NEWEST_FIRST holds the same rule for the
  ledger's own reads in Python).

  Rule (domain: "the entry with the later recorded_at is the newer version of that record,
  whatever order the files arrive or sort in"): a version's recorded time is its `recorded_at`,
  or, where the agency gave none, the time the project received it (the latest it can have been
  recorded). The current version is the one with the latest recorded time; equal recorded times
  go to the later arrival (the higher ledger_id). A version's `version` number counts arrivals
  (1 = the first received), not precedence: an original that arrives after its amendment is
  version 2 and stays behind it.
#}
{% macro newest_version_first(alias=none) -%}
    {%- set p = alias ~ '.' if alias else '' -%}
    coalesce({{ p }}recorded_at, {{ p }}received_at) desc, {{ p }}ledger_id desc
{%- endmacro %}

{#
  The ledger as it stood on a date: for each record, its current version (newest_version_first)
  among the versions received on or before `known_on` (the var of the same name; null =
  everything received). Versions are never deleted, so any model built on this can be rebuilt
  "as known on date D". first_ledger_id and first_received_at name the record's first arrival,
  last_ledger_id its latest (the one received last, current or not).
#}
{% macro as_known_on(relation, key) -%}
    {%- set known_on = var('known_on') -%}
    select *,
        min(ledger_id) over (partition by {{ key | join(', ') }}) as first_ledger_id,
        min(received_at) over (partition by {{ key | join(', ') }}) as first_received_at,
        max(ledger_id) over (partition by {{ key | join(', ') }}) as last_ledger_id
    from {{ relation }}
    {% if known_on -%}
    where received_at < cast('{{ known_on }}' as date) + interval 1 day
    {%- endif %}
    qualify row_number() over (partition by {{ key | join(', ') }} order by {{ newest_version_first() }}) = 1
{%- endmacro %}
