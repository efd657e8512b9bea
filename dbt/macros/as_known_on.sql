{#
  The ledger as it stood on a date: for each record, the latest version received on or before
  `known_on` (the var of the same name; null = everything received). Versions are never deleted,
  so any model built on this can be rebuilt "as known on date D".
#}
{% macro as_known_on(relation, key) -%}
    {%- set known_on = var('known_on') -%}
    select *,
        min(ledger_id) over (partition by {{ key | join(', ') }}) as first_ledger_id,
        min(received_at) over (partition by {{ key | join(', ') }}) as first_received_at
    from {{ relation }}
    {% if known_on -%}
    where received_at < cast('{{ known_on }}' as date) + interval 1 day
    {%- endif %}
    qualify row_number() over (partition by {{ key | join(', ') }} order by version desc) = 1
{%- endmacro %}
