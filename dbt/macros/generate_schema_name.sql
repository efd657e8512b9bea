{# Schemas are named by layer (staging, marts, ...), not prefixed with the target schema: the
   publisher copies marts, audit and board by name into the analyst warehouse. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
